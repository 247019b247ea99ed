"""The last resort: an unexpected failure keeps its traceback in a crash log a user can
attach to a report, and the screen gets one sentence (pre-commit's pattern)."""

from __future__ import annotations

import os
import shlex
import sys
import tempfile
import time
import traceback
from pathlib import Path


def _folders() -> list[Path]:
    """Where a crash log may go: the state folder, else the temp folder."""
    folders = []
    try:
        from devenv.host import Host

        folders.append(Host.current().state_dir / "crash")
    except Exception:  # a crash while reporting a crash must not hide the first
        pass
    folders.append(Path(tempfile.gettempdir()) / "devenv-crash")
    return folders


def write_crash_log(exc: BaseException, argv: list[str]) -> Path | None:
    """Write what happened (version, command, traceback); its path, or None if no folder
    would take it."""
    from devenv import __version__

    body = (
        f"devenv {__version__} (python {sys.version.split()[0]})\n"
        f"command: {shlex.join(argv)}\n\n" + "".join(traceback.format_exception(exc))
    )
    name = f"{time.strftime('%Y%m%d-%H%M%S')}-{os.getpid()}.log"
    for folder in _folders():
        try:
            folder.mkdir(parents=True, exist_ok=True)
            path = folder / name
            path.write_text(body)
            return path
        except OSError:
            continue
    return None
