"""Files a hand-made container's own packages put there: dpkg's lists of the packages added
since its image, read from the container in one exec. The spec that adopts the container
installs those packages again, so their files are not work a takeover loses; listing them
beside the user's real edits would bury those (thousands of files for one `apt-get install`).
The lists are the box's own word: they can only hide its own files from the listing."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from devenv.errors import DevenvError

if TYPE_CHECKING:
    from devenv.engine.protocol import EngineAPI

DPKG_INFO = "/var/lib/dpkg/info/"
PACKAGE_STATE = ("/var/lib/dpkg/", "/var/lib/apt/")
MODIFIED, ADDED = 0, 1
MERGED = ("/bin/", "/sbin/", "/lib/", "/lib32/", "/lib64/", "/libx32/")
MAX_FILES = 200_000  # bounds what a box can make devenv hold


def new_package_lists(diff: Sequence[dict[str, Any]]) -> list[str]:
    """dpkg's file lists the container added (one per package installed since its image)."""
    return sorted(
        str(entry["Path"])
        for entry in diff
        if entry.get("Kind") == ADDED
        and str(entry.get("Path", "")).startswith(DPKG_INFO)
        and str(entry["Path"]).endswith(".list")
        and "/" not in str(entry["Path"])[len(DPKG_INFO) :]
    )


def package_files(
    engine: EngineAPI, container: str, diff: Sequence[dict[str, Any]]
) -> frozenset[str]:
    """The files of the packages added in `container`; none when they cannot be read (a
    stopped container, no `cat`): the listing then errs on the side of showing too much."""
    lists = new_package_lists(diff)
    if not lists:
        return frozenset()
    found: set[str] = set()

    def keep(line: str) -> None:
        path = line.rstrip("/")
        if line.startswith("/") and len(found) < MAX_FILES:
            found.add(path or "/")
            if path.startswith(MERGED):  # /lib is /usr/lib where /usr is merged (Debian 12)
                found.add("/usr" + path)

    try:
        code = engine.exec_lines(container, ["cat", "--", *lists], "root", None, keep)
    except DevenvError:
        return frozenset()
    return frozenset(found) if code == 0 else frozenset()


def hand_made_work(
    diff: Sequence[dict[str, Any]], files: Sequence[str], owned: frozenset[str]
) -> list[str]:
    """Of a hand-made container's changed `files`, what the spec that adopts it will not
    make again: less its packages' files and dpkg's and apt's records of them; the files
    the image had and someone changed first, as the likeliest hand edits."""
    kinds = {str(entry.get("Path")): entry.get("Kind") for entry in diff}
    kept = [f for f in files if f not in owned and not f.startswith(PACKAGE_STATE)]
    return sorted(kept, key=lambda f: (kinds.get(f) != MODIFIED, f))
