"""The session-end check's eyes (tests/integration/processes.py): a service process started
after a snapshot is seen, stopped by its id, and then no longer reported. Only this test's
own processes are looked at: the machine may be running other things meanwhile."""

from __future__ import annotations

import subprocess
import time
from pathlib import Path

from tests.integration import processes


def _named_socat() -> subprocess.Popen[bytes]:
    """A stand-in named as a service: `exec -a` sets the command line ps shows."""
    process = subprocess.Popen(["bash", "-c", "exec -a socat sleep 120"])
    deadline = time.monotonic() + 10
    cmdline = Path(f"/proc/{process.pid}/cmdline")
    while not cmdline.read_bytes().startswith(b"socat\0") and time.monotonic() < deadline:
        time.sleep(0.01)  # until bash has become it
    return process


def _reported(before: set[processes.Process], *pids: int) -> list[processes.Process]:
    return [p for p in processes.services_started_since(before, wait=0) if p.pid in pids]


def test_a_service_started_since_is_reported_until_stopped() -> None:
    before = processes.running()
    stand_in = _named_socat()
    try:
        (found,) = _reported(before, stand_in.pid)
        assert found.program == "socat" and found.command == "socat 120"
        processes.stop(found)
        assert stand_in.wait(timeout=10) != 0  # ended by its signal
        assert _reported(before, stand_in.pid) == []
    finally:
        stand_in.kill()
        stand_in.wait()


def test_what_ran_before_and_what_is_no_service_are_not_reported() -> None:
    old = _named_socat()
    try:
        before = processes.running()
        other = subprocess.Popen(["sleep", "120"])
        try:
            assert _reported(before, old.pid, other.pid) == []
        finally:
            other.kill()
            other.wait()
    finally:
        old.kill()
        old.wait()
