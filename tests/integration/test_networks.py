"""Hundreds of project folders on one engine: each folder's network is made with a small
subnet of its own, and removed when no box uses it."""

from __future__ import annotations

import ipaddress
from pathlib import Path

from devenv.converge.desired import folder_network
from devenv.engine import Engine
from devenv.engine.shape import ContainerShape
from tests.integration.conftest import RUN_LABEL


def shape_for(folder: str) -> ContainerShape:
    labels = dict([RUN_LABEL.split("=", 1)])
    return ContainerShape(
        "box", "img", None, None, {}, labels, (), (), (), frozenset(), project=folder
    )


def test_two_hundred_folders_get_networks_on_one_engine(docker_client, devenv_env) -> None:  # type: ignore[no-untyped-def]
    engine = Engine()
    names = [folder_network(Path(f"/projects/p{index:03d}")) for index in range(200)]
    try:
        for name in names:
            engine._ensure_network(name, shape_for(name))
        subnets = []
        for name in names:
            (network,) = docker_client.networks.list(names=[name])
            config = network.attrs["IPAM"]["Config"][0]
            subnets.append(ipaddress.ip_network(config["Subnet"]))
        assert len(set(subnets)) == 200 and {s.prefixlen for s in subnets} == {26}
        others = [
            ipaddress.ip_network(c["Subnet"])
            for n in docker_client.networks.list()
            if n.name not in names
            for c in (n.attrs.get("IPAM") or {}).get("Config") or []
            if c.get("Subnet") and ":" not in c["Subnet"]
        ]
        assert not any(s.overlaps(o) for s in subnets for o in others)
    finally:
        removed = [engine.remove_network_if_unused(name) for name in names]
    assert all(removed)
    assert not [n for n in docker_client.networks.list() if n.name in names]
