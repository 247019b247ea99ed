"""Typer wiring for `devenv lock`: write, refresh and check lock files beside specs.

Wiring only: the work is in devenv.commands.lock (engine) and devenv.build.lockfile (pure), imported inside
the command so `devenv --help` stays fast. `register(app)` adds the command.
"""

from __future__ import annotations

import sys
from typing import Annotated, NoReturn

import typer

Paths = Annotated[list[str], typer.Argument(help="Spec files or folders of them.")]


def _fail(message: str) -> NoReturn:
    sys.stderr.write(message.rstrip("\n") + "\n")
    raise typer.Exit(1)


def lock(
    paths: Paths,
    update: Annotated[
        bool, typer.Option("--update", help="Rebuild from the spec alone and pin anew.")
    ] = False,
    check: Annotated[
        bool, typer.Option("--check", help="Exit 1 when a lock no longer matches its spec.")
    ] = False,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="With --update: show what moves, write nothing.")
    ] = False,
) -> None:
    """Write lock files beside the specs: the base's identity and every package's version."""
    from devenv.commands import lock as locker

    if check:
        fine, problems = locker.check(paths)
        sys.stdout.write("".join(f"{line}\n" for line in fine))
        if problems:
            _fail("\n".join(problems) + "\n  hint: run `devenv lock --update` and commit the lock")
        return
    if dry_run and not update:
        _fail("devenv: --dry-run goes with --update (it shows what an update would move)")
    from devenv.build.lockfile import machine_bound
    from devenv.cli import ui

    reporter = ui.ConsoleReporter()
    with reporter.live():
        found, failed = locker.work_out(paths, reporter, update)
    for locked in found:
        if not dry_run:
            locker.write(locked)
        verb = "would write" if dry_run else "wrote"
        count = len(locked.lock.packages)
        sys.stdout.write(f"{locked.env}: {verb} {locked.path} ({count} packages)\n")
        sys.stdout.write("".join(f"  {line}\n" for line in locked.moved or ["nothing moved"]))
        bound = machine_bound(locked.lock)
        if bound:
            sys.stdout.write(f"  note: {bound}\n")
    if failed:
        lines = [f"✗ {f.env}: {f.why}" for f in failed]
        _fail(
            "\n".join(lines)
            + f"\n{len(failed)} env(s) not locked: "
            + ", ".join(f.env for f in failed)
        )


def register(app: typer.Typer) -> None:
    """Add `devenv lock` to devenv's Typer app."""
    app.command()(lock)
