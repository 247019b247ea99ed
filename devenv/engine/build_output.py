"""Reading a build's output: lines to the log and the caller, the step under way, and a
failure as one BuildError naming that step and the log. Two sources: the engine's classic
build stream (decoded JSON chunks), and BuildKit's `--progress=plain` text from the docker
CLI (`#N [2/6] RUN …` headers, `#N 1.234 output` lines, `#N ERROR: …`). Pure: no docker import."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
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
            raise failure(what, step, chunk["error"], tail, log_path)
        if "aux" in chunk and "ID" in chunk["aux"]:
            image_id = chunk["aux"]["ID"]
    return image_id


def failure(what: str, step: str, error: str, tail: list[str], log_path: Path) -> BuildError:
    """One BuildError: the step, the engine's words, the last lines, the log's path."""
    shown = "\n    ".join(tail[-LOG_TAIL:])
    full = any("No space left on device" in line for line in tail)
    why = "the engine's disk is full. " if full else ""
    return BuildError(
        f"building {what} failed at {step}: {why}{error.strip()}"
        + (f"\n  last output:\n    {shown}" if shown else ""),
        f"full log: {log_path}",
        str(log_path),
    )


PLAIN_RE = re.compile(r"^#(\d+) (.*)$")
TIMED_RE = re.compile(r"^\d+\.\d+ (.*)$")
MOUNT_RE = re.compile(r"--mount=\S+ ")
NUMBERED_RE = re.compile(r"^\[(?:[^\]]* )?(\d+/\d+)\] (.*)$")  # [stage-0 2/6] RUN … / [2/6] …


@dataclass
class PlainProgress:
    """BuildKit's plain progress, line by line: what the steps are called, which one failed,
    with what words, and whether the build got going at all (no `#N` line: the CLI or the
    engine could not run BuildKit, so the caller may build another way)."""

    log: LogSink
    on_line: Callable[[str], None] = lambda _line: None
    titles: dict[str, str] = field(default_factory=dict)
    tail: list[str] = field(default_factory=list)
    step: str = "preparing the build"
    error: str = ""
    last: str = ""  # the last line outside any step: the CLI's own verdict
    started: bool = False

    def feed(self, raw_line: str) -> None:
        line = ANSI_RE.sub("", raw_line.rstrip("\n"))
        self.log.write(line + "\n")
        found = PLAIN_RE.match(line)
        if not found:
            if line.strip() and not line.startswith(("------", " > ")):
                self.last = line.strip()
            return
        self.started = True
        vertex, rest = found.groups()
        timed = TIMED_RE.match(rest)
        if timed:
            self._output(timed.group(1))
        elif rest.startswith("ERROR: "):
            self.step = self.titles.get(vertex, self.step)
            self.error = self.error or rest.removeprefix("ERROR: ")
        elif vertex not in self.titles or NUMBERED_RE.match(rest):
            numbered = NUMBERED_RE.match(rest)
            title = f"Step {numbered.group(1)} : {numbered.group(2)}" if numbered else rest
            title = MOUNT_RE.sub("", title)  # the cache mounts: the same on every RUN
            self.titles[vertex] = title
            self.on_line(title)

    def _output(self, line: str) -> None:
        if line.strip():
            self.tail = [*self.tail[-(LOG_TAIL - 1) :], line]
            self.on_line(line)

    @property
    def ran_step(self) -> bool:
        """The failure is a step's command exiting non-zero (not BuildKit's own trouble)."""
        return "exit code:" in self.error

    def failure(self, what: str, log_path: Path, code: int) -> BuildError:
        error = self.error or self.last or f"the docker CLI exited with {code}"
        return failure(what, self.step, error, self.tail, log_path)
