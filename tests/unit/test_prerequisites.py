"""No skip under CI: a test whose prerequisite is missing skips on a developer's machine and
fails under CI, however the skip was asked for (tests/prerequisites.py, tests/conftest.py)."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from tests.conftest import ROOT

PROBE = """\
import os
import pytest
from tests.prerequisites import need_root, skip_or_fail

@pytest.mark.skipif(True, reason="marked")
def test_marked(): pass

def test_called(): pytest.skip("called")

def test_helper(): skip_or_fail("a tool is missing")

def test_not_root(monkeypatch):
    monkeypatch.setattr(os, "geteuid", lambda: 1000)
    need_root("whiteouts need root")

def test_runs(): pass

@pytest.mark.xfail(reason="known")
def test_expected_failure(): assert False
"""


def _run(folder: Path, ci: str) -> str:
    (folder / "test_probe.py").write_text(textwrap.dedent(PROBE))
    env = {**os.environ, "CI": ci, "PYTHONPATH": str(ROOT)}
    argv = ["-p", "tests.conftest", "-p", "no:cacheprovider", "-q", "-rA", "-c", os.devnull]
    return subprocess.run(
        [sys.executable, "-m", "pytest", *argv, "--rootdir", str(folder), str(folder)],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=120, check=False,
    ).stdout  # fmt: skip


@pytest.mark.parametrize("ci", ["true", "1"])
def test_under_ci_every_skip_fails(tmp_path: Path, ci: str) -> None:
    said = _run(tmp_path, ci)
    assert said.splitlines()[-1].startswith("3 failed, 1 passed, 1 xfailed, 1 error"), said
    assert "skipped" not in said.splitlines()[-1], said
    assert "CI is set and this test skipped, so it never ran: Skipped: marked" in said, said
    assert "CI is set and a tool is missing" in said, said
    assert "CI is set and not root: whiteouts need root" in said, said


def test_elsewhere_they_skip(tmp_path: Path) -> None:
    said = _run(tmp_path, "")
    assert said.splitlines()[-1].startswith("1 passed, 4 skipped, 1 xfailed"), said
