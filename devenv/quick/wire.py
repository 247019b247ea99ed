"""The engine's HTTP API over its unix socket, with the standard library only: the few
reads the fast path makes cost a millisecond each, not the Docker SDK's import."""

from __future__ import annotations

import http.client
import json
import socket
from typing import Any
from urllib.parse import quote


class Unreachable(Exception):
    """The engine did not answer as expected: the full path will say why, properly."""


class _UnixConnection(http.client.HTTPConnection):
    def __init__(self, path: str, timeout: float) -> None:
        super().__init__("localhost", timeout=timeout)
        self.socket_path = path

    def connect(self) -> None:
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        sock.settimeout(self.timeout)
        sock.connect(self.socket_path)
        self.sock = sock


class Wire:
    """One keep-alive connection to the engine at unix socket `path`."""

    def __init__(self, path: str, timeout: float = 10.0) -> None:
        self.path = path
        self.connection = _UnixConnection(path, timeout)

    def get(self, url: str, **filters: list[str]) -> Any:
        """GET `url` (with `filters` as the API's JSON filter argument) and decode it."""
        if filters:
            url += ("&" if "?" in url else "?") + "filters=" + quote(json.dumps(filters))
        return self.request("GET", url)

    def request(self, method: str, url: str, body: Any = None) -> Any:
        payload = None if body is None else json.dumps(body).encode()
        headers = {"Content-Type": "application/json"} if payload is not None else {}
        try:
            self.connection.request(method, url, body=payload, headers=headers)
            reply = self.connection.getresponse()
            data = reply.read()
        except (OSError, http.client.HTTPException) as exc:
            raise Unreachable(f"{method} {url}: {exc}") from None
        if reply.status >= 300:
            raise Unreachable(f"{method} {url}: HTTP {reply.status}")
        try:
            return json.loads(data) if data else None
        except ValueError:
            raise Unreachable(f"{method} {url}: not JSON") from None

    def close(self) -> None:
        self.connection.close()
