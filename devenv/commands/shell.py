"""`devenv shell`: a shell or a command inside an env, as its user, in its workdir.

On a terminal it runs the docker CLI (for its terminal handling) pointed at the engine
devenv uses (devenv.engine.connection), never at whatever the CLI's own context or config names.
Without one, on a local socket, the engine's exec API runs the command (devenv.engine.
exec_stream): the same streams and exit code as `docker exec -i`, without the CLI.
The answer from the memo (devenv.answers.shell) runs the same command line from here; this
module imports nothing heavy at its top for that reason."""

from __future__ import annotations

import shutil
import subprocess
import sys
from typing import TYPE_CHECKING

from devenv.errors import DevenvError

if TYPE_CHECKING:
    from devenv.engine import Engine
    from devenv.engine.connection import Connection


def enter(path: str, command: list[str], engine: Engine | None = None) -> int:
    """Run `command` (or a login shell) in the env of the spec at `path`; its exit code."""
    from devenv.engine import Engine
    from devenv.spec.loader import load_one

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


LOGIN_SHELL = "if command -v bash >/dev/null 2>&1; then exec bash -l; else exec sh -l; fi"


def exec_argv(
    engine: Connection,
    name: str,
    user: str | None,
    workdir: str | None,
    command: list[str],
    tty: bool,
) -> list[str]:
    """The `docker exec` command line for entering `name` on `engine`."""
    argv = ["docker", *engine.cli_args(), "exec", "-i"]
    if tty:
        argv.append("-t")
    if user:
        argv += ["-u", user]
    if workdir:
        argv += ["-w", workdir]
    return [*argv, name, *box_command(command)]


def box_command(command: list[str]) -> list[str]:
    """What runs in the box: the user's command, or a login shell."""
    return command or ["/bin/sh", "-c", LOGIN_SHELL]
