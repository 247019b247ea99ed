"""Folder networks take /26 subnets devenv picks from the pools, never overlapping one the
engine has (the choice is pure; tests/integration/test_networks.py makes 200 on the engine)."""

from __future__ import annotations

import ipaddress

import pytest

from devenv.engine.networks import choose_subnet, pools
from devenv.errors import EngineError


def test_a_subnet_never_overlaps_what_the_engine_has() -> None:
    used = ["172.17.0.0/16", "172.30.0.0/17", "fd00::/64", "not-a-subnet"]
    found = choose_subnet(used, ["172.30.0.0/16"], "devenv-app-1234")
    assert found is not None
    chosen = ipaddress.ip_network(found)
    assert chosen.prefixlen == 26 and chosen.subnet_of(ipaddress.ip_network("172.30.128.0/17"))


def test_a_thousand_folders_fit_one_pool_and_then_it_says_full() -> None:
    used: list[str] = []
    for index in range(1024):
        found = choose_subnet(used, ["172.30.0.0/16"], f"folder-{index}")
        assert found is not None and found not in used
        used.append(found)
    assert choose_subnet(used, ["172.30.0.0/16"], "one-more") is None
    assert choose_subnet(used, ["172.30.0.0/16", "172.31.0.0/16"], "one-more") is not None


def test_the_same_folder_tends_to_get_the_same_subnet() -> None:
    assert choose_subnet([], ["172.30.0.0/16"], "x") == choose_subnet([], ["172.30.0.0/16"], "x")


def test_pools_come_from_the_environment_and_a_bad_one_is_one_sentence(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("DEVENV_NETWORK_POOLS", "10.213.0.0/16, 10.214.0.0/16")
    assert pools() == ["10.213.0.0/16", "10.214.0.0/16"]
    monkeypatch.setenv("DEVENV_NETWORK_POOLS", "10.213.0.0/16,nonsense")
    with pytest.raises(EngineError, match="not a network in CIDR form"):
        pools()
