"""The host paths a spec names, as this machine sees them: shared folders (refusing the
ones no box may have) and the public key files sshd is given. Reads only."""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING

from devenv import reads
from devenv.errors import DevenvError
from devenv.spec.keys import is_literal_key, key_problem

if TYPE_CHECKING:
    from devenv.spec.loader import SpecFile


def host_path(spec_file: SpecFile, raw: str) -> Path:
    """A spec's host path: ~ expands, relative paths are relative to the spec file."""
    if raw.startswith("~"):
        reads.environ("HOME")  # what ~ expands with
    path = Path(os.path.expanduser(raw))
    if not path.is_absolute():
        path = spec_file.folder / path
    return Path(os.path.normpath(path))


# Host paths no box may share (the root, the system's own folders, the Docker socket, which
# is root on this host), as written and as the host resolves them (/bin → /usr/bin…).
SYSTEM_PATHS = ("/etc", "/proc", "/sys", "/dev", "/boot", "/usr", "/bin", "/sbin", "/lib")
DOCKER_SOCKETS = ("/var/run/docker.sock", "/run/docker.sock")


def _as_resolved(paths: tuple[str, ...]) -> list[Path]:
    """`paths` as written and as this host resolves them, in a stable order."""
    return sorted({Path(p) for p in paths} | {Path(os.path.realpath(p)) for p in paths})


def _refusal(resolved: Path) -> str | None:
    """Why `resolved` (symlinks followed) must not be shared, or None if it may be."""
    if resolved == Path("/"):
        return "the host's root folder"
    for system in _as_resolved(SYSTEM_PATHS):
        if resolved == system:
            return "a system location"
        if system in resolved.parents:
            return f"inside the system location {system}"
    for sock in _as_resolved(DOCKER_SOCKETS):
        if resolved == sock:
            return "the Docker socket, which gives root on this host"
        if resolved in sock.parents:
            return f"a folder holding the Docker socket {sock}"
    return None


def shared_host_path(spec_file: SpecFile, index: int) -> Path:
    """The host path of shared entry `index` (as `host_path` gives it), after refusing one
    that resolves (~, relative to the spec, symlinks followed) to /, a system location or
    the Docker socket, or that lies below a file: validate, plan and apply all stop here,
    before any engine call. A file or a folder may be shared."""
    raw = spec_file.spec.shared[index].host
    path = host_path(spec_file, raw)
    resolved = Path(reads.realpath(path))
    why = _refusal(resolved)
    where = f"{spec_file.path}: shared entry {index + 1} (host {raw!r})"
    if why:
        raise DevenvError(
            f"{where} resolves to {resolved}, {why}; devenv refuses to share it",
            "share a project folder (relative to the spec) or one in your home instead",
        )
    blocker = next((p for p in reversed(path.parents) if p.exists() and not p.is_dir()), None)
    if blocker is not None:
        raise DevenvError(
            f"{where}: {blocker} is a file, so no folder can be made below it",
            f"move or rename the file {blocker}, or share another path",
        )
    return path


def authorized_keys(spec_file: SpecFile, home: Path) -> str:
    """The public keys the box accepts, from files or literal lines; a clear error if none."""
    sshd = spec_file.spec.sshd
    if sshd is None:
        return ""
    entries = list(sshd.authorized_keys)
    if not entries:
        entries = reads.glob(str(home / ".ssh" / "id_*.pub"))
        if not entries:
            raise DevenvError(
                "sshd is enabled but no public key was given and none was found in ~/.ssh",
                "create one with `ssh-keygen -t ed25519`, or list keys in sshd.authorized_keys",
                env=spec_file.spec.name,
            )
    lines: list[str] = []
    for entry in entries:
        if is_literal_key(entry):
            lines.append(entry)  # checked when the spec was validated
            continue
        lines.extend(_key_file_lines(spec_file, entry))
    return "\n".join(lines) + "\n"


def _key_file_lines(spec_file: SpecFile, entry: str) -> list[str]:
    """The key lines of a public key file, each checked as sshd would read it."""
    path = host_path(spec_file, entry)
    try:
        data = path.read_bytes()
        reads.file(path, data)
        text = data.decode()
    except (OSError, UnicodeDecodeError) as exc:
        why = exc.strerror if isinstance(exc, OSError) else "it is not text"
        raise DevenvError(
            f"authorized key file {entry} cannot be read ({why or exc})",
            "create it with `ssh-keygen -t ed25519`, or give the key itself",
            env=spec_file.spec.name,
        ) from None
    if "PRIVATE KEY" in text:
        raise DevenvError(
            f"{entry} is a private key; list the .pub file instead", env=spec_file.spec.name
        )
    lines = []
    for number, raw in enumerate(text.splitlines(), 1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        problem = key_problem(line)
        if problem:
            raise DevenvError(
                f"{path}:{number}: this key {problem}",
                "copy the .pub file again (ssh-keygen -y -f PRIVATE_KEY prints it)",
                env=spec_file.spec.name,
            )
        lines.append(line)
    return lines
