"""The bundle format: one tar file carrying envs' images and specs to a machine without a
network. This module writes and validates bundles; it never talks to the engine.

Layout (format_version 1), in this order so `tar tf` shows the manifest first:

    manifest.json   {"format": "devenv-bundle", "format_version": 1, "envs": [...],
                     "files": [{"path", "size", "sha256"}...], "skipped": [...]}
    specs/...       the spec files, relative to their common folder, and the public key files
                    they name inside that folder (never private keys, never shared folders)
    images.tar      the engine's `docker save` of the envs' images and their bases

Every file is listed with its size and SHA-256, so a bundle is checked completely —
names, types, sizes, checksums, the image archive's own manifest, the specs — before
anything reaches the engine or the disk.
"""

from __future__ import annotations

import contextlib
import datetime
import hashlib
import io
import json
import os
import posixpath
import tarfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from devenv.engine.observed import short_name
from devenv.errors import DevenvError, host_file_errors
from devenv.hostfiles import check_target, read_bounded, temporary_beside
from devenv.images import manifest as manifests

KIND = manifests.Kind("devenv-bundle", "bundle", "import")
MANIFEST = manifests.MEMBER
IMAGES = "images.tar"
SPECS = "specs"
MAX_MANIFEST_BYTES = 4 * 1024 * 1024
CHUNK = 1 << 20
MAX_SMALL_FILE = 16 << 20  # a spec, lock or key file; the images go as they are


@dataclass(frozen=True)
class BundleEnv:
    name: str
    image: str  # devenv/NAME:HASH12
    image_id: str
    build_hash: str
    spec: str  # its member name, specs/…
    base: str = ""  # the base reference the build hash was computed over
    base_id: str = ""
    base_digest: str = ""  # set when the hash names the base by its registry digest


@dataclass(frozen=True)
class BundleFile:
    path: str
    size: int
    sha256: str


@dataclass(frozen=True)
class Manifest:
    envs: tuple[BundleEnv, ...]
    files: tuple[BundleFile, ...]
    skipped: tuple[str, ...] = ()
    created: str = ""
    devenv_version: str = ""

    def to_json(self) -> str:
        return manifests.to_text(
            KIND, self.created, self.devenv_version, self.envs, self.files, self.skipped
        )

    @classmethod
    def from_json(cls, text: str, where: str) -> Manifest:
        data = manifests.read(text, where, KIND)
        with manifests.entries(where):
            envs = tuple(BundleEnv(**e) for e in data["envs"])
            files = tuple(BundleFile(**f) for f in data["files"])
            skipped = tuple(str(s) for s in data.get("skipped", []))
        if not envs:
            raise DevenvError(f"{where} holds no envs")
        return cls(
            envs,
            files,
            skipped,
            str(data.get("created", "")),
            str(data.get("devenv_version", "")),
        )


def safe_name(name: str) -> bool:
    """A relative POSIX path that stays inside the folder it is extracted to."""
    if not name or len(name) > 1024 or "\\" in name or "\x00" in name:
        return False
    if name.startswith("/") or posixpath.isabs(name):
        return False
    parts = name.rstrip("/").split("/")
    return all(part not in ("", ".", "..") for part in parts)


def sha256_of(handle: IO[bytes]) -> tuple[int, str]:
    digest, size = hashlib.sha256(), 0
    while chunk := handle.read(CHUNK):
        digest.update(chunk)
        size += len(chunk)
    return size, digest.hexdigest()


# ---- writing ---------------------------------------------------------------------------------
@dataclass
class Contents:
    """What goes into a bundle: member name → source file, plus the envs it holds."""

    envs: list[BundleEnv] = field(default_factory=list)
    files: dict[str, Path] = field(default_factory=dict)
    skipped: list[str] = field(default_factory=list)


def write(out: Path, contents: Contents, images: IO[bytes], version: str) -> Manifest:
    """Write the bundle to `out` (atomically: a partial file never has the final name, made
    exclusively beside it and renamed). `images` is the saved images, an open file: it is
    never reopened by a name someone could have swapped for a link."""
    listed, small = [], {}
    for member, source in sorted(contents.files.items()):  # specs, locks, keys: bounded
        with host_file_errors("read", source):
            small[member] = read_bounded(source, MAX_SMALL_FILE)
        listed.append(
            BundleFile(member, len(small[member]), hashlib.sha256(small[member]).hexdigest())
        )
    images.seek(0)
    size, digest = sha256_of(images)
    listed.append(BundleFile(IMAGES, size, digest))
    manifest = Manifest(
        tuple(contents.envs),
        tuple(listed),
        tuple(contents.skipped),
        datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        version,
    )
    check_target(out)
    fd, partial = temporary_beside(out, 0o644)
    try:
        with (
            os.fdopen(fd, "wb") as raw,
            tarfile.open(fileobj=raw, mode="w", format=tarfile.PAX_FORMAT) as tar,
        ):
            _add_bytes(tar, MANIFEST, manifest.to_json().encode())
            for entry in listed:
                if entry.path != IMAGES:
                    _add_bytes(tar, entry.path, small[entry.path])
                    continue
                info = tarfile.TarInfo(entry.path)
                info.size, info.mode = size, 0o644
                info.mtime = int(datetime.datetime.now().timestamp())
                images.seek(0)
                tar.addfile(info, images)
        partial.replace(out)
    except BaseException:
        partial.unlink(missing_ok=True)
        raise
    return manifest


def _add_bytes(tar: tarfile.TarFile, name: str, data: bytes) -> None:
    info = tarfile.TarInfo(name)
    info.size, info.mode = len(data), 0o644
    info.mtime = int(datetime.datetime.now().timestamp())
    tar.addfile(info, io.BytesIO(data))


# ---- reading and validating ------------------------------------------------------------------
class Opened:
    """A bundle whose every byte has been checked; read its files from here."""

    def __init__(self, tar: tarfile.TarFile, manifest: Manifest, where: str) -> None:
        self.tar, self.manifest, self.where = tar, manifest, where

    def read(self, member: str) -> bytes:
        handle = self.tar.extractfile(member)
        assert handle is not None
        return handle.read()

    def chunks(self, member: str) -> Iterator[bytes]:
        handle = self.tar.extractfile(member)
        assert handle is not None
        while chunk := handle.read(CHUNK):
            yield chunk

    def spec_members(self) -> list[str]:
        return [f.path for f in self.manifest.files if f.path.startswith(SPECS + "/")]


@contextlib.contextmanager
def open_bundle(path: Path) -> Iterator[Opened]:
    """Open and check a bundle completely; a clear DevenvError for anything wrong."""
    where = str(path)
    try:
        tar = tarfile.open(path, "r:")  # noqa: SIM115 (closed below, after the caller's use)
    except FileNotFoundError:
        raise DevenvError(f"{where} does not exist") from None
    except IsADirectoryError:
        raise DevenvError(f"{where} is a folder, not a bundle file") from None
    except tarfile.TarError:
        raise DevenvError(
            f"{where} is not a devenv bundle (not an uncompressed tar file)"
        ) from None
    with tar:
        yield _check(tar, where)


def _check(tar: tarfile.TarFile, where: str) -> Opened:
    names = _members(tar, where)
    manifest = _manifest(tar, names, where)
    _check_listing(manifest, names, where)
    _check_checksums(tar, manifest, names, where)
    _check_complete(manifest, where)
    check_images(tar, names[IMAGES], manifest, where)
    return Opened(tar, manifest, where)


def _members(tar: tarfile.TarFile, where: str) -> dict[str, tarfile.TarInfo]:
    """Every member by name: each inside the bundle, a plain file or folder, and listed once."""
    try:
        members = tar.getmembers()  # reads every header: a truncated file fails here
    except (tarfile.TarError, EOFError, OSError) as exc:
        raise DevenvError(f"{where} is truncated or corrupt ({exc})") from None
    names: dict[str, tarfile.TarInfo] = {}
    for member in members:
        if not safe_name(member.name):
            raise DevenvError(f"{where} is unsafe: member {member.name!r} leads outside the bundle")
        if not (member.isfile() or member.isdir()):
            raise DevenvError(f"{where} is unsafe: member {member.name!r} is not a regular file")
        if member.name in names:
            raise DevenvError(f"{where} is not a devenv bundle: {member.name!r} appears twice")
        names[member.name] = member
    return names


def _manifest(tar: tarfile.TarFile, names: dict[str, tarfile.TarInfo], where: str) -> Manifest:
    if MANIFEST not in names:
        raise DevenvError(f"{where} is not a devenv bundle (it has no manifest.json)")
    if names[MANIFEST].size > MAX_MANIFEST_BYTES:
        raise DevenvError(f"{where} is not a devenv bundle (manifest.json is too large)")
    return Manifest.from_json(_read(tar, names[MANIFEST], where).decode("utf-8", "replace"), where)


def _check_listing(manifest: Manifest, names: dict[str, tarfile.TarInfo], where: str) -> None:
    """The manifest lists only images.tar and specs/…, and the tar holds no unlisted file."""
    listed = {f.path for f in manifest.files}
    for entry in manifest.files:
        if not safe_name(entry.path) or not (
            entry.path == IMAGES or entry.path.startswith(SPECS + "/")
        ):
            raise DevenvError(f"{where} is unsafe: it lists the file {entry.path!r}")
    extra = [n for n, m in names.items() if m.isfile() and n != MANIFEST and n not in listed]
    if extra:
        raise DevenvError(f"{where} is not a devenv bundle: unexpected member {extra[0]!r}")


def _check_checksums(
    tar: tarfile.TarFile, manifest: Manifest, names: dict[str, tarfile.TarInfo], where: str
) -> None:
    """Every listed file is present with the size and SHA-256 the manifest gives."""
    for entry in manifest.files:
        stored = names.get(entry.path)
        if stored is None or not stored.isfile():
            raise DevenvError(f"{where} is truncated or incomplete: {entry.path} is missing")
        handle = tar.extractfile(stored)
        assert handle is not None
        try:
            size, digest = sha256_of(handle)
        except (tarfile.TarError, EOFError, OSError) as exc:
            raise DevenvError(f"{where} is truncated or corrupt ({exc})") from None
        if size != entry.size or digest != entry.sha256:
            raise DevenvError(f"{where} is corrupt: {entry.path} does not match its checksum")


def _check_complete(manifest: Manifest, where: str) -> None:
    """The manifest lists images.tar and the spec of every env it names."""
    listed = {f.path for f in manifest.files}
    if IMAGES not in listed:
        raise DevenvError(f"{where} is incomplete: it lists no images.tar")
    for env in manifest.envs:
        if env.spec not in listed or not env.spec.startswith(SPECS + "/"):
            raise DevenvError(f"{where} is incomplete: the spec of {env.name} is missing")


def _read(tar: tarfile.TarFile, member: tarfile.TarInfo, where: str) -> bytes:
    handle = tar.extractfile(member)
    assert handle is not None
    try:
        return handle.read()
    except (tarfile.TarError, EOFError, OSError) as exc:
        raise DevenvError(f"{where} is truncated or corrupt ({exc})") from None


def check_images(
    tar: tarfile.TarFile, member: tarfile.TarInfo, manifest: Manifest, where: str
) -> None:
    """images.tar must be the engine's save format and hold every env's image by name."""
    members, entries = _image_archive(tar, member, where)
    if not isinstance(entries, list) or not all(isinstance(e, dict) for e in entries):
        raise DevenvError(f"{where} is corrupt: images.tar has a malformed manifest")
    # Podman's archives name images as it stores them: docker.io/devenv/x:1 for devenv/x:1
    tags = {short_name(t) for e in entries for t in e.get("RepoTags") or []}
    for env in manifest.envs:
        if env.image not in tags:
            raise DevenvError(f"{where} is corrupt: images.tar does not hold {env.image}")
    for entry in entries:
        for part in [entry.get("Config", ""), *(entry.get("Layers") or [])]:
            if part not in members:
                raise DevenvError(f"{where} is corrupt: images.tar lacks {part!r}")


def _image_archive(
    tar: tarfile.TarFile, member: tarfile.TarInfo, where: str
) -> tuple[dict[str, tarfile.TarInfo], Any]:
    """images.tar's members by name, each checked, and its own manifest.json as parsed."""
    handle = tar.extractfile(member)
    assert handle is not None
    try:
        with tarfile.open(fileobj=handle, mode="r:") as inner:
            members = {m.name.rstrip("/"): m for m in inner.getmembers()}
            for name, item in members.items():
                _check_image_member(name, item, where)
            if "manifest.json" not in members:
                raise DevenvError(f"{where} is corrupt: images.tar is not an image archive")
            saved = inner.extractfile(members["manifest.json"])
            assert saved is not None
            return members, json.loads(saved.read())
    except (tarfile.TarError, EOFError, OSError, ValueError) as exc:
        raise DevenvError(f"{where} is corrupt: images.tar cannot be read ({exc})") from None
    except RecursionError:
        raise DevenvError(f"{where} is corrupt: its image manifest is nested too deeply") from None


def _check_image_member(name: str, item: tarfile.TarInfo, where: str) -> None:
    """A member of images.tar stays inside it: no escaping name or link, no special file."""
    if not safe_name(name):
        raise DevenvError(f"{where} is unsafe: images.tar has the member {name!r}")
    if item.issym() or item.islnk():
        base = posixpath.dirname(name) if item.issym() else ""
        target = posixpath.normpath(posixpath.join(base, item.linkname))
        if not safe_name(target):
            raise DevenvError(f"{where} is unsafe: images.tar links outside ({name})")
    elif not (item.isfile() or item.isdir()):
        raise DevenvError(f"{where} is unsafe: images.tar has the special file {name!r}")


def spec_layout(spec_paths: list[Path]) -> tuple[Path, dict[Path, str]]:
    """The specs' common folder, and each spec's member name under specs/."""
    folders = [str(p.parent) for p in spec_paths]
    root = Path(posixpath.commonpath(folders)) if len(folders) > 1 else spec_paths[0].parent
    return root, {p: member_for(root, p) or "" for p in spec_paths}


def member_for(root: Path, path: Path) -> str | None:
    """specs/RELATIVE for a file inside `root`, None for one outside it."""
    try:
        relative = path.resolve().relative_to(root.resolve())
    except ValueError:
        return None
    name = f"{SPECS}/{relative.as_posix()}"
    return name if safe_name(name) else None
