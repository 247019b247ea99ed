"""The backup format: what a spec cannot hold, as one tar stream that only ever exists
encrypted (devenv.images.sealed). This module writes and checks it; it never talks to the
engine and never writes to the disk.

Layout (format_version 1), the manifest last because it lists every member's checksum:

    specs/...                         the spec files and their locks, relative to their folder
    keys/ENV/ssh_host_ed25519_key     the env's SSH host key (and its .pub)
    volumes/VOLUME.tar                the volume's files, one top folder (engine.volumes.TOP)
    manifest.json                     {"format": "devenv-backup", "envs", "volumes", "files",
                                       "skipped"}

Every input is bounded: member count, names (relative, no `..`), types (regular files only;
inside a volume no device, no hard link or relative link leaving it), sizes, checksums."""

from __future__ import annotations

import datetime
import hashlib
import io
import re
import tarfile
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import IO, Any, cast

from devenv.errors import DevenvError
from devenv.images import manifest as manifests
from devenv.images.bundle import safe_name

KIND = manifests.Kind("devenv-backup", "backup", "restore")
MANIFEST = manifests.MEMBER
HOST_KEY = "ssh_host_ed25519_key"
MAX_MEMBERS = 10_000  # specs, locks, keys and volumes of a folder of envs
MAX_SMALL = 4 << 20  # a spec, lock, key or the manifest
MAX_SMALL_TOTAL = 64 << 20  # all of them: they are held in memory while the backup is checked
MAX_VOLUME = 1 << 40  # 1 TiB of one volume's archive
MAX_VOLUME_MEMBERS = 5_000_000
CHUNK = 1 << 20
NAME = re.compile(r"[a-zA-Z0-9][a-zA-Z0-9_.-]{0,127}")
VOLUME_TYPES = (
    tarfile.REGTYPE,
    tarfile.AREGTYPE,
    tarfile.DIRTYPE,
    tarfile.SYMTYPE,
    tarfile.LNKTYPE,
)


@dataclass(frozen=True)
class BackupEnv:
    name: str
    spec: str  # its member, specs/…
    lock: str = ""  # its member, or "" without a lock
    host_key: bool = False
    volumes: tuple[str, ...] = ()


@dataclass(frozen=True)
class Member:
    path: str
    size: int
    sha256: str


@dataclass
class Manifest:
    envs: list[BackupEnv] = field(default_factory=list)
    files: list[Member] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    created: str = ""
    devenv_version: str = ""

    def to_json(self) -> str:
        return manifests.to_text(
            KIND, self.created, self.devenv_version, self.envs, self.files, self.skipped
        )

    @classmethod
    def from_json(cls, text: bytes, where: str) -> Manifest:
        data = manifests.read(text, where, KIND)
        with manifests.entries(where):
            envs = [
                BackupEnv(**{**e, "volumes": tuple(str(v) for v in e["volumes"])})
                for e in data["envs"]
            ]
            files = [
                Member(str(f["path"]), int(f["size"]), str(f["sha256"])) for f in data["files"]
            ]
            skipped = [str(s) for s in data.get("skipped", [])]
        manifest = cls(envs, files, skipped, str(data.get("created", "")))
        _check_manifest(manifest, where)
        return manifest


def volume_member(volume: str) -> str:
    return f"volumes/{volume}.tar"


def key_members(env: str) -> tuple[str, str]:
    return f"keys/{env}/{HOST_KEY}", f"keys/{env}/{HOST_KEY}.pub"


def _check_manifest(manifest: Manifest, where: str) -> None:
    listed = {f.path for f in manifest.files}
    for env in manifest.envs:
        names = [env.name, *env.volumes]
        needed = [env.spec, *([env.lock] if env.lock else []), *map(volume_member, env.volumes)]
        needed += list(key_members(env.name)[:1]) if env.host_key else []
        if not all(NAME.fullmatch(n) for n in names) or not set(needed) <= listed:
            raise DevenvError(f"{where} has a malformed {MANIFEST} (env {env.name[:64]!r})")


# ---- writing ---------------------------------------------------------------------------------
class Writer:
    """Adds members to the (clear) tar stream that goes straight into the cipher."""

    def __init__(self, out: IO[bytes], version: str) -> None:
        self.sink = _Sink(out)
        self.tar = tarfile.open(  # noqa: SIM115 - closed by close() or abort()
            fileobj=cast(IO[bytes], self.sink), mode="w|", format=tarfile.PAX_FORMAT
        )
        stamp = datetime.datetime.now(datetime.timezone.utc).replace(microsecond=0)
        self.manifest = Manifest(created=stamp.isoformat(), devenv_version=version)

    def add_bytes(self, name: str, data: bytes, mode: int = 0o600) -> None:
        self.add_stream(name, len(data), [data], mode)

    def add_stream(self, name: str, size: int, chunks: Iterable[bytes], mode: int = 0o600) -> None:
        """Add `size` bytes from `chunks`; fewer or more means the source changed under us."""
        info = tarfile.TarInfo(name)
        info.size, info.mode = size, mode
        hashing = _Hashing(chunks)
        self.tar.addfile(info, hashing)
        if hashing.read(1) or hashing.size != size:
            raise DevenvError(f"{name} changed while it was being backed up", "run backup again")
        self.manifest.files.append(Member(name, size, hashing.digest.hexdigest()))

    def close(self) -> None:
        self.add_bytes(MANIFEST, self.manifest.to_json().encode(), 0o644)
        self.tar.close()

    def abort(self) -> None:
        """Stop after a failure: nothing more is written (the stream may be gone)."""
        self.sink.cut = True
        self.tar.close()


class _Sink:
    """Where the tar writes: the cipher's pipe, until a failure cuts it."""

    def __init__(self, out: IO[bytes]) -> None:
        self.out, self.cut = out, False

    def write(self, data: bytes) -> int:
        return len(data) if self.cut else self.out.write(data)


class _Hashing(io.RawIOBase):
    """A reader over chunks that hashes and counts what is read through it. A read fills
    the whole buffer unless the chunks end (tarfile takes a short read for the end)."""

    def __init__(self, chunks: Iterable[bytes]) -> None:
        self._chunks = iter(chunks)
        self._rest = b""
        self.digest = hashlib.sha256()
        self.size = 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        view = memoryview(buffer).cast("B")
        filled = 0
        while filled < len(view):
            if not self._rest:
                chunk = next(self._chunks, None)
                if chunk is None:
                    break
                self._rest = chunk
                continue
            size = min(len(view) - filled, len(self._rest))
            view[filled : filled + size] = self._rest[:size]
            self.digest.update(self._rest[:size])
            self._rest = self._rest[size:]
            filled += size
        self.size += filled
        return filled


# ---- reading ---------------------------------------------------------------------------------
@dataclass
class Checked:
    """A backup read completely once: its manifest and its small files (in memory only)."""

    manifest: Manifest
    small: dict[str, bytes]


def check(clear: IO[bytes], where: str, volume_top: str) -> Checked:
    """Read the whole clear stream: every name, type, size and checksum, and every volume
    archive's members, before anything is written anywhere."""
    small: dict[str, bytes] = {}
    seen: dict[str, Member] = {}
    manifest_data, held = b"", 0
    with _open(clear, where) as tar:
        for info in tar:
            if len(seen) >= MAX_MEMBERS:
                raise DevenvError(f"{where} holds more than {MAX_MEMBERS} members")
            _check_member(info, seen, where)
            handle = tar.extractfile(info)
            assert handle is not None
            if info.name == MANIFEST:
                manifest_data = handle.read(MAX_SMALL)
                continue
            if info.name.startswith("volumes/"):
                seen[info.name] = _check_volume(handle, info, volume_top, where)
                continue
            data = handle.read(MAX_SMALL)
            held += len(data)
            if held > MAX_SMALL_TOTAL:
                raise DevenvError(f"{where} holds more specs, locks and keys than a backup allows")
            small[info.name] = data
            seen[info.name] = Member(info.name, len(data), hashlib.sha256(data).hexdigest())
    while clear.read(CHUNK):  # to the very end, so the cipher checks the file is whole
        pass
    if not manifest_data:
        raise DevenvError(f"{where} is incomplete (no manifest at its end)", "use another copy")
    manifest = Manifest.from_json(manifest_data, where)
    if {f.path: f for f in manifest.files} != seen:
        raise DevenvError(f"{where} does not match its manifest (a member differs)")
    return Checked(manifest, small)


def each_volume(clear: IO[bytes], where: str, use: Callable[[str, Iterable[bytes]], None]) -> None:
    """Read the clear stream again, handing each volume's archive, as chunks, to `use`."""
    with _open(clear, where) as tar:
        for info in tar:
            if info.name.startswith("volumes/") and info.isfile():
                handle = tar.extractfile(info)
                assert handle is not None
                use(info.name[len("volumes/") : -len(".tar")], chunks_of(handle))


def chunks_of(handle: IO[bytes]) -> Iterator[bytes]:
    while chunk := handle.read(CHUNK):
        yield chunk


def _open(clear: IO[bytes], where: str) -> tarfile.TarFile:
    try:
        return tarfile.open(fileobj=clear, mode="r|")
    except tarfile.TarError:
        raise DevenvError(f"{where} is not a devenv backup (not a tar inside)") from None


def _check_member(info: tarfile.TarInfo, seen: dict[str, Member], where: str) -> None:
    name = info.name
    kinds = ("specs/", "keys/", "volumes/")
    if not info.isfile() or not safe_name(name) or name in seen:
        raise DevenvError(f"{where} holds {name[:80]!r}, which a backup never does")
    if name != MANIFEST and not name.startswith(kinds):
        raise DevenvError(f"{where} holds {name[:80]!r}, which a backup never does")
    limit = MAX_VOLUME if name.startswith("volumes/") else MAX_SMALL
    if info.size > limit:
        raise DevenvError(f"{where}: {name[:80]} is larger than a backup allows")
    if name.startswith("volumes/"):
        volume = name[len("volumes/") :].removesuffix(".tar")
        if not name.endswith(".tar") or not NAME.fullmatch(volume):
            raise DevenvError(f"{where} holds {name[:80]!r}, which a backup never does")


def _check_volume(handle: IO[bytes], info: tarfile.TarInfo, top: str, where: str) -> Member:
    """A volume's archive: every member under `top`, of a plain type, no link leaving it."""
    hashing = _Hashing(chunks_of(handle))
    count = 0
    try:
        with tarfile.open(fileobj=hashing, mode="r|") as inner:
            for item in inner:
                count += 1
                if count > MAX_VOLUME_MEMBERS:
                    raise DevenvError(f"{where}: {info.name} holds too many files")
                _check_volume_item(item, top, f"{where}: {info.name}")
    except tarfile.TarError:
        raise DevenvError(f"{where}: {info.name} is not a tar archive") from None
    while hashing.read(CHUNK):
        pass
    return Member(info.name, hashing.size, hashing.digest.hexdigest())


def _check_volume_item(item: tarfile.TarInfo, top: str, where: str) -> None:
    """A symbolic link with an absolute target stays inside the box (the box resolves it,
    never this machine); a relative one or a hard link must stay inside the volume."""
    name = item.name.rstrip("/")
    if item.type not in VOLUME_TYPES or not safe_name(name) or name.split("/")[0] != top:
        raise DevenvError(f"{where} holds {item.name[:80]!r}, which a volume backup never does")
    if item.islnk() and (not safe_name(item.linkname) or item.linkname.split("/")[0] != top):
        raise DevenvError(f"{where}: the hard link {name[:80]!r} leaves the volume")
    if item.issym() and not item.linkname.startswith("/"):
        depth = len(name.split("/")) - 2  # folders between the top and the link
        for part in item.linkname.split("/"):
            depth += -1 if part == ".." else 0 if part in ("", ".") else 1
            if depth < 0:
                raise DevenvError(f"{where}: the link {name[:80]!r} points out of the volume")
