"""Reading an engine's build stream: lines to the log and the caller, the step under way,
and a failure as one BuildError naming that step and the log. Pure: no docker import."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any, Protocol

from devenv.errors import BuildError

LOG_TAIL = 15
ANSI_RE = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")  # colour codes the engine adds to stderr lines


class LogSink(Protocol):
    """Where build output goes: a file, or devenv's BuildLog (which names its own faults)."""

    def write(self, text: str) -> object: ...

    def flush(self) -> None: ...


def follow(
    stream: Iterable[dict[str, Any]],
    log: LogSink,
    log_path: Path,
    what: str,
    on_line: Callable[[str], None] = lambda _line: None,
) -> str:
    """Consume a decoded build stream; return the image id, or raise BuildError."""
    step = "preparing the build"
    tail: list[str] = []
    image_id = ""
    for chunk in stream:
        if "stream" in chunk:
            for raw_line in chunk["stream"].splitlines():
                line = ANSI_RE.sub("", raw_line)
                log.write(line + "\n")
                if line.startswith("Step "):
                    step = line
                if line.strip():
                    tail = [*tail[-(LOG_TAIL - 1) :], line]
                    on_line(line)
        if "error" in chunk:
            log.write(chunk["error"] + "\n")
            log.flush()
            shown = "\n    ".join(tail[-LOG_TAIL:])
            full = any("No space left on device" in line for line in tail)
            why = "the engine's disk is full. " if full else ""
            raise BuildError(
                f"building {what} failed at {step}: {why}{chunk['error'].strip()}"
                + (f"\n  last output:\n    {shown}" if shown else ""),
                f"full log: {log_path}",
                str(log_path),
            )
        if "aux" in chunk and "ID" in chunk["aux"]:
            image_id = chunk["aux"]["ID"]
    return image_id
