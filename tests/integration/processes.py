"""The host's processes as the suite sees them: which are running, which a session started, and
stopping one we started by its id (never by name). What the suite starts it stops; a service
that was already running when it started (a user's own) is left alone."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import time
from pathlib import Path
from typing import NamedTuple

# the programs a test session may start on the host (services, and what they start in turn)
SERVICES = frozenset(
    {
        "aardvark-dns", "apt-cacher-ng", "catatonit", "conmon", "containerd", "docker-registry",
        "dockerd", "netavark", "pasta", "podman", "rootlessport", "slirp4netns", "socat", "sshd",
    }
)  # fmt: skip
OUR_NAMESPACE = os.readlink("/proc/self/ns/pid")


class Process(NamedTuple):
    pid: int
    started: int  # clock ticks after boot: with pid, names one process for good
    uid: int
    command: str  # its command line, as ps shows it

    @property
    def program(self) -> str:
        return Path(self.command.split(" ", 1)[0].rstrip(":")).name  # "sshd: root@notty" too


def _read(pid: int) -> Process | None:
    """The process `pid` on this host (not in a container), or None if gone or a zombie."""
    folder = Path("/proc") / str(pid)
    try:
        if os.readlink(folder / "ns" / "pid") != OUR_NAMESPACE:
            return None
        stat = (folder / "stat").read_text()
        fields = stat[stat.rindex(")") + 2 :].split()
        raw = (folder / "cmdline").read_bytes().rstrip(b"\0").replace(b"\0", b" ")
        uid = (folder / "stat").stat().st_uid
    except (OSError, ValueError):
        return None
    if fields[0] in ("Z", "X") or not raw:
        return None
    return Process(pid, int(fields[19]), uid, raw.decode(errors="replace"))


def running() -> set[Process]:
    """Every live process on this host (kernel threads, which have no command line, aside)."""
    found = (_read(int(entry.name)) for entry in Path("/proc").iterdir() if entry.name.isdigit())
    return {p for p in found if p is not None}


def services_started_since(before: set[Process], wait: float = 15) -> list[Process]:
    """The service processes running now that were not in `before`; waits up to `wait` seconds
    for those on their way out."""
    deadline = time.monotonic() + wait
    while True:
        left = sorted(p for p in running() - before if p.program in SERVICES)
        if not left or time.monotonic() > deadline:
            return left
        time.sleep(0.5)


def find(command: str) -> list[Process]:
    """The live processes whose command line is exactly `command`."""
    return [p for p in running() if p.command == command]


def stop(process: Process, timeout: float = 15) -> None:
    """Stop this very process (SIGTERM, then SIGKILL), if it still is the one we saw."""
    for sig in (signal.SIGTERM, signal.SIGKILL):
        if _read(process.pid) != process:
            return
        with contextlib.suppress(ProcessLookupError):
            os.kill(process.pid, sig)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and _read(process.pid) == process:
            time.sleep(0.1)
    if _read(process.pid) == process:
        raise AssertionError(f"{process.pid} ({process.command}) did not stop")


def stop_all(processes: list[Process]) -> None:
    """Ask them all to stop at once, then wait for each (children die with their parents)."""
    for process in processes:
        if _read(process.pid) == process:
            with contextlib.suppress(ProcessLookupError):
                os.kill(process.pid, signal.SIGTERM)
    for process in processes:
        stop(process)


def listening(port: int) -> bool:
    """Whether something accepts connections on 127.0.0.1:port."""
    with socket.socket() as probe:
        probe.settimeout(1)
        return probe.connect_ex(("127.0.0.1", port)) == 0


def answering(socket_path: str) -> bool:
    """Whether an engine answers /_ping on this unix socket."""
    with socket.socket(socket.AF_UNIX) as probe:
        probe.settimeout(5)
        try:
            probe.connect(socket_path)
            probe.sendall(b"GET /_ping HTTP/1.0\r\nHost: d\r\n\r\n")
            status = probe.recv(64).split(b"\r\n", 1)[0]
        except OSError:
            return False
    return status.startswith(b"HTTP/1.") and status.split(b" ")[1:2] == [b"200"]


def format_processes(processes: list[Process]) -> str:
    return "\n".join(f"  {p.pid} (uid {p.uid}) {p.command}" for p in processes)
