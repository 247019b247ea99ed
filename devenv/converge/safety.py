"""Process-level safety for apply: one apply per env at a time (an flock on a file in the
state folder; "lock" in devenv means the lock file of pins, never this), swaps that signals
cannot cut in half, SIGTERM treated as Ctrl-C, and the fault-injection pause for tests."""

from __future__ import annotations

import contextlib
import fcntl
import os
import signal
import sys
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

from devenv.errors import STATE_PATH, DevenvError, Interrupted, host_file_errors
from devenv.host import Host
from devenv.hostfiles import open_own, own_folder
from devenv.reporting import Reporter

TURN_WAIT_SECONDS = 600
STOP = threading.Event()  # set when Ctrl-C reaches an apply whose envs run in worker threads


def stop_point() -> None:
    """In a worker thread, where a Ctrl-C the main thread caught is honoured: raised here as
    the KeyboardInterrupt the sequential apply would have seen, so each env's own cleanup
    runs. In the main thread it does nothing (the signal itself interrupts there)."""
    if STOP.is_set() and not _in_main_thread():
        raise KeyboardInterrupt


class StoppingReporter:
    """A worker's reporter: every report (a step, a build or hook line) is a stop point, so
    a build, a wait or a hook under way stops soon after Ctrl-C; none is made inside a swap."""

    def __init__(self, reporter: Reporter) -> None:
        self.reporter = reporter

    def step(self, env: str, message: str) -> None:
        stop_point()
        self.reporter.step(env, message)

    def build_line(self, env: str, line: str) -> None:
        stop_point()
        self.reporter.build_line(env, line)

    def output_line(self, env: str, line: str) -> None:
        stop_point()
        self.reporter.output_line(env, line)

    def waiting(self, env: str) -> None:
        self.reporter.waiting(env)


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
                    stop_point()
                    time.sleep(0.2)
        try:
            yield waited
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


class Held(list[int]):
    """The signals held off during a block; in a worker thread, true once a stop is asked."""

    def __bool__(self) -> bool:
        return len(self) > 0 or (STOP.is_set() and not _in_main_thread())


def _in_main_thread() -> bool:
    return threading.current_thread() is threading.main_thread()


@contextlib.contextmanager
def signals_held() -> Iterator[Held]:
    """Hold SIGINT/SIGTERM until the block ends, then act on them (a swap is atomic). In a
    worker thread (signals reach only the main thread, which then sets STOP) the block runs
    whole, and a stop asked meanwhile is acted on at its end the same way."""
    caught = Held()
    if not _in_main_thread():
        yield caught
        if caught:
            raise Interrupted("interrupted; the env was left consistent (the swap finished first)")
        return
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
