"""`devenv status`: every devenv env on the engine, and whether it matches its spec."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from devenv import labels as L
from devenv.desired import desire
from devenv.engine import Engine
from devenv.errors import DevenvError
from devenv.host import Host
from devenv.observed import Observed, ObservedContainer
from devenv.plan import plan
from devenv.spec.loader import SpecFile, load_all, load_file


@dataclass
class StatusRow:
    env: str
    state: str
    image: str = ""
    ports: list[str] = field(default_factory=list)
    spec: str = ""
    drift: list[str] = field(default_factory=list)
    in_sync: bool | None = None  # None: the spec could not be read
    condition: str = ""  # the state in words: "restarting (exit 3, 5 restarts)"
    failing: bool = False  # crash-looping, dead or stopped by its own exit: not up
    exit_code: int | None = None
    restarts: int | None = None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def collect(paths: Sequence[str], engine: Engine | None = None) -> list[StatusRow]:
    engine = engine or Engine()
    host = Host.current()
    specs = load_all(paths) if paths else []
    observed = engine.observe([s.spec.name for s in specs])
    local = engine.connection.local
    if specs:
        return [
            _row(s.spec.name, observed.named(s.spec.name), s, observed, host, local) for s in specs
        ]
    envs = sorted(
        (c for c in observed.containers if c.owned and c.name == c.env), key=lambda c: c.name
    )
    return [_row(c.name, c, _spec_of(c), observed, host, local) for c in envs]


def _spec_of(container: ObservedContainer) -> SpecFile | None:
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
    local: bool,
) -> StatusRow:
    if live is None:
        row = StatusRow(name, "absent", spec=str(spec_file.path) if spec_file else "")
    elif not live.owned:
        return StatusRow(name, "not devenv's", live.image, [str(p) for p in live.ports])
    else:
        row = StatusRow(name, live.state, live.image, [str(p) for p in live.ports])
        row.spec = live.labels.get(L.SPEC, "")
        row.condition, row.failing = live.condition, live.failing
        row.exit_code, row.restarts = live.exit_code, live.restarts
    if spec_file is None or spec_file.spec.name != name:
        row.drift = ["spec file not found or not valid"] if live else []
        return row
    row.spec = str(spec_file.path)
    try:
        actions = plan([desire(spec_file, observed, host, local=local)], observed).for_env(name)
    except DevenvError as exc:  # shown after the env's name: say it once, hint on one line
        row.drift = [f"{exc.message} (hint: {exc.hint})" if exc.hint else exc.message]
        return row
    row.drift = [f"{a.kind}: {r}" for a in actions if a.kind != "noop" for r in a.reasons]
    row.in_sync = not row.drift and not row.failing
    return row
