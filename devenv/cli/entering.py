"""Getting into a box: `shell`, `ssh`, `ssh-config`, and its output, `logs`.
Wiring only, like app.py; `register(app)` adds the commands."""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING, Annotated

import typer

from devenv.cli.options import Command, OnePath, Paths, fail

if TYPE_CHECKING:
    from devenv.commands.ssh import SshLogin
    from devenv.spec.loader import SpecFile

Follow = Annotated[bool, typer.Option("--follow", "-f", help="Keep printing new output.")]
Tail = Annotated[int | None, typer.Option("--tail", "-n", min=0, help="Only the last N lines.")]
Since = Annotated[
    str | None,
    typer.Option("--since", help="Only output since then: 10m, 1h, 2024-05-01T10:00Z."),
]


def _after_dashes(command: list[str] | None) -> list[str]:
    """`devenv shell PATH -- CMD…`: the words after `--`, as given."""
    argv = list(command or [])
    return argv[1:] if argv[:1] == ["--"] else argv


def _ssh_logins(specs: list[SpecFile]) -> list[SshLogin]:
    from devenv.commands.ssh import ssh_login
    from devenv.engine import Engine
    from devenv.host import Host

    engine = Engine()
    observed = engine.observe([s.spec.name for s in specs])
    host = Host.current()
    connection = engine.connection
    jump = None if connection.local else (connection.ssh_jump or connection.machine)
    return [ssh_login(s, observed.named(s.spec.name), host, jump) for s in specs]


def _print_logs(path: str, follow: bool, tail: int | None, since: str | None) -> None:
    """`devenv logs`: a box may not retitle the window or write the clipboard of a terminal."""
    import codecs
    import time

    from devenv.commands.logs import box_output, parse_since
    from devenv.engine import Engine
    from devenv.reporting import visible

    start = parse_since(since, time.time()) if since is not None else None
    terminal = sys.stdout.isatty()
    decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
    try:
        for chunk in box_output(Engine(), path, tail, start, follow):
            if terminal:  # a box may not retitle the window or write the clipboard
                text = visible(decoder.decode(chunk), keep="\n\r", colour=True)
                chunk = text.encode()
            sys.stdout.buffer.write(chunk)
            sys.stdout.buffer.flush()
    except BrokenPipeError:  # `devenv logs … | head`: the reader has what it wanted
        import os

        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())


def register(app: typer.Typer) -> None:
    """Add logs, shell, ssh and ssh-config to `app`."""

    @app.command()
    def logs(
        path: OnePath,
        follow: Follow = False,
        tail: Tail = None,
        since: Since = None,
    ) -> None:
        """The box's output (its command's and sshd's), as `docker logs` shows it; on a
        terminal, its control sequences but colours are shown as codes, not obeyed."""
        _print_logs(path, follow, tail, since)

    @app.command(context_settings={"allow_interspersed_args": False})
    def shell(path: OnePath, command: Command = None) -> None:
        """A shell in the env (as its user, in its workdir), or CMD with its exit code."""
        from devenv.commands.shell import enter

        raise typer.Exit(enter(path, _after_dashes(command)))

    @app.command(context_settings={"allow_interspersed_args": False})
    def ssh(path: OnePath, command: Command = None) -> None:
        """Log in to an env over SSH (its published port 22, its host key checked)."""
        import shutil
        import subprocess

        from devenv.spec.loader import load_one

        argv = _after_dashes(command)
        (found,) = _ssh_logins([load_one(path)])
        if shutil.which("ssh") is None:
            fail("devenv: the ssh client is not installed (apt-get install openssh-client)")
        tty = sys.stdin.isatty() and sys.stdout.isatty()
        raise typer.Exit(subprocess.run(found.argv(argv, tty), check=False).returncode)

    @app.command("ssh-config")
    def ssh_config(paths: Paths) -> None:
        """Print ~/.ssh/config blocks, so `ssh NAME` and editors' remote features just work."""
        from devenv.spec.loader import load_all

        for found in _ssh_logins(load_all(paths)):
            sys.stdout.write(found.config_block() + "\n")
