"""`devenv shell`: a shell or a command inside an env, as its user, in its workdir.

On a terminal it runs the docker CLI (for its terminal handling) pointed at the engine
devenv uses (devenv.connection), never at whatever the CLI's own context or config names.
Without one, on a local socket, the engine's exec API runs the command (devenv.engine.
exec_stream): the same streams and exit code as `docker exec -i`, without the CLI."""

from __future__ import annotations

import shutil
import subprocess
import sys

from devenv.dockerexec import box_command, exec_argv
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
    tty = sys.stdin.isatty() and sys.stdout.isatty()
    if not tty and engine.connection.scheme == "unix":
        return _through_the_api(engine.connection.url, spec.name, user, spec.workdir, command)
    if shutil.which("docker") is None:
        raise DevenvError(
            "entering a container on a terminal needs the docker command-line client",
            "install docker.io or docker-ce-cli (a command without a terminal needs none)",
        )
    argv = exec_argv(engine.connection, spec.name, user, spec.workdir, command, tty)
    return subprocess.run(argv, check=False).returncode


def _through_the_api(
    url: str, name: str, user: str | None, workdir: str | None, command: list[str]
) -> int:
    from devenv.engine import exec_stream
    from devenv.engine.wire import Unreachable, Wire

    wire = Wire(url.split("://", 1)[1])
    try:
        exec_id = exec_stream.prepare(wire, name, box_command(command), user, workdir)
    except Unreachable as exc:
        raise DevenvError(
            f"the engine would not run the command in {name} ({exc})",
            f"check the box: devenv status; its output: devenv logs {name}",
        ) from None
    return exec_stream.run(wire, exec_id)
