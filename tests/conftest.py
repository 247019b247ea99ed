"""Shared helpers: write a spec into a temp folder and load it or collect its problems; and
under CI, a skipped test fails (see tests/prerequisites.py)."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from collections.abc import Callable
from pathlib import Path

import pytest

from devenv.errors import SpecError
from devenv.spec.loader import SpecFile, load_all
from tests.prerequisites import under_ci

ROOT = Path(__file__).resolve().parents[1]


def run_cli(*args: str | Path, docker_host: str | None = None) -> subprocess.CompletedProcess[str]:
    """The CLI as a user runs it, from the checkout (optionally against another engine)."""
    env = {k: v for k, v in os.environ.items() if k != "DOCKER_HOST"}
    env["PYTHONPATH"] = str(ROOT)
    if docker_host:
        env["DOCKER_HOST"] = docker_host
    return subprocess.run(
        [sys.executable, "-m", "devenv", *map(str, args)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> pytest.TestReport:
    """Under CI nothing skips: a skip, however it was asked for, is reported as a failure."""
    report: pytest.TestReport = yield
    if under_ci() and report.skipped and not hasattr(report, "wasxfail"):
        reason = report.longrepr[2] if isinstance(report.longrepr, tuple) else report.longrepr
        report.outcome = "failed"
        report.longrepr = f"CI is set and this test skipped, so it never ran: {reason}"
    return report


@pytest.fixture
def write_spec(tmp_path: Path) -> Callable[..., Path]:
    def write(text: str, name: str = "box.yaml") -> Path:
        path = tmp_path / name
        path.write_text(textwrap.dedent(text))
        return path

    return write


@pytest.fixture
def load(write_spec: Callable[..., Path]) -> Callable[[str], SpecFile]:
    def _load(text: str) -> SpecFile:
        (spec_file,) = load_all([write_spec(text)])
        return spec_file

    return _load


@pytest.fixture
def problems(write_spec: Callable[..., Path]) -> Callable[[str], list[str]]:
    """The problems of a spec as 'line:col: message' strings (file name stripped)."""

    def _problems(text: str) -> list[str]:
        path = write_spec(text)
        with pytest.raises(SpecError) as info:
            load_all([path])
        return [f"{p.line}:{p.col}: {p.message}" for p in info.value.problems]

    return _problems
