"""The one observation of an engine, whichever transport reads it (the Docker SDK for the
full path, devenv.engine.wire for the answers from the memo): devenv's containers and any
bearing the envs' names, each of devenv's own inspected for its run state, and the images.
Both paths build the same records from the same calls, so they cannot see different boxes.

Calls: two listings, the images, one inspect per devenv container of the envs asked (all of
them when none are named), and the engine's events for a box that died and runs again (its
exit code is cleared when it restarts)."""

from __future__ import annotations

import os
import stat
import time
from collections.abc import Sequence
from typing import Any, Protocol

from devenv import labels as L
from devenv.engine.observed import Observed, ObservedContainer, ObservedImage


class Reader(Protocol):
    """The engine's read calls, as its HTTP API answers them (decoded JSON)."""

    def containers(self, **filters: list[str]) -> list[dict[str, Any]]: ...
    def inspect(self, container: str) -> dict[str, Any] | None: ...
    def images(self) -> list[dict[str, Any]]: ...
    def events(self, since: float, until: float, **filters: list[str]) -> list[dict[str, Any]]: ...


def observe(reader: Reader, names: Sequence[str], local: bool) -> Observed:
    """Everything a plan and `status` need of the engine (see the module's docstring).
    `local`: the engine runs on this machine, so its bind-mount sources are checked here."""
    owned = reader.containers(label=[f"{L.MANAGED}=true"])
    named = reader.containers(name=list(names)) if names else []
    by_id = {raw["Id"]: raw for raw in [*owned, *named]}
    containers = []
    for raw in by_id.values():
        found = ObservedContainer.from_summary(raw)
        if found.owned and (not names or found.env in names):
            found = _with_run_state(reader, found, raw, local)
        containers.append(found)
    images = tuple(ObservedImage.from_summary(raw) for raw in reader.images())
    return Observed(tuple(containers), images)


def _with_run_state(
    reader: Reader, found: ObservedContainer, summary: dict[str, Any], local: bool
) -> ObservedContainer:
    inspect = reader.inspect(found.id)
    if inspect is None:  # removed between the listing and now
        return found
    last_exit = None
    if int(inspect.get("RestartCount") or 0) and (inspect.get("State") or {}).get("Running"):
        last_exit = _last_exit(reader, found.id, int(summary.get("Created") or 0))
    found = found.inspected(inspect, last_exit)
    if local:
        found = found._replace(missing=missing_sources(inspect))
    return found


def _last_exit(reader: Reader, container: str, created: int) -> int | None:
    """The exit code of the container's last death, from the engine's `die` events."""
    events = reader.events(
        created, time.time(), type=["container"], container=[container], event=["die"]
    )
    codes = [(e.get("Actor") or {}).get("Attributes", {}).get("exitCode") for e in events]
    known = [c for c in codes if isinstance(c, str) and c.lstrip("-").isdigit()]
    return int(known[-1]) if known else None


def missing_sources(inspect: dict[str, Any]) -> tuple[str, ...]:
    """Bind-mount sources of a container that are gone from this machine (a shared folder
    deleted on the host: the box's mount then points at nothing the user can see)."""
    binds = [m for m in inspect.get("Mounts") or [] if m.get("Type") == "bind"]
    return tuple(sorted(str(m["Source"]) for m in binds if not os.path.lexists(m["Source"])))


def held_folder_owner(path: str) -> int | None:
    """The uid owning the folder at `path` on this machine when it holds anything (a
    volume's data, where the engine keeps it); None when empty, not a folder or unreadable
    (a rootful engine's folders, read by another user than root)."""
    try:
        found = os.lstat(path)
        if not stat.S_ISDIR(found.st_mode):
            return None
        with os.scandir(path) as entries:
            held = next(entries, None) is not None
    except OSError:
        return None
    return found.st_uid if held else None
