"""Answer a converged `plan`/`apply`, `status` or a `shell` from the cache and a few
engine reads, or return None: the full CLI then runs the command (and refreshes the cache).
Each command imports only what it needs."""

from __future__ import annotations

import importlib
import os
from collections.abc import Callable

from devenv.answers.argv import Request, parse
from devenv.engine.wire import Unreachable
from devenv.errors import DevenvError

OFF = "DEVENV_NO_FAST_PATH"  # set: always the full path (tests compare the two)
ANSWERS = {  # command → module and function that decide; they return the answer to run
    "plan": ("devenv.answers.converged", "plan_or_apply"),
    "apply": ("devenv.answers.converged", "plan_or_apply"),
    "status": ("devenv.answers.converged", "status"),
    "shell": ("devenv.answers.shell", "shell"),
}


def attempt(argv: list[str]) -> int | None:
    """The exit code of the command in `argv`, or None if the fast path cannot answer it."""
    request = None if os.environ.get(OFF) else parse(argv)
    if request is None:
        return None
    try:
        answer = _decide(request)
    except (Unreachable, DevenvError, OSError, ValueError, KeyError, TypeError):
        return None
    return None if answer is None else answer()  # output starts only here: no way back


def _decide(request: Request) -> Callable[[], int | None] | None:
    module, name = ANSWERS[request.command]
    decide: Callable[[Request], Callable[[], int | None] | None]
    decide = getattr(importlib.import_module(module), name)
    return decide(request)
