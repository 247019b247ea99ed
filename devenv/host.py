"""Facts about the machine devenv runs on: who the user is and where devenv keeps its own
files (the state folder, decided here only). Reads only; creating folders is the applier's job."""

from __future__ import annotations

import os
from pathlib import Path
from typing import NamedTuple

from devenv import reads

DEFAULT_UID = 1000  # when devenv runs as root: a login user must not be uid 0


def state_dir() -> str:
    """devenv's per-user state folder: DEVENV_STATE_DIR, else $XDG_STATE_HOME/devenv, else
    ~/.local/state/devenv. The one place that decides it."""
    home = reads.environ("HOME") or os.path.expanduser("~")
    base = reads.environ("XDG_STATE_HOME") or os.path.join(home, ".local", "state")
    return reads.environ("DEVENV_STATE_DIR") or os.path.join(base, "devenv")


class Host(NamedTuple):
    uid: int
    gid: int
    home: Path
    state_dir: Path

    @classmethod
    def current(cls) -> Host:
        """The invoking user (SUDO_UID under sudo), and devenv's per-user state folder."""
        own_uid, own_gid = reads.user()
        uid = int(reads.environ("SUDO_UID") or own_uid)
        gid = int(reads.environ("SUDO_GID") or own_gid)
        if uid == 0:
            uid, gid = DEFAULT_UID, DEFAULT_UID
        return cls(uid, gid, Path.home(), Path(state_dir()))

    def env_dir(self, name: str) -> Path:
        return self.state_dir / "envs" / name
