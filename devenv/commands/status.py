"""`devenv status`: every devenv env on the engine, and whether it matches its spec.

The table is drawn here, in plain text, for both the full path and the answers from the memo
(devenv.answers): one renderer, so the two can differ only in the rows they are given. This
module imports nothing heavy at its top for that reason."""

from __future__ import annotations

import json
import os
import unicodedata
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple, TextIO

from devenv import labels as L

if TYPE_CHECKING:
    from devenv.converge.desired import DesiredEnv
    from devenv.engine import Engine
    from devenv.engine.observed import Observed, ObservedContainer
    from devenv.host import Host
    from devenv.spec.loader import SpecFile

HEADER = ("ENV", "STATE", "IMAGE", "PORTS", "SPEC")
BOLD, GREEN, YELLOW, RED, RESET = "\x1b[1m", "\x1b[32m", "\x1b[33m", "\x1b[31m", "\x1b[0m"
NO_ENVS = "No devenv envs on this engine.\n"


class StatusRow(NamedTuple):
    env: str
    state: str
    image: str = ""
    ports: tuple[str, ...] = ()
    spec: str = ""
    drift: tuple[str, ...] = ()
    in_sync: bool | None = None  # None: the spec could not be read
    condition: str = ""  # the state in words: "restarting (exit 3, 5 restarts)"
    failing: bool = False  # crash-looping, dead or stopped by its own exit: not up
    exit_code: int | None = None
    restarts: int | None = None
    previous: bool = False  # the box the last apply replaced is kept (devenv rollback)

    def to_dict(self) -> dict[str, Any]:
        found = self._asdict()
        found["ports"], found["drift"] = list(self.ports), list(self.drift)
        return found

    @classmethod
    def of(cls, live: ObservedContainer, spec: str, observed: Observed) -> StatusRow:
        """The row of devenv's container `live`, before its spec is compared."""
        from devenv.converge.verdict import PREVIOUS

        previous = observed.named(live.name + PREVIOUS)
        return cls(
            live.name,
            live.state,
            live.image,
            tuple(str(p) for p in live.ports),
            spec,
            condition=live.condition,
            failing=live.failing,
            exit_code=live.exit_code,
            restarts=live.restarts,
            previous=previous is not None and previous.owned,
        )


def collect(paths: Sequence[str], engine: Engine | None = None) -> list[StatusRow]:
    """Every env's row; the desired states worked out on the way are kept in the memo, so
    the next `status` (or plan, apply) of these specs is answered from it."""
    from devenv import reads
    from devenv.converge.memo.record import remember
    from devenv.engine import Engine
    from devenv.host import Host
    from devenv.spec.loader import load_all

    engine = engine or Engine()
    worked: list[DesiredEnv] = []
    with reads.recording() as recorded:
        host = Host.current()
        specs = load_all(paths) if paths else []
        observed = engine.observe([s.spec.name for s in specs])
        found: list[tuple[str, ObservedContainer | None, SpecFile | None]]
        if specs:
            found = [(s.spec.name, observed.named(s.spec.name), s) for s in specs]
        else:
            envs = (c for c in observed.containers if c.owned and c.name == c.env)
            found = [(c.name, c, _spec_of(c)) for c in sorted(envs, key=lambda c: c.name)]
        rows = [_row(name, live, s, observed, host, worked) for name, live, s in found]
    remember(worked, [], recorded, observed, host, engine.connection, engine.server)
    return rows


def _spec_of(container: ObservedContainer) -> SpecFile | None:
    from devenv.errors import DevenvError
    from devenv.spec.loader import load_file

    path = container.labels.get(L.SPEC)
    if not path or not Path(path).is_file():
        return None
    try:
        return load_file(Path(path))
    except DevenvError:
        return None


def _row(
    name: str,
    live: ObservedContainer | None,
    spec_file: SpecFile | None,
    observed: Observed,
    host: Host,
    worked: list[DesiredEnv],
) -> StatusRow:
    from devenv import reads
    from devenv.converge.desired import desire
    from devenv.converge.plan import plan
    from devenv.errors import DevenvError

    if live is None:
        row = StatusRow(name, "absent", spec=str(spec_file.path) if spec_file else "")
    elif not live.owned:
        return StatusRow(name, "not devenv's", live.image, tuple(str(p) for p in live.ports))
    else:
        row = StatusRow.of(live, live.labels.get(L.SPEC, ""), observed)
    if spec_file is None or spec_file.spec.name != name:
        return row._replace(drift=("spec file not found or not valid",) if live else ())
    row = row._replace(spec=str(spec_file.path))
    try:
        with reads.for_spec(spec_file.named):
            want = desire(spec_file, observed, host)
        worked.append(want)
        actions = plan([want], observed).for_env(name)
    except DevenvError as exc:  # shown after the env's name: say it once, hint on one line
        return row._replace(
            drift=(f"{exc.message} (hint: {exc.hint})" if exc.hint else exc.message,)
        )
    drift = tuple(f"{a.kind}: {r}" for a in actions if a.kind != "noop" for r in a.reasons)
    return row._replace(drift=drift, in_sync=not drift and not row.failing)


def colour_wanted(stream: TextIO) -> bool:
    """Colour on a terminal, as the NO_COLOR and FORCE_COLOR conventions and TERM allow."""
    if os.environ.get("NO_COLOR"):
        return False
    if os.environ.get("FORCE_COLOR"):
        return True
    term = os.environ.get("TERM", "").lower()
    return stream.isatty() and term not in ("dumb", "unknown")


def as_json(rows: Sequence[StatusRow]) -> str:
    return json.dumps([row.to_dict() for row in rows], indent=2) + "\n"


def as_table(rows: Sequence[StatusRow], colour: bool) -> str:
    """The table as `docker ps` draws one: columns two spaces apart, never wrapped; the
    state in green (up), yellow (stopped, drifted) or red (failing) when `colour`."""
    if not rows:
        return NO_ENVS
    cells = [[_clean(c) for c in _cells(row)] for row in rows]
    widths = [max(_width(r[i]) for r in [list(HEADER), *cells]) for i in range(len(HEADER))]
    lines = [
        "  ".join(
            _styled(_pad(h, w), BOLD, colour) for h, w in zip(HEADER, widths, strict=True)
        ).rstrip()
    ]
    for row, shown in zip(rows, cells, strict=True):
        padded = [_pad(cell, w) for cell, w in zip(shown, widths, strict=True)]
        state = row.condition or row.state
        padded[1] = (
            _styled(_clean(state), _state_style(row), colour) + padded[1][len(_clean(state)) :]
        )
        lines.append("  ".join(padded).rstrip())
    lines += [f"  {_clean(row.env)}: {_clean(reason)}" for row in rows for reason in _notes(row)]
    return "\n".join(lines) + "\n"


def _notes(row: StatusRow) -> list[str]:
    """The lines under the table: what drifted, and the way back from a failing box."""
    notes = list(row.drift)
    if row.failing and row.previous:
        notes.append(f"the box the last apply replaced is kept: devenv rollback {row.spec}")
    return notes


def _cells(row: StatusRow) -> list[str]:
    sync = "" if row.in_sync is None else (" (in sync)" if row.in_sync else " (drifted)")
    if row.state == "absent":  # never applied, or removed: nothing has drifted
        sync = ""
    if row.failing:
        sync = " (failing)"
    return [row.env, (row.condition or row.state) + sync, row.image, ", ".join(row.ports), row.spec]


def _state_style(row: StatusRow) -> str:
    if row.failing:
        return RED
    return GREEN if row.state == "running" else YELLOW


def _styled(text: str, style: str, colour: bool) -> str:
    return f"{style}{text}{RESET}" if colour else text


def _clean(text: str) -> str:
    """Foreign text shown literally: control characters (a terminal's escapes) as `?`."""
    return "".join("?" if unicodedata.category(ch) in ("Cc", "Cf") else ch for ch in text)


def _width(text: str) -> int:
    """Terminal cells `text` takes: East Asian wide and full-width characters take two."""
    return sum(2 if unicodedata.east_asian_width(ch) in ("W", "F") else 1 for ch in text)


def _pad(text: str, width: int) -> str:
    return text + " " * (width - _width(text))
