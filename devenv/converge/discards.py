"""Work that a recreate or destroy would throw away: the container's writable layer, as the
engine's diff reports it, less shared folders, volumes and known noise. Pure."""

from __future__ import annotations

import fnmatch
from collections.abc import Iterable, Sequence
from pathlib import PurePosixPath
from typing import Any

NOISE_TREES = (
    "/tmp",
    "/var/tmp",
    "/run",
    "/var/run",
    "/var/cache",
    "/var/log",
    "/var/lib/apt/lists",
    "/root/.cache",
    "/home/*/.cache",
    "/etc/devenv",
    "/dev",
    "/proc",
    "/sys",
)
# written by the entrypoint (uid/gid mapping) or by every shell session, never the user's work
NOISE_FILES = (
    "/etc/passwd",
    "/etc/passwd-",
    "/etc/group",
    "/etc/group-",
    "/etc/shadow",
    "/etc/shadow-",
    "/etc/gshadow",
    "/etc/gshadow-",
    "/etc/.pwd.lock",
    "/etc/subuid",
    "/etc/subgid",
    "/etc/profile.d/devenv.sh",  # login shells read the box's environment (devenv-entrypoint)
    "/home/*",
    "/root/.bash_history",
    "/home/*/.bash_history",
    "/root/.lesshst",
    "/home/*/.lesshst",
    "/root/.viminfo",
    "/home/*/.viminfo",
    "/.dockerenv",
    "/usr/sbin/docker-init",  # the engine's init, mounted in (init: true)
    # derived from other files, made again wherever those are: ldconfig's cache, the
    # certificate hash links update-ca-certificates makes
    "/etc/ld.so.cache",
    "/etc/ssl/certs/????????.?",
)
CACHE_FOLDERS = ("__pycache__",)  # Python's compiled modules, at any depth
# skeleton files change owner (not content) when the user's uid is mapped at start
CHOWNED_ON_START = ("/home/*/.bashrc", "/home/*/.profile", "/home/*/.bash_logout")
# the engine mounts hosts, hostname and resolv.conf here: Podman reports the folder itself as
# changed although nothing in it is (a change inside would be a leaf of its own)
MOUNT_PARENTS = ("/etc",)
MODIFIED = 0


def _match(path: str, pattern: str, prefix: bool = False) -> bool:
    """Glob per path segment ('*' never crosses '/'); with `prefix`, also anything below."""
    parts, wanted = path.strip("/").split("/"), pattern.strip("/").split("/")
    if len(parts) < len(wanted) or (not prefix and len(parts) != len(wanted)):
        return False
    return all(fnmatch.fnmatchcase(part, want) for part, want in zip(parts, wanted, strict=False))


def _under(path: str, tree: str) -> bool:
    return _match(path, tree, prefix=True)


def discarded(
    diff: Sequence[dict[str, Any]], mounts: Iterable[str], workdir: str = ""
) -> list[str]:
    """Changed files (leaves of the diff) that no shared folder, volume or noise rule covers.
    `workdir`: the box's own workdir, which the entrypoint hands to a remapped user (its owner
    changes, nothing in it)."""
    mount_points = list(mounts)
    chowned = (*CHOWNED_ON_START, *MOUNT_PARENTS, *((workdir,) if workdir.strip("/") else ()))
    kinds = {entry["Path"]: entry.get("Kind", MODIFIED) for entry in diff}
    # not "the next in sort order": '/srv-old' sorts between '/srv' and '/srv/app'
    parents = {str(folder) for p in kinds for folder in PurePosixPath(p).parents}
    leaves = sorted(p for p in kinds if p not in parents)
    kept = []
    for path in leaves:
        if any(_under(path, tree) for tree in (*NOISE_TREES, *mount_points)):
            continue
        if any(_under(mount, path) for mount in mount_points):
            continue  # a mount point, or a folder the engine made to hold one
        if any(_match(path, pattern) for pattern in NOISE_FILES):
            continue
        if any(part in CACHE_FOLDERS for part in path.split("/")):
            continue
        if kinds[path] == MODIFIED and any(_match(path, p) for p in chowned):
            continue
        kept.append(path)
    return kept


def describe(files: Sequence[str], shown: int = 3) -> str:
    more = f", … ({len(files) - shown} more)" if len(files) > shown else ""
    noun = "file" if len(files) == 1 else "files"
    return f"would discard {len(files)} changed {noun}: {', '.join(files[:shown])}{more}"
