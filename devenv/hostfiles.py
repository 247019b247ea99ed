"""Every file devenv reads or writes on this machine goes through here, because a box, a spec
or another local user may have planted something where devenv looks (design: host boundary).

- reads are bounded: a regular file on disk only (never a FIFO, a device or a kernel file
  under /proc or /sys), at most `limit` bytes, opened without waiting for a writer;
- writes never follow a link: a temporary file created exclusively (no-follow) in the same
  folder, then renamed over the target; a target that is a link, a hard link, not a file or
  another user's is refused with one sentence;
- devenv's own folders (the state folder) are the user's: made 0700, refused when another
  user owns or can write them or any folder on the way to them.
"""

from __future__ import annotations

import contextlib
import errno
import os
import stat
from pathlib import Path
from typing import IO, Literal

from devenv import reads
from devenv.errors import DevenvError
from devenv.host import state_dir, sudo_user

Refusal = Literal["special", "folder", "kernel", "big"]
NOT_REGULAR = "is not a regular file (a device, pipe or socket?)"
KERNEL_FILE = "is a file of the kernel (under /proc or /sys), not one on disk"
CHUNK = 1 << 16
NOFOLLOW_CREATE = os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC
OWN_FOLDER_HINT = "or set DEVENV_STATE_DIR to a folder of your own"


class InputRefused(DevenvError):
    """A file devenv was to read is not a plain file on disk, or is over its size limit;
    `kind` and `reason` let a caller word it its own way (a spec error at 1:1…)."""

    def __init__(self, path: str | os.PathLike[str], kind: Refusal, reason: str) -> None:
        self.path, self.kind, self.reason = Path(path), kind, reason
        super().__init__(f"{path} {reason}; refusing to read it", "give a regular file instead")


class UnsafeFile(DevenvError):
    """A place devenv was to write or keep its files could be controlled by someone else."""


def size_words(limit: int) -> str:
    """1048576 → '1 MiB', 65536 → '64 KiB'."""
    for unit, shift in (("GiB", 30), ("MiB", 20), ("KiB", 10)):
        if limit >= 1 << shift and limit % (1 << shift) == 0:
            return f"{limit >> shift} {unit}"
    return f"{limit} bytes"


_KERNEL_DEVICES: set[int] | None = None


def _kernel_devices() -> set[int]:
    """The device numbers of /proc and /sys: their files claim to be regular but are not."""
    global _KERNEL_DEVICES
    if _KERNEL_DEVICES is None:
        found = set()
        for top in ("/proc", "/sys"):
            try:
                found.add(os.stat(top).st_dev)
            except OSError:
                continue
        _KERNEL_DEVICES = found
    return _KERNEL_DEVICES


def refusal(info: os.stat_result) -> tuple[Refusal, str] | None:
    """Why a file with `info` (stat, links followed) is not one to read, or None."""
    if stat.S_ISDIR(info.st_mode):
        return "folder", "is a folder, not a file"
    if not stat.S_ISREG(info.st_mode):
        return "special", NOT_REGULAR
    if info.st_dev in _kernel_devices():
        return "kernel", KERNEL_FILE
    return None


def read_bounded(path: str | os.PathLike[str], limit: int, own: bool = False) -> bytes:
    """The bytes of the regular file at `path`, refused (InputRefused) when it is anything
    else or holds more than `limit` bytes; never blocks on a FIFO, never reads past `limit`.
    `own`: a file devenv wrote in its own folder, so a link or a hard link there is
    planted (UnsafeFile), never followed. A missing or unreadable file raises the OSError.
    What it read (or that there was no file) is recorded for the memo (devenv.reads)."""
    try:
        data = _read_bounded(path, limit, own)
    except FileNotFoundError:
        reads.file(path, None)
        raise
    reads.file(path, data)
    return data


def _read_bounded(path: str | os.PathLike[str], limit: int, own: bool) -> bytes:
    if own:
        check_target(Path(path))
    found = refusal(os.stat(path))  # before opening: opening some devices does something
    if found:
        raise InputRefused(path, *found)
    flags = os.O_RDONLY | os.O_NONBLOCK | os.O_NOCTTY | os.O_CLOEXEC
    fd = os.open(path, flags | (os.O_NOFOLLOW if own else 0))
    try:
        info = os.fstat(fd)
        found = refusal(info)  # the file opened, not the one looked at before
        if found:
            raise InputRefused(path, *found)
        if own and info.st_nlink > 1:
            raise UnsafeFile(f"{path} is hard-linked; refusing to read it")
        if info.st_size > limit:
            raise InputRefused(path, "big", f"is {info.st_size} bytes, over {size_words(limit)}")
        chunks, total = [], 0
        while total <= limit:
            chunk = os.read(fd, min(CHUNK, limit + 1 - total))
            if not chunk:
                break
            chunks.append(chunk)
            total += len(chunk)
        if total > limit:  # it grew while read
            raise InputRefused(path, "big", f"is over {size_words(limit)}")
        return b"".join(chunks)
    finally:
        os.close(fd)


def read_text_bounded(path: str | os.PathLike[str], limit: int) -> str:
    """`read_bounded` as UTF-8 text (a BOM dropped); UnicodeDecodeError when it is not."""
    return read_bounded(path, limit).decode("utf-8-sig")


def _trusted_owners(folder_owner: int | None = None) -> set[int]:
    """Who may own a file devenv trusts: the user, root, the sudo user acting through root,
    and the owner of the folder holding it (who could replace it anyway)."""
    owners = {os.geteuid(), 0}
    sudo = sudo_user()
    if sudo is not None:
        owners.add(sudo[0])
    if folder_owner is not None:
        owners.add(folder_owner)
    return owners


def check_target(path: Path) -> os.stat_result | None:
    """The existing file at `path` that a write will replace (None if there is none);
    refused when it is a link, a hard link, not a file, or someone else's."""
    try:
        info = os.lstat(path)
    except FileNotFoundError:
        return None
    hint = f"remove it (rm {path}) once you have checked who put it there"
    if stat.S_ISLNK(info.st_mode):
        raise UnsafeFile(f"{path} is a symbolic link devenv did not make; refusing to write", hint)
    if not stat.S_ISREG(info.st_mode):
        raise UnsafeFile(f"{path} is not a regular file; refusing to write over it", hint)
    if info.st_nlink > 1:
        raise UnsafeFile(
            f"{path} is hard-linked ({info.st_nlink} names for one file); refusing to write", hint
        )
    if info.st_uid not in _trusted_owners(os.stat(path.parent).st_uid):
        raise UnsafeFile(
            f"{path} belongs to another user (uid {info.st_uid}); refusing to write over it", hint
        )
    return info


def give_to_user(target: int | Path, folder: Path) -> None:
    """Under sudo, what devenv just made (a descriptor, or a path never followed) in a
    folder of the sudo user's belongs to them, not to root: their state folder, their
    project. Anywhere else (a folder of root's) it stays root's."""
    sudo = sudo_user()
    if sudo is None or os.stat(folder).st_uid != sudo[0]:
        return
    if isinstance(target, int):
        os.fchown(target, *sudo)
    else:
        os.chown(target, *sudo, follow_symlinks=False)


def temporary_beside(path: Path, mode: int = 0o600) -> tuple[int, Path]:
    """A new file beside `path` (its descriptor and name), created exclusively under a name
    no one could guess, so never through a planted link: rename it over `path` when whole.
    Under sudo it is the sudo user's when the folder is (give_to_user)."""
    while True:
        partial = path.with_name(f".{path.name}.{os.urandom(6).hex()}.tmp")
        try:
            fd = os.open(partial, os.O_WRONLY | NOFOLLOW_CREATE, mode)
        except FileExistsError:
            continue
        try:
            give_to_user(fd, partial.parent)
        except BaseException:
            os.close(fd)
            partial.unlink(missing_ok=True)
            raise
        return fd, partial


def write_file(path: str | os.PathLike[str], data: bytes | str, mode: int = 0o600) -> None:
    """Put `data` at `path` whole (a reader sees the old file or the new one), with `mode`;
    a file replaced keeps its owner when devenv runs as root (`sudo devenv lock`)."""
    path = Path(path)
    before = check_target(path)
    fd, partial = temporary_beside(path, 0o600)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data.encode() if isinstance(data, str) else data)
            os.fchmod(handle.fileno(), mode)
            if before is not None and os.geteuid() == 0:
                os.fchown(handle.fileno(), before.st_uid, before.st_gid)
        os.replace(partial, path)
    except BaseException:
        partial.unlink(missing_ok=True)
        raise


def create_file(path: str | os.PathLike[str], mode: int = 0o600) -> IO[str]:
    """A new, empty file at `path` (replacing what was there) open for writing text: a log
    that is written as it goes. Created exclusively, so no planted link is followed."""
    path = Path(path)
    check_target(path)
    fd, partial = temporary_beside(path, mode)
    try:
        os.replace(partial, path)
    except BaseException:
        os.close(fd)
        partial.unlink(missing_ok=True)
        raise
    return os.fdopen(fd, "w", encoding="utf-8", errors="replace")


def open_own(path: str | os.PathLike[str], append: bool = False) -> IO[str]:
    """`path` opened for appending (a log of lines) or for an flock (a turn file), made 0600
    if missing; never through a link, never a hard link or someone else's file."""
    path = Path(path)
    flags = os.O_CREAT | os.O_NOFOLLOW | os.O_CLOEXEC | os.O_NONBLOCK
    flags |= os.O_WRONLY | os.O_APPEND if append else os.O_RDWR
    try:
        fd = os.open(path, flags, 0o600)
    except OSError as exc:
        if os.path.islink(path):
            check_target(path)  # says so in a sentence
        raise exc from None
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode) or info.st_nlink > 1:
            check_target(path)
            raise UnsafeFile(f"{path} changed while devenv opened it; refusing to use it")
        if info.st_uid not in _trusted_owners(os.stat(path.parent).st_uid):
            raise UnsafeFile(
                f"{path} belongs to another user (uid {info.st_uid}); refusing to use it",
                f"remove it (rm {path}) once you have checked who put it there",
            )
        if info.st_uid == 0:  # made now, or by an older devenv run under sudo
            give_to_user(fd, path.parent)
        os.set_blocking(fd, True)
    except BaseException:
        os.close(fd)
        raise
    return os.fdopen(fd, "a" if append else "r+", encoding="utf-8")


_OWN_FOLDERS: set[str] = set()


def own_folder(path: str | os.PathLike[str], what: str = "devenv's state folder") -> Path:
    """`path` as a folder of the user's own: made (0700, with any missing parents) when
    missing, and refused (UnsafeFile, one sentence naming it) when it or a folder on the way
    to it (links followed) belongs to another user or others can write it. A folder others
    may write but not rename in (the sticky bit, as /tmp) is fine on the way."""
    path = Path(os.path.abspath(path))
    if str(path) in _OWN_FOLDERS:
        return path
    root = Path(os.path.abspath(state_dir()))
    if path != root and path.is_relative_to(root):  # a sentence names the state folder itself
        own_folder(root, what)
    missing = []
    existing = path
    while not os.path.lexists(existing):
        missing.append(existing)
        existing = existing.parent
    _check_chain(path, existing, what, final=not missing)
    for folder in reversed(missing):
        with contextlib.suppress(FileExistsError):
            os.mkdir(folder, 0o700)
            give_to_user(folder, folder.parent)
    if missing:
        _check_chain(path, path, what, final=True)
    _OWN_FOLDERS.add(str(path))
    return path


def _others_can_write(info: os.stat_result) -> bool:
    """Whether someone but the owner may write: others, or a group that holds anyone else
    (a user's private group, as Debian's and Fedora's homes have, holds only them)."""
    if info.st_mode & stat.S_IWOTH:
        return True
    if not info.st_mode & stat.S_IWGRP:
        return False
    import grp
    import pwd

    try:
        owner = pwd.getpwuid(info.st_uid)
        group = grp.getgrgid(info.st_gid)
    except KeyError:
        return True
    return owner.pw_gid != info.st_gid or bool(set(group.gr_mem) - {owner.pw_name})


def folder_problem(path: str | os.PathLike[str], what: str = "devenv's state folder") -> str | None:
    """Why `path` would be refused as a folder of the user's own (`own_folder`'s sentence),
    or None; changes nothing (doctor asks it)."""
    path = Path(os.path.abspath(path))
    existing = path
    while not os.path.lexists(existing):
        existing = existing.parent
    try:
        _check_chain(path, existing, what, final=existing == path, tighten=False)
    except UnsafeFile as exc:
        return exc.message
    except OSError as exc:
        return f"{what} {path}: {exc.strerror or exc}"
    return None


def _check_chain(shown: Path, folder: Path, what: str, final: bool, tighten: bool = True) -> None:
    """Every folder from / down to `folder` (links followed) is trusted; `folder`, when
    `final`, is the user's own and closed to others (an older devenv's 0755 is tightened to
    0700, a 0555 to 0500: others lose their bits, the owner gains none). A file in the way
    is the OSError it is (NotADirectoryError)."""
    resolved = Path(os.path.realpath(folder))
    through = f" (through a symbolic link, {resolved})" if resolved != folder else ""
    hint = f"make it yours and private (chmod 700), {OWN_FOLDER_HINT}"
    for step in [*reversed(resolved.parents), resolved]:
        info = os.lstat(step)
        last = final and step == resolved
        if not stat.S_ISDIR(info.st_mode):
            raise NotADirectoryError(errno.ENOTDIR, os.strerror(errno.ENOTDIR), str(step))
        owners = {os.geteuid()} | ({0} if not last or os.geteuid() == 0 else set())
        sudo = sudo_user()
        if sudo is not None:
            owners.add(sudo[0])
        if info.st_uid not in owners:
            raise UnsafeFile(
                f"{what} {shown}{through}: {step} belongs to another user (uid "
                f"{info.st_uid}); refusing to keep devenv's files there",
                hint,
            )
        writable = _others_can_write(info)
        sticky = info.st_mode & stat.S_ISVTX and not last
        if writable and not sticky:
            raise UnsafeFile(
                f"{what} {shown}{through}: {step} can be written by other users (mode "
                f"{stat.S_IMODE(info.st_mode):04o}); refusing to keep devenv's files there",
                hint,
            )
        if last and tighten and info.st_mode & 0o077:
            os.chmod(step, stat.S_IMODE(info.st_mode) & 0o700)
