"""`devenv shell`: a shell or a command inside an env, as its user, in its workdir.

It runs the docker CLI (for its terminal handling) pointed at the engine devenv uses
(devenv.connection), never at whatever the CLI's own context or config names."""

from __future__ import annotations

import shutil
import subprocess
import sys

from devenv.dockerexec import exec_argv
from devenv.engine import Engine
from devenv.errors import DevenvError
from devenv.spec.loader import load_one


def enter(path: str, command: list[str], engine: Engine | None = None) -> int:
    spec_file = load_one(path)
    spec = spec_file.spec
    engine = engine or Engine()
    live = engine.observe([spec.name]).named(spec.name)
    if live is not None and not live.owned:
        raise DevenvError(
            f"a container named {spec.name!r} exists that devenv did not create",
            f"remove or rename it, then run: devenv apply {path}",
        )
    if live is None:
        raise DevenvError(f"{spec.name} has no devenv container", f"run: devenv apply {path}")
    if live.state != "running":
        raise DevenvError(
            f"{spec.name} is not running (state: {live.state})", f"run: devenv start {path}"
        )
    user = spec.user.name if spec.user else None
    if shutil.which("docker") is None:
        raise DevenvError(
            "entering a container needs the docker command-line client",
            "install docker.io or docker-ce-cli",
        )
    tty = sys.stdin.isatty() and sys.stdout.isatty()
    argv = exec_argv(engine.connection, spec.name, user, spec.workdir, command, tty)
    return subprocess.run(argv, check=False).returncode
