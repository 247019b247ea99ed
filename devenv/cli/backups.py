"""Typer wiring for `devenv backup` and `devenv restore` (see README "After a crash").

Wiring only: the work is in devenv.commands.backup and devenv.commands.restore, imported inside
each command so `devenv --help` stays fast. `register(app)` adds the commands."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

from devenv.cli.options import Paths


def backup(
    paths: Paths,
    output: Annotated[Path, typer.Option("--output", "-o", help="The backup file to write.")],
    recipient: Annotated[
        list[str] | None,
        typer.Option(
            "--recipient",
            "-r",
            help="An SSH public key or age key (or a file of them) to encrypt to; "
            "default: your ~/.ssh/id_*.pub. Repeatable.",
        ),
    ] = None,
) -> None:
    """Write the envs' volumes, SSH host keys, locks and specs into one encrypted file."""
    from devenv.cli import ui
    from devenv.commands.backup import backup as run_backup
    from devenv.engine import Engine

    reporter = ui.ConsoleReporter()
    with reporter.live():
        lines = run_backup(paths, output, recipient or [], Engine(), reporter)
    sys.stdout.write("".join(line + "\n" for line in lines))


def restore(
    backup_file: Annotated[Path, typer.Argument(help="A file written by `devenv backup`.")],
    identity: Annotated[
        list[str] | None,
        typer.Option(
            "--identity",
            "-i",
            help="The private key to decrypt with; default: ~/.ssh/id_ed25519, id_rsa.",
        ),
    ] = None,
    to: Annotated[
        Path, typer.Option("--to", help="Folder to write the specs into (where none is).")
    ] = Path("."),
    force: Annotated[
        bool, typer.Option("--force", help="Replace volumes that hold data, and host keys.")
    ] = False,
) -> None:
    """Put a backup's volumes, SSH host keys, specs and locks back; then run `devenv apply`."""
    from devenv.cli import ui
    from devenv.commands.restore import restore as run_restore
    from devenv.engine import Engine

    reporter = ui.ConsoleReporter()
    with reporter.live():
        lines = run_restore(backup_file, identity or [], to, force, Engine(), reporter)
    sys.stdout.write("".join(line + "\n" for line in lines))
    sys.stdout.write(f"next: devenv apply {to}\n")


def register(app: typer.Typer) -> None:
    """Add backup and restore to devenv's Typer app."""
    app.command()(backup)
    app.command()(restore)
