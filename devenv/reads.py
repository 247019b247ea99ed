"""Every input of a spec's desired state, recorded by the code that reads it: the files (by
the path they were opened at, with a digest of what was read), the environment variables,
the globs and the links resolved. The memo (devenv.converge.memo) keeps what was recorded
with the desired state and trusts it only while each of these reads the same again, so a
cached answer can cost a re-read, never hide a change. Recording is off unless a session
asks for it; reading through here costs a digest of bytes already in memory.

A read made while a spec is being worked out (`for_spec`) belongs to that spec; one made
outside any (the state folder, devenv's labels) belongs to every spec of the session."""

from __future__ import annotations

import contextlib
import hashlib
import os
from collections.abc import Iterator
from contextvars import ContextVar
from typing import NamedTuple


class Read(NamedTuple):
    """One input: what was asked (`kind`, `key`) and what it gave (`seen`, a digest)."""

    kind: str  # file, environ, glob, realpath, type, uid, home
    key: str
    seen: str


ABSENT = "absent"
_log: ContextVar[list[tuple[str, Read]] | None] = ContextVar("devenv_reads", default=None)
_spec: ContextVar[str] = ContextVar("devenv_reads_spec", default="")


def digest(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


@contextlib.contextmanager
def recording() -> Iterator[Recorded]:
    """Record every read in the block (a session that may fill the memo)."""
    found: list[tuple[str, Read]] = []
    token = _log.set(found)
    try:
        yield Recorded(found)
    finally:
        _log.reset(token)


@contextlib.contextmanager
def for_spec(spec: str) -> Iterator[None]:
    """Reads in the block belong to the spec at `spec` (its path as the user named it)."""
    token = _spec.set(spec)
    try:
        yield
    finally:
        _spec.reset(token)


class Recorded:
    """What a recording holds, by spec."""

    def __init__(self, found: list[tuple[str, Read]]) -> None:
        self.found = found

    def of(self, spec: str) -> tuple[Read, ...]:
        """The reads of `spec` and the ones every spec shares, once each, in a stable order."""
        return tuple(sorted({read for owner, read in self.found if owner in ("", spec)}))


def note(kind: str, key: str, seen: str) -> None:
    found = _log.get()
    if found is not None:
        found.append((_spec.get(), Read(kind, key, seen)))


def file(path: str | os.PathLike[str], data: bytes | None) -> None:
    """`data` was read from `path` (None: there was no such file)."""
    note("file", os.path.abspath(path), ABSENT if data is None else digest(data))


def environ(name: str) -> str | None:
    """os.environ[name] (None when unset), recorded."""
    value = os.environ.get(name)
    note("environ", name, ABSENT if value is None else digest(value.encode()))
    return value


def realpath(path: str | os.PathLike[str]) -> str:
    """Where `path` resolves (links followed), recorded."""
    found = os.path.realpath(path)
    note("realpath", os.path.abspath(path), found)
    return found


def file_type(path: str | os.PathLike[str], info: os.stat_result) -> None:
    """What kind of file `path` was when it was judged (a folder, a socket…), recorded."""
    import stat

    note("type", os.path.abspath(path), str(stat.S_IFMT(info.st_mode)))


def glob(pattern: str) -> list[str]:
    """The sorted matches of `pattern`, recorded (each match's content is recorded by the
    code that reads it)."""
    import glob as globbing

    found = sorted(globbing.glob(pattern))
    note("glob", pattern, digest("\0".join(found).encode()))
    return found


def user() -> tuple[int, int]:
    """This process's uid and gid, recorded (a box user defaults to them)."""
    ids = (os.getuid(), os.getgid())
    note("uid", "process", f"{ids[0]}:{ids[1]}")
    return ids
