"""Everything a spec's desired state is computed from, as one digest: the spec's bytes, its
`.env` and lock file, the key files it reads, the variables and settings it takes from the
environment, the host user, where its shared paths resolve, and devenv's own code. Reading
these costs a few stats and small reads; a cached desired state is valid only while this
digest is unchanged (see devenv.converge.memo.store)."""

from __future__ import annotations

import functools
import hashlib
import os
from collections.abc import Iterable

from devenv.hostfiles import InputRefused, read_bounded

MAX_INPUT = 16 << 20  # over any input's own limit: those refuse it, with a sentence


def hexdigest(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


# Settings outside the spec that shape its desired state (state folder: the sshd mount;
# DEVENV_LABELS: the labels; SUDO_*: the box user's uid; HOME: ~ in paths and keys).
ENVIRONMENT = (
    "HOME",
    "SUDO_UID",
    "SUDO_GID",
    "DEVENV_STATE_DIR",
    "XDG_STATE_HOME",
    "DEVENV_LABELS",
)
PACKAGE = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
TEMPLATES = os.path.join(os.path.dirname(PACKAGE), "templates")


def file_digest(path: str) -> str:
    """sha256 of a file's bytes; "absent" or "unreadable" when it cannot be read, or is no
    regular file or too big to be an input (the full path then says why, in a sentence)."""
    try:
        return hexdigest(read_bounded(path, MAX_INPUT))
    except FileNotFoundError:
        return "absent"
    except (OSError, InputRefused):
        return "unreadable"


@functools.cache
def code_signature() -> str:
    """devenv's own code and templates, by name, size and modification time: an upgrade or
    an edit of an editable install makes every cached desired state stale."""
    entries = []
    for top in (PACKAGE, TEMPLATES):
        for folder, dirs, files in os.walk(top):
            dirs[:] = sorted(d for d in dirs if d != "__pycache__")
            for name in sorted(files):
                if name.endswith((".pyc", ".pyo")):
                    continue
                path = os.path.join(folder, name)
                try:
                    info = os.stat(path)
                except OSError:
                    continue
                entries.append(f"{path}\0{info.st_size}\0{info.st_mtime_ns}")
    return hexdigest("\n".join(entries).encode())


def fixed(spec_path: str) -> str:
    """The digest of the inputs every spec has (itself, its `.env` and lock, settings)."""
    return digest(spec_path)


def digest(
    spec_path: str,
    files: Iterable[str] = (),
    variables: Iterable[str] = (),
    key_globs: Iterable[str] = (),
    shared: Iterable[str] = (),
) -> str:
    """The digest of every input of the spec at `spec_path` (absolute): `files` it reads
    besides itself, its `.env` and lock; `variables` it takes from the environment;
    `key_globs` whose matches it reads; `shared` host paths, by where they resolve."""
    folder = os.path.dirname(spec_path)
    parts = [
        "spec", spec_path, file_digest(spec_path),
        "dotenv", file_digest(os.path.join(folder, ".env")),
        "lock", file_digest(os.path.splitext(spec_path)[0] + ".lock"),
        "user", str(os.getuid()), str(os.getgid()),
        "code", code_signature(),
    ]  # fmt: skip
    for name in (*ENVIRONMENT, *sorted(set(variables))):
        value = os.environ.get(name)
        shown = "unset" if value is None else hexdigest(value.encode())
        parts += ["environ", name, shown]
    if key_globs:
        import glob  # here: most specs name their keys
    for pattern in sorted(set(key_globs)):
        for match in sorted(glob.glob(pattern)):
            parts += ["glob", pattern, match, file_digest(match)]
    for path in sorted(set(files)):
        parts += ["file", path, file_digest(path)]
    for path in shared:
        parts += ["shared", path, os.path.realpath(path)]
    return hexdigest("\0".join(parts).encode())
