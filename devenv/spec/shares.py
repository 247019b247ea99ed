"""Shared host paths judged by what they are, not by how the spec spells them (issue 19).

The engine bind-mounts as root, whatever the user may reach, so a share is refused when it
resolves (links followed, bind mounts and hard links compared by device and inode) to:
the root, a system folder, the container engine's own files, sockets and runtime folders
(or a folder holding them), a socket, a device or a named pipe anywhere (a socket only with
`docker_socket: true`), a file under /proc or /sys, a hard-linked file (it may be a system
file under another name), or, for a user who is not root, a path they cannot use themselves.
The user's own secrets (~/.ssh, ~/.gnupg, cloud and cluster credentials) may be shared
read-only only, with a plan warning: a box that could write them would own the user's
account (an ssh config's ProxyCommand, a kube config's exec plugin run on the host).
"""

from __future__ import annotations

import errno
import os
import stat
from pathlib import Path
from typing import TYPE_CHECKING

from devenv import reads
from devenv.errors import DevenvError
from devenv.host import expand_home
from devenv.host import home as user_home

if TYPE_CHECKING:
    from devenv.spec.loader import SpecFile

# Host paths no box may share, as written and as the host resolves them (/bin → /usr/bin…):
# the system's own folders, on or below them.
SYSTEM_PATHS = ("/etc", "/proc", "/sys", "/dev", "/boot", "/usr", "/bin", "/sbin", "/lib")
DOCKER_SOCKETS = ("/var/run/docker.sock", "/run/docker.sock")
# What a rootful engine keeps for itself: on, below, or a folder holding them (/var, /run…).
ENGINE_PATHS = (
    "/var/lib/docker",
    "/var/lib/containerd",
    "/var/lib/containers",  # podman's storage
    "/var/lib/buildkit",
    "/run/containerd",
    "/run/docker",
    "/run/podman",
    "/run/containers",
    "/run/runc",
    "/run/crun",
)
# A rootless engine's (the user's own): refused on or below them, a home holding them is fine.
ROOTLESS_PATHS = ("~/.local/share/docker", "~/.local/share/containers")
# The user's secrets: read-only at most, with a warning.
SECRET_FOLDERS = (
    ".ssh",
    ".gnupg",
    ".aws",
    ".azure",
    ".kube",
    ".docker",
    ".config/gcloud",
    ".password-store",
    ".netrc",
    ".git-credentials",
)
REFUSED = "devenv refuses to share it"
CANNOT_SEE = "a path you cannot read yourself (the engine would share it as root)"


def host_path(spec_file: SpecFile, raw: str) -> Path:
    """A spec's host path: ~ is the user's home (the sudo user's under sudo, devenv.host),
    relative paths are relative to the spec file."""
    path = Path(expand_home(raw))
    if not path.is_absolute():
        path = spec_file.folder / path
    return Path(os.path.normpath(path))


def _as_resolved(paths: tuple[str, ...]) -> list[Path]:
    """`paths` as written and as this host resolves them, in a stable order."""
    expanded = {Path(expand_home(p)) for p in paths}
    return sorted(expanded | {Path(os.path.realpath(p)) for p in expanded})


def place_refusal(resolved: Path, engine_paths: tuple[str, ...] = ()) -> str | None:
    """Why `resolved` (links followed) must not be shared, judged by where it is;
    `engine_paths`: the engine's own folders beyond the standard ones (its data root)."""
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
    return _engine_refusal(resolved, engine_paths)


def _engine_refusal(resolved: Path, engine_paths: tuple[str, ...]) -> str | None:
    """Why `resolved` must not be shared as the container engine's own (or a folder of it).
    A data root in the user's home (a rootless engine's) leaves the home shareable."""
    home = user_home()
    reported = set(_as_resolved(engine_paths))
    # one list, one order: plan (which knows the data root) says what validate says where
    # the standard paths already refuse
    for own in _as_resolved(ENGINE_PATHS + engine_paths):
        if resolved == own or own in resolved.parents:
            return f"the container engine's own files ({own}), which give root on this host"
        in_home = resolved == home or resolved in home.parents
        if resolved in own.parents and not (own in reported and in_home):
            return f"a folder holding the container engine's own files {own}"
    for own in _as_resolved(ROOTLESS_PATHS):
        if resolved == own or own in resolved.parents:
            return f"the container engine's own files ({own})"
    return None


def _kind_refusal(info: os.stat_result, docker_socket: bool) -> str | None:
    """Why a file of this kind must not be shared, wherever it is."""
    mode = info.st_mode
    if stat.S_ISSOCK(mode) and not docker_socket:
        return (
            "a socket: a way into a host service (the Docker socket is root on this host), "
            "shared only when the spec says docker_socket: true"
        )
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "a device"
    if stat.S_ISFIFO(mode):
        return "a named pipe: a way into a host process"
    if stat.S_ISREG(mode) and info.st_nlink > 1:
        return (
            f"a hard-linked file ({info.st_nlink} names for one file, maybe a system file "
            "under another name)"
        )
    return None


def _alias_refusal(info: os.stat_result, engine_paths: tuple[str, ...]) -> str | None:
    """A folder or file that is one of the refused ones under another name (a bind mount
    of /etc, a hard link of the socket), found by device and inode."""
    refused = SYSTEM_PATHS + DOCKER_SOCKETS + ENGINE_PATHS + engine_paths + ("/",)
    for named in _as_resolved(refused):
        try:
            other = os.stat(named)
        except OSError:
            continue
        if (other.st_dev, other.st_ino) == (info.st_dev, info.st_ino):
            return f"{named} under another name (a bind mount or a hard link of it)"
    return None


def secret_folder(path: Path, home: Path) -> tuple[Path, bool] | None:
    """The secrets folder `path` is or lies in (False), or holds (True), if any: the user's
    own (~/.ssh…) or any home's (/root/.ssh, /home/ann/.aws…)."""
    parts = path.parts
    for name in SECRET_FOLDERS:
        first = name.split("/")[0]
        for at in (i for i, part in enumerate(parts) if part == first):
            base = Path(*parts[:at])
            if base in (home, Path("/root")) or base.parent == Path("/home"):
                secret = base / name
                if path == secret or secret in path.parents:
                    return secret, False
        secret = home / name
        if path in secret.parents and os.path.lexists(secret):
            return secret, True
    return None


def _resolve(path: Path, where: str) -> Path:
    """`path` with every link followed; one sentence when that cannot be done."""
    try:
        return Path(reads.realpath(path))
    except OSError as exc:
        raise DevenvError(
            f"{where} cannot be resolved ({(exc.strerror or str(exc)).lower()})",
            "share a folder you own",
        ) from None


def _stat(resolved: Path, where: str) -> os.stat_result | None:
    """What `resolved` is, None when missing (devenv makes it a folder); a loop or a path
    the user cannot look at is one sentence, not a traceback."""
    try:
        return os.stat(resolved)
    except (FileNotFoundError, NotADirectoryError):
        return None  # missing, or below a file: said next, naming the file
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            raise DevenvError(
                f"{where} is a loop of symbolic links", "point the link at a real folder"
            ) from None
        if exc.errno in (errno.EACCES, errno.EPERM):  # the engine, as root, could: refused
            raise DevenvError(
                f"{where} resolves to {resolved}, {CANNOT_SEE}; {REFUSED}",
                "share a folder you own",
            ) from None
        raise DevenvError(
            f"{where} cannot be looked at ({(exc.strerror or str(exc)).lower()})",
            "share a folder you own",
        ) from None


def _user_refusal(path: Path, readonly: bool) -> str | None:
    """For a user who is not root: a path they could not use themselves (the engine would
    mount it as root, handing the box more than the user has)."""
    if os.geteuid() == 0:
        return None
    probe = path
    while not os.path.lexists(probe):
        probe = probe.parent  # a missing path is made by the user: judge its first folder
    need = os.R_OK if readonly else os.R_OK | os.W_OK
    if not os.access(probe, need):
        return CANNOT_SEE if readonly else CANNOT_SEE.replace("read", "write", 1)
    return None


def shared_host_path(
    spec_file: SpecFile, index: int, home: Path | None = None, engine_paths: tuple[str, ...] = ()
) -> Path:
    """The host path of shared entry `index` (as `host_path` gives it), after refusing one
    that is (links followed) no path for a box; see the module's doc. validate stops here
    before any engine call; plan and apply also with `engine_paths`, the folders the engine
    says are its own (its data root, wherever it was moved). A file or a folder may be shared."""
    spec = spec_file.spec
    entry = spec.shared[index]
    path = host_path(spec_file, entry.host)
    where = f"{spec_file.path}: shared entry {index + 1} (host {entry.host!r})"
    why = place_refusal(path, engine_paths)  # first: /proc/1/root cannot even be resolved
    resolved = path if why else _resolve(path, where)
    why = why or place_refusal(resolved, engine_paths)
    info = None if why else _stat(resolved, where)
    if info is not None:
        reads.file_type(resolved, info)
        why = _kind_refusal(info, spec.docker_socket) or _alias_refusal(info, engine_paths)
    if not why:
        secret = secret_folder(resolved, home or user_home())
        if secret and not entry.readonly:
            holds = "a folder holding " if secret[1] else ""
            raise DevenvError(
                f"{where} resolves to {resolved}, {holds}secrets ({secret[0]}) a box could "
                "change to take over the account; devenv shares it read-only only",
                "add readonly: true, or share a project folder instead",
            )
        why = _user_refusal(resolved, entry.readonly)
    if why:
        raise DevenvError(
            f"{where} resolves to {resolved}, {why}; {REFUSED}",
            "share a project folder (relative to the spec) or one in your home instead",
        )
    blocker = next((p for p in reversed(path.parents) if p.exists() and not p.is_dir()), None)
    if blocker is not None:
        raise DevenvError(
            f"{where}: {blocker} is a file, so no folder can be made below it",
            f"move or rename the file {blocker}, or share another path",
        )
    return path


def share_warnings(spec_file: SpecFile, home: Path | None = None) -> tuple[str, ...]:
    """What the plan says about shares it allows: secrets shared read-only."""
    warnings = []
    for entry in spec_file.spec.shared:
        try:
            resolved = Path(os.path.realpath(host_path(spec_file, entry.host)))
        except OSError:
            continue  # shared_host_path says why
        secret = secret_folder(resolved, home or user_home())
        if secret:
            warnings.append(
                f"shares {secret[0]} read-only: the box can read the secrets in it"
                if not secret[1]
                else f"shares {resolved} read-only: the box can read the secrets in {secret[0]}"
            )
    return tuple(warnings)
