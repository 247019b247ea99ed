"""How many envs an apply works on at once, and the bounded pool that runs them.

Builds are mostly the engine's work and downloads: devenv's threads wait on them, so a few
run side by side even on two cores, as Compose builds a project's services at once. The
bound keeps a folder of thirty envs from opening thirty builds on the engine together.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from concurrent.futures import FIRST_EXCEPTION, Future, ThreadPoolExecutor, wait
from typing import TypeVar

from devenv.converge.safety import STOP
from devenv.errors import DevenvError

JOBS_VARIABLE = "DEVENV_JOBS"
DEFAULT_JOBS = 4
MAX_JOBS = 64

T = TypeVar("T")
R = TypeVar("R")


def jobs_wanted(environ: dict[str, str] | None = None) -> int:
    """DEVENV_JOBS (1 to 64), else DEFAULT_JOBS; 1 applies env after env as before."""
    raw = (os.environ if environ is None else environ).get(JOBS_VARIABLE, "").strip()
    if not raw:
        return DEFAULT_JOBS
    if raw.isdigit() and 1 <= int(raw) <= MAX_JOBS:
        return int(raw)
    raise DevenvError(
        f"{JOBS_VARIABLE}={raw!r} is not a number of envs to apply at once",
        f"set it to a whole number from 1 to {MAX_JOBS}, or unset it for {DEFAULT_JOBS}",
    )


def run_bounded(items: Sequence[T], work: Callable[[T], R], jobs: int) -> list[R]:
    """work(item) for every item, at most `jobs` at once; results in the items' order.

    `work` keeps its own failures (an env's error is its outcome, and the others go on).
    What escapes it (a stop, or a bug, which ends the apply as it would env after env) sets
    STOP: items not started do not start, running ones stop at their next stop point and
    clean up, and then that exception is raised. Ctrl-C here does the same."""
    if jobs <= 1 or len(items) <= 1:
        return [work(item) for item in items]
    STOP.clear()
    pool = ThreadPoolExecutor(max_workers=jobs, thread_name_prefix="devenv-apply")
    futures: list[Future[R]] = []
    try:
        futures += [pool.submit(_unless_stopped, work, item) for item in items]
        _wait_all(futures)
    except KeyboardInterrupt:
        STOP.set()
        _wait_all(futures, patient=True)
        raise _first_failure(futures) or KeyboardInterrupt() from None
    finally:
        pool.shutdown(wait=True)
        STOP.clear()
    failure = _first_failure(futures)
    if failure is not None:
        raise failure
    return [f.result() for f in futures]


def _first_failure(futures: list[Future[R]]) -> BaseException | None:
    """What escaped a worker, a worker's own words (a bug, an Interrupted naming what it
    left) before the bare KeyboardInterrupt of those a stop cut short."""
    failures = [f.exception() for f in futures if f.exception() is not None]
    said = [e for e in failures if not isinstance(e, KeyboardInterrupt)]
    return (said or failures or [None])[0]


def _unless_stopped(work: Callable[[T], R], item: T) -> R:
    """An item not yet started when a stop is asked does not start; what escapes an item
    stops the rest before this worker takes another."""
    if STOP.is_set():
        raise KeyboardInterrupt
    try:
        return work(item)
    except BaseException:
        STOP.set()
        raise


def _wait_all(futures: list[Future[R]], patient: bool = False) -> None:
    """Until every future is done; the first one that raised sets STOP for the rest. Waits
    in short slices so Ctrl-C reaches the main thread; `patient`: a second Ctrl-C does not
    cut the workers' cleanup short."""
    while True:
        try:
            done, pending = wait(futures, timeout=0.2, return_when=FIRST_EXCEPTION)
        except KeyboardInterrupt:
            if not patient:
                raise
            continue
        if any(f.exception() is not None for f in done):
            STOP.set()
        if not pending:
            return
