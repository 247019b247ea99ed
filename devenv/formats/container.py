"""A hand-made container → a Draft that adopts it: image, ports, mounts, env less the image's,
workdir, user, command, and the packages installed by hand. Pure: the engine's answers
(inspect, dpkg lists, diff) come in as data; what a spec cannot express goes to the notes."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from devenv.converge.discards import discarded
from devenv.converge.packaged import hand_made_work
from devenv.formats.draft import Draft, literal, port_entry, spec_name
from devenv.formats.shares import add_bind

SHOWN_FILES = 8


@dataclass(frozen=True)
class Found:
    """What the engine said about the container and its image."""

    container: dict[str, Any]
    image: dict[str, Any]
    packages: frozenset[str] | None = None  # dpkg in the container; None when unknown
    image_packages: frozenset[str] = frozenset()
    owned_files: frozenset[str] = frozenset()  # files of the packages added since the image
    diff: list[dict[str, Any]] = field(default_factory=list)
    why_no_packages: str = ""


def draft(found: Found, out_dir: Path) -> Draft:
    """The spec that takes this container over: `adopt: ID` and everything that maps."""
    c, config, host = (
        found.container,
        found.container.get("Config") or {},
        found.container.get("HostConfig") or {},
    )
    image_config = found.image.get("Config") or {}
    raw_name = str(c.get("Name", "")).lstrip("/")
    result = Draft(spec_name(raw_name), f"container {raw_name} ({c['Id'][:12]})")
    if result.name != raw_name:
        result.note(f"name {raw_name}: not a valid env name, so the spec cannot take it over")
    else:
        result.keys["adopt"] = c["Id"]
    result.keys["base"] = str(config.get("Image") or found.image.get("Id"))
    _packages(result, found)
    _ports(result, host.get("PortBindings") or {})
    _mounts(result, c.get("Mounts") or [], out_dir)
    _env(result, config.get("Env") or [], image_config.get("Env") or [])
    _process(result, config, image_config)
    _unexpressed(result, c, host)
    _changed_files(result, found)
    return result


def _packages(result: Draft, found: Found) -> None:
    if found.packages is None:
        result.note(f"packages installed by hand: unknown ({found.why_no_packages or 'no dpkg'})")
        return
    added = sorted(found.packages - found.image_packages)
    if added:
        result.keys["apt"] = {"packages": added}
    removed = sorted(found.image_packages - found.packages)
    if removed:
        result.note(f"packages removed by hand (the image has them): {', '.join(removed)}")


def _ports(result: Draft, bindings: dict[str, Any]) -> None:
    for key in sorted(bindings, key=lambda k: int(k.split("/")[0])):
        port, _, protocol = key.partition("/")
        for binding in bindings[key] or []:
            bind = binding.get("HostIp") or "0.0.0.0"
            host = int(binding["HostPort"]) if binding.get("HostPort") else None
            result.add("ports", port_entry(int(port), host, bind, protocol or "tcp"))


def _mounts(result: Draft, mounts: list[dict[str, Any]], out_dir: Path) -> None:
    for mount in mounts:
        target, readonly = str(mount.get("Destination")), not mount.get("RW", True)
        if mount.get("Type") == "bind":
            source = str(mount["Source"])
            add_bind(result, source, target, readonly, out_dir, f"mount {source}:{target}")
        elif mount.get("Type") == "volume" and re.fullmatch(
            r"[0-9a-f]{64}", str(mount.get("Name"))
        ):
            result.note(f"anonymous volume at {target}: give it a name (volumes:) to keep its data")
        elif mount.get("Type") == "volume":
            entry = {"name": mount["Name"], "container": target}
            result.add("volumes", {**entry, "readonly": True} if readonly else entry)
        else:
            result.note(f"{mount.get('Type')} mount at {target}: not carried")


def _env(result: Draft, env: list[str], image_env: list[str]) -> None:
    for entry in env:
        if entry in image_env:
            continue
        key, _, value = entry.partition("=")
        result.env(key, literal(value))  # as the container has it: no `${…}` is read


def _process(result: Draft, config: dict[str, Any], image_config: dict[str, Any]) -> None:
    workdir = config.get("WorkingDir") or ""
    if workdir and workdir != (image_config.get("WorkingDir") or ""):
        result.keys["workdir"] = workdir
    user = str(config.get("User") or "")
    if user and user != image_config.get("User") and user != "root":
        if re.fullmatch(r"[a-z_][a-z0-9_-]{0,31}", user):
            result.keys["user"] = user
        else:
            result.note(f"user {user}: only a user name maps (not uid:gid)")
    entrypoint, command = config.get("Entrypoint") or [], config.get("Cmd") or []
    if entrypoint != (image_config.get("Entrypoint") or []):
        result.keys["command"] = [*entrypoint, *command]
        result.note("entrypoint: folded into command (devenv's entrypoint runs first, then it)")
    elif command and command != (image_config.get("Cmd") or []):
        result.keys["command"] = list(command)


def _unexpressed(result: Draft, c: dict[str, Any], host: dict[str, Any]) -> None:
    for key, what in (
        ("CapAdd", "capabilities added"),
        ("CapDrop", "capabilities dropped"),
        ("Devices", "devices"),
        ("ExtraHosts", "extra hosts"),
        ("Dns", "DNS servers"),
        ("SecurityOpt", "security options"),
    ):
        if host.get(key):
            shown = [d.get("PathOnHost", "?") if isinstance(d, dict) else str(d) for d in host[key]]
            result.note(f"{what}: {', '.join(shown)}")
    if host.get("Privileged"):
        result.note("privileged: not carried (devenv boxes never are)")
    mode = str(host.get("NetworkMode") or "default")
    if mode in ("host", "none") or mode.startswith("container:"):
        result.note(f"network mode {mode}: not carried (boxes get their own network)")
    for net, endpoint in ((c.get("NetworkSettings") or {}).get("Networks") or {}).items():
        aliases = [a for a in (endpoint or {}).get("Aliases") or [] if not c["Id"].startswith(a)]
        if net not in ("bridge", "host", "none", "default"):
            result.note(
                f"network {net}"
                + (f" (aliases {', '.join(aliases)})" if aliases else "")
                + ": not joined; add it to networks.join if needed"
            )


def _changed_files(result: Draft, found: Found) -> None:
    mounts = [str(m.get("Destination")) for m in found.container.get("Mounts") or []]
    files = hand_made_work(found.diff, discarded(found.diff, mounts), found.owned_files)
    if files:
        shown = ", ".join(files[:SHOWN_FILES]) + (
            f" and {len(files) - SHOWN_FILES} more" if len(files) > SHOWN_FILES else ""
        )
        result.note(f"files changed outside packages (keep them with apply --snapshot): {shown}")
