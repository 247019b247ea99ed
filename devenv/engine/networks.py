"""The networks devenv makes: one per spec folder, so its envs reach each other by name.

Each gets a small subnet (a /26: 62 boxes) that devenv picks itself, from the private
ranges the engine's own default pools use, never overlapping a network the engine has. Left
to the engine, every network takes a whole /16 or /20 of its default pools, and an engine
runs out after about 30 (people with many project folders hit it: "could not find an
available, non-overlapping IPv4 address pool"). DEVENV_NETWORK_POOLS (comma-separated
CIDRs) names other ranges where those collide with the user's own networks."""

from __future__ import annotations

import bisect
import hashlib
import ipaddress
import itertools
import os
from typing import Any

from devenv import labels as L
from devenv.engine.shape import ContainerShape
from devenv.errors import EngineError

POOLS = ("172.30.0.0/16", "172.31.0.0/16", "172.29.0.0/16")
PREFIX = 26
HOST_CLASHES = 16  # subnets tried before the engine picks one itself


def ensure(api: Any, name: str, shape: ContainerShape) -> None:
    """The network `name` exists (made, with its own small subnet, when devenv owns it)."""
    if api.networks(names=[name]):
        return
    if name in shape.external_networks:
        raise EngineError(f"network {name!r} does not exist", "create it first", env=shape.name)
    labels = L.ownership({L.PROJECT: shape.project})
    used = [
        str(config.get("Subnet"))
        for network in api.networks()
        for config in ((network.get("IPAM") or {}).get("Config") or [])
        if config.get("Subnet")
    ]
    import docker.errors
    import docker.types

    for _attempt in range(HOST_CLASHES):
        subnet = choose_subnet(used, pools(), name)
        if subnet is None:  # every pool is full: the engine's own choice is the last resort
            break
        ipam = docker.types.IPAMConfig(pool_configs=[docker.types.IPAMPool(subnet=subnet)])
        try:
            api.create_network(name, driver="bridge", labels=labels, ipam=ipam)
            return
        except docker.errors.APIError as exc:
            if not _taken_elsewhere(str(exc)):
                raise
            used.append(subnet)  # on the host, not in the engine's list: the next one
    api.create_network(name, driver="bridge", labels=labels)


def _taken_elsewhere(text: str) -> bool:
    """The engine refused the subnet as one in use outside its own networks: Podman (rootless
    above all) checks the host's routes, where another engine's bridges live."""
    lowered = text.lower()
    return "already used on the host" in lowered or "overlap" in lowered


def remove_if_unused(api: Any, name: str) -> bool:
    """Remove a devenv-owned network that no container uses any more."""
    found = [n for n in api.networks(names=[name]) if n.get("Name") == name]
    if not found or not L.owned(found[0].get("Labels")):
        return False
    if api.inspect_network(found[0]["Id"]).get("Containers"):
        return False
    api.remove_network(found[0]["Id"])
    return True


def pools() -> list[str]:
    raw = os.environ.get("DEVENV_NETWORK_POOLS", "")
    chosen = [p.strip() for p in raw.split(",") if p.strip()] or list(POOLS)
    for pool in chosen:
        try:
            ipaddress.ip_network(pool)
        except ValueError:
            raise EngineError(
                f"DEVENV_NETWORK_POOLS holds {pool[:40]!r}, which is not a network in CIDR form",
                "give ranges such as 10.213.0.0/16,10.214.0.0/16, or unset it",
            ) from None
    return chosen


def choose_subnet(used: list[str], pools: list[str], seed: str) -> str | None:
    """A /26 of `pools` that overlaps none of `used`, starting at a place `seed` picks (so
    folders spread out and the same folder tends to get the same subnet); None if full."""
    taken = sorted(
        (int(n.network_address), int(n.broadcast_address))
        for n in (ipaddress.ip_network(u, strict=False) for u in used if _is_v4(u))
    )
    starts = [low for low, _high in taken]
    reach = list(itertools.accumulate((high for _low, high in taken), max))
    size = 1 << (32 - PREFIX)
    start = int(hashlib.sha256(seed.encode()).hexdigest()[:8], 16)
    for pool in pools:
        network = ipaddress.ip_network(pool, strict=False)
        if not isinstance(network, ipaddress.IPv4Network) or network.prefixlen > PREFIX:
            continue
        count = 1 << (PREFIX - network.prefixlen)
        for step in range(count):
            low = int(network.network_address) + ((start + step) % count) * size
            before = bisect.bisect_right(
                starts, low + size - 1
            )  # taken ranges starting in or below
            if before == 0 or reach[before - 1] < low:  # none of them reaches into it
                return str(ipaddress.IPv4Network((low, PREFIX)))
    return None


def _is_v4(text: str) -> bool:
    try:
        return isinstance(ipaddress.ip_network(text, strict=False), ipaddress.IPv4Network)
    except ValueError:
        return False
