"""Facts about the machine devenv runs on: who the user is, where devenv keeps its files,
and the host paths a spec names. Reads only; creating folders is the applier's job."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from devenv.errors import DevenvError
from devenv.loader import SpecFile

DEFAULT_UID = 1000  # when devenv runs as root: a login user must not be uid 0


@dataclass(frozen=True)
class Host:
    uid: int
    gid: int
    home: Path
    state_dir: Path

    @classmethod
    def current(cls) -> Host:
        """The invoking user (SUDO_UID under sudo), and devenv's per-user state folder."""
        uid = int(os.environ.get("SUDO_UID") or os.getuid())
        gid = int(os.environ.get("SUDO_GID") or os.getgid())
        if uid == 0:
            uid, gid = DEFAULT_UID, DEFAULT_UID
        home = Path.home()
        state = os.environ.get("DEVENV_STATE_DIR") or os.path.join(
            os.environ.get("XDG_STATE_HOME") or home / ".local" / "state", "devenv"
        )
        return cls(uid, gid, home, Path(state))

    def env_dir(self, name: str) -> Path:
        return self.state_dir / "envs" / name


def host_path(spec_file: SpecFile, raw: str) -> Path:
    """A spec's host path: ~ expands, relative paths are relative to the spec file."""
    path = Path(os.path.expanduser(raw))
    if not path.is_absolute():
        path = spec_file.folder / path
    return Path(os.path.normpath(path))


def authorized_keys(spec_file: SpecFile, home: Path) -> str:
    """The public keys the box accepts, from files or literal lines; a clear error if none."""
    sshd = spec_file.spec.sshd
    if sshd is None:
        return ""
    entries = list(sshd.authorized_keys)
    if not entries:
        entries = [str(p) for p in sorted((home / ".ssh").glob("id_*.pub"))]
        if not entries:
            raise DevenvError(
                f"{spec_file.spec.name}: sshd is enabled but no public key was given "
                "and none was found in ~/.ssh",
                "create one with `ssh-keygen -t ed25519`, or list keys in sshd.authorized_keys",
            )
    lines: list[str] = []
    for entry in entries:
        if entry.startswith(("ssh-", "ecdsa-", "sk-")):
            lines.append(entry)
            continue
        path = host_path(spec_file, entry)
        try:
            text = path.read_text()
        except OSError as exc:
            raise DevenvError(
                f"{spec_file.spec.name}: authorized key file {entry} cannot be read "
                f"({exc.strerror or exc})",
                "create it with `ssh-keygen -t ed25519`, or give the key itself",
            ) from None
        if "PRIVATE KEY" in text:
            raise DevenvError(f"{entry} is a private key; list the .pub file instead")
        lines.extend(ln.strip() for ln in text.splitlines() if ln.strip())
    return "\n".join(lines) + "\n"
