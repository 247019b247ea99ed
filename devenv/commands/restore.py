"""`devenv restore FILE`: put back what a backup holds, before `devenv apply` brings the boxes
back: the envs' volumes (through the engine), their SSH host keys (into devenv's state folder),
and their specs and locks (only where no file is).

The backup is decrypted and read completely once — names, types, sizes, checksums, every
volume's members — before anything is written; it is decrypted again, as a stream, to fill
the volumes. A volume that holds data is never overwritten unless --force."""

from __future__ import annotations

import contextlib
import os
import stat
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

from devenv.engine.volumes import TOP, Volumes
from devenv.errors import STATE_PATH, DevenvError, host_file_errors
from devenv.host import Host
from devenv.hostfiles import own_folder, read_bounded, write_file
from devenv.images import backup as F
from devenv.images import sealed

if TYPE_CHECKING:
    from devenv.engine import Engine
    from devenv.reporting import Reporter

MAX_BACKUP = 1 << 42  # what one backup file may be


@dataclass
class Restoring:
    """What the restore will do, decided before it does any of it."""

    files: list[tuple[Path, bytes, int]] = field(default_factory=list)  # specs and locks
    state: list[tuple[Path, bytes, int]] = field(default_factory=list)  # host keys
    volumes: dict[str, str] = field(default_factory=dict)  # volume → env
    replace: list[str] = field(default_factory=list)  # volumes with data, under --force
    lines: list[str] = field(default_factory=list)


def restore(
    path: Path,
    identities: Sequence[str],
    to: Path,
    force: bool,
    engine: Engine,
    reporter: Reporter,
) -> list[str]:
    """Check the backup at `path`, then restore it; the lines say what was done or skipped."""
    host = Host.current()
    keys = sealed.identities(identities, host.home)
    where = str(path)
    checked = _read(path, keys, where, reporter)
    todo = Restoring()
    _plan_specs(checked, to, todo)
    _plan_keys(checked, host, force, todo)
    volumes = engine.volumes()
    try:
        _plan_volumes(checked.manifest, volumes, force, todo)
        _restore_volumes(path, keys, where, volumes, todo, reporter)
    finally:
        volumes.close()
    for target, data, mode in todo.state:
        with host_file_errors("write", target, STATE_PATH):
            own_folder(target.parent)
            write_file(target, data, mode)
    for target, data, mode in todo.files:
        with host_file_errors("write", target):
            target.parent.mkdir(parents=True, exist_ok=True)
            write_file(target, data, mode)
    todo.lines += [f"not in the backup: {note}" for note in checked.manifest.skipped]
    return todo.lines


def _read(path: Path, keys: list[Any], where: str, reporter: Reporter) -> F.Checked:
    reporter.step("restore", f"checking {path}")
    with (
        host_file_errors("read the backup", path),
        _opened(path) as source,
        sealed.decrypted(source, keys, where) as clear,
    ):
        return F.check(clear, where, TOP)


@contextlib.contextmanager
def _opened(path: Path) -> Iterator[IO[bytes]]:
    """The backup file, a regular file of bounded size (a FIFO or a device is refused)."""
    if not stat.S_ISREG(os.stat(path).st_mode):  # before opening: a FIFO would block
        raise DevenvError(f"{path} is not a backup file", "give the file `devenv backup` wrote")
    with open(path, "rb") as handle:
        info = os.fstat(handle.fileno())
        if not stat.S_ISREG(info.st_mode) or info.st_size > MAX_BACKUP:
            raise DevenvError(f"{path} is not a backup file", "give the file `devenv backup` wrote")
        yield handle


def _plan_specs(checked: F.Checked, to: Path, todo: Restoring) -> None:
    """Specs and locks go under `to`, only where no file is; one there is kept and said."""
    for member, data in sorted(checked.small.items()):
        if not member.startswith("specs/"):
            continue
        target = to / member[len("specs/") :]
        if os.path.lexists(target):
            same = target.is_file() and not target.is_symlink() and _same(target, data)
            todo.lines.append(
                f"{target}: already there" if same else f"{target}: kept yours (it differs)"
            )
            continue
        todo.files.append((target, data, 0o644))
        todo.lines.append(f"wrote {target}")


def _same(target: Path, data: bytes) -> bool:
    try:
        return read_bounded(target, F.MAX_SMALL) == data
    except (OSError, DevenvError):
        return False


def _plan_keys(checked: F.Checked, host: Host, force: bool, todo: Restoring) -> None:
    """Each env's host key into its state folder; a different one already there is kept
    unless --force (it is what that box presents now)."""
    for env in checked.manifest.envs:
        if not env.host_key:
            continue
        ssh_dir = host.env_dir(env.name) / "ssh"
        private, public = F.key_members(env.name)
        current = ssh_dir / F.HOST_KEY
        with host_file_errors("read", current, STATE_PATH):
            try:
                there: bytes | None = read_bounded(current, F.MAX_SMALL, own=True)
            except FileNotFoundError:
                there = None
        if there == checked.small[private]:
            todo.lines.append(f"{env.name}: its SSH host key is already in place")
            continue
        if there is not None and not force:
            todo.lines.append(
                f"{env.name}: kept the other SSH host key in {ssh_dir} (--force replaces it)"
            )
            continue
        todo.state.append((current, checked.small[private], 0o600))
        if public in checked.small:
            todo.state.append((ssh_dir / f"{F.HOST_KEY}.pub", checked.small[public], 0o644))
        todo.lines.append(f"{env.name}: restored its SSH host key")


def _plan_volumes(manifest: F.Manifest, volumes: Volumes, force: bool, todo: Restoring) -> None:
    """Refuse, before anything is written, a volume that holds data (without --force) or
    that a container still uses (with it)."""
    for backed in manifest.envs:
        for volume in backed.volumes:
            todo.volumes.setdefault(volume, backed.name)
    for volume, env in todo.volumes.items():
        if not volumes.exists(volume) or not volumes.holds_data(volume):
            continue
        if not force:
            raise DevenvError(
                f"volume {volume} already holds data; restore would overwrite it",
                "back it up first, or pass --force to replace it with the backup's copy",
                env=env,
            )
        users = volumes.users(volume)
        if users:
            raise DevenvError(
                f"volume {volume} is in use by {', '.join(users)}; it cannot be replaced",
                f"remove that container first (devenv destroy {env}), then restore again",
                env=env,
            )
        todo.replace.append(volume)


def _restore_volumes(
    path: Path, keys: list[Any], where: str, volumes: Volumes, todo: Restoring, reporter: Reporter
) -> None:
    if not todo.volumes:
        return
    for volume in todo.replace:
        volumes.remove(volume)
    for volume, env in todo.volumes.items():
        if not volumes.exists(volume):
            volumes.create(volume, env)

    def fill(volume: str, chunks: Iterable[bytes]) -> None:
        reporter.step(todo.volumes[volume], f"restoring volume {volume}")
        volumes.write(volume, chunks)
        replaced = " (replaced)" if volume in todo.replace else ""
        todo.lines.append(f"{todo.volumes[volume]}: restored volume {volume}{replaced}")

    with (
        host_file_errors("read the backup", path),
        _opened(path) as source,
        sealed.decrypted(source, keys, where) as clear,
    ):
        F.each_volume(clear, where, fill)
