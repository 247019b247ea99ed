"""`devenv which PID`: the env a host process lives in, from its cgroup path and the engine,
so nobody kills on the host a process that belongs to a box."""

from __future__ import annotations

import re
from pathlib import Path

from devenv import labels as L
from devenv.engine import Engine
from devenv.errors import DevenvError

# cgroup v1 `…:/docker/<id>`, v2 `0::/system.slice/docker-<id>.scope`, Podman `libpod-<id>`,
# containerd `cri-containerd-<id>`, and nested (`/docker/<id>/…`): the last ID on a line
ID_RE = re.compile(r"(?<![0-9a-f])([0-9a-f]{64})(?![0-9a-f])")


def container_id(cgroup: str) -> str | None:
    """The container ID in the text of /proc/PID/cgroup, or None for a host process."""
    for line in cgroup.splitlines():
        found = ID_RE.findall(line.split(":", 2)[-1])
        if found:
            return str(found[-1])
    return None


def which(pid: int, proc: Path = Path("/proc")) -> str:
    """One sentence naming the env (or container) of `pid`; DevenvError when in none."""
    try:
        cgroup = (proc / str(pid) / "cgroup").read_text()
    except OSError:
        raise DevenvError(f"no process {pid} on this host", "check the PID (ps -ef)") from None
    cid = container_id(cgroup)
    if cid is None:
        raise DevenvError(f"process {pid} runs on the host, in no env", "")
    info = Engine().inspect_container(cid)
    if info is None:
        raise DevenvError(
            f"process {pid} runs in container {cid[:12]}, which this engine does not know",
            "another engine (check DOCKER_HOST) or another runtime owns it",
        )
    name = str(info.get("Name", "")).lstrip("/")
    labels = (info.get("Config") or {}).get("Labels") or {}
    if not L.owned(labels):
        raise DevenvError(
            f"process {pid} runs in container {name} ({cid[:12]}), which devenv did not create",
            f"devenv init --from {name} writes a spec that takes it over",
        )
    return f"process {pid} runs in env {labels.get(L.ENV)} (container {name}, spec {labels.get(L.SPEC)})"
