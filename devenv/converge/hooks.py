"""The spec's hooks, run in the box once it is up: `create` once per container, `start` after
each start apply does. As the box's user, in its workdir, output shown; a failure is one
error with the command, its exit code and its last lines of output."""

from __future__ import annotations

import shlex
from collections import deque
from typing import Literal

from devenv.converge.desired import DesiredEnv
from devenv.converge.readiness import CONTROL_RE
from devenv.engine.protocol import EngineAPI
from devenv.errors import DevenvError
from devenv.reporting import Reporter
from devenv.spec.hooks import hook_argv

TAIL_LINES = 20
SHOWN_CHARS = 80


def run_hooks(
    engine: EngineAPI,
    reporter: Reporter,
    want: DesiredEnv,
    container: str,
    which: Literal["create", "start"],
) -> None:
    """Run the spec's `which` hooks in order; the first that fails stops them (HookFailed)."""
    for command in getattr(want.spec_file.spec.hooks, which):
        _run_one(engine, reporter, want, container, which, command)


def _run_one(
    engine: EngineAPI,
    reporter: Reporter,
    want: DesiredEnv,
    container: str,
    which: str,
    command: str | list[str],
) -> None:
    spec = want.spec_file.spec
    shown = shown_command(command)
    reporter.step(want.name, f"{which} hook: {shown}")
    tail: deque[str] = deque(maxlen=TAIL_LINES)

    def on_line(line: str) -> None:
        clean = CONTROL_RE.sub("", line.rstrip("\r"))
        tail.append(clean)
        reporter.output_line(want.name, clean)

    user = spec.user.name if spec.user else None
    code = engine.exec_lines(container, hook_argv(command), user, spec.workdir, on_line)
    if code != 0:
        raise HookFailed(want.name, which, shown, code, list(tail))


class HookFailed(DevenvError):
    """A hook exited non-zero; the message carries its exit code and last output."""

    def __init__(self, env: str, which: str, shown: str, code: int, tail: list[str]) -> None:
        lines = [line for line in tail if line.strip()]
        output = "\n    ".join(lines)
        super().__init__(
            f"the {which} hook `{shown}` exited with code {code}"
            + (f"\n  last output:\n    {output}" if lines else "\n  (no output)"),
            env=env,
        )


def shown_command(command: str | list[str]) -> str:
    """A hook as one short line: its first line, cut at SHOWN_CHARS."""
    text = command if isinstance(command, str) else shlex.join(command)
    first = text.strip().splitlines()[0]
    more = first != text.strip() or len(first) > SHOWN_CHARS
    return first[:SHOWN_CHARS] + ("…" if more else "")
