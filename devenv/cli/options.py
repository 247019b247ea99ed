"""What every command shares: its argument and option types, failing, and asking."""

from __future__ import annotations

import sys
from typing import Annotated, NoReturn

import typer

Paths = Annotated[list[str], typer.Argument(help="Spec files or folders of them.")]
OnePath = Annotated[str, typer.Argument(help="A spec file.")]
Yes = Annotated[bool, typer.Option("--yes", "-y", help="Do not ask; needed without a TTY.")]
Json = Annotated[bool, typer.Option("--json", help="Machine-readable output.")]


def fail(message: str, code: int = 1) -> NoReturn:
    """Print `message` on stderr and exit with `code` (inside a command or around the app);
    what it quotes (a file's name, an engine's words) is shown as it is, control characters
    as codes (see devenv.reporting.visible)."""
    from devenv.reporting import visible

    sys.stderr.write(visible(message.rstrip("\n"), keep="\n") + "\n")
    raise SystemExit(code)


def ask(question: str) -> bool:
    """A yes/no question on stderr (stdout may be --json), answered on stdin; no means no."""
    # not typer.confirm, which writes part of its prompt to stdout
    sys.stderr.write(f"{question} [y/N]: ")
    sys.stderr.flush()
    return sys.stdin.readline().strip().lower() in ("y", "yes")


Command = Annotated[list[str] | None, typer.Argument(help="Run this instead of a shell.")]
