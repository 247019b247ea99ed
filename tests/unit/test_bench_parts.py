"""The bench's pure parts: the peer's Dockerfile is devenv's, runs alternate, checks fail loudly."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "bench"))

import scenarios  # noqa: E402
from harness import BenchError, Box  # noqa: E402

import bench  # noqa: E402
from devenv.build.render import render  # noqa: E402
from devenv.spec.loader import load_one  # noqa: E402


def box(tmp_path: Path) -> Box:
    made = Box(tmp_path, "abc", ["compose"], "php-cli", 18001, 18002, extra="tree")
    made.write()
    return made


def test_the_peer_builds_what_devenv_renders(tmp_path: Path) -> None:
    made = box(tmp_path)
    mine = render(load_one(str(made.spec)).spec).dockerfile.splitlines()
    theirs = made.dockerfile().splitlines()
    assert [line for line in mine if line.startswith(("FROM", "ENV", "RUN"))] == [
        line for line in theirs if line.startswith(("FROM", "ENV", "RUN"))
    ]
    assert "php-cli tree" in made.dockerfile()
    assert '"127.0.0.1:18002:80"' in made.compose_file()
    assert "io.devenv.bench" in made.compose_file()


def test_runs_alternate_and_a_failed_check_stops_the_bench() -> None:
    order: list[str] = []
    row = scenarios.Row("x", "x", "peer")

    def mine() -> float:
        order.append("devenv")
        return 2.0

    def theirs() -> float:
        order.append("peer")
        return 1.0

    scenarios.paired(row, 3, mine, theirs)
    assert order == ["devenv", "peer", "peer", "devenv", "devenv", "peer"]
    assert row.ratio == 2.0 and "met" not in row.to_dict() and "target" not in row.to_dict()
    row.notes.append("what the time holds")
    about = dict.fromkeys(("date", "machine", "engine", "compose", "devenv", "git"), "?")
    shown = bench.table([row], {**about, "python": "?", "python_start": "?"})
    assert "| x | 2000 | peer | 1000 | 2.00× |" in shown
    assert shown.endswith("\n- x: what the time holds\n")
    with pytest.raises(BenchError, match="check failed: same IDs"):
        scenarios._check(False, "same IDs")


def test_options() -> None:
    assert bench.parse(["--only", "plan,port", "--repeat", "3"]).only == ["plan", "port"]
    assert bench.parse([]).only == list(bench.SCENARIOS)
    with pytest.raises(SystemExit):
        bench.parse(["--only", "nope"])
