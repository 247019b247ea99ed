"""A bind mount from a peer's format as the spec holds it: the Docker socket becomes
`docker_socket: true`, the host's clock files become `TZ`, a mount onto the runtime's own
folders (/dev, /proc, /sys) is listed; anything else is a shared folder."""

from __future__ import annotations

from pathlib import Path

from devenv.formats.draft import Draft, host_path, shared_entry
from devenv.spec.rules import RUNTIME_PATHS
from devenv.spec.shares import DOCKER_SOCKETS

DOCKER_SOCKET = "/var/run/docker.sock"
CLOCK_FILES = ("/etc/localtime", "/etc/timezone")
TZ_VALUE = "${TZ:-UTC}"


def add_bind(
    draft: Draft, source: str, target: str, readonly: bool, out_dir: Path, what: str
) -> None:
    """One bind mount of `source` (absolute, or starting with ~) at `target`; `what` names
    it in notes as the source file wrote it."""
    plain = source.rstrip("/") or "/"
    if plain in DOCKER_SOCKETS:
        draft.keys["docker_socket"] = True
        moved = "" if target == DOCKER_SOCKET else f", mounted at {DOCKER_SOCKET}, not {target}"
        draft.note(f"{what}: carried as docker_socket: true (the box controls the engine){moved}")
    elif plain in CLOCK_FILES:
        env = draft.keys.setdefault("env", {})
        if "TZ" not in env:
            env["TZ"] = TZ_VALUE
        draft.note(
            f"{what}: the host's clock files are not shared; env TZ: {env['TZ']} sets the time "
            "zone instead (set TZ, e.g. Europe/Paris; the image needs tzdata)"
        )
    elif any(target == top or target.startswith(top + "/") for top in RUNTIME_PATHS):
        draft.note(f"{what}: not carried ({target} belongs to the container runtime)")
    else:
        draft.add("shared", shared_entry(host_path(source, out_dir), target, readonly))
