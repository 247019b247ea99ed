"""`devenv shell NAME -- CMD` without a terminal, through the engine's exec API: what
`docker exec -i` does (stdin forwarded, stdout and stderr kept apart, the command's exit
code), without starting the docker CLI. With a terminal, devenv runs `docker exec -t`."""

from __future__ import annotations

import os
import socket
import struct
import sys
import threading
import time
from urllib.parse import quote

from devenv.engine.wire import Unreachable, Wire, request

FAILED_TO_START = b"OCI runtime exec failed"  # the engine's words, as the CLI shows them


def prepare(
    wire: Wire, container: str, argv: list[str], user: str | None, workdir: str | None
) -> str:
    """Create the exec (nothing runs yet): its id."""
    config = {
        "AttachStdin": True,
        "AttachStdout": True,
        "AttachStderr": True,
        "Tty": False,
        "Cmd": argv,
        **({"User": user} if user else {}),
        **({"WorkingDir": workdir} if workdir else {}),
    }
    created = wire.call("POST", f"/containers/{quote(container)}/exec", config)
    return str(created["Id"])


def run(wire: Wire, exec_id: str) -> int:
    """Start the exec, pass stdin in and its output out; its exit code."""
    try:
        return _run(wire, exec_id)
    except BrokenPipeError:  # the reader of our output went away, as `cmd | head` does
        return 141
    except (OSError, Unreachable) as exc:
        sys.stderr.write(f"devenv: the command's connection to the engine broke ({exc})\n")
        return 1


def _run(wire: Wire, exec_id: str) -> int:
    sock = wire.connect()
    sock.settimeout(None)
    upgrade = ("Connection: Upgrade", "Upgrade: tcp")
    start = {"Detach": False, "Tty": False}
    sock.sendall(request("POST", f"/exec/{exec_id}/start", start, "1.1", *upgrade))
    pending = _skip_head(sock)
    threading.Thread(target=_feed, args=(sock,), daemon=True).start()
    _drain(sock, pending)
    sock.close()
    return _exit_code(wire, exec_id)


def _skip_head(sock: socket.socket) -> bytes:
    """Read past the reply's head; what follows it is the start of the stream."""
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(4096)
        if not chunk:
            raise Unreachable("the engine closed the exec before it started")
        data += chunk
    head, _, rest = data.partition(b"\r\n\r\n")
    if head.split(b" ", 2)[1:2] not in ([b"101"], [b"200"]):
        raise Unreachable(f"starting the exec: {head[:60]!r}")
    return rest


def _feed(sock: socket.socket) -> None:
    """Copy our stdin to the exec until it ends, then say so (half-close)."""
    try:
        while chunk := os.read(0, 65536):
            sock.sendall(chunk)
    except OSError:
        pass
    try:
        sock.shutdown(socket.SHUT_WR)
    except OSError:
        return


def _drain(sock: socket.socket, data: bytes) -> None:
    """The engine's multiplexed stream: 8-byte headers (stream, size), then the bytes."""
    first = True
    while True:
        while len(data) >= 8:
            kind, size = struct.unpack(">BxxxL", data[:8])
            if len(data) < 8 + size:
                break
            payload, data = data[8 : 8 + size], data[8 + size :]
            failed = first and payload.startswith(FAILED_TO_START)
            _out(
                2 if kind == 2 or failed else 1,
                payload.replace(b"\r\n", b"\n") if failed else payload,
            )
            first = False
        chunk = sock.recv(65536)
        if not chunk:
            return
        data += chunk


def _out(fd: int, payload: bytes) -> None:
    while payload:
        written = os.write(fd, payload)
        payload = payload[written:]


def _exit_code(wire: Wire, exec_id: str) -> int:
    """The exec's exit code, once the engine has recorded it."""
    for _ in range(200):
        state = wire.get(f"/exec/{exec_id}/json")
        if not state.get("Running") and state.get("ExitCode") is not None:
            return int(state["ExitCode"])
        time.sleep(0.01)
    sys.stderr.write("devenv: the command's exit code did not arrive from the engine\n")
    return 1
