"""The user's Dockerfile base as build inputs: the files of its context that .dockerignore
keeps, its args and target, one hash over them, and the tar the engine builds from.

The hash names the base on every machine alike (its recipe, like a bootstrapped base), so
it ignores what git does not carry: owners, times, permission bits but the executable one.
The tar is written from the same walk, so the engine builds exactly what was hashed.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import stat
import tarfile
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, BinaryIO

from devenv.build import dockerignore
from devenv.errors import DevenvError
from devenv.host import expand_home, home
from devenv.hostfiles import InputRefused, read_bounded, refusal
from devenv.spec.loader import SpecFile
from devenv.spec.shares import place_refusal, secret_folder

HASH_VERSION = "devenv-dockerfile-v1"
OUTSIDE_NAME = ".devenv.Dockerfile"  # where a Dockerfile from outside the context goes
MAX_FILES = 50_000
MAX_BYTES = 2 << 30
MAX_DOCKERFILE = 1 << 20
MAX_DOCKERIGNORE = 1 << 20
MANIFEST_LABEL = "io.devenv.context-manifest"
MAX_MANIFEST = 200_000  # characters of the label that lets plan name changed files
FROM_RE = re.compile(r"^\s*FROM\s+(?:--\S+\s+)*\S+\s+AS\s+(\S+)\s*$", re.I | re.M)


@dataclass(frozen=True)
class Entry:
    path: str  # relative to the context, '/'-separated
    kind: str  # "file", "dir" or "link"
    digest: str  # content sha256 (file), link target (link), "" (dir)
    executable: bool = False


@dataclass(frozen=True)
class BuildContext:
    """Everything the user's base build reads, and the hash over it."""

    folder: Path
    dockerfile: Path
    dockerfile_name: str  # its path inside the tar
    entries: tuple[Entry, ...]
    args: dict[str, str] = field(hash=False)
    target: str | None

    @property
    def digest(self) -> str:
        h = hashlib.sha256(f"{HASH_VERSION}\0{self.dockerfile_name}\0".encode())
        h.update(json.dumps([sorted(self.args.items()), self.target]).encode() + b"\0")
        for e in self.entries:
            h.update(f"{e.path}\0{e.kind}\0{int(e.executable)}\0{e.digest}\0".encode())
        return h.hexdigest()

    @property
    def identity(self) -> str:
        return f"dockerfile:{self.digest}"

    def manifest(self) -> dict[str, str]:
        """Short digests by input name: the label that lets a plan say what changed."""
        found = {e.path: f"{e.kind[0]}{int(e.executable)}{e.digest[:16]}" for e in self.entries}
        found |= {
            f"arg:{k}": hashlib.sha256(v.encode()).hexdigest()[:16] for k, v in self.args.items()
        }
        if self.target:
            found["target:"] = self.target
        return found


def _fail(spec_file: SpecFile, message: str, hint: str) -> DevenvError:
    return DevenvError(f"{spec_file.spec.name}: {message}", hint)


def resolve(spec_file: SpecFile) -> BuildContext:
    """Walk the spec's Dockerfile base; one sentence when a file is missing or too much."""
    base = spec_file.spec.base
    assert base.dockerfile is not None
    dockerfile = (spec_file.folder / expand_home(base.dockerfile)).resolve()
    folder = (
        (spec_file.folder / expand_home(base.context)).resolve()
        if base.context
        else dockerfile.parent
    )
    if not dockerfile.is_file():
        raise _fail(spec_file, f"its Dockerfile {dockerfile} does not exist", "fix base.dockerfile")
    if not folder.is_dir():
        raise _fail(spec_file, f"its build context {folder} is not a folder", "fix base.context")
    _check_place(spec_file, folder, dockerfile, explicit=base.context is not None)
    text = _dockerfile_text(spec_file, dockerfile)  # bounded before anything is hashed
    inside = dockerfile.is_relative_to(folder)
    name = dockerfile.relative_to(folder).as_posix() if inside else OUTSIDE_NAME
    patterns = _patterns(spec_file, folder, name)
    entries = list(_walk(spec_file, folder, patterns))
    if not inside:
        entries.append(Entry(name, "file", _sha(dockerfile)))
    stages = FROM_RE.findall(text)
    if base.target and base.target.lower() not in {s.lower() for s in stages}:
        known = ", ".join(stages) or "none"
        raise _fail(
            spec_file,
            f"base.target {base.target!r} is not a stage of {dockerfile} (stages: {known})",
            "name a stage from a `FROM … AS NAME` line",
        )
    return BuildContext(
        folder,
        dockerfile,
        name,
        tuple(sorted(entries, key=lambda e: e.path)),
        dict(base.args),
        base.target,
    )


def _check_place(spec_file: SpecFile, folder: Path, dockerfile: Path, explicit: bool) -> None:
    """A build reads only project files: a context inside the spec's folder tree (or one the
    spec names with base.context), never /, the home, a system folder, the engine's own
    files or a folder holding secrets; a Dockerfile in none of those either."""
    if not explicit and not folder.is_relative_to(spec_file.folder):
        raise _fail(
            spec_file,
            f"its build context {folder} (the Dockerfile's folder) is outside {spec_file.folder}",
            "name the folder to send with base.context, if that is meant",
        )
    why = place_refusal(folder)
    secret = secret_folder(folder, home())
    if folder == home() or (secret and not why):
        why = "a home or a folder of secrets"
    if why:
        raise _fail(
            spec_file,
            f"its build context is {folder}, {why}; devenv sends no such folder to the engine",
            "point base.context at the project folder",
        )
    why = place_refusal(dockerfile)
    if why or secret_folder(dockerfile, home()):
        raise _fail(
            spec_file,
            f"its Dockerfile {dockerfile} is {why or 'among secrets'}; devenv does not build it",
            "keep the Dockerfile in the project",
        )


def _dockerfile_text(spec_file: SpecFile, dockerfile: Path) -> str:
    """The Dockerfile's text: a regular file of at most MAX_DOCKERFILE bytes, refused before
    anything is hashed (a 20 GiB one took 69 s to hash before the old limit refused it)."""
    try:
        return read_bounded(dockerfile, MAX_DOCKERFILE).decode(errors="replace")
    except InputRefused as exc:
        raise _fail(spec_file, f"its Dockerfile {exc.reason}", "fix base.dockerfile") from None
    except OSError as exc:
        raise _fail(
            spec_file, f"its Dockerfile cannot be read ({exc.strerror})", "check it"
        ) from None


def _patterns(spec_file: SpecFile, folder: Path, dockerfile: str) -> list[dockerignore.Pattern]:
    ignore = folder / ".dockerignore"
    try:
        data = read_bounded(ignore, MAX_DOCKERIGNORE) if os.path.lexists(ignore) else b""
        text = data.decode(errors="replace")
        return dockerignore.keep_build_files(dockerignore.parse(text), dockerfile)
    except dockerignore.PatternError as exc:
        raise _fail(spec_file, f"{ignore}: {exc}", "fix that line, as docker build would") from None
    except InputRefused as exc:
        raise _fail(spec_file, exc.message, "make it a small text file, as docker reads") from None
    except OSError as exc:
        raise _fail(spec_file, f"{ignore} cannot be read ({exc.strerror})", "check it") from None


def _walk(
    spec_file: SpecFile, folder: Path, patterns: list[dockerignore.Pattern]
) -> Iterator[Entry]:
    """The entries a `docker build` of `folder` would send, in walk order."""
    count = size = 0
    for root, dirs, files in os.walk(folder):
        rel_root = Path(root).relative_to(folder).as_posix()
        for name in sorted(dirs):
            rel = name if rel_root == "." else f"{rel_root}/{name}"
            path = Path(root) / name
            if dockerignore.excluded(patterns, rel):
                if not dockerignore.may_reinclude(patterns, rel):
                    dirs.remove(name)
                continue
            if path.is_symlink():  # os.walk does not follow it: sent as a link
                files.append(name)
                continue
            count += 1
            yield Entry(rel, "dir", "")
        for name in sorted(files):
            rel = name if rel_root == "." else f"{rel_root}/{name}"
            path = Path(root) / name
            if dockerignore.excluded(patterns, rel):
                continue
            info = path.lstat()
            if stat.S_ISLNK(info.st_mode):
                yield Entry(rel, "link", os.readlink(path))
            elif stat.S_ISREG(info.st_mode):
                size += info.st_size
                _check_size(spec_file, folder, count + 1, size)  # before hashing it
                yield Entry(rel, "file", _sha(path), bool(info.st_mode & 0o100))
            else:
                continue
            count += 1
            _check_size(spec_file, folder, count, size)


def _check_size(spec_file: SpecFile, folder: Path, count: int, size: int) -> None:
    if count > MAX_FILES or size > MAX_BYTES:
        raise _fail(
            spec_file,
            f"its build context {folder} holds more than {MAX_FILES} files or "
            f"{MAX_BYTES >> 30} GiB",
            "leave out what the build does not need in a .dockerignore",
        )


def _sha(path: Path) -> str:
    """The sha256 of a regular file, opened without following a link or waiting on a FIFO
    put there since it was listed (then it is refused, as it changed while read)."""
    fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_NOFOLLOW | os.O_CLOEXEC)
    with os.fdopen(fd, "rb") as stream:
        if refusal(os.fstat(fd)):
            raise DevenvError(f"{path} changed while devenv read it", "run apply again")
        digest = hashlib.sha256()
        for chunk in iter(lambda: stream.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


class _Hashing:
    """A file read into the tar, hashed on the way, so a change mid-build is caught."""

    def __init__(self, stream: IO[bytes]) -> None:
        self.stream, self.digest = stream, hashlib.sha256()

    def read(self, size: int = -1) -> bytes:
        chunk = self.stream.read(size)
        self.digest.update(chunk)
        return chunk


def write_tar(ctx: BuildContext, out: BinaryIO) -> None:
    """The context as the engine receives it: the hashed entries, owned by root, no times."""
    with tarfile.open(fileobj=out, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for entry in ctx.entries:
            info = tarfile.TarInfo(entry.path)
            info.uid = info.gid = 0
            info.mtime = 0
            if entry.kind == "dir":
                info.type, info.mode = tarfile.DIRTYPE, 0o755
                tar.addfile(info)
            elif entry.kind == "link":
                info.type, info.linkname, info.mode = tarfile.SYMTYPE, entry.digest, 0o777
                tar.addfile(info)
            else:
                source = ctx.dockerfile if entry.path == OUTSIDE_NAME else ctx.folder / entry.path
                _add_file(tar, info, source, entry)


def _add_file(tar: tarfile.TarFile, info: tarfile.TarInfo, source: Path, entry: Entry) -> None:
    info.mode = 0o755 if entry.executable else 0o644
    fd = os.open(source, os.O_RDONLY | os.O_NONBLOCK | os.O_NOFOLLOW | os.O_CLOEXEC)
    with os.fdopen(fd, "rb") as stream:
        if refusal(os.fstat(fd)):
            raise DevenvError(f"{source} changed while the build read it", "run apply again")
        info.size = os.fstat(stream.fileno()).st_size
        reader = _Hashing(stream)
        tar.addfile(info, reader)
    if reader.digest.hexdigest() != entry.digest:
        raise DevenvError(
            f"{source} changed while the build read it",
            "run apply again once the files are saved",
        )


def previous_inputs(
    image_labels: Iterable[Mapping[str, str]], spec_path: Path
) -> dict[str, str] | None:
    """The inputs of the base last built for this spec (its label), if one is still here."""
    from devenv import labels as L

    for labels in image_labels:
        if labels.get(L.KIND) == "base" and labels.get(L.SPEC) == str(spec_path):
            try:
                found = json.loads(labels.get(MANIFEST_LABEL, ""))
            except (ValueError, RecursionError):
                return {}
            return found if isinstance(found, dict) else {}
    return None


def changes(old: dict[str, str] | None, new: dict[str, str]) -> str:
    """Why the base rebuilds, naming inputs: `Dockerfile context changed (src/app.py)`."""
    if old is None:
        return "its Dockerfile base is not built yet"
    if not old:
        return "Dockerfile context changed"
    keys = sorted(set(old) | set(new))
    moved = [k for k in keys if old.get(k) != new.get(k)]
    files = [_name(k, old, new) for k in moved if not k.startswith(("arg:", "target:"))]
    args = [k.removeprefix("arg:") for k in moved if k.startswith("arg:")]
    parts = []
    if files:
        shown = ", ".join(files[:3]) + (f" and {len(files) - 3} more" if len(files) > 3 else "")
        parts.append(f"Dockerfile context changed ({shown})")
    if args:
        parts.append(f"build args changed ({', '.join(args)})")
    if "target:" in moved:
        parts.append(f"target: {old.get('target:', 'none')} → {new.get('target:', 'none')}")
    return "; ".join(parts) or "its Dockerfile base is not on this engine"


def _name(key: str, old: dict[str, str], new: dict[str, str]) -> str:
    if key not in old:
        return f"{key} added"
    return f"{key} removed" if key not in new else key


def manifest_label(ctx: BuildContext) -> str:
    """The manifest as a label value; empty when too large to carry (plan then names none)."""
    text = json.dumps(ctx.manifest(), sort_keys=True, separators=(",", ":"))
    return text if len(text) <= MAX_MANIFEST else "{}"
