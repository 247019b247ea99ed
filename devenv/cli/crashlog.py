"""The last resort: an unexpected failure keeps its traceback in a crash log a user can
attach to a report, and the screen gets one sentence (pre-commit's pattern).

A crash log goes only into a folder the user owns: the state folder's `crash` when that is
the user's own (devenv.hostfiles.own_folder), else a new private folder made by mkdtemp.
Never a predictable name in a shared folder: the file is created exclusively, 0600."""

from __future__ import annotations

import os
import shlex
import sys
import tempfile
import time
import traceback
from collections.abc import Iterator
from pathlib import Path


def _folders() -> Iterator[Path]:
    """Where a crash log may go, best first; each is the user's own when yielded."""
    try:
        from devenv.host import Host
        from devenv.hostfiles import own_folder

        yield own_folder(Host.current().state_dir / "crash")
    except Exception:  # a crash while reporting a crash must not hide the first
        pass
    try:
        yield Path(tempfile.mkdtemp(prefix="devenv-crash-"))  # 0700, a name no one guessed
    except OSError:
        return


def write_crash_log(exc: BaseException, argv: list[str]) -> Path | None:
    """Write what happened (version, command, traceback); its path, or None if no folder
    would take it."""
    from devenv import __version__

    body = (
        f"devenv {__version__} (python {sys.version.split()[0]})\n"
        f"command: {shlex.join(argv)}\n\n" + "".join(traceback.format_exception(exc))
    )
    name = f"{time.strftime('%Y%m%d-%H%M%S')}-{os.getpid()}.log"
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC
    for folder in _folders():
        path = folder / name
        try:
            fd = os.open(path, flags, 0o600)
            with os.fdopen(fd, "w", encoding="utf-8", errors="replace") as handle:
                handle.write(body)
            return path
        except OSError:
            continue
    return None
