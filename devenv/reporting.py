"""What long-running work tells the user, as an interface: the CLI passes a rich reporter,
tests a silent or recording one. Lives at the bottom so every layer can report upward."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Protocol

# What a terminal would act on rather than show: C0 and C1 controls (escape sequences that
# set the title, move the cursor or write the clipboard), DEL, and the bidirectional
# overrides that reorder what is shown; SGR colour sequences matched first, to keep them.
_SHOWN_AS_CODE = re.compile(
    r"(\x1b\[[0-9;]*m)|([\x00-\x08\x0a-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069])"
)


def visible(text: str, keep: str = "", colour: bool = False) -> str:
    """Foreign text (a box's or the engine's output, a file name) as it literally is: every
    control character written as its code (`\\x1b`, `\\u202e`) but tabs and those in
    `keep` (e.g. newlines), and colour sequences too when `colour`."""

    def shown(found: re.Match[str]) -> str:
        text = found.group(0)
        if (found.group(1) and colour) or text in keep:
            return text
        return text.encode("unicode_escape").decode("ascii")

    return _SHOWN_AS_CODE.sub(shown, text)


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
