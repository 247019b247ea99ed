"""An action is done only when the box is up: running steadily, sshd answering, the spec's
ready check passing. Otherwise NotUp says why, with the exit code, restarts and last output.

"Stably up" means running for STABLE_SECONDS (3 s; DEVENV_STABLE_SECONDS changes it) after
its start without a restart: a server that dies while it loads its config is caught here,
and a replacement that does is rolled back. A box that only idles (devenv's entrypoint, the
default `sleep infinity`) is stably up once its start-up has handed over to that idle
process: the engine then lists `sleep infinity` as the box's first process (or its init's
child), and nothing is left in it that could still crash. A box that fails later is reported by `status`
and `plan` from then on, and the box it replaced is kept stopped (`devenv rollback`).
"""

from __future__ import annotations

import os
import re
import shlex
import socket
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from devenv.converge.desired import DesiredEnv
from devenv.engine.protocol import ContainerState, EngineAPI
from devenv.errors import DevenvError

STABLE_SECONDS = 3.0  # running this long without a restart counts as "stably up"
POLL_SECONDS = 0.05
EXIT_CODE_WAIT = 2.0  # a box seen restarted: how long to look for its exit code
CHECK_INTERVAL = 0.5  # between two tries of sshd or the ready check
SSHD_SECONDS = 30  # sshd's share of the default wait
LOG_LINES = 20
SSH_PORT = 22
IDLE = ("sleep", "infinity")  # the command of a box whose spec gives none (Dockerfile.j2)
CONTROL_RE = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]|\x1b\[[0-9;?]*[A-Za-z]")


class NotUp(DevenvError):
    """The box did not come up; the message carries the evidence (exit code, output)."""


@dataclass(frozen=True)
class Clock:
    """Time, injectable: tests pass one whose sleep only moves the clock."""

    now: Callable[[], float] = time.monotonic
    sleep: Callable[[float], None] = time.sleep
    settle: float = field(default_factory=lambda: stable_seconds())


def stable_seconds() -> float:
    """STABLE_SECONDS, or DEVENV_STABLE_SECONDS where the user set it (0.1 s to 10 min)."""
    raw = os.environ.get("DEVENV_STABLE_SECONDS", "").strip()
    if not raw:
        return STABLE_SECONDS
    try:
        chosen = float(raw)
    except ValueError:
        chosen = -1.0
    if not 0.1 <= chosen <= 600:  # NaN fails this too
        raise DevenvError(
            f"DEVENV_STABLE_SECONDS={raw[:40]!r} is not a number of seconds from 0.1 to 600",
            "unset it for the default (3 s), or give e.g. DEVENV_STABLE_SECONDS=5",
        )
    return chosen


def default_wait(want: DesiredEnv) -> float:
    """How long apply waits when --wait-timeout is not given: settle, sshd, the ready check."""
    ready = want.spec_file.spec.ready
    return (
        stable_seconds()
        + 30
        + (SSHD_SECONDS if want.config["sshd"] else 0)
        + (ready.timeout if ready else 0)
    )


def wait_until_up(
    engine: EngineAPI,
    want: DesiredEnv,
    container: str,
    timeout: float,
    clock: Clock,
    started: float | None = None,
) -> None:
    """Return once the box is up; raise NotUp (with its evidence) when it is not in time.
    `started`: when the start call returned, if the caller made it (the settle time counts
    from there: the box has been running since)."""
    deadline = clock.now() + timeout
    state = _settle(engine, want.name, container, deadline, clock, started, idles(want))
    if want.config["sshd"]:
        _sshd_answers(engine, want.name, container, state, deadline, clock)
    ready = want.spec_file.spec.ready
    if ready is not None:
        argv = ["/bin/sh", "-c", listening_script(ready.port)] if ready.port else ready.command
        assert argv is not None
        what = f"port {ready.port} listening in the box" if ready.port else shlex.join(argv)
        limit = min(deadline, clock.now() + ready.timeout)
        _check_passes(engine, want.name, container, argv, what, limit, clock)


def idles(want: DesiredEnv) -> bool:
    """The box runs devenv's entrypoint and then only idles: start-up done is up."""
    spec = want.spec_file.spec
    return spec.entrypoint is None and tuple(spec.command or IDLE) == IDLE


def wait_steady(
    engine: EngineAPI, name: str, container: str, timeout: float, clock: Clock, started: float
) -> None:
    """Return once the box has run stably (no sshd or ready check: a box devenv puts back
    as it was, whatever the spec says now); NotUp otherwise."""
    _settle(engine, name, container, clock.now() + timeout, clock, started)


def _settle(
    engine: EngineAPI,
    name: str,
    container: str,
    deadline: float,
    clock: Clock,
    started: float | None = None,
    idle: bool = False,
) -> ContainerState:
    """Running, with no restart, for the settle time (from `started` when the first look
    finds it running, else from that look); a death or restart fails at once (after a short
    look for its exit code, which the engine clears once it runs again). `idle`: also done
    as soon as the engine lists the idle command where start-up hands over to it."""
    steady_since: float | None = None
    died_at: float | None = None
    while True:
        state = engine.state(container)
        now = clock.now()
        if started is not None and steady_since is None and state.running and not state.restarts:
            steady_since = started
        if state.restarts and state.running:
            died_at = now if died_at is None else died_at
        if state.status in ("restarting", "exited", "dead") or (
            died_at is not None and now - died_at >= EXIT_CODE_WAIT
        ):
            raise not_up(engine, name, container, _died(state), facts=False)
        if state.running and died_at is None:
            steady_since = now if steady_since is None else steady_since
            if now - steady_since >= clock.settle or (idle and _idling(engine, container, state)):
                return state
        if now >= deadline:
            why = (
                f"the wait ran out before the box had run {clock.settle} s without a restart"
                if state.running
                else f"the box did not start (state: {state.status})"
            )
            raise not_up(engine, name, container, why)
        wait = POLL_SECONDS
        if steady_since is not None:  # look again exactly when the settle time is over
            wait = min(wait, steady_since + clock.settle - now)
        clock.sleep(wait)


def _idling(engine: EngineAPI, container: str, state: ContainerState) -> bool:
    """Start-up has exec'd the idle command: it runs as the box's first process, or as the
    direct child of the engine's init (`init: true`), and the box never restarted."""
    if state.restarts or not state.pid:
        return False
    first = {str(state.pid), "1"}  # the engine's host numbering, or the box's own (Podman)
    listed = engine.processes(container) or []
    idle = " ".join(IDLE)
    return any(command == idle and (first & {pid, ppid}) for pid, ppid, command in listed)


def _died(state: ContainerState) -> str:
    """Why the box did not stay up, in words (its exit code, when the engine still has it)."""
    why = f"its command exited with code {state.exit_code}"
    if state.running:  # restarted already: the engine reports no exit code then
        why = "its command exited"
    elif state.exit_code == 0:
        why = "its command finished (exit code 0), but a box's command must keep running"
    if state.restarts:
        s = "" if state.restarts == 1 else "s"
        why += f" and the engine restarted it {state.restarts} time{s}"
    return f"the box did not stay up: {why}"


def _sshd_answers(
    engine: EngineAPI,
    name: str,
    container: str,
    state: ContainerState,
    deadline: float,
    clock: Clock,
) -> None:
    """An SSH banner on the published port 22 (or, with a remote engine or no published
    port, sshd listening in the box)."""
    published = [p for p in state.ports if p.container == SSH_PORT and p.protocol == "tcp"]
    if not published or not engine_is_local():
        argv = ["/bin/sh", "-c", listening_script(SSH_PORT)]
        _check_passes(engine, name, container, argv, "sshd listening", deadline, clock)
        return
    address = {"0.0.0.0": "127.0.0.1", "::": "::1", "": "127.0.0.1"}.get(
        published[0].bind, published[0].bind
    )
    while not ssh_banner(address, published[0].host):
        if clock.now() >= deadline:
            where = f"{address}:{published[0].host}"
            raise not_up(engine, name, container, f"sshd did not answer on {where}")
        clock.sleep(CHECK_INTERVAL)


def _check_passes(
    engine: EngineAPI,
    name: str,
    container: str,
    argv: list[str],
    what: str,
    deadline: float,
    clock: Clock,
) -> None:
    """Run `argv` in the box until it exits 0; each try is bounded by the deadline too."""
    last = "it did not finish"
    while True:
        try:
            exec_id = engine.exec_start(container, argv)
            code = engine.exec_result(exec_id)
            while code is None and clock.now() < deadline:
                clock.sleep(POLL_SECONDS * 2)
                code = engine.exec_result(exec_id)
        except DevenvError as exc:
            code, last = None, exc.message
        if code == 0:
            return
        if code is not None:
            last = f"last exit code {code}"
        if clock.now() >= deadline:
            raise not_up(engine, name, container, f"the ready check failed: {what} ({last})")
        clock.sleep(CHECK_INTERVAL)


def listening_script(port: int) -> str:
    """A POSIX sh script (no other program needed) that exits 0 when a TCP socket in the box
    listens on `port`: /proc/net/tcp{,6} list it with state 0A."""
    return (
        "for t in /proc/net/tcp /proc/net/tcp6; do [ -r $t ] || continue; "
        f'while read -r _ l _ s _; do case "$l $s" in *:{int(port):04X}" 0A") exit 0;; esac; '
        "done < $t; done; exit 1"
    )


def ssh_banner(address: str, port: int) -> bool:
    """True when an SSH server answers there (a proxy accepting then closing is not one)."""
    try:
        with socket.create_connection((address, port), timeout=1) as conn:
            conn.settimeout(2)
            return conn.recv(64).startswith(b"SSH-")
    except OSError:
        return False


def engine_is_local() -> bool:
    """Published ports are on this machine only when the engine is (a local socket)."""
    url = os.environ.get("DOCKER_HOST", "")
    return not url or url.startswith(("unix://", "npipe://"))


def not_up(engine: EngineAPI, name: str, container: str, why: str, facts: bool = True) -> NotUp:
    """The report: why, the container's exit code and restarts, its last lines of output."""
    try:
        state = engine.state(container)
        output = b"".join(engine.logs(container, tail=LOG_LINES)).decode(errors="replace")
    except DevenvError as exc:
        why, output = f"{why} (and it could not be inspected: {exc.message})", ""
    else:
        s = "" if state.restarts == 1 else "s"
        seen = f"{state.status}, exit code {state.exit_code}, {state.restarts} restart{s}"
        why += f" (container: {seen})" if facts else ""
    lines = [CONTROL_RE.sub("", line) for line in output.splitlines() if line.strip()]
    shown = "\n    ".join(lines[-LOG_LINES:])
    return NotUp(why + (f"\n  last output:\n    {shown}" if shown else "\n  (no output)"), env=name)
