"""The one root of every error devenv shows a user; the CLI prints these and exits 1."""

from __future__ import annotations

import contextlib
import errno
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Literal, NamedTuple


class DevenvError(Exception):
    """An error meant for a person: one clear sentence, optionally a hint, and the env it is
    about. The message never repeats the env's name: whoever prints it names the env once."""

    def __init__(self, message: str, hint: str | None = None, env: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint
        self.env = env

    def __str__(self) -> str:
        """The message and its hint, without the env (see `headline`)."""
        return self.message if not self.hint else f"{self.message}\n  hint: {self.hint}"

    @property
    def headline(self) -> str:
        """The message, after the env's name when it is about one: 'php: …'."""
        return f"{self.env}: {self.message}" if self.env else self.message


class Problem(NamedTuple):
    """One thing wrong with a spec, located at file:line:col (1-based)."""

    path: str
    line: int
    col: int
    message: str

    def __str__(self) -> str:
        return f"{self.path}:{self.line}:{self.col}: {self.message}"


class SpecError(DevenvError):
    """A spec (or several) failed to load; carries every problem found."""

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = problems
        super().__init__("\n".join(str(p) for p in problems))


class EngineError(DevenvError):
    """The Docker engine refused, failed or could not be reached."""


class ImageMissing(EngineError):
    """A pull found no such image in the registry (or the registry wants a login)."""


class ConflictError(DevenvError):
    """Something devenv does not own stands where devenv would act."""


class BuildError(EngineError):
    """An image build failed; `log_path` holds the full output."""

    def __init__(self, message: str, hint: str | None = None, log_path: str | None = None) -> None:
        super().__init__(message, hint)
        self.log_path = log_path


class Interrupted(DevenvError):
    """The user (or a signal) stopped devenv part-way; state was left consistent."""


RegistryFailure = Literal["missing", "auth", "unreachable", "other"]


class RegistryError(EngineError):
    """A registry refused or could not be reached; `kind` lets callers tell a missing image
    (build it) from a login or network problem (say so)."""

    def __init__(self, message: str, kind: RegistryFailure, hint: str | None = None) -> None:
        super().__init__(message, hint)
        self.kind = kind


OTHER_PATH = "or choose another path"
STATE_PATH = "or set DEVENV_STATE_DIR to a writable folder for devenv's own files"


class HostFileError(DevenvError):
    """A file or folder on this machine could not be made, written or read: one sentence that
    names the path and the reason (permission, a file in the way, a full or read-only disk)."""

    def __init__(
        self, action: str, path: str | os.PathLike[str], exc: OSError, also: str = OTHER_PATH
    ) -> None:
        self.path = Path(path)
        reason, fix = _host_file_reason(self.path, exc)
        super().__init__(f"cannot {action} {self.path}: {reason}", f"{fix}, {also}")


def _blocker(path: Path) -> Path | None:
    """The first part of `path` (from the root down) that exists but is not a folder."""
    for part in [*reversed(path.parents), path]:
        if part.exists() and not part.is_dir():
            return part
        if not part.exists():
            return None
    return None


def _host_file_reason(path: Path, exc: OSError) -> tuple[str, str]:
    """Why an OS call on `path` failed, in words, and what to do about it."""
    code = exc.errno
    blocker = _blocker(path) if code in (errno.ENOTDIR, errno.EEXIST, errno.ENOENT) else None
    if blocker is not None and (blocker != path or code == errno.EEXIST):
        where = "it" if blocker == path else str(blocker)
        return f"{where} is a file, not a folder", f"move or rename the file {blocker}"
    if code in (errno.EACCES, errno.EPERM):
        return "permission denied", "give your user write access there"
    if code in (errno.ENOSPC, errno.EDQUOT):
        return "the disk holding it is full", "free some space on that disk (see `df -h`)"
    if code == errno.EROFS:
        return "its file system is read-only", "remount it writable"
    return (exc.strerror or str(exc)).rstrip(".").lower(), "check the path"


@contextlib.contextmanager
def host_file_errors(
    action: str, path: str | os.PathLike[str], also: str = OTHER_PATH
) -> Iterator[None]:
    """Turn an OSError while doing `action` on `path` (on this machine) into a HostFileError."""
    try:
        yield
    except OSError as exc:
        named = Path(exc.filename) if isinstance(exc.filename, str) else None
        where = named if named and Path(path) in named.parents else path  # a file inside it
        raise HostFileError(action, where, exc, also) from None
