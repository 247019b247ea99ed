"""What `devenv shell` runs in a box, and the `docker exec` command line that enters it on
a terminal: shared by devenv.enter and its fast path (devenv.quick), so both run the same."""

from __future__ import annotations

from devenv.connection import Connection

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
