"""The spec's `hooks`: commands run in the box after it is created and after each start."""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import BeforeValidator, Field, field_validator

from devenv.spec.base import Model
from devenv.spec.rules import CONTROL_RE

EXAMPLE = "(e.g. make setup, or [make, setup])"


def _hook_command(entry: Any) -> Any:
    """A string (run with `sh -c`) or a list of words (run as is), checked for safety."""
    if isinstance(entry, str):
        if not entry.strip():
            raise ValueError(f"a hook is empty: give it a command {EXAMPLE}")
        if CONTROL_RE.search(entry):
            raise ValueError(
                "a hook contains a control character: only tabs and newlines may appear " + EXAMPLE
            )
        return entry
    if isinstance(entry, list):
        words = [
            str(w) if isinstance(w, int | float) and not isinstance(w, bool) else w for w in entry
        ]
        if not words or not isinstance(words[0], str) or not words[0].strip():
            raise ValueError(f"a hook's word list is empty or starts with nothing {EXAMPLE}")
        if any(isinstance(w, str) and CONTROL_RE.search(w) for w in words):
            raise ValueError(f"a hook's word contains a control character {EXAMPLE}")
        return words
    raise ValueError(f"a hook is a command string or a list of words {EXAMPLE}")


HookCommand = Annotated[str | list[str], BeforeValidator(_hook_command)]


class Hooks(Model):
    """Commands run in the box as its user, in its workdir; a failing one fails the apply."""

    create: list[HookCommand] = Field(
        default_factory=list,
        description="run once per container, after it is first up: a shell string or argv list",
    )
    start: list[HookCommand] = Field(
        default_factory=list,
        description="run after each start apply does (create and recreate included)",
    )

    @field_validator("create", "start", mode="before")
    @classmethod
    def _one_command(cls, v: Any) -> Any:
        """`start: make serve` is a list of one."""
        return [v] if isinstance(v, str) else v


def hook_argv(command: str | list[str]) -> list[str]:
    """What runs in the box: a string through `sh -c`, a list as it is."""
    return ["/bin/sh", "-c", command] if isinstance(command, str) else list(command)
