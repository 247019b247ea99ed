"""The bounded pool a folder's envs are applied in: results in order, never more than the
bound at once, one item's failure kept to itself, a stop reaching every worker. Pure: threads
and events, no engine (the real engine's side is tests/integration/test_concurrent.py)."""

from __future__ import annotations

import threading
import time

import pytest

from devenv.converge.jobs import DEFAULT_JOBS, jobs_wanted, run_bounded
from devenv.converge.safety import STOP, signals_held, stop_point
from devenv.errors import DevenvError, Interrupted


def test_results_come_in_the_items_order_whatever_finishes_first() -> None:
    def work(n: int) -> str:
        time.sleep(0.01 * (5 - n))
        return f"env{n}"

    assert run_bounded([1, 2, 3, 4], work, 4) == ["env1", "env2", "env3", "env4"]


def test_never_more_than_the_bound_at_once_and_they_do_overlap() -> None:
    lock, running, most = threading.Lock(), [0], [0]

    def work(n: int) -> int:
        with lock:
            running[0] += 1
            most[0] = max(most[0], running[0])
        time.sleep(0.05)
        with lock:
            running[0] -= 1
        return n

    assert run_bounded(list(range(7)), work, 3) == list(range(7))
    assert most[0] == 3


def test_one_job_runs_them_one_after_another_in_this_thread() -> None:
    seen: list[str] = []
    run_bounded([1, 2], lambda _n: seen.append(threading.current_thread().name), 1)
    assert seen == [threading.current_thread().name] * 2


def test_a_failed_item_is_its_own_outcome_and_the_others_finish() -> None:
    def work(n: int) -> tuple[int, bool]:
        if n == 2:
            return (n, False)  # the applier turns an env's DevenvError into its outcome
        time.sleep(0.02)
        return (n, True)

    assert run_bounded([1, 2, 3], work, 2) == [(1, True), (2, False), (3, True)]


def test_a_bug_stops_the_rest_at_their_next_stop_point_and_is_raised() -> None:
    stopped: list[int] = []
    unstarted = threading.Event()

    def work(n: int) -> int:
        if n == 0:
            time.sleep(0.05)  # item 1 is under way by then
            raise RuntimeError("a bug")
        if n > 1:
            unstarted.set()  # the bound is 2: item 2 must never start
        try:
            for _ in range(200):
                stop_point()
                time.sleep(0.01)
        except KeyboardInterrupt:
            stopped.append(n)
            raise
        return n

    with pytest.raises(RuntimeError, match="a bug"):
        run_bounded([0, 1, 2, 3], work, 2)
    assert stopped == [1] and not unstarted.is_set() and not STOP.is_set()


def test_ctrl_c_in_the_main_thread_stops_every_worker_and_waits_for_its_cleanup() -> None:
    cleaned: list[int] = []

    def work(n: int) -> int:
        if n == 0:  # stands for the main thread's SIGINT while it waits
            threading.Timer(0.05, _interrupt_main).start()
        try:
            while True:
                stop_point()
                time.sleep(0.01)
        except KeyboardInterrupt:
            time.sleep(0.05)  # a rollback takes a while: the main thread waits for it
            cleaned.append(n)
            raise Interrupted(f"env{n}: the old one runs again") from None

    with pytest.raises(Interrupted, match="the old one runs again"):
        run_bounded([0, 1], work, 2)
    assert sorted(cleaned) == [0, 1] and not STOP.is_set()


def _interrupt_main() -> None:
    import _thread

    _thread.interrupt_main()


def test_a_swap_in_a_worker_finishes_whole_then_says_it_was_interrupted() -> None:
    steps: list[str] = []

    def swap() -> None:
        with signals_held() as caught:
            steps.append("stopped old")
            STOP.set()
            steps.append("renamed")
            if caught:
                steps.append("skips the wait")

    failed: list[BaseException] = []
    worker = threading.Thread(target=lambda: _catch(swap, failed))
    worker.start()
    worker.join()
    STOP.clear()
    assert steps == ["stopped old", "renamed", "skips the wait"]
    assert isinstance(failed[0], Interrupted)


def _catch(work: object, failed: list[BaseException]) -> None:
    try:
        work()  # type: ignore[operator]
    except BaseException as exc:
        failed.append(exc)


def test_stop_point_does_nothing_in_the_main_thread() -> None:
    STOP.set()
    try:
        stop_point()
    finally:
        STOP.clear()


@pytest.mark.parametrize(("raw", "jobs"), [("", DEFAULT_JOBS), ("1", 1), (" 8 ", 8)])
def test_devenv_jobs(raw: str, jobs: int) -> None:
    assert jobs_wanted({"DEVENV_JOBS": raw}) == jobs


@pytest.mark.parametrize("raw", ["0", "-2", "two", "65"])
def test_devenv_jobs_out_of_range_is_one_sentence_with_a_hint(raw: str) -> None:
    with pytest.raises(DevenvError) as caught:
        jobs_wanted({"DEVENV_JOBS": raw})
    assert caught.value.hint and "from 1 to 64" in caught.value.hint
