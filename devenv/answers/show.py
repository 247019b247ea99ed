"""The converged plan and apply, written as devenv.cli.ui writes them (a test compares the
two byte for byte), with ANSI styles only where rich would draw them. (`status` needs no such
copy: devenv.commands.status draws its table on both paths.)"""

from __future__ import annotations

import json
import os
import sys
from typing import TextIO

from devenv.converge.memo.store import Cached
from devenv.engine.observed import ObservedContainer

DIM, GREEN, RESET = "\x1b[2m", "\x1b[32m", "\x1b[0m"
# Settings that change how rich draws: with any of them set, the full path draws instead.
RICH_SETTINGS = ("FORCE_COLOR", "NO_COLOR", "TTY_COMPATIBLE", "TTY_INTERACTIVE", "COLUMNS")


def plain_terminal(stream: TextIO) -> bool | None:
    """True: rich would draw in colour; False: plain text; None: rich decides otherwise."""
    if any(os.environ.get(name) is not None for name in RICH_SETTINGS):
        return None
    if not stream.isatty():
        return False
    return None if os.environ.get("TERM", "").lower() in ("dumb", "unknown") else True


def _styled(text: str, style: str, colour: bool) -> str:
    return f"{style}{text}{RESET}" if colour else text


def plan_text(envs: list[tuple[Cached, ObservedContainer]], colour: bool) -> str:
    lines = [f"{_styled(f'= {want.name}', DIM, colour)}: no changes" for want, _ in envs]
    return "\n".join([*lines, "", "No changes."]) + "\n"


def plan_json(envs: list[tuple[Cached, ObservedContainer]]) -> str:
    actions = [
        {
            "kind": "noop",
            "env": want.name,
            "reasons": [],
            "container": live.id,
            "image": want.image,
            "warnings": [],
            "discards": [],
            "repairs": [],
        }
        for want, live in envs
    ]
    document = {"format_version": 1, "changes": False, "actions": actions, "errors": []}
    return json.dumps(document, indent=2) + "\n"


def outcomes_text(envs: list[tuple[Cached, ObservedContainer]], colour: bool) -> str:
    return "".join(f"{_styled('✓', GREEN, colour)} {want.name}: no changes\n" for want, _ in envs)


def outcomes_json(envs: list[tuple[Cached, ObservedContainer]]) -> str:
    found = [{"env": want.name, "ok": True, "message": "no changes"} for want, _ in envs]
    return json.dumps(found, indent=2) + "\n"


def write(text: str, stream: TextIO = sys.stdout) -> None:
    stream.write(text)
    stream.flush()
