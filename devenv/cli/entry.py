"""The `devenv` command: an answer from the memo first (devenv.answers), the full CLI when
there is none. Nothing heavy is imported before the fast path has had its try."""

from __future__ import annotations

import sys
from typing import NoReturn


def main() -> None:
    from devenv.answers.run import attempt

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
    """Exit with the answer's code once its output is flushed; a reader that went away
    (`devenv plan | head`) is an error, said by the code, not by a traceback at teardown."""
    import os

    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except OSError:
            code = code or 1
            os.dup2(os.open(os.devnull, os.O_WRONLY), stream.fileno())  # as Python's docs advise
    raise SystemExit(code)


if __name__ == "__main__":
    main()
