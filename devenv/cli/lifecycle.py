"""A box's life after apply: start, stop, restart, rollback, and the snapshots its changes were kept in.
Wiring only, like app.py; `register(app)` adds the commands."""

from __future__ import annotations

import sys
from typing import Annotated

import typer

from devenv.cli.options import Json, Paths
from devenv.errors import DevenvError
from devenv.reporting import Outcome, visible


def _containers_of(paths: list[str]) -> list[tuple[str, str]]:
    """(env, container id) for each spec's live, devenv-owned container."""
    from devenv.engine import Engine
    from devenv.spec.loader import load_all

    names = [s.spec.name for s in load_all(paths)]
    observed = Engine().observe(names)
    found = []
    for name in names:
        live = observed.named(name)
        if live is None or not live.owned:
            sys.stderr.write(f"devenv: {name}: no devenv container (apply it first)\n")
            continue
        found.append((name, live.id))
    return found


DONE = {"start": "started", "stop": "stopped", "restart": "restarted"}


def _lifecycle(paths: list[str], verb: str) -> None:
    from devenv.engine import Engine

    engine = Engine()
    found = _containers_of(paths)
    for name, container in found:
        getattr(engine, verb)(container)
        sys.stdout.write(f"{name}: {DONE[verb]}\n")
    if not found:
        raise typer.Exit(1)


def _start(paths: list[str], verb: str) -> None:
    """start/restart: each box proven up and its start hooks run, as apply does; a box whose
    spec cannot be worked out now (say, a variable unset) is only started, and says so."""
    from devenv.cli import ui
    from devenv.converge.apply import Applier
    from devenv.converge.session import open_session

    session = open_session(paths)
    reporter = ui.ConsoleReporter()
    applier = Applier(session.engine, session.host, reporter)
    for problem in session.problems:  # a spec that did not load: said, not silently skipped
        sys.stderr.write(f"{visible(str(problem))}\n")
    failed = bool(session.problems) or (not session.desired and not session.failures)
    for spec_file in session.specs:
        name = spec_file.spec.name
        live = session.observed.named(name)
        if live is None or not live.owned:
            sys.stderr.write(f"devenv: {name}: no devenv container (apply it first)\n")
            failed = True
            continue
        getattr(session.engine, verb)(live.id)
        want = next((d for d in session.desired if d.name == name), None)
        if want is None:
            why = session.failures.get(name, "its spec could not be read")
            sys.stderr.write(f"devenv: {name}: {DONE[verb]}, not checked ({why})\n")
            continue
        try:
            with reporter.live():
                applier.started(want, live.id)
        except DevenvError as exc:
            said = exc.headline if exc.env else f"{name}: {exc.message}"
            sys.stderr.write(
                f"devenv: {said}" + (f"\n  hint: {exc.hint}" if exc.hint else "") + "\n"
            )
            failed = True
            continue
        sys.stdout.write(f"{name}: {DONE[verb]}\n")
    if failed:
        raise typer.Exit(1)


def register(app: typer.Typer) -> None:
    """Add start, stop, restart and snapshots to `app`."""

    @app.command()
    def start(paths: Paths) -> None:
        """Start stopped envs; each is proven up and its start hooks run, as apply does."""
        _start(paths, "start")

    @app.command()
    def stop(paths: Paths) -> None:
        """Stop envs (apply starts them again: the spec says they run)."""
        _lifecycle(paths, "stop")

    @app.command()
    def restart(paths: Paths) -> None:
        """Restart envs; each is proven up and its start hooks run, as apply does."""
        _start(paths, "restart")

    @app.command()
    def rollback(path: Annotated[str, typer.Argument(help="The env's spec file.")]) -> None:
        """Put back the box the last apply replaced (kept stopped for one generation); the
        replaced one is kept in its place, so a second rollback goes forward again."""
        from devenv.cli import ui
        from devenv.commands.rollback import rollback as roll_back
        from devenv.engine import Engine
        from devenv.host import Host

        reporter = ui.ConsoleReporter()
        with reporter.live():
            name, said = roll_back(path, Engine(), Host.current(), reporter)
        ui.print_outcomes([Outcome(name, True, said)])

    @app.command()
    def snapshots(as_json: Json = False) -> None:
        """List snapshot images (containers' changed files kept by --snapshot)."""
        import json

        from devenv.engine import Engine

        rows = Engine().snapshots()
        if as_json:
            sys.stdout.write(json.dumps(rows, indent=2) + "\n")
            return
        if not rows:
            sys.stdout.write("No snapshots.\n")
        for row in rows:
            sys.stdout.write(f"{row['ref']}  env={row['env']}  created={row['created']}\n")
