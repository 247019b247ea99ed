"""`devenv logs`: the box's output, as `docker logs` shows it, for a spec's own container."""

from __future__ import annotations

import datetime
import re
from collections.abc import Iterator

from devenv.engine.protocol import EngineAPI
from devenv.errors import DevenvError
from devenv.spec.loader import load_one

DURATION_RE = re.compile(r"(?:(\d+)h)?(?:(\d+)m)?(?:(\d+(?:\.\d+)?)s)?")


def parse_since(text: str, now: float) -> float:
    """--since as Unix seconds: a duration ago (90s, 10m, 1h30m), a date or time in ISO
    8601 (2024-05-01, 2024-05-01T10:00:00Z; UTC unless it says otherwise), or Unix seconds."""
    text = text.strip()
    duration = DURATION_RE.fullmatch(text)
    if text and duration and any(duration.groups()):
        hours, minutes, seconds = (float(g or 0) for g in duration.groups())
        return now - (hours * 3600 + minutes * 60 + seconds)
    if re.fullmatch(r"\d+(\.\d+)?", text):
        return float(text)
    try:
        stamp = datetime.datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise DevenvError(
            f"--since {text!r} is neither a duration nor a date",
            "give e.g. 10m, 1h30m, 2024-05-01T10:00:00Z or Unix seconds",
        ) from None
    if stamp.tzinfo is None:
        stamp = stamp.replace(tzinfo=datetime.timezone.utc)
    return stamp.timestamp()


def box_output(
    engine: EngineAPI, path: str, tail: int | None, since: float | None, follow: bool
) -> Iterator[bytes]:
    """The output of the container devenv made for the spec at `path`."""
    spec_file = load_one(path)
    name = spec_file.spec.name
    live = engine.observe([name]).named(name)
    if live is None:
        raise DevenvError(
            f"{name} has no container, so no output", f"create it with: devenv apply {path}"
        )
    if not live.owned:
        raise DevenvError(
            f"the container named {name} was not made by devenv, so devenv does not read it",
            f"docker logs {name} shows its output",
        )
    return engine.logs(live.id, tail=tail, since=since, follow=follow)
