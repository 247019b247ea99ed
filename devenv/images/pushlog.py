"""Where images were pushed: one JSON line per push in the state folder (pushes.jsonl).

Why a file: an image's labels are fixed when it is built, so they cannot record a later push;
the engine's own record (RepoDigests) vanishes when the registry-named tag is removed, and
devenv removes those tags after pushing so `docker images` and `prune` see devenv's names
only. The log is informational: losing it loses the "pushed to" column, nothing that plan or
apply needs. Lines are appended (one small write each), so concurrent pushes do not clash.
"""

from __future__ import annotations

import datetime
import json
from dataclasses import dataclass
from pathlib import Path

from devenv.errors import STATE_PATH, DevenvError, host_file_errors
from devenv.hostfiles import open_own, own_folder, read_bounded

FILE_NAME = "pushes.jsonl"
MAX_LOG = 64 << 20


@dataclass(frozen=True)
class Push:
    image_id: str
    ref: str
    digest: str
    at: str


def record(state_dir: Path, image_id: str, ref: str, digest: str) -> None:
    stamp = datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds")
    line = json.dumps({"image_id": image_id, "ref": ref, "digest": digest, "at": stamp})
    path = state_dir / FILE_NAME
    with host_file_errors("record the push in", path, STATE_PATH):
        own_folder(state_dir)
        with open_own(path, append=True) as handle:
            handle.write(line + "\n")


def read(state_dir: Path) -> list[Push]:
    """Every recorded push, oldest first; unreadable lines are skipped, not fatal, and so is
    a log that is no plain file of the user's own."""
    try:
        own_folder(state_dir)
        text = read_bounded(state_dir / FILE_NAME, MAX_LOG, own=True).decode(errors="replace")
    except (OSError, DevenvError):
        return []
    pushes = []
    for line in text.splitlines():
        try:
            raw = json.loads(line)
            pushes.append(Push(raw["image_id"], raw["ref"], raw.get("digest", ""), raw["at"]))
        except (ValueError, KeyError, TypeError):
            continue
    return pushes


def by_image(pushes: list[Push]) -> dict[str, list[str]]:
    """image id → the refs it was pushed as, each once, in push order."""
    found: dict[str, list[str]] = {}
    for push in pushes:
        refs = found.setdefault(push.image_id, [])
        if push.ref not in refs:
            refs.append(push.ref)
    return found
