"""`devenv backup PATH… -o FILE`: what a spec cannot hold — each env's named volumes, its SSH
host key, its lock — with the specs, in one file encrypted with age (devenv.images.sealed).

The clear archive only ever flows through a pipe into the cipher; the file is written beside
its final name (0600, a name no one could guess) and renamed when whole. A running box is
paused (or stopped) while its volumes are read, so they are read as of one moment."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import IO, TYPE_CHECKING

from devenv import __version__
from devenv.build.lockfile import lock_path
from devenv.engine.volumes import Volumes
from devenv.errors import STATE_PATH, DevenvError, SpecError, host_file_errors
from devenv.host import Host
from devenv.hostfiles import read_bounded, temporary_beside
from devenv.images import backup as F
from devenv.images import bundle as B
from devenv.images import sealed

if TYPE_CHECKING:
    from devenv.engine import Engine
    from devenv.engine.observed import Observed
    from devenv.reporting import Reporter
    from devenv.spec.loader import SpecFile


def backup(
    paths: Sequence[str], out: Path, recipients: Sequence[str], engine: Engine, reporter: Reporter
) -> list[str]:
    """Write the backup of the envs under `paths` to `out`; the lines say what it holds."""
    from devenv.spec.loader import load_tolerant

    host = Host.current()
    keys = sealed.recipients(recipients, host.home)
    specs, problems = load_tolerant(paths)
    if problems:
        raise SpecError(problems)
    if out.is_dir():
        raise DevenvError(f"{out} is a folder; give the backup's file name, e.g. -o envs.age")
    observed = engine.observe([s.spec.name for s in specs])
    volumes = engine.volumes()
    written: list[F.Manifest] = []

    def produce(clear: IO[bytes]) -> None:
        writer = F.Writer(clear, __version__)
        try:
            _write(writer, specs, host, observed, volumes, reporter)
        except BaseException:
            writer.abort()
            raise
        writer.close()
        written.append(writer.manifest)

    try:
        with host_file_errors("write the backup", out), _replacing(out) as sealed_out:
            sealed.encrypt_to(sealed_out, keys, produce)
    finally:
        volumes.close()
    manifest = written[0]
    lines = [f"{out}: {len(manifest.envs)} env(s), encrypted to {len(keys)} recipient(s)"]
    for env in manifest.envs:
        held = [f"volume {v}" for v in env.volumes] + ["its SSH host key"] * env.host_key
        lines.append(f"  {env.name}: spec{', lock' if env.lock else ''}, {', '.join(held) or '-'}")
    return lines + [f"  not in the backup: {note}" for note in manifest.skipped]


@contextlib.contextmanager
def _replacing(out: Path) -> Iterator[IO[bytes]]:
    """A new file beside `out` (0600), renamed over it only when complete."""
    out.parent.mkdir(parents=True, exist_ok=True)
    fd, partial = temporary_beside(out)
    try:
        with open(fd, "wb") as handle:
            yield handle
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(partial, out)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(partial)
        raise


def _write(
    writer: F.Writer,
    specs: list[SpecFile],
    host: Host,
    observed: Observed,
    volumes: Volumes,
    reporter: Reporter,
) -> None:
    root, members = B.spec_layout([s.path for s in specs])
    done: set[str] = set()
    for spec_file in specs:
        spec, member = spec_file.spec, members[spec_file.path]
        writer.add_bytes(member, read_bounded(spec_file.path, F.MAX_SMALL), 0o644)
        lock = lock_path(spec_file.path)
        lock_member = B.member_for(root, lock) if lock.is_file() else None
        if lock_member:
            writer.add_bytes(lock_member, read_bounded(lock, F.MAX_SMALL), 0o644)
        has_key = _add_host_key(writer, spec_file, host)
        kept = _add_volumes(writer, spec_file, observed, volumes, done, reporter)
        writer.manifest.envs.append(
            F.BackupEnv(spec.name, member, lock_member or "", has_key, kept)
        )
        writer.manifest.skipped += [
            f"{spec.name}: shared folder {s.host} (files on this machine: back them up with them)"
            for s in spec.shared
        ]


def _add_host_key(writer: F.Writer, spec_file: SpecFile, host: Host) -> bool:
    name = spec_file.spec.name
    if spec_file.spec.sshd is None:
        return False
    ssh_dir = host.env_dir(name) / "ssh"
    private, public = F.key_members(name)
    key = _read_own(ssh_dir / F.HOST_KEY)
    if key is None:
        writer.manifest.skipped.append(f"{name}: no SSH host key in {ssh_dir} yet")
        return False
    writer.add_bytes(private, key)
    pub = _read_own(ssh_dir / f"{F.HOST_KEY}.pub")
    if pub is not None:
        writer.add_bytes(public, pub, 0o644)
    return True


def _read_own(path: Path) -> bytes | None:
    """A file of devenv's state folder (a link there is refused), None when absent."""
    with host_file_errors("read", path, STATE_PATH):
        try:
            return read_bounded(path, F.MAX_SMALL, own=True)
        except FileNotFoundError:
            return None


def _add_volumes(
    writer: F.Writer,
    spec_file: SpecFile,
    observed: Observed,
    volumes: Volumes,
    done: set[str],
    reporter: Reporter,
) -> tuple[str, ...]:
    """The env's volumes, read while its box is held still; a volume two envs share once."""
    name = spec_file.spec.name
    wanted = [v.name for v in spec_file.spec.volumes]
    present = [v for v in wanted if v in done or volumes.exists(v)]
    writer.manifest.skipped += [
        f"{name}: volume {v} is not on this engine" for v in wanted if v not in present
    ]
    todo = [v for v in present if v not in done]
    if not todo:
        return tuple(present)
    box = observed.named(name)
    running = box is not None and box.owned and box.state == "running"
    with volumes.held(box.id) if running and box else contextlib.nullcontext("") as how:
        if how:
            reporter.step(name, f"{how} while its volumes are read")
        for volume in todo:
            reporter.step(name, f"reading volume {volume}")
            size = volumes.size(volume)
            with volumes.read(volume) as stream:
                writer.add_stream(F.volume_member(volume), size, stream)
            done.add(volume)
    return tuple(present)
