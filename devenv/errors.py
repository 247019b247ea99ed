"""The one root of every error devenv shows a user; the CLI prints these and exits 1."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal


class DevenvError(Exception):
    """An error meant for a person: one clear sentence, optionally a hint, and the env it is
    about. The message never repeats the env's name: whoever prints it names the env once."""

    def __init__(self, message: str, hint: str | None = None, env: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint
        self.env = env

    def __str__(self) -> str:
        """The message and its hint, without the env (see `headline`)."""
        return self.message if not self.hint else f"{self.message}\n  hint: {self.hint}"

    @property
    def headline(self) -> str:
        """The message, after the env's name when it is about one: 'php: …'."""
        return f"{self.env}: {self.message}" if self.env else self.message


@dataclass(frozen=True)
class Problem:
    """One thing wrong with a spec, located at file:line:col (1-based)."""

    path: str
    line: int
    col: int
    message: str

    def __str__(self) -> str:
        return f"{self.path}:{self.line}:{self.col}: {self.message}"


class SpecError(DevenvError):
    """A spec (or several) failed to load; carries every problem found."""

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = problems
        super().__init__("\n".join(str(p) for p in problems))


class EngineError(DevenvError):
    """The Docker engine refused, failed or could not be reached."""


class ImageMissing(EngineError):
    """A pull found no such image in the registry (or the registry wants a login)."""


class ConflictError(DevenvError):
    """Something devenv does not own stands where devenv would act."""


class BuildError(EngineError):
    """An image build failed; `log_path` holds the full output."""

    def __init__(self, message: str, hint: str | None = None, log_path: str | None = None) -> None:
        super().__init__(message, hint)
        self.log_path = log_path


class Interrupted(DevenvError):
    """The user (or a signal) stopped devenv part-way; state was left consistent."""


RegistryFailure = Literal["missing", "auth", "unreachable", "other"]


class RegistryError(EngineError):
    """A registry refused or could not be reached; `kind` lets callers tell a missing image
    (build it) from a login or network problem (say so)."""

    def __init__(self, message: str, kind: RegistryFailure, hint: str | None = None) -> None:
        super().__init__(message, hint)
        self.kind = kind
