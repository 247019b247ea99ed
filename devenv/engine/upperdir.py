"""The work guard's local reader: a container's writable-layer changes worked out from the
overlay2 upper dir its inspect names, instead of GET /containers/ID/changes (1.2 to 1.8 s a
box on a 2-core machine, where this takes milliseconds).

The answer is the engine's own. Docker's overlay2 driver answers a container's diff with
its naive diff: the container's merged tree against its parent's (the image and the init
layer), node by node (pkg/archive ChangesDirs): a path only in the new tree is added, with
all below it; only in the old, deleted; in both, modified when its mode, owner, device,
capabilities or (not for a directory) size or mtime differ; a directory with a change
below is modified too. Both trees are equal outside the upper dir, so its entries are all
that need comparing, each with what the lower layers show at that path. Used only where
that holds: Docker's overlay2 on this machine, read as root (trusted xattrs), no
redirected or metacopy entries. Anything else, or any error, is None: ask the engine.
"""

from __future__ import annotations

import errno
import os
import stat
from collections.abc import Iterator
from typing import Any

MODIFY, ADD, DELETE = 0, 1, 2
OPAQUE = "trusted.overlay.opaque"
UNSUPPORTED = ("trusted.overlay.redirect", "trusted.overlay.metacopy")
CAPABILITY = "security.capability"


class Unsupported(OSError):
    """An upper dir this walk cannot answer for exactly (the engine is asked instead)."""


def layer_dirs(inspect: dict[str, Any]) -> tuple[str, list[str]] | None:
    """(upper dir, lower dirs top first) of a Docker overlay2 container, read as root."""
    driver = inspect.get("GraphDriver") or {}
    data = driver.get("Data") or {}
    if driver.get("Name") != "overlay2" or not data.get("UpperDir") or os.geteuid() != 0:
        return None  # anyone but root reads trusted.* xattrs as absent
    lowers = [p for p in str(data.get("LowerDir") or "").split(":") if p]
    return str(data["UpperDir"]), lowers


def layer_changes(upper: str, lowers: list[str]) -> list[dict[str, Any]] | None:
    """The changes of `upper` over `lowers`, as the engine lists them; None when `upper` is
    not a directory here (another machine's path: a VM's, a remote engine's)."""
    try:
        if not stat.S_ISDIR(os.lstat(upper).st_mode):
            return None
    except FileNotFoundError:
        return None
    found: list[dict[str, Any]] = []
    _children(upper, lowers, "", found, opaque=False)
    return found


def _children(
    upper: str, lowers: list[str], rel: str, found: list[dict[str, Any]], opaque: bool
) -> bool:
    """Compare the entries of directory `rel` (which the old tree has as a directory);
    True when any change was found below it."""
    names = sorted(os.listdir(upper + rel))
    changed = False
    for name in names:
        path = f"{rel}/{name}"
        changed |= _node(upper, lowers, path, found, _lower(lowers, path))
    if opaque:  # the new tree shows none of the old entries the upper dir does not have
        for name in sorted(_lower_names(lowers, rel) - set(names)):
            found.append({"Path": f"{rel}/{name}", "Kind": DELETE})
            changed = True
    return changed


def _node(
    upper: str,
    lowers: list[str],
    path: str,
    found: list[dict[str, Any]],
    old: os.stat_result | None,
) -> bool:
    """Compare one upper entry with the old tree's `old`; True when anything changed."""
    new = os.lstat(upper + path)
    if _whiteout(new):
        if old is not None:
            found.append({"Path": path, "Kind": DELETE})
        return old is not None
    _check_supported(upper + path)
    if old is None:
        found.append({"Path": path, "Kind": ADD})
        found.extend({"Path": p, "Kind": ADD} for p in _below(upper, path, new))
        return True
    modified = _differ(old, new) or _xattr(upper + path, CAPABILITY) != _lower_cap(lowers, path)
    at = len(found)
    if modified:
        found.append({"Path": path, "Kind": MODIFY})
    below = False
    if stat.S_ISDIR(new.st_mode):
        if stat.S_ISDIR(old.st_mode):
            opaque = _xattr(upper + path, OPAQUE) == b"y"
            below = _children(upper, lowers, path, found, opaque)
        else:  # a directory where a file was: all in it is new
            added = list(_below(upper, path, new))
            found.extend({"Path": p, "Kind": ADD} for p in added)
            below = bool(added)
    if below and not modified:
        found.insert(at, {"Path": path, "Kind": MODIFY})
    return modified or below


def _below(upper: str, path: str, info: os.stat_result) -> Iterator[str]:
    """Every entry under a new directory `path` (whiteouts there hide nothing)."""
    if not stat.S_ISDIR(info.st_mode):
        return
    for name in sorted(os.listdir(upper + path)):
        child = f"{path}/{name}"
        child_info = os.lstat(upper + child)
        if _whiteout(child_info):
            continue
        _check_supported(upper + child)
        yield child
        yield from _below(upper, child, child_info)


def _lower(lowers: list[str], path: str) -> os.stat_result | None:
    """What the old tree (the lower layers merged) has at `path`."""
    for layer in lowers:
        try:
            info = os.lstat(layer + path)
        except (FileNotFoundError, NotADirectoryError):
            if _hides_below(layer, path):
                return None
            continue
        return None if _whiteout(info) else info
    return None


def _hides_below(layer: str, path: str) -> bool:
    """Whether `layer` hides `path` in the layers under it: a whiteout, a file or an opaque
    directory at one of its parents."""
    parent = os.path.dirname(path)
    while parent != "/":
        try:
            info = os.lstat(layer + parent)
        except (FileNotFoundError, NotADirectoryError):
            parent = os.path.dirname(parent)
            continue
        return not stat.S_ISDIR(info.st_mode) or _xattr(layer + parent, OPAQUE) == b"y"
    return False


def _lower_names(lowers: list[str], rel: str) -> set[str]:
    """The names in directory `rel` of the old tree."""
    names: set[str] = set()
    hidden: set[str] = set()
    for layer in lowers:
        folder = layer + rel if rel else layer
        try:
            entries = list(os.scandir(folder))
        except (FileNotFoundError, NotADirectoryError):
            if rel and _hides_below(layer, f"{rel}/-"):
                break
            continue
        for entry in entries:
            if entry.name not in hidden:
                kept = not _whiteout(entry.stat(follow_symlinks=False))
                (names if kept else hidden).add(entry.name)
        if rel and _xattr(folder, OPAQUE) == b"y":
            break
    return names - hidden


def _lower_cap(lowers: list[str], path: str) -> bytes:
    for layer in lowers:
        if os.path.lexists(layer + path):
            return _xattr(layer + path, CAPABILITY)
    return b""


def _differ(old: os.stat_result, new: os.stat_result) -> bool:
    """The engine's test: mode, owner, device; and for a non-directory, size or mtime (to
    the second when either has no sub-second part)."""
    if (old.st_mode, old.st_uid, old.st_gid, old.st_rdev) != (
        new.st_mode,
        new.st_uid,
        new.st_gid,
        new.st_rdev,
    ):
        return True
    if stat.S_ISDIR(old.st_mode):
        return False
    (so, no), (sn, nn) = divmod(old.st_mtime_ns, 10**9), divmod(new.st_mtime_ns, 10**9)
    same_time = so == sn and (no == nn or no == 0 or nn == 0)
    return not same_time or old.st_size != new.st_size


def _whiteout(info: os.stat_result) -> bool:
    return stat.S_ISCHR(info.st_mode) and info.st_rdev == 0


def _check_supported(full: str) -> None:
    found = os.listxattr(full, follow_symlinks=False)
    if any(name in found for name in UNSUPPORTED):
        raise Unsupported(errno.ENOTSUP, "a redirected or metacopy overlay entry", full)


def _xattr(full: str, name: str) -> bytes:
    try:
        return os.getxattr(full, name, follow_symlinks=False)
    except OSError as exc:
        if exc.errno in (errno.ENODATA, errno.ENOTSUP):
            return b""
        raise
