"""`shell`: into a running env of a cached spec, as devenv.commands.shell goes (the same command
line): on a terminal the docker CLI is exec'd, otherwise the engine's exec API runs it."""

from __future__ import annotations

import functools
import os
import sys
from collections.abc import Callable
from urllib.parse import quote

from devenv import labels as L
from devenv.answers.argv import Request
from devenv.answers.specs import discover, engine_for
from devenv.converge.memo import store as cache
from devenv.engine import exec_stream


def shell(request: Request) -> Callable[[], int | None] | None:
    """Into a running env of a cached spec, as devenv.commands.shell goes (the same command line):
    on a terminal, the docker CLI is exec'd; otherwise the engine's exec API runs it."""
    from devenv.commands.shell import box_command, exec_argv

    specs = discover(request.paths) or []
    entry = cache.read(specs[0]) if len(specs) == 1 else None
    reached = engine_for([entry]) if entry is not None else None
    if entry is None or reached is None:
        return None
    connection, wire = reached
    live = wire.get(f"/containers/{quote(entry.name)}/json")
    labels = (live.get("Config") or {}).get("Labels") or {}
    if not L.owned(labels) or not (live.get("State") or {}).get("Running"):
        return None
    words = list(request.words)
    if sys.stdin.isatty() and sys.stdout.isatty():  # the docker CLI does the terminal's work
        import shutil

        argv = exec_argv(connection, entry.name, entry.user, entry.workdir, words, True)
        return functools.partial(_exec, argv) if shutil.which("docker") else None
    command = box_command(words)
    exec_id = exec_stream.prepare(wire, entry.name, command, entry.user, entry.workdir)
    return functools.partial(exec_stream.run, wire, exec_id)


def _exec(argv: list[str]) -> int | None:
    """Become `argv`; if it cannot even start, the full path tries (and explains)."""
    sys.stdout.flush()
    try:
        os.execvp(argv[0], argv)
    except OSError:
        return None
    return None  # not reached: exec replaced this process
