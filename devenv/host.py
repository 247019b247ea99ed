"""Facts about the machine devenv runs on: who the user is and where devenv keeps its own
files (the state folder), decided here only. Reads only; creating folders is hostfiles'.

One rule for who the user is: under sudo (root, with SUDO_UID naming someone else), devenv
acts for the user who ran sudo: their home (for `~` in specs, their SSH keys, the default
state folder), their uid and gid (shares, the box user, the files devenv makes for them).
So `devenv apply` and `sudo devenv plan` see the same env, state folder and apply turn."""

from __future__ import annotations

import os
from pathlib import Path
from typing import NamedTuple

from devenv import reads

DEFAULT_UID = 1000  # when devenv runs as root: a login user must not be uid 0


def sudo_user() -> tuple[int, int] | None:
    """The uid and gid of the user who ran `sudo devenv`, when devenv runs as root for
    someone else; None otherwise (a plain user, plain root, or SUDO_UID without root)."""
    if os.geteuid() != 0:
        return None
    uid, gid = reads.environ("SUDO_UID"), reads.environ("SUDO_GID")
    if not uid or not uid.isdigit() or int(uid) == 0:
        return None
    if gid and gid.isdigit():
        return int(uid), int(gid)
    return int(uid), _account(int(uid))[1]


def _account(uid: int) -> tuple[str | None, int]:
    """The home and primary gid the account database gives `uid` (None, uid: none there)."""
    import pwd

    try:
        entry = pwd.getpwuid(uid)
    except KeyError:
        reads.note("home", str(uid), reads.ABSENT)
        return None, uid
    reads.note("home", str(uid), entry.pw_dir)
    return entry.pw_dir, entry.pw_gid


def home() -> Path:
    """The user's home: the sudo user's from the account database under sudo (sudo sets
    HOME to root's), else $HOME (or the account database's, when unset)."""
    sudo = sudo_user()
    if sudo is not None:
        found = _account(sudo[0])[0]
        if found:
            return Path(found)
    return Path(reads.environ("HOME") or os.path.expanduser("~"))


def expand_home(raw: str) -> str:
    """`raw` with a leading `~` or `~/` made the user's home (`home()`); `~NAME/…` is NAME's
    home as the account database gives it (as a shell would), other paths unchanged."""
    if raw == "~" or raw.startswith("~/"):
        return str(home()) + raw[1:]
    return os.path.expanduser(raw) if raw.startswith("~") else raw


def state_dir() -> str:
    """devenv's per-user state folder: DEVENV_STATE_DIR, else $XDG_STATE_HOME/devenv, else
    ~/.local/state/devenv (the sudo user's home under sudo)."""
    chosen = reads.environ("DEVENV_STATE_DIR")
    if chosen:
        return chosen
    base = reads.environ("XDG_STATE_HOME") or os.path.join(home(), ".local", "state")
    return os.path.join(base, "devenv")


class Host(NamedTuple):
    uid: int
    gid: int
    home: Path
    state_dir: Path
    # what a local engine keeps for itself on this machine beyond the standard paths (its
    # data root, from its /info): no share may reach it; set where the engine is known
    engine_paths: tuple[str, ...] = ()

    @classmethod
    def current(cls) -> Host:
        """The user devenv acts for (the sudo user under sudo), and their state folder."""
        own_uid, own_gid = reads.user()
        uid, gid = sudo_user() or (own_uid, own_gid)
        if uid == 0:
            uid, gid = DEFAULT_UID, DEFAULT_UID
        return cls(uid, gid, home(), Path(state_dir()))

    def env_dir(self, name: str) -> Path:
        return self.state_dir / "envs" / name
