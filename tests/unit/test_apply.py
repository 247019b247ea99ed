"""The applier against a fake engine that records every call: what it does, in what order,
and what it puts back when the new box is not up. No Docker here; the real engine's side is
in tests/integration/test_ready.py."""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import pytest

from devenv.commands.logs import parse_since
from devenv.converge import apply as apply_module
from devenv.converge.apply import Applier
from devenv.converge.desired import SSH_DIR, DesiredEnv, desire
from devenv.converge.plan import Plan, plan, with_discards
from devenv.converge.readiness import STABLE_SECONDS, Clock, listening_script
from devenv.engine.connection import DOCKER_SOCKET_URL, Connection
from devenv.engine.observed import Observed, ObservedContainer, ObservedImage
from devenv.engine.protocol import ContainerState, EngineAPI
from devenv.engine.shape import ContainerShape
from devenv.errors import DevenvError, Interrupted
from devenv.host import Host
from devenv.reporting import Outcome, SilentReporter
from devenv.spec.loader import SpecFile
from tests.unit.test_plan import (
    BASE_SUMMARY,
    CONTAINER_ID,
    KEY,
    container_summary,
    converged,
    image_summary,
    observe,
)

SPEC = """\
    base: debian:bookworm
    env: {APP_ENV: dev}
    command: [sleep, infinity]
"""
CHANGED = SPEC.replace("APP_ENV: dev", "APP_ENV: test")
NEW_ID = "n" * 64
MUTATING = {
    "pull", "build", "import_rootfs", "create", "put_files", "start", "restart", "repair", "stop", "rename", "remove",
    "remove_network_if_unused", "commit", "tag", "remove_image", "push_to_registry",
}  # fmt: skip
UP = ContainerState("running")
CRASHED = ContainerState("restarting", exit_code=3, restarts=1)


@pytest.fixture
def host(tmp_path: Path) -> Host:
    return Host(uid=1000, gid=1000, home=tmp_path, state_dir=tmp_path / "state")


@pytest.fixture
def want(load: Callable[[str], SpecFile], host: Host) -> Callable[..., DesiredEnv]:
    """YAML text → DesiredEnv, its base image present."""
    return lambda text: desire(
        load(text), Observed(images=(ObservedImage.from_summary(BASE_SUMMARY),)), host
    )


class FakeEngine:
    """An EngineAPI that records calls; `fail` makes a call (method, *arguments) raise."""

    def __init__(self, observed: Observed) -> None:
        self.observed = observed
        self.calls: list[tuple[Any, ...]] = []
        self.fail: dict[tuple[str, ...], DevenvError] = {}
        self.states: dict[str, ContainerState] = {}
        self.output = b"starting\nboom: no such file\n"
        self.exit_codes: dict[tuple[str, ...], int] = {}  # a command's exit code (default 0)
        self.connection = Connection(DOCKER_SOCKET_URL, "default socket")
        self.put: dict[str, dict[str, tuple[bytes, int]]] = {}  # container → files copied in
        self.top: dict[str, list[tuple[str, str, str]]] = {}  # the engine's `top` of a box

    def _call(self, method: str, *args: Any) -> None:
        self.calls.append((method, *args))
        error = self.fail.get((method, *map(str, args)))
        if error is not None:
            raise error

    def mutations(self) -> list[tuple[Any, ...]]:
        return [c for c in self.calls if c[0] in MUTATING]

    def prepare_for_threads(self) -> None:
        pass

    def observe(self, names: list[str]) -> Observed:
        self._call("observe", tuple(names))
        return self.observed

    def images(self) -> tuple[ObservedImage, ...]:
        return self.observed.images

    def pull(self, ref: str, as_ref: str | None = None) -> None:
        self._call("pull", ref)

    def build(
        self, want: DesiredEnv, log_path: Path, on_line: Any = None, network: Any = None
    ) -> str:
        self._call("build", want.image)
        return "sha256:" + "f" * 64

    def import_rootfs(self, tar_path: Path, ref: str, labels: dict[str, str]) -> None:
        self._call("import_rootfs", ref)

    def create(self, shape: ContainerShape, name: str) -> str:
        self._call("create", name)
        return NEW_ID

    def put_files(
        self, container: str, folder: str, files: Mapping[str, tuple[bytes, int]]
    ) -> None:
        self._call("put_files", container, folder)
        self.put[container] = dict(files)

    def start(self, container: str) -> None:
        self._call("start", container)

    def stop(self, container: str, timeout: int = 10) -> None:
        self._call("stop", container)

    def restart(self, container: str) -> None:
        self._call("restart", container)

    def repair(self, container: str, shape: ContainerShape, repairs: Sequence[str]) -> None:
        self._call("repair", container, tuple(repairs))

    def rename(self, container: str, name: str) -> None:
        self._call("rename", container, name)

    def remove(self, container: str) -> None:
        self._call("remove", container)

    def remove_network_if_unused(self, name: str) -> bool:
        self._call("remove_network_if_unused", name)
        return False

    def diff(self, container: str) -> list[dict[str, Any]]:
        self._call("diff", container)
        return [{"Path": "/root/notes.txt", "Kind": 1}]

    def commit(self, container: str, repository: str, tag: str, labels: dict[str, str]) -> str:
        self._call("commit", container)
        return "sha256:" + "5" * 64

    def state(self, container: str) -> ContainerState:
        self._call("state", container)
        return self.states.get(container, UP)

    def processes(self, container: str) -> list[tuple[str, str, str]] | None:
        self._call("processes", container)
        return self.top.get(container)

    def logs(
        self,
        container: str,
        tail: int | None = None,
        since: float | None = None,
        follow: bool = False,
    ) -> Iterator[bytes]:
        self._call("logs", container)
        return iter([self.output])

    def exec_start(self, container: str, argv: list[str]) -> str:
        self._call("exec_start", container, tuple(argv))
        return "exec1"

    def exec_result(self, exec_id: str) -> int | None:
        self._call("exec_result", exec_id)
        return 1

    def exec_lines(
        self,
        container: str,
        argv: list[str],
        user: str | None,
        workdir: str | None,
        on_line: Callable[[str], None],
    ) -> int:
        self._call("exec_lines", container, tuple(argv), user, workdir)
        on_line(f"ran {argv[-1]}")
        return self.exit_codes.get(tuple(argv), 0)

    def pull_from_registry(self, ref: str, on_event: Any = None) -> str:
        self._call("pull_from_registry", ref)
        return ""

    def push_to_registry(self, ref: str, on_event: Any = None) -> str:
        self._call("push_to_registry", ref)
        return ""

    def inspect_image(self, ref: str) -> dict[str, Any] | None:
        return None

    def tag(self, source: str, ref: str) -> None:
        self._call("tag", source)

    def remove_image(self, ref: str) -> None:
        self._call("remove_image", ref)


class FakeClock(Clock):
    """Time that moves only when the applier sleeps."""

    def __init__(self) -> None:
        self.t = 0.0
        super().__init__(now=lambda: self.t, sleep=self._sleep)

    def _sleep(self, seconds: float) -> None:
        object.__setattr__(self, "t", self.t + seconds)


def run(
    engine: FakeEngine,
    host: Host,
    desired: list[DesiredEnv],
    the_plan: Plan | None = None,
    **options: Any,
) -> list[Outcome]:
    fake: EngineAPI = engine  # the fake is checked against the protocol here
    the_plan = the_plan or plan(desired, engine.observed)
    applier = Applier(fake, host, SilentReporter(), clock=FakeClock(), **options)
    return applier.apply(the_plan, desired, engine.observed)


def names(calls: list[tuple[Any, ...]]) -> list[str]:
    return [c[0] for c in calls]


# ---- the happy paths ------------------------------------------------------------------------


def test_a_no_op_makes_zero_mutating_calls(want: Callable[..., DesiredEnv], host: Host) -> None:
    box = want(SPEC)
    engine = FakeEngine(converged(box))
    (outcome,) = run(engine, host, [box])
    assert outcome == Outcome("box", True, "no changes")
    assert engine.calls == []


def test_create_starts_then_waits_until_the_box_is_up(
    want: Callable[..., DesiredEnv], host: Host
) -> None:
    box = want(SPEC)
    engine = FakeEngine(observe(images=[BASE_SUMMARY, image_summary(box)]))
    (outcome,) = run(engine, host, [box])
    assert outcome == Outcome("box", True, "created")
    assert engine.mutations() == [("create", "box"), ("start", NEW_ID)]
    assert names(engine.calls)[2:] and set(names(engine.calls)[2:]) == {"state"}


def test_recreate_creates_the_new_box_before_stopping_the_old(
    want: Callable[..., DesiredEnv], host: Host
) -> None:
    old, new = want(SPEC), want(CHANGED)
    engine = FakeEngine(converged(old))
    (outcome,) = run(engine, host, [new])
    assert outcome.ok and outcome.message == "recreated"
    assert engine.mutations() == [
        ("create", "box.devenv-new"),
        ("stop", CONTAINER_ID),
        ("rename", CONTAINER_ID, "box.devenv-old"),
        ("rename", NEW_ID, "box"),
        ("start", NEW_ID),
        ("rename", CONTAINER_ID, "box.devenv-previous"),
    ]
    # the old box is kept (stopped, for `devenv rollback`) only after the new one was seen up
    calls = names(engine.calls)
    assert calls.index("state") < len(calls) - 1 and engine.calls[-1][0] == "rename"


def test_a_recreate_keeps_one_previous_box_only(
    want: Callable[..., DesiredEnv], host: Host
) -> None:
    """The generation before the last is removed when a new one is kept."""
    old, new = want(SPEC), want(CHANGED)
    before = container_summary(old, name="box.devenv-previous", container_id="e" * 64)
    observed = converged(old)
    observed = observed._replace(containers=(*observed.containers, observe(before).containers[0]))
    engine = FakeEngine(observed)
    (outcome,) = run(engine, host, [new])
    assert outcome.ok and outcome.message == "recreated"
    assert engine.mutations()[-2:] == [
        ("remove", "e" * 64),
        ("rename", CONTAINER_ID, "box.devenv-previous"),
    ]


def test_build_comes_first(want: Callable[..., DesiredEnv], host: Host) -> None:
    box = want(SPEC)
    engine = FakeEngine(observe())
    (outcome,) = run(engine, host, [box])
    assert outcome.ok and outcome.message == "built, created"
    assert names(engine.mutations()) == ["build", "create", "start"]


# ---- a remote engine: the SSH keys are copied into the box ---------------------------------

SSHD = SPEC + f'    ports: ["2222:22"]\n    user: dev\n    sshd: {{authorized_keys: ["{KEY}"]}}\n'


class RemoteEngine(FakeEngine):
    """The fake on another machine (ssh://), where sshd answers in the box."""

    def __init__(self, observed: Observed) -> None:
        super().__init__(observed)
        self.connection = Connection("ssh://devenv-remote", "DOCKER_HOST")

    def exec_result(self, exec_id: str) -> int | None:
        self._call("exec_result", exec_id)
        return 0


@pytest.fixture
def far(load: Callable[[str], SpecFile], host: Host) -> Callable[[str], DesiredEnv]:
    base = Observed(images=(ObservedImage.from_summary(BASE_SUMMARY),))
    return lambda text: desire(load(text), base, host)


def test_a_remote_box_gets_its_keys_before_it_first_starts(
    far: Callable[[str], DesiredEnv], host: Host
) -> None:
    box = far(SSHD)
    engine = RemoteEngine(observe(images=[BASE_SUMMARY, image_summary(box)]))
    (outcome,) = run(engine, host, [box])
    assert outcome == Outcome("box", True, "created")
    assert engine.mutations() == [
        ("create", "box"),
        ("put_files", NEW_ID, SSH_DIR),
        ("start", NEW_ID),
    ]
    files = engine.put[NEW_ID]
    assert files["authorized_keys"] == (box.keys.encode(), 0o644)
    key = host.env_dir("box") / "ssh" / "ssh_host_ed25519_key"
    assert files["ssh_host_ed25519_key"] == (key.read_bytes(), 0o600)


def test_a_recreated_remote_box_presents_the_same_host_key(
    far: Callable[[str], DesiredEnv], host: Host
) -> None:
    first = RemoteEngine(observe(images=[BASE_SUMMARY, image_summary(far(SSHD))]))
    run(first, host, [far(SSHD)])
    changed = far(SSHD.replace("APP_ENV: dev", "APP_ENV: test"))
    again = RemoteEngine(converged(far(SSHD)))
    (outcome,) = run(again, host, [changed])
    assert outcome.ok and outcome.message == "recreated"
    assert names(again.mutations())[:3] == ["create", "put_files", "stop"]
    assert again.put[NEW_ID] == first.put[NEW_ID]


def test_keys_that_cannot_be_copied_leave_the_old_box_alone(
    far: Callable[[str], DesiredEnv], host: Host
) -> None:
    engine = RemoteEngine(converged(far(SSHD)))
    engine.fail[("put_files", NEW_ID, SSH_DIR)] = DevenvError("copying files: the engine said: no")
    (outcome,) = run(engine, host, [far(SSHD.replace("APP_ENV: dev", "APP_ENV: test"))])
    assert not outcome.ok and "the engine said: no" in outcome.message
    assert engine.mutations() == [
        ("create", "box.devenv-new"),
        ("put_files", NEW_ID, SSH_DIR),
        ("remove", NEW_ID),
    ]


# ---- when the new box is not up -------------------------------------------------------------

ROLLBACK = [("remove", NEW_ID), ("rename", CONTAINER_ID, "box"), ("start", CONTAINER_ID)]


def test_a_start_that_fails_rolls_back(want: Callable[..., DesiredEnv], host: Host) -> None:
    engine = FakeEngine(converged(want(SPEC)))
    engine.fail[("start", NEW_ID)] = DevenvError("host port 127.0.0.1:8080 is already taken")
    (outcome,) = run(engine, host, [want(CHANGED)])
    assert not outcome.ok and "already taken" in outcome.message
    assert engine.mutations()[-3:] == ROLLBACK


def test_a_new_box_that_is_not_up_rolls_back_with_its_evidence(
    want: Callable[..., DesiredEnv], host: Host
) -> None:
    engine = FakeEngine(converged(want(SPEC)))
    engine.states[NEW_ID] = CRASHED
    (outcome,) = run(engine, host, [want(CHANGED)])
    assert not outcome.ok
    assert "its command exited with code 3 and the engine restarted it 1 time" in outcome.message
    assert "boom: no such file" in outcome.message  # the last output
    assert "the old container runs again" in outcome.message
    assert engine.mutations()[-3:] == ROLLBACK
    assert ("remove", CONTAINER_ID) not in engine.mutations()


def test_a_rollback_that_fails_names_the_old_box_and_the_restore_command(
    want: Callable[..., DesiredEnv], host: Host
) -> None:
    engine = FakeEngine(converged(want(SPEC)))
    engine.states[NEW_ID] = CRASHED
    engine.fail[("rename", CONTAINER_ID, "box")] = DevenvError(
        "renaming: the engine said: conflict"
    )
    (outcome,) = run(engine, host, [want(CHANGED)])
    assert not outcome.ok
    assert "rolling back failed too (renaming: the engine said: conflict)" in outcome.message
    assert f"the old box is in container {CONTAINER_ID[:12]} (named box.devenv-old)" in (
        outcome.message
    )
    assert f"docker rename {CONTAINER_ID[:12]} box && docker start box" in outcome.message


def test_ctrl_c_while_waiting_puts_the_old_box_back(
    want: Callable[..., DesiredEnv], host: Host
) -> None:
    class Interrupting(FakeEngine):
        def state(self, container: str) -> ContainerState:
            raise KeyboardInterrupt

    engine = Interrupting(converged(want(SPEC)))
    with pytest.raises(Interrupted, match="the old one runs again"):
        run(engine, host, [want(CHANGED)])
    assert engine.mutations()[-3:] == ROLLBACK


def test_a_box_seen_already_restarted_is_watched_for_its_exit_code(
    want: Callable[..., DesiredEnv], host: Host
) -> None:
    """The engine clears the exit code once the box runs again: look once more for it."""
    seen = iter([ContainerState("running", restarts=1), ContainerState("restarting", 3, 1)])

    class Restarted(FakeEngine):
        def state(self, container: str) -> ContainerState:
            return next(seen, CRASHED)

    box = want(SPEC)
    engine = Restarted(observe(images=[BASE_SUMMARY, image_summary(box)]))
    (outcome,) = run(engine, host, [box])
    assert "its command exited with code 3 and the engine restarted it 1 time" in outcome.message


class SlowLooks(FakeEngine):
    """Each inspect takes 20 ms of the fake clock's time, as under load; `seen` scripts the
    states the new box shows, one per look."""

    def __init__(self, observed: Observed, clock: FakeClock, seen: list[ContainerState]) -> None:
        super().__init__(observed)
        self.clock, self.seen = clock, iter(seen)

    def state(self, container: str) -> ContainerState:
        self._call("state", container)
        self.clock.sleep(0.02)
        return next(self.seen, UP) if container == NEW_ID else UP


def _recreate_with(
    want: Callable[..., DesiredEnv], host: Host, seen: list[ContainerState]
) -> tuple[Outcome, SlowLooks, FakeClock]:
    clock = FakeClock()
    engine = SlowLooks(converged(want(SPEC)), clock, seen)
    new = want(CHANGED)
    applier = Applier(engine, host, SilentReporter(), clock=clock)
    (outcome,) = applier.apply(plan([new], engine.observed), [new], engine.observed)
    return outcome, engine, clock


def test_the_settle_time_counts_from_the_start_and_ends_on_time(
    want: Callable[..., DesiredEnv], host: Host
) -> None:
    """The box has run since its start call returned: the settle time counts from there, and
    the last look comes as it ends, not a poll interval later."""
    outcome, engine, clock = _recreate_with(want, host, [])
    assert outcome.ok and outcome.message == "recreated"
    assert STABLE_SECONDS <= clock.t <= STABLE_SECONDS + 0.02 + 1e-9  # one look's latency
    assert engine.mutations()[-1] == ("rename", CONTAINER_ID, "box.devenv-previous")


IDLING = ContainerState("running", pid=4242)
START_UP = "/usr/local/bin/devenv-entrypoint sleep infinity"
INIT = ("4242", "4200", f"/sbin/docker-init -- {START_UP}")  # Docker, `init: true`
SSHD_DAEMON = ("4250", "4242", "sshd: /usr/sbin/sshd -e [listener] 0 of 10-100 startups")


@pytest.mark.parametrize(
    ("spec", "top", "state", "proven_at_once"),
    [
        # start-up done: the idle command runs, as init's child (Docker's host numbers) …
        (SPEC, [INIT, SSHD_DAEMON, ("4243", "4242", "sleep infinity")], IDLING, True),
        # … or Podman's own numbering (catatonit is 1), or as the first process itself
        (SPEC, [("1", "0", "catatonit -- x"), ("2", "1", "sleep infinity")], IDLING, True),
        (SPEC, [("4242", "4200", "sleep infinity")], IDLING, True),
        (SPEC.replace("    command: [sleep, infinity]\n", ""), [INIT, ("9", "4242", "sleep infinity")], IDLING, True),
        # still starting up, or not the box's own process, or no evidence from the engine
        (SPEC, [INIT, ("4243", "4242", f"/bin/sh {START_UP}")], IDLING, False),
        (SPEC, [INIT, ("4260", "4100", "sleep infinity")], IDLING, False),  # an exec's
        (SPEC, [], IDLING, False),
        (SPEC, [INIT, ("4243", "4242", "sleep infinity")], ContainerState("running"), False),
        # not idle boxes: the whole window whatever runs
        (SPEC.replace("[sleep, infinity]", "[sleep, '600']"), [INIT, ("4243", "4242", "sleep 600")], IDLING, False),
        (SPEC.replace("[sleep, infinity]", "[sh, -c, 'sleep infinity']"), [INIT, ("4243", "4242", "sleep infinity")], IDLING, False),
        (SPEC + "    entrypoint: image\n", [INIT, ("4243", "4242", "sleep infinity")], IDLING, False),
    ],
)  # fmt: skip
def test_an_idle_box_is_up_once_its_start_up_is_done(
    want: Callable[..., DesiredEnv],
    host: Host,
    spec: str,
    top: list[tuple[str, str, str]],
    state: ContainerState,
    proven_at_once: bool,
) -> None:
    """A box whose command is devenv's idle one is stably up as soon as the engine lists that
    command where start-up hands over to it; any other box (or no such evidence) runs the
    whole window."""
    box = want(spec)
    engine = FakeEngine(observe(images=[BASE_SUMMARY, image_summary(box)]))
    engine.states[NEW_ID], engine.top[NEW_ID] = state, top
    clock = FakeClock()
    applier = Applier(engine, host, SilentReporter(), clock=clock)
    (outcome,) = applier.apply(plan([box], engine.observed), [box], engine.observed)
    assert outcome.ok, outcome.message
    assert (clock.t < 0.2) if proven_at_once else (clock.t >= STABLE_SECONDS), clock.t


def test_a_box_seen_restarted_is_not_idle_whatever_runs_now(
    want: Callable[..., DesiredEnv], host: Host
) -> None:
    box = want(SPEC)
    engine = FakeEngine(observe(images=[BASE_SUMMARY, image_summary(box)]))
    engine.states[NEW_ID] = ContainerState("running", restarts=1, pid=4242)
    engine.top[NEW_ID] = [INIT, ("4243", "4242", "sleep infinity")]
    (outcome,) = run(engine, host, [box])
    assert not outcome.ok and "restarted it 1 time" in outcome.message
    assert ("processes", NEW_ID) not in engine.calls


def test_a_command_that_dies_within_the_settle_time_is_still_caught(
    want: Callable[..., DesiredEnv], host: Host
) -> None:
    dies = [UP, UP, UP, ContainerState("exited", exit_code=127)]
    outcome, engine, _clock = _recreate_with(want, host, dies)
    assert not outcome.ok and "its command exited with code 127" in outcome.message
    assert engine.mutations()[-3:] == ROLLBACK


def test_a_new_env_that_is_not_up_is_left_for_inspection(
    want: Callable[..., DesiredEnv], host: Host
) -> None:
    box = want(SPEC)
    engine = FakeEngine(observe(images=[BASE_SUMMARY, image_summary(box)]))
    engine.states[NEW_ID] = CRASHED
    (outcome,) = run(engine, host, [box])
    assert not outcome.ok and "exited with code 3" in outcome.message
    assert "devenv logs" in outcome.message
    assert engine.mutations() == [("create", "box"), ("start", NEW_ID)]  # nothing removed


def test_a_crash_looping_box_is_started_and_proven_not_up(
    want: Callable[..., DesiredEnv], host: Host
) -> None:
    box = want(SPEC)
    engine = FakeEngine(converged(box, state="restarting"))
    engine.states[CONTAINER_ID] = CRASHED
    (outcome,) = run(engine, host, [box])
    assert not outcome.ok and "did not stay up" in outcome.message
    assert ("restart", CONTAINER_ID) in engine.mutations()  # a restart resets its count


def test_a_ready_check_that_never_passes_fails_after_its_timeout(
    want: Callable[..., DesiredEnv], host: Host
) -> None:
    box = want(SPEC + "    ready: {command: [curl, -fsS, localhost], timeout: 5}\n")
    engine = FakeEngine(observe(images=[BASE_SUMMARY, image_summary(box)]))
    (outcome,) = run(engine, host, [box])
    assert not outcome.ok
    assert "the ready check failed: curl -fsS localhost (last exit code 1)" in outcome.message
    assert ("exec_start", NEW_ID, ("curl", "-fsS", "localhost")) in engine.calls


def test_wait_timeout_bounds_the_whole_wait(want: Callable[..., DesiredEnv], host: Host) -> None:
    box = want(SPEC + "    ready: {port: 80, timeout: 600}\n")
    engine = FakeEngine(observe(images=[BASE_SUMMARY, image_summary(box)]))
    clock = FakeClock()
    applier = Applier(engine, host, SilentReporter(), wait_timeout=3, clock=clock)
    (outcome,) = applier.apply(plan([box], engine.observed), [box], engine.observed)
    assert not outcome.ok and "port 80 listening in the box" in outcome.message
    assert 3 <= clock.t < 5


# ---- the work guard, locks, orphans ---------------------------------------------------------


def guarded_plan(engine: FakeEngine, desired: list[DesiredEnv]) -> Plan:
    the_plan = plan(desired, engine.observed)
    return with_discards(the_plan, {CONTAINER_ID: ["/root/notes.txt"]})


def test_the_work_guard_refuses_without_force(want: Callable[..., DesiredEnv], host: Host) -> None:
    engine = FakeEngine(converged(want(SPEC)))
    new = want(CHANGED)
    (outcome,) = run(engine, host, [new], guarded_plan(engine, [new]))
    assert not outcome.ok and "--snapshot" in outcome.message
    assert engine.mutations() == []
    (forced,) = run(engine, host, [new], guarded_plan(engine, [new]), force=True)
    assert forced.ok


def test_snapshot_commits_before_anything_changes(
    want: Callable[..., DesiredEnv], host: Host
) -> None:
    engine = FakeEngine(converged(want(SPEC)))
    new = want(CHANGED)
    (outcome,) = run(engine, host, [new], guarded_plan(engine, [new]), snapshot=True)
    assert outcome.ok
    assert engine.mutations()[:2] == [("commit", CONTAINER_ID), ("create", "box.devenv-new")]


def test_after_waiting_for_a_lock_it_plans_again(
    want: Callable[..., DesiredEnv], host: Host, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Another apply held the env and converged it meanwhile: nothing is left to do."""
    old, new = want(SPEC), want(CHANGED)
    engine = FakeEngine(converged(old))
    stale = plan([new], engine.observed)
    engine.observed = converged(new)  # what the other apply left behind

    @contextlib.contextmanager
    def waited_turn(*_args: Any) -> Iterator[bool]:
        yield True

    monkeypatch.setattr(apply_module, "one_apply_at_a_time", waited_turn)
    (outcome,) = run(engine, host, [new], stale)
    assert outcome == Outcome("box", True, "no changes")
    assert ("observe", ("box",)) in engine.calls
    assert engine.mutations() == []


def test_orphans_are_removed(want: Callable[..., DesiredEnv], host: Host) -> None:
    gone = want(SPEC)
    engine = FakeEngine(converged(gone))
    the_plan = plan([], engine.observed, [str(gone.spec_file.folder)])
    (outcome,) = run(engine, host, [], the_plan)
    assert outcome == Outcome("box", True, "removed")
    assert engine.mutations() == [("remove", CONTAINER_ID)]


# ---- small pure parts -----------------------------------------------------------------------


def test_a_ready_check_changes_neither_hash(want: Callable[..., DesiredEnv]) -> None:
    """Adding `ready` (or upgrading devenv) recreates nothing: it is not container config."""
    plain, checked = want(SPEC), want(SPEC + "    ready: {port: 80}\n")
    assert checked.config_hash == plain.config_hash
    assert checked.rendered.build_hash == plain.rendered.build_hash


def test_the_listening_check_names_the_port_in_hex() -> None:
    assert '*:0050" 0A") exit 0' in listening_script(80)
    assert '*:1F90" 0A")' in listening_script(8080)


@pytest.mark.parametrize(
    ("text", "seconds"),
    [("90s", 1000 - 90), ("10m", 1000 - 600), ("1h30m", 1000 - 5400), ("500", 500.0)],
)
def test_since_reads_durations_and_seconds(text: str, seconds: float) -> None:
    assert parse_since(text, now=1000) == seconds


def test_since_reads_dates_and_refuses_nonsense() -> None:
    assert parse_since("1970-01-01T00:01:40Z", now=0) == 100
    with pytest.raises(DevenvError, match="neither a duration nor a date"):
        parse_since("yesterday", now=0)


@pytest.mark.parametrize(
    ("state", "restarts", "code", "words", "failing"),
    [
        ("running", None, None, "running", False),
        ("restarting", 5, 3, "restarting (exit 3, 5 restarts)", True),
        ("restarting", 1, 127, "restarting (exit 127, 1 restart)", True),
        ("restarting", 2, 0, "restarting (exit 0, 2 restarts) — command finished", True),
        ("exited", 0, 0, "exited (0) — stopped", False),
        ("exited", 0, 137, "exited (137) — stopped", False),
        ("dead", 0, 1, "dead (exit 1)", True),
    ],
)
def test_status_words_for_each_run_state(
    state: str, restarts: int | None, code: int | None, words: str, failing: bool
) -> None:
    found = ObservedContainer("c", "box", state, "i", {}, restarts=restarts, exit_code=code)
    assert (found.condition, found.failing) == (words, failing)


class Together(FakeEngine):
    """Builds wait at a barrier for a partner: only builds that run at once get past it."""

    def __init__(self, observed: Observed, together: int) -> None:
        super().__init__(observed)
        self.barrier = threading.Barrier(together, timeout=5)

    def build(
        self, want: DesiredEnv, log_path: Path, on_line: Any = None, network: Any = None
    ) -> str:
        self.barrier.wait()
        return super().build(want, log_path, on_line, network)


def test_a_folder_builds_envs_at_once_and_one_failure_stays_its_own(
    want: Callable[..., DesiredEnv], host: Host, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DEVENV_JOBS", "2")
    boxes = [want(SPEC + f"    name: {n}\n") for n in ("aa", "bb", "cc", "dd")]
    engine = Together(observe(images=[BASE_SUMMARY]), together=2)
    engine.fail[("build", boxes[1].image)] = DevenvError("building bb failed at Step 2/3")
    outcomes = run(engine, host, boxes)
    assert [(o.env, o.ok) for o in outcomes] == [
        ("aa", True),
        ("bb", False),
        ("cc", True),
        ("dd", True),
    ]
    assert "building bb failed" in outcomes[1].message
    assert {c[1] for c in engine.calls if c[0] == "create"} == {"aa", "cc", "dd"}


def test_envs_one_after_another_with_one_job(
    want: Callable[..., DesiredEnv], host: Host, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DEVENV_JOBS", "1")
    boxes = [want(SPEC + f"    name: {n}\n") for n in ("aa", "bb")]
    engine = FakeEngine(observe(images=[BASE_SUMMARY]))
    run(engine, host, boxes)
    assert [c[:2] for c in engine.mutations() if c[0] in ("build", "create")] == [
        ("build", boxes[0].image), ("create", "aa"), ("build", boxes[1].image), ("create", "bb")
    ]  # fmt: skip
