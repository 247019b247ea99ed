"""`devenv doctor`: engine and host checks, one finding per line with a hint.

Facts are gathered once (engine calls through the adapter, a few host probes); the checks
are pure functions over them, so each is tested without an engine.
"""

from __future__ import annotations

import os
import shutil
import socket
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from devenv.converge.hostprep import port_taken
from devenv.engine.connection import Connection, resolve
from devenv.engine.server import Server, desktop_vm, rootless
from devenv.errors import DevenvError
from devenv.host import Host
from devenv.hostfiles import OWN_FOLDER_HINT, folder_problem
from devenv.spec.hostpaths import host_path
from devenv.spec.loader import SpecFile, load_tolerant

GIB = 1 << 30


@dataclass(frozen=True)
class Finding:
    ok: bool
    check: str
    message: str
    hint: str = ""

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class EngineFacts:
    """What the engine said, or why it could not be asked."""

    connection: Connection | None
    server: Server | None = None
    info: dict[str, Any] = field(default_factory=dict)
    error: str = ""
    hint: str = ""
    images: tuple[str, ...] = ()  # every tag the engine holds, short names too
    # the host ports each env's own box publishes: its own, not "taken"
    published: dict[str, frozenset[tuple[str, int, str]]] = field(default_factory=dict)


def engine_findings(facts: EngineFacts) -> list[Finding]:
    """Which engine, where, rootless or not, its storage; Docker Desktop/WSL notes."""
    where = facts.connection.describe() if facts.connection else "unknown"
    if facts.server is None:
        return [
            Finding(False, "engine", f"no engine answers at {where}: {facts.error}", facts.hint)
        ]
    server, info = facts.server, facts.info
    mode = "rootless" if rootless(info) else "rootful"
    found = [
        Finding(
            True,
            "engine",
            f"{server} (API {server.api_version}), {mode}, at {where}",
        )
    ]
    driver = info.get("Driver") or "unknown"
    found.append(
        Finding(True, "storage", f"storage driver {driver} in {info.get('DockerRootDir', '?')}")
    )
    if server.desktop or desktop_vm(info):
        found.append(
            Finding(
                True,
                "vm",
                "the engine runs in a VM (Docker Desktop/WSL): the VM is the real host",
                "shared folders must be shared into the VM (Settings → Resources → File "
                "sharing, or a path under /mnt on WSL); published ports are forwarded from it",
            )
        )
    if facts.connection is not None and not facts.connection.local:
        found.append(
            Finding(
                True,
                "remote",
                f"the engine runs on {facts.connection.machine}: shared folders are paths "
                "there, host ports are its ports",
                "`devenv ssh` jumps through that machine (ProxyJump)",
            )
        )
    return found


def free_space_finding(path: Path, minimum: int = 2 * GIB) -> Finding:
    """Free space where images go (checked only when that folder is on this machine)."""
    try:
        free = shutil.disk_usage(path).free
    except OSError:
        return Finding(True, "space", f"free space of {path} not visible from here")
    ok = free >= minimum
    return Finding(
        ok,
        "space",
        f"{free / GIB:.1f} GiB free in {path}",
        "" if ok else "free some space: `devenv prune`, `docker system prune`",
    )


def tool_findings(which: Any = shutil.which) -> list[Finding]:
    found = []
    for tool, package in (("ssh", "openssh-client"), ("ssh-keygen", "openssh-client")):
        if which(tool):
            found.append(Finding(True, "tools", f"{tool} found"))
        else:
            found.append(Finding(False, "tools", f"{tool} is missing", f"install {package}"))
    return found


def state_finding(state_dir: Path) -> Finding:
    unsafe = folder_problem(state_dir)
    if unsafe:
        return Finding(
            False, "state", unsafe, f"make it yours and private (chmod 700), {OWN_FOLDER_HINT}"
        )
    probe = state_dir
    while not probe.exists() and probe != probe.parent:
        probe = probe.parent
    if os.access(probe, os.W_OK):
        return Finding(True, "state", f"state folder {state_dir} is writable")
    return Finding(
        False,
        "state",
        f"state folder {state_dir} is not writable",
        "set DEVENV_STATE_DIR to a folder you own",
    )


def image_finding(env: str, ref: str, present: Sequence[str]) -> Finding:
    from devenv.engine.observed import short_name

    short = short_name(ref if ":" in ref.rsplit("/", 1)[-1] else f"{ref}:latest")
    if short in {short_name(tag) for tag in present}:
        return Finding(True, "base", f"{env}: base {ref} is on the engine")
    return Finding(
        True,
        "base",
        f"{env}: base {ref} is not on the engine yet; apply pulls it",
        f"pull it now: docker pull {ref}",
    )


def reachable(url: str, timeout: float = 3.0) -> bool:
    """Whether a TCP connection to the URL's host and port opens."""
    parts = urlsplit(url if "://" in url else f"https://{url}")
    port = parts.port or (80 if parts.scheme == "http" else 443)
    try:
        with socket.create_connection((parts.hostname or "", port), timeout=timeout):
            return True
    except OSError:
        return False


def mirror_finding(env: str, what: str, url: str, ok: bool) -> Finding:
    if ok:
        return Finding(True, "mirror", f"{env}: {what} {url} answers")
    return Finding(
        False, "mirror", f"{env}: {what} {url} does not answer", "check the address or the network"
    )


def port_finding(
    env: str, bind: str, port: int, taken: bool, local: bool, own: bool = False
) -> Finding:
    if not local:
        return Finding(True, "port", f"{env}: host port {bind}:{port} not checked (remote engine)")
    if own:
        return Finding(True, "port", f"{env}: host port {bind}:{port} is published by its box")
    if taken:
        return Finding(
            False,
            "port",
            f"{env}: host port {bind}:{port} is already taken",
            "free it, or pick another port in the spec",
        )
    return Finding(True, "port", f"{env}: host port {bind}:{port} is free")


def key_finding(env: str, path: Path) -> Finding:
    if path.is_file() and os.access(path, os.R_OK):
        return Finding(True, "keys", f"{env}: key file {path} is readable")
    return Finding(
        False,
        "keys",
        f"{env}: key file {path} is missing or unreadable",
        "make one: ssh-keygen -t ed25519",
    )


def render(findings: Sequence[Finding]) -> str:
    """One line per finding ('ok' or 'FIX'), its hint indented under it."""
    lines = []
    for finding in findings:
        mark = "ok " if finding.ok else "FIX"
        lines.append(f"{mark} {finding.check}: {finding.message}")
        if finding.hint and not finding.ok:
            lines.append(f"    hint: {finding.hint}")
        elif finding.hint:
            lines.append(f"    note: {finding.hint}")
    return "\n".join(lines) + "\n"


def healthy(findings: Sequence[Finding]) -> bool:
    return all(f.ok for f in findings)


# ---- gathering: the engine's answers (through the adapter) and the specs' host-side facts


def engine_facts(names: Sequence[str] = ()) -> EngineFacts:
    """Ask the engine once for /version, /info, its images and the envs' boxes; never raises."""
    from devenv.engine import Engine

    try:
        connection: Connection | None = resolve()
    except DevenvError as exc:
        return EngineFacts(None, error=exc.message, hint=exc.hint or "")
    engine = Engine(connection=connection)
    try:
        server = engine.server
        info = engine.info()
        tags = tuple(tag for image in engine.images() for tag in image.tags)
        observed = engine.observe(list(names)) if names else None
    except DevenvError as exc:
        why = exc.message.rsplit("(", 1)[-1].rstrip(")") if "(" in exc.message else exc.message
        return EngineFacts(connection, error=why, hint=exc.hint or "")
    published = {}
    for name in names:
        live = observed.named(name) if observed is not None else None
        if live is not None and live.owned and live.state == "running":
            published[name] = frozenset((p.bind, p.host, p.protocol) for p in live.ports)
    return EngineFacts(connection, server, info, images=tags, published=published)


def spec_findings(spec_file: SpecFile, facts: EngineFacts) -> list[Finding]:
    spec, name = spec_file.spec, spec_file.spec.name
    found = []
    if spec.base.image and facts.server is not None:
        found.append(image_finding(name, spec.base.image, facts.images))
    mirrors = [("apt mirror", spec.apt.mirror), ("bootstrap mirror", spec.base.mirror)]
    mirrors.append(("registry mirror", spec.base.registry_mirror))
    for what, url in mirrors:
        if url:
            found.append(mirror_finding(name, what, url, reachable(url)))
    local = facts.connection is None or facts.connection.local
    for port in spec.ports:
        if port.host is not None:
            own = (port.bind, port.host, port.protocol) in facts.published.get(name, ())
            taken = local and not own and port_taken(port.bind, port.host, port.protocol)
            found.append(port_finding(name, port.bind, port.host, taken, local, own))
    if spec.sshd is not None:
        for entry in spec.sshd.authorized_keys:
            found.append(key_finding(name, host_path(spec_file, entry)))
    return found


def run(paths: Sequence[str]) -> list[Finding]:
    """Every finding, engine first; specs that do not load are findings too."""
    specs, problems = load_tolerant(list(paths)) if paths else ([], [])
    facts = engine_facts([s.spec.name for s in specs])
    found = engine_findings(facts)
    root = facts.info.get("DockerRootDir")
    if facts.server is not None and root and facts.connection and facts.connection.local:
        found.append(free_space_finding(Path(root)))
    for problem in problems:
        found.append(Finding(False, "spec", str(problem), "fix the spec: devenv validate"))
    for spec_file in specs:
        found += spec_findings(spec_file, facts)
    found += tool_findings(shutil.which)
    found.append(state_finding(Host.current().state_dir))
    return found
