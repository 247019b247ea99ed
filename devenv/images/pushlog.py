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

from devenv.errors import STATE_PATH, host_file_errors

FILE_NAME = "pushes.jsonl"


@dataclass(frozen=True)
class Push:
    image_id: str
    ref: str
    digest: str
    at: str


def record(state_dir: Path, image_id: str, ref: str, digest: str) -> None:
    stamp = datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds")
    line = json.dumps({"image_id": image_id, "ref": ref, "digest": digest, "at": stamp})
    with host_file_errors("record the push in", state_dir / FILE_NAME, STATE_PATH):
        state_dir.mkdir(parents=True, exist_ok=True)
        with (state_dir / FILE_NAME).open("a") as handle:
            handle.write(line + "\n")


def read(state_dir: Path) -> list[Push]:
    """Every recorded push, oldest first; unreadable lines are skipped, not fatal."""
    try:
        text = (state_dir / FILE_NAME).read_text()
    except OSError:
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
