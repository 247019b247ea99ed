"""What the fast path reads before any engine call: the spec files a command names, and
the engine their cached states were written for."""

from __future__ import annotations

from devenv.converge.memo.store import Cached
from devenv.engine.connection import Connection
from devenv.engine.wire import Wire
from devenv.errors import DevenvError


def discover(paths: tuple[str, ...]) -> list[str] | None:
    """The spec files `paths` name, as the loader finds them and as the user named them
    (absolute, links not followed: the memo's key); None where the loader would complain
    (the full path says so better)."""
    import os

    from devenv.spec.files import discover as named

    try:
        return [os.path.abspath(p) for p in named(paths)]
    except (DevenvError, OSError):
        return None


def engine_for(entries: list[Cached]) -> tuple[Connection, Wire] | None:
    """The engine every entry was cached for, when it is a unix socket that still resolves."""
    from devenv.engine.connection import resolve

    connection = resolve()
    if connection.scheme != "unix" or any(e.engine != connection.url for e in entries):
        return None
    return connection, Wire(connection.url.split("://", 1)[1])
