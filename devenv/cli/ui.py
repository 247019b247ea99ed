"""Rich rendering of plans, progress and summaries. Plans go to stdout, progress to stderr.

Only devenv's own words are rich markup; everything else (names, reasons that quote files,
build, hook and engine output) goes through `literal`: markup escaped, control characters
shown as codes. No console turns `:x:` into an emoji."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from devenv.commands.status import StatusRow

import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from rich.console import Console
from rich.markup import escape

from devenv.converge.plan import Plan
from devenv.reporting import Outcome, visible

SYMBOLS = {
    "build": ("*", "cyan"),
    "create": ("+", "green"),
    "recreate": ("~", "yellow"),
    "start": (">", "green"),
    "repair": ("^", "cyan"),
    "remove": ("-", "red"),
    "conflict": ("!", "bold red"),
    "noop": ("=", "dim"),
}

out = Console(highlight=False, soft_wrap=True, emoji=False)
if not out.is_terminal:
    out = Console(highlight=False, soft_wrap=True, emoji=False, width=250)
err = Console(stderr=True, highlight=False, soft_wrap=True, emoji=False)


def literal(text: str) -> str:
    """Foreign `text` for a markup string: shown as it is, never read as markup or codes."""
    return escape(visible(text))


def print_plan(plan: Plan) -> None:
    if not plan.actions:
        out.print("No envs.")
        return
    for action in plan.actions:
        symbol, style = SYMBOLS[action.kind]
        label = "no changes" if action.kind == "noop" else action.kind
        out.print(f"[{style}]{symbol} {literal(action.env)}[/]: {label}")
        for reason in action.reasons:
            out.print(f"    {literal(reason)}")
        for warning in action.warnings:
            out.print(f"    [yellow]warning:[/] {literal(warning)}")
    counts: dict[str, int] = {}
    for action in plan.actions:
        counts[action.kind] = counts.get(action.kind, 0) + 1
    order = ["build", "create", "recreate", "start", "repair", "remove", "conflict", "noop"]
    summary = ", ".join(
        f"{counts[k]} {'unchanged' if k == 'noop' else k}" for k in order if k in counts
    )
    out.print(f"\nPlan: {summary}." if plan.has_changes or plan.conflicts else "\nNo changes.")


def print_outcomes(outcomes: list[Outcome]) -> None:
    for outcome in outcomes:
        if outcome.ok:
            out.print(f"[green]✓[/] {literal(outcome.env)}: {literal(outcome.message)}")
        else:
            err.print(f"[red]✗ {literal(outcome.env)}[/]: {literal(outcome.message)}")
    failed = [o.env for o in outcomes if not o.ok]
    if failed:
        err.print(
            f"[red]{len(failed)} of {len(outcomes)} env(s) failed:[/] {literal(', '.join(failed))}"
        )


class ConsoleReporter:
    """Steps as lines; build output as a live status on a TTY, one line per env building
    (envs of a folder build at once), else each build step as a line naming its env."""

    def __init__(self) -> None:
        self._status: Any = None
        self._building: dict[str, str] = {}  # env → its last build line, while it builds
        self._lock = threading.Lock()  # envs report from worker threads

    @contextmanager
    def live(self) -> Iterator[ConsoleReporter]:
        if err.is_terminal:
            with err.status("working…") as status:
                self._status = status
                yield self
                self._status = None
        else:
            yield self

    def step(self, env: str, message: str) -> None:
        if self._status is not None:
            self._show(env, None)  # its build, if any, is over
        err.print(f"[bold]{literal(env)}[/]: {literal(message)}")

    def build_line(self, env: str, line: str) -> None:
        if self._status is not None:
            self._show(env, line.strip()[:120])
        elif line.startswith("Step "):
            err.print(f"  {literal(env)}: {literal(line[:160])}", style="dim")

    def _show(self, env: str, line: str | None) -> None:
        with self._lock:
            if line is None:
                self._building.pop(env, None)
            else:
                self._building[env] = line
            shown = [f"{literal(e)}: {literal(text)}" for e, text in self._building.items()]
            self._status.update("\n".join(shown) or "working…")

    def output_line(self, env: str, line: str) -> None:
        err.print(f"  {literal(env)}: {literal(line)}", style="dim", highlight=False)

    def waiting(self, env: str) -> None:
        err.print(f"[yellow]{literal(env)}: another devenv is applying this env; waiting…[/]")


def print_json(text: str) -> None:
    sys.stdout.write(text.rstrip("\n") + "\n")


def print_status(rows: list[StatusRow]) -> None:
    from devenv.commands.status import as_table, colour_wanted

    sys.stdout.write(as_table(rows, colour_wanted(sys.stdout)))
    sys.stdout.flush()
