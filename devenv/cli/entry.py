"""The `devenv` command: the fast path first (devenv.quick), the full CLI when it cannot
answer. Nothing heavy is imported before the fast path has had its try."""

from __future__ import annotations

import sys


def main() -> None:
    from devenv.quick.run import attempt

    try:
        code = attempt(sys.argv[1:])
    except KeyboardInterrupt:
        sys.stderr.write("devenv: interrupted\n")
        raise SystemExit(130) from None
    if code is not None:
        raise SystemExit(code)
    from devenv.cli.app import main as full

    full()


if __name__ == "__main__":
    main()
