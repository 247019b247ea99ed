"""Gathers what `devenv doctor` checks: the engine's answers (through the adapter) and the
specs' host-side facts; devenv.commands.doctor judges them."""

from __future__ import annotations

import shutil
from collections.abc import Sequence
from pathlib import Path

from devenv.commands.doctor import (
    EngineFacts,
    Finding,
    engine_findings,
    free_space_finding,
    image_finding,
    key_finding,
    mirror_finding,
    port_finding,
    reachable,
    state_finding,
    tool_findings,
)
from devenv.converge.hostprep import port_taken
from devenv.engine.connection import Connection, resolve
from devenv.errors import DevenvError
from devenv.host import Host
from devenv.spec.hostpaths import host_path
from devenv.spec.loader import SpecFile, load_tolerant


def engine_facts() -> EngineFacts:
    """Ask the engine once for /version, /info and its images; never raises."""
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
    except DevenvError as exc:
        why = exc.message.rsplit("(", 1)[-1].rstrip(")") if "(" in exc.message else exc.message
        return EngineFacts(connection, error=why, hint=exc.hint or "")
    return EngineFacts(connection, server, info, images=tags)


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
            taken = local and port_taken(port.bind, port.host, port.protocol)
            found.append(port_finding(name, port.bind, port.host, taken, local))
    if spec.sshd is not None:
        for entry in spec.sshd.authorized_keys:
            found.append(key_finding(name, host_path(spec_file, entry)))
    return found


def run(paths: Sequence[str]) -> list[Finding]:
    """Every finding, engine first; specs that do not load are findings too."""
    facts = engine_facts()
    found = engine_findings(facts)
    root = facts.info.get("DockerRootDir")
    if facts.server is not None and root and facts.connection and facts.connection.local:
        found.append(free_space_finding(Path(root)))
    specs, problems = load_tolerant(list(paths)) if paths else ([], [])
    for problem in problems:
        found.append(Finding(False, "spec", str(problem), "fix the spec: devenv validate"))
    for spec_file in specs:
        found += spec_findings(spec_file, facts)
    found += tool_findings(shutil.which)
    found.append(state_finding(Host.current().state_dir))
    return found
