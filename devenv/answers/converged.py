"""A converged `plan` or `apply`, and `status` of envs in sync: the verdict on two engine
reads, written as the full path writes it."""

from __future__ import annotations

import functools
import os
import sys
from collections.abc import Callable

from devenv import labels as L
from devenv.answers import show
from devenv.answers.argv import Request
from devenv.answers.specs import discover, engine_for
from devenv.commands.status import StatusRow, as_table, colour_wanted
from devenv.commands.status import as_json as status_json
from devenv.converge.memo import store as cache
from devenv.converge.verdict import converged, orphans
from devenv.engine.connection import Connection
from devenv.engine.observe import observe
from devenv.engine.observed import ObservedContainer
from devenv.engine.server import Server, engine_line
from devenv.engine.wire import Wire


def _engine_line(connection: Connection, wire: Wire, servers: set[str]) -> str | None:
    """The line naming the engine, as the full path prints it ("" for the usual local
    Docker); None if the engine is not the one the cache was written for. /version is
    asked only where that line depends on it."""
    usual = connection.source == "default socket"
    if usual and servers and all(s.startswith("Docker Engine ") for s in servers):
        return ""
    server = Server.from_version(wire.get("/version"))
    if any(s != str(server) for s in servers):
        return None
    return engine_line(server, connection)


def plan_or_apply(request: Request) -> Callable[[], int] | None:
    specs = discover(request.paths)
    entries = [cache.read(spec) for spec in specs or []]
    found = [e for e in entries if e is not None]
    if not found or len(found) != len(entries):
        return None
    names = [e.name for e in found]
    colour = show.plain_terminal(sys.stdout)
    reached = engine_for(found) if len(set(names)) == len(names) else None
    if reached is None or (colour is None and "--json" not in request.flags):
        return None
    connection, wire = reached
    line = _engine_line(connection, wire, {e.server for e in found})
    if line is None:
        return None
    observed = observe(wire, names, local=True)
    envs = [
        (e, converged(e.wanted, observed) if cache.holds_for(e, observed) else None) for e in found
    ]
    projects = {os.path.dirname(e.spec) for e in found}
    if "--prune" in request.flags and orphans(observed, names, projects):
        return None
    ready = [(e, live) for e, live in envs if live is not None]
    if len(ready) != len(envs):
        return None
    return functools.partial(_answer, request, ready, line, bool(colour))


def _answer(
    request: Request,
    envs: list[tuple[cache.Cached, ObservedContainer]],
    line: str,
    colour: bool,
) -> int:
    as_json = "--json" in request.flags
    if request.command == "plan":
        return _show(line, show.plan_json(envs) if as_json else show.plan_text(envs, colour))
    if not as_json:
        show.write(show.plan_text(envs, colour))
    show.write(show.outcomes_json(envs) if as_json else show.outcomes_text(envs, colour))
    return 0


def status(request: Request) -> Callable[[], int] | None:
    """`status`: only when every env it lists runs in sync with its cached spec."""
    as_json = "--json" in request.flags
    specs = discover(request.paths) if request.paths else []
    asked = [cache.read(spec) for spec in specs or []]
    if specs is None or None in asked:
        return None
    reached = engine_for([e for e in asked if e is not None])
    if reached is None:
        return None
    connection, wire = reached
    observed = observe(wire, [e.name for e in asked if e is not None], local=True)
    if not request.paths:
        listed = sorted(
            (c for c in observed.containers if c.owned and c.name == c.env), key=lambda c: c.name
        )
        asked = [cache.read(c.labels.get(L.SPEC, "")) for c in listed]
    entries = [e for e in asked if e is not None]
    if len(entries) != len(asked) or any(e.engine != connection.url for e in entries):
        return None
    envs = [
        (e, converged(e.wanted, observed) if cache.holds_for(e, observed) else None)
        for e in entries
    ]
    ready = [(e, live) for e, live in envs if live is not None]
    rows = [
        StatusRow.of(live, want.wanted.spec, observed)._replace(in_sync=True)
        for want, live in ready
    ]
    text = status_json(rows) if as_json else as_table(rows, colour_wanted(sys.stdout))
    line = _engine_line(connection, wire, {e.server for e in entries})
    if len(ready) != len(envs) or line is None:
        return None
    return functools.partial(_show, line, text)


def _show(line: str, text: str) -> int:
    if line:
        show.write(line, sys.stderr)
    show.write(text)
    return 0
