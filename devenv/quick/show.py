"""The converged plan and apply, written as devenv.cli.ui writes them (a test compares the
two byte for byte), with ANSI styles only where rich would draw them."""

from __future__ import annotations

import json
import os
import sys
from typing import TextIO

from devenv.observed import ObservedContainer
from devenv.quick.cache import Cached

DIM, GREEN, BOLD, RESET = "\x1b[2m", "\x1b[32m", "\x1b[1m", "\x1b[0m"
HEADER = ("ENV", "STATE", "IMAGE", "PORTS", "SPEC")
PLAIN_WIDTH = 250  # devenv.cli.ui's console width when stdout is not a terminal
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


def status_rows(envs: list[tuple[Cached, ObservedContainer]]) -> list[list[str]]:
    """The status table's cells of envs running in sync with their specs."""
    return [
        [live.name, "running (in sync)", live.image, ", ".join(map(str, live.ports)), want.spec]
        for want, live in envs
    ]


def status_text(rows: list[list[str]], colour: bool, width: int) -> str | None:
    """The table devenv.cli.ui.print_status draws for these rows; None where rich would
    draw it otherwise (too wide to fit, or characters wider than one cell)."""
    if not rows:
        return "No devenv envs on this engine.\n"
    widths = [max(len(row[i]) for row in [list(HEADER), *rows]) for i in range(len(HEADER))]
    cells = [cell for row in rows for cell in row]
    if sum(widths) + 2 * (len(widths) - 1) > width or not all(c.isascii() for c in cells):
        return None
    last = len(widths) - 1
    pad = _styled(" ", BOLD, colour)  # rich draws the header's padding bold too
    head = "".join(
        (pad if i > 0 else "") + _styled(text.ljust(w), BOLD, colour) + (pad if i < last else "")
        for i, (text, w) in enumerate(zip(HEADER, widths, strict=True))
    )
    lines = [head]
    for row in rows:
        shown = [cell.ljust(w) for cell, w in zip(row, widths, strict=True)]
        shown[1] = _styled("running", GREEN, colour) + shown[1].removeprefix("running")
        lines.append("  ".join(shown))
    return "\n".join(lines) + "\n"


def status_json(envs: list[tuple[Cached, ObservedContainer]]) -> str:
    rows = [
        {
            "env": live.name,
            "state": "running",
            "image": live.image,
            "ports": [str(p) for p in live.ports],
            "spec": want.spec,
            "drift": [],
            "in_sync": True,
            "condition": "running",
            "failing": False,
            "exit_code": None,
            "restarts": None,
        }
        for want, live in envs
    ]
    return json.dumps(rows, indent=2) + "\n"
