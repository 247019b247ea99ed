"""What long-running work tells the user, as an interface: the CLI passes a rich reporter,
tests a silent or recording one. Lives at the bottom so every layer can report upward."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol


class Reporter(Protocol):
    def step(self, env: str, message: str) -> None:
        """One line of progress for `env` ("building …", "replacing container")."""

    def build_line(self, env: str, line: str) -> None:
        """One line of build output, shown while the build runs."""

    def output_line(self, env: str, line: str) -> None:
        """One line a command in the box printed (a hook's output), shown as it comes."""

    def waiting(self, env: str) -> None:
        """Another devenv holds `env`'s lock; this one waits for it."""


class SilentReporter:
    """A reporter that says nothing (tests, `--json`)."""

    def step(self, env: str, message: str) -> None:
        pass

    def build_line(self, env: str, line: str) -> None:
        pass

    def output_line(self, env: str, line: str) -> None:
        pass

    def waiting(self, env: str) -> None:
        pass


@dataclass
class Outcome:
    """How one env's apply ended: ok or not, and the sentence that says so."""

    env: str
    ok: bool
    message: str
