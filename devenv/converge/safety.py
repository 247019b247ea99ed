"""Process-level safety for apply: one apply per env at a time (an flock on a file in the
state folder; "lock" in devenv means the lock file of pins, never this), swaps that signals
cannot cut in half, SIGTERM treated as Ctrl-C, and the fault-injection pause for tests."""

from __future__ import annotations

import contextlib
import fcntl
import os
import signal
import sys
import time
from collections.abc import Callable, Iterator
from typing import Any

from devenv.errors import STATE_PATH, DevenvError, Interrupted, host_file_errors
from devenv.host import Host
from devenv.hostfiles import open_own, own_folder

TURN_WAIT_SECONDS = 600


@contextlib.contextmanager
def one_apply_at_a_time(host: Host, name: str, on_wait: Callable[[], None]) -> Iterator[bool]:
    """One apply per env at a time, across processes; the second waits for the first.
    Yields whether it had to wait (then what was observed before is stale)."""
    folder = host.state_dir / "applying"
    path = folder / name
    with host_file_errors("write the apply turn file", path, STATE_PATH):
        handle = open_own(own_folder(folder) / name)
    with handle:
        waited = False
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            waited = True
            on_wait()
            deadline = time.monotonic() + TURN_WAIT_SECONDS
            while True:
                try:
                    fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
                    break
                except BlockingIOError:
                    if time.monotonic() > deadline:
                        raise DevenvError("another devenv is still applying it", env=name) from None
                    time.sleep(0.2)
        try:
            yield waited
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


@contextlib.contextmanager
def signals_held() -> Iterator[list[int]]:
    """Hold SIGINT/SIGTERM until the block ends, then act on them (a swap is atomic)."""
    caught: list[int] = []
    handled = (signal.SIGINT, signal.SIGTERM)
    previous = {sig: signal.signal(sig, lambda s, _f: caught.append(s)) for sig in handled}
    try:
        yield caught
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    if caught:
        raise Interrupted("interrupted; the env was left consistent (the swap finished first)")


def terminate_as_interrupt() -> None:
    """SIGTERM behaves like Ctrl-C, so every cleanup path runs for both."""

    def raise_interrupt(_sig: int, _frame: Any) -> None:
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, raise_interrupt)


def crash_point() -> None:
    """Fault-injection hook for tests: DEVENV_TEST_FAULT=crash raises an unexpected error
    here (every engine command passes), to prove the last-resort handler. Unset, nothing."""
    if os.environ.get("DEVENV_TEST_FAULT") == "crash":
        raise RuntimeError("test fault: DEVENV_TEST_FAULT=crash")


def pause_point(stage: str) -> None:
    """Fault-injection hook for tests: DEVENV_PAUSE_AT=build|create|swap waits here, so a
    signal can be sent at that exact point. Unset (always, for users), it does nothing."""
    if os.environ.get("DEVENV_PAUSE_AT") == stage:
        sys.stderr.write(f"devenv: paused at {stage}\n")
        sys.stderr.flush()
        time.sleep(float(os.environ.get("DEVENV_PAUSE_SECONDS", "5")))
