"""The engine's HTTP API over its unix socket, with a plain socket: the few reads the fast
path makes cost a millisecond each, not the Docker SDK's import (nor http.client's, which
loads the email package). HTTP/1.0, so the engine closes each reply and never chunks it."""

from __future__ import annotations

import json
import socket
from typing import Any
from urllib.parse import quote


class Unreachable(Exception):
    """The engine did not answer as expected: the full path will say why, properly."""


class Wire:
    """Requests to the engine at unix socket `path`, one connection each."""

    def __init__(self, path: str, timeout: float = 10.0) -> None:
        self.path, self.timeout = path, timeout

    def get(self, url: str, **filters: list[str]) -> Any:
        """GET `url` (with `filters` as the API's JSON filter argument) and decode it."""
        if filters:
            url += ("&" if "?" in url else "?") + "filters=" + quote(json.dumps(filters))
        return self.call("GET", url)

    def call(self, method: str, url: str, body: Any = None) -> Any:
        """`method` `url` with a JSON `body`; the decoded reply, or Unreachable."""
        try:
            head, reply = _exchange(self.path, self.timeout, request(method, url, body, "1.0"))
        except OSError as exc:
            raise Unreachable(f"{method} {url}: {exc}") from None
        status = head.split(b" ", 2)[1:2]
        if not status or not status[0].startswith(b"2"):
            raise Unreachable(f"{method} {url}: {head[:60]!r}")
        try:
            return json.loads(reply) if reply else None
        except ValueError:
            raise Unreachable(f"{method} {url}: not JSON") from None

    def connect(self) -> socket.socket:
        return unix_socket(self.path, self.timeout)

    # ---- devenv.engine.observe.Reader ------------------------------------------------------
    def containers(self, **filters: list[str]) -> list[dict[str, Any]]:
        return list(self.get("/containers/json?all=1", **filters))

    def inspect(self, container: str) -> dict[str, Any] | None:
        try:
            return dict(self.get(f"/containers/{quote(container)}/json"))
        except Unreachable:
            return None

    def images(self) -> list[dict[str, Any]]:
        return list(self.get("/images/json"))

    def events(self, since: float, until: float, **filters: list[str]) -> list[dict[str, Any]]:
        """The events between two moments (a stream of JSON objects, closed at `until`)."""
        url = f"/events?since={since:.9f}&until={until:.9f}&filters=" + quote(json.dumps(filters))
        try:
            _head, reply = _exchange(self.path, self.timeout, request("GET", url, None, "1.0"))
        except OSError as exc:
            raise Unreachable(f"GET /events: {exc}") from None
        decoder, text, found, at = json.JSONDecoder(), reply.decode(errors="replace"), [], 0
        while (at := _skip_space(text, at)) < len(text):
            event, at = decoder.raw_decode(text, at)
            found.append(event)
        return found


def _skip_space(text: str, at: int) -> int:
    while at < len(text) and text[at].isspace():
        at += 1
    return at


def unix_socket(path: str, timeout: float) -> socket.socket:
    """A stream connected to the unix socket at `path` (close it: no context manager)."""
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        sock.settimeout(timeout)
        sock.connect(path)
    except OSError:
        sock.close()
        raise
    return sock


def request(method: str, url: str, body: Any, version: str, *headers: str) -> bytes:
    """The bytes of one HTTP request with a JSON body."""
    data = b"" if body is None else json.dumps(body).encode()
    lines = [f"{method} {url} HTTP/{version}", "Host: docker", *headers]
    if body is not None:
        lines += ["Content-Type: application/json", f"Content-Length: {len(data)}"]
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + data


def _exchange(path: str, timeout: float, message: bytes) -> tuple[bytes, bytes]:
    """One request, the whole reply: its status line and its body."""
    sock = unix_socket(path, timeout)
    try:
        sock.sendall(message)
        chunks = []
        while True:
            chunk = sock.recv(65536)
            if not chunk:
                break
            chunks.append(chunk)
    finally:
        sock.close()
    reply = b"".join(chunks)
    head, _, body = reply.partition(b"\r\n\r\n")
    return head.split(b"\r\n", 1)[0], body
