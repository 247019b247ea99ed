"""The `devenv` command: the fast path first (devenv.quick), the full CLI when it cannot
answer. Nothing heavy is imported before the fast path has had its try."""

from __future__ import annotations

import sys
from typing import NoReturn


def main() -> None:
    from devenv.quick.run import attempt

    try:
        code = attempt(sys.argv[1:])
    except KeyboardInterrupt:
        sys.stderr.write("devenv: interrupted\n")
        raise SystemExit(130) from None
    if code is not None:
        _leave(code)
    from devenv.cli.app import main as full

    full()


def _leave(code: int) -> NoReturn:
    """Exit without the interpreter's teardown (a tenth of a fast run's time): the fast path
    holds no files, locks or atexit work, only its output, flushed here."""
    import os

    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except OSError:  # the reader went away (`devenv plan | head`)
            code = code or 1
    os._exit(code)


if __name__ == "__main__":
    main()
