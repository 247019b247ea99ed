"""What the fast path reads before any engine call: the spec files a command names, and
the engine their cached states were written for."""

from __future__ import annotations

import os

from devenv.connection import Connection
from devenv.engine.wire import Wire
from devenv.quick.cache import Cached

SPEC_SUFFIXES = (".yaml", ".yml")  # as devenv.spec.loader.discover finds specs


def discover(paths: tuple[str, ...]) -> list[str] | None:
    """The resolved spec files `paths` name, as the loader finds them; None where the
    loader would complain (it says so better)."""
    found: list[str] = []
    for raw in paths:
        path = os.path.expanduser(raw)
        if os.path.isdir(path):
            names = sorted(n for n in os.listdir(path) if n.endswith(SPEC_SUFFIXES))
            specs = [os.path.join(path, n) for n in names if os.path.isfile(os.path.join(path, n))]
            if not specs:
                return None
            found.extend(specs)
        elif os.path.exists(path):
            found.append(path)
        else:
            return None
    return list(dict.fromkeys(os.path.realpath(p) for p in found))


def engine_for(entries: list[Cached]) -> tuple[Connection, Wire] | None:
    """The engine every entry was cached for, when it is a unix socket that still resolves."""
    from devenv.connection import resolve

    connection = resolve()
    if connection.scheme != "unix" or any(e.engine != connection.url for e in entries):
        return None
    return connection, Wire(connection.url.split("://", 1)[1])
