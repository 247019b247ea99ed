"""The scenarios: each times devenv and its peer in alternation on the same box, and checks
(untimed) that both did what the scenario claims."""

from __future__ import annotations

import json
import os
import statistics
import sys
from collections.abc import Callable
from dataclasses import dataclass, field

from harness import (
    EXTRAS,
    ROOT,
    BenchError,
    Box,
    answers,
    has_package,
    inspect,
    run,
    size_rw,
    timed,
)

MANY = 30


@dataclass
class Row:
    key: str
    what: str
    peer: str
    mine: list[float] = field(default_factory=list)
    theirs: list[float] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)  # what the times hold, said under the table

    @property
    def ratio(self) -> float:
        return statistics.median(self.mine) / statistics.median(self.theirs)

    def to_dict(self) -> dict[str, object]:
        return {
            "scenario": self.key,
            "what": self.what,
            "devenv_ms": round(statistics.median(self.mine) * 1000),
            "peer": self.peer,
            "peer_ms": round(statistics.median(self.theirs) * 1000),
            "ratio": round(self.ratio, 2),
            "runs": len(self.mine),
            "devenv_s": [round(s, 4) for s in self.mine],
            "peer_s": [round(s, 4) for s in self.theirs],
            "notes": list(self.notes),
        }


def _check(ok: bool, claim: str) -> None:
    if not ok:
        raise BenchError(f"check failed: {claim}")


def paired(
    row: Row,
    repeat: int,
    mine: Callable[[], float],
    theirs: Callable[[], float],
    prepare: Callable[[int], None] = lambda _i: None,
    check: Callable[[int], None] = lambda _i: None,
) -> Row:
    """Each repetition: prepare, then both tools, devenv first on even runs, peer first on odd."""
    for index in range(repeat):
        prepare(index)
        if index % 2 == 0:
            row.mine.append(mine())
            row.theirs.append(theirs())
        else:
            row.theirs.append(theirs())
            row.mine.append(mine())
        check(index)
    return row


def _ids(box: Box) -> tuple[tuple[str, str], tuple[str, str]]:
    return inspect(box.name), inspect(box.peer)


def _noop(box: Box, row: Row, repeat: int, mine: list[str], theirs: list[str]) -> Row:
    """A no-op for both: devenv's plan says no changes, and no container is replaced."""
    box.converged(box.spec)
    before = _ids(box)
    paired(
        row,
        repeat,
        lambda: timed(mine, box.env),
        lambda: timed(theirs, box.env, box.project),
    )
    _check(_ids(box) == before, f"{row.key}: same container IDs before and after")
    box.converged(box.spec)
    return row


def noop_apply(box: Box, repeat: int) -> Row:
    row = Row("apply", "converged `apply`", "`compose up -d`")
    mine = box.devenv("apply", "--yes", str(box.spec))
    return _noop(box, row, repeat, mine, box.compose_cmd("up", "-d"))


def noop_plan(box: Box, repeat: int) -> Row:
    row = Row("plan", "`plan --detailed-exitcode`", "`compose up -d --dry-run`")
    mine = box.devenv("plan", "--detailed-exitcode", str(box.spec))  # exits 0: no changes
    return _noop(box, row, repeat, mine, box.compose_cmd("up", "-d", "--dry-run"))


def status(box: Box, repeat: int) -> Row:
    (found,) = json.loads(run(box.devenv("status", "--json", str(box.spec)), box.env))
    _check(found["state"] == "running" and found["in_sync"], f"status: in sync ({found})")
    row = Row("status", "`status`", "`docker ps`")
    return _noop(box, row, repeat, box.devenv("status", str(box.spec)), ["docker", "ps"])


def shell(box: Box, repeat: int) -> Row:
    said = run(box.devenv("shell", str(box.spec), "--", "sh", "-c", "echo $APP_ENV"), box.env)
    _check(said.strip() == "bench", f"shell: runs inside the box (said {said!r})")
    row = Row("shell", "`shell -- true`", "`docker exec NAME true`")
    mine = box.devenv("shell", str(box.spec), "--", "true")
    return _noop(box, row, repeat, mine, ["docker", "exec", box.peer, "true"])


def port_change(box: Box, repeat: int, spare: list[int]) -> Row:
    """Each run moves both boxes to another host port: recreate, no build."""
    row = Row("port", "host-port change (recreate)", "`compose up -d`")
    mine_ports = [box.port, spare[0]]
    peer_ports = [box.peer_port, spare[1]]
    before: dict[str, tuple[str, str]] = {}
    old: dict[str, int] = {}

    def prepare(index: int) -> None:
        before.update({box.name: inspect(box.name), box.peer: inspect(box.peer)})
        old.update({box.name: box.port, box.peer: box.peer_port})
        box.port, box.peer_port = mine_ports[(index + 1) % 2], peer_ports[(index + 1) % 2]
        box.write()

    kept: list[int] = []

    def check(_index: int) -> None:
        for name, port in ((box.name, box.port), (box.peer, box.peer_port)):
            container, image = inspect(name)
            _check(container != before[name][0], f"port: {name} was recreated")
            _check(image == before[name][1], f"port: {name} kept its image (no build)")
            _check(answers(port), f"port: {name} answers on 127.0.0.1:{port}")
            _check(not answers(old[name]), f"port: {name} left 127.0.0.1:{old[name]}")
        previous = f"{box.name}.devenv-previous"  # devenv keeps the replaced box, stopped
        _check(inspect(previous)[0] == before[box.name][0], f"port: {previous} is the old box")
        kept.append(size_rw(previous))

    paired(
        row,
        repeat,
        lambda: timed(box.devenv("apply", "--yes", str(box.spec)), box.env),
        lambda: timed(box.compose_cmd("up", "-d"), box.env, box.project),
        prepare,
        check,
    )
    box.converged(box.spec)
    window = stable_seconds()
    rest = statistics.median(row.mine) - window
    row.notes += [
        f"devenv's time holds its {window * 1000:.0f} ms stability window (the new box must "
        f"run that long without a restart to count as up); the rest, {rest * 1000:.0f} ms, is "
        "Python, the plan and the engine calls",
        f"the replaced box is kept, stopped, as NAME.devenv-previous for `devenv rollback`: "
        f"{statistics.median(kept) / 1000:.0f} kB in its writable layer, and one more "
        "container until the next recreate removes it",
    ]
    return row


def stable_seconds() -> float:
    """How long devenv watches a new box before it counts as up (its readiness rule)."""
    code = "from devenv.converge.readiness import STABLE_SECONDS as S; print(S)"
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return float(run([sys.executable, "-c", code], env).strip())


def status_elsewhere(box: Box, repeat: int, port: int) -> Row:
    """`status` of two envs, one of them applied with another state folder (another user,
    sudo, CI): devenv's memo here has never seen it."""
    other = box.tmp / "elsewhere" / f"{box.name}-x.yaml"
    other.parent.mkdir(exist_ok=True)
    other.write_text(box.spec_text(other.stem, port))
    box.elsewhere.append(other)
    there = {**box.env, "DEVENV_STATE_DIR": str(box.tmp / "state-elsewhere")}
    run(box.devenv("apply", "--yes", str(other)), there)
    found = json.loads(run(box.devenv("status", "--json", str(box.spec), str(other)), box.env))
    _check(
        all(env["state"] == "running" and env["in_sync"] for env in found) and len(found) == 2,
        f"status-elsewhere: both in sync ({found})",
    )
    row = Row("status-elsewhere", "`status`, one env from another state folder", "`docker ps`")
    mine = box.devenv("status", str(box.spec), str(other))
    return _noop(box, row, repeat, mine, ["docker", "ps"])


def one_more_package(box: Box, repeat: int) -> Row:
    """Each run swaps in another small package: the RUN line changes for both tools."""
    row = Row("package", "one more apt package (build)", "`compose up -d --build`")
    before: dict[str, tuple[str, str]] = {}
    extras = [p for p in EXTRAS if p not in (box.package, box.extra)]

    def prepare(index: int) -> None:
        before.update({box.name: inspect(box.name), box.peer: inspect(box.peer)})
        box.extra = extras[index]
        box.write()

    def check(_index: int) -> None:
        for name in (box.name, box.peer):
            container, image = inspect(name)
            _check(container != before[name][0], f"package: {name} was recreated")
            _check(image != before[name][1], f"package: {name} has a new image")
            _check(has_package(name, str(box.extra)), f"package: {box.extra} is in {name}")

    paired(
        row,
        min(repeat, len(extras)),  # a package seen before would hit devenv's image by hash
        lambda: timed(box.devenv("apply", "--yes", str(box.spec)), box.env),
        lambda: timed(box.compose_cmd("up", "-d", "--build"), box.env, box.project),
        prepare,
        check,
    )
    box.converged(box.spec)
    return row


def many_envs(box: Box, repeat: int, ports: list[int]) -> Row:
    """devenv alone: a converged apply of MANY envs against one of one env."""
    folder = box.write_many(ports)
    run(box.devenv("apply", "--yes", str(folder)), box.env)
    box.converged(folder, box.spec)
    names = [path.stem for path in box.many]
    ids = run(["docker", "inspect", "-f", "{{.Id}}", *names], box.env)
    row = Row("many", f"{len(ports)} envs converged `apply`", "devenv, 1 env")
    paired(
        row,
        repeat,
        lambda: timed(box.devenv("apply", "--yes", str(folder)), box.env),
        lambda: timed(box.devenv("apply", "--yes", str(box.spec)), box.env),
    )
    after = run(["docker", "inspect", "-f", "{{.Id}}", *names], box.env)
    _check(after == ids, "many: same container IDs before and after")
    box.converged(folder, box.spec)
    return row


FOLDER_PACKAGES = (["git"], ["curl"], ["jq"], ["make"])  # four envs, four different images


def rebuild_folder(box: Box, repeat: int) -> Row:
    """Four envs of different packages from nothing, each repetition on a base of its own
    (no builder's layer cache serves either tool): devenv's `apply` of the folder (builds,
    creates and proves each box up, a few at once) beside Compose bringing up the same four
    boxes (`compose up -d --build`: its services built at once, then started)."""
    row = Row("rebuild", "a folder of 4 envs from nothing", "`compose up -d --build` (4 services)")
    folder, project = box.tmp / "rebuild", box.tmp / "rebuild-compose"

    def prepare(index: int) -> None:
        if index:
            box.clean_rebuild(folder, project)
        base = box.fresh_base(f"f{index}")
        box.write_folder(folder, project, base, FOLDER_PACKAGES)

    def check(_index: int) -> None:
        for name, packages in zip(box.folder_names, FOLDER_PACKAGES, strict=True):
            _check(has_package(name, packages[0]), f"rebuild: {packages[0]} is in {name}")
            _check(box.has_image(f"{name}-peer:bench"), f"rebuild: Compose built {name}")
            _check(box.runs(f"{box.peer}-f-{name}-1"), f"rebuild: Compose started {name}")

    paired(
        row,
        repeat,
        lambda: timed(box.devenv("apply", "--yes", str(folder)), box.env),
        lambda: timed(box.compose_in(project, "up", "-d", "--build"), box.env, project),
        prepare,
        check,
    )
    return row
