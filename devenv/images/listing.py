"""devenv's images as rows, and what `prune` may remove. Pure: engine listings in, data out.

An image is in use when any container (devenv's or not, running or stopped) was created from
it; it is current when a devenv container's labels name its env and build hash. Prune
removes only devenv's own names (devenv/…, and devenv-snapshot/… with --snapshots): an
image the user also tagged under another name keeps that name and stays.
"""

from __future__ import annotations

import datetime
from dataclasses import asdict, dataclass
from typing import Any

from devenv import labels as L

OWN_PREFIXES = ("devenv/",)
SNAPSHOT_PREFIX = "devenv-snapshot/"
RESERVED_PREFIXES = ("devenv/", "devenv-base/", "devenv-snapshot/")


@dataclass(frozen=True)
class ImageRow:
    id: str
    env: str
    kind: str  # env, base, snapshot
    build_hash: str
    tags: tuple[str, ...]
    size: int
    created: str  # ISO 8601, UTC
    in_use_by: tuple[str, ...]
    current: bool
    pushed_to: tuple[str, ...]

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        for key in ("tags", "in_use_by", "pushed_to"):
            data[key] = list(data[key])
        return data


@dataclass(frozen=True)
class Removal:
    """What prune does to one image: remove these names (or the id when it has none)."""

    image: ImageRow
    refs: tuple[str, ...]
    keeps: tuple[str, ...] = ()  # names that are not devenv's: the image stays under them


def image_kind(labels: dict[str, str], tags: tuple[str, ...]) -> str:
    if labels.get(L.KIND):
        return labels[L.KIND]
    return "snapshot" if any(t.startswith(SNAPSHOT_PREFIX) for t in tags) else "env"


def rows(
    images: list[dict[str, Any]],
    containers: list[dict[str, Any]],
    pushes: dict[str, list[str]],
) -> list[ImageRow]:
    """One row per image, newest first, from the engine's image and container listings."""
    users: dict[str, list[str]] = {}
    current: set[tuple[str, str]] = set()
    for container in containers:
        name = (container.get("Names") or ["/?"])[0].lstrip("/")
        users.setdefault(container.get("ImageID", ""), []).append(name)
        labels = container.get("Labels") or {}
        if L.owned(labels) and labels.get(L.ENV) and labels.get(L.BUILD_HASH):
            current.add((labels[L.ENV], labels[L.BUILD_HASH]))
    found = []
    for raw in images:
        labels = raw.get("Labels") or {}
        tags = tuple(t for t in raw.get("RepoTags") or [] if t != "<none>:<none>")
        env, build_hash = labels.get(L.ENV, ""), labels.get(L.BUILD_HASH, "")
        kind = image_kind(labels, tags)
        found.append(
            ImageRow(
                id=raw["Id"],
                env=env,
                kind=kind,
                build_hash=build_hash,
                tags=tuple(sorted(tags)),
                size=int(raw.get("Size") or 0),
                created=iso(int(raw.get("Created") or 0)),
                in_use_by=tuple(sorted(users.get(raw["Id"], []))),
                # a snapshot inherits its env's build hash label, but is never its build
                current=kind == "env" and (env, build_hash) in current,
                pushed_to=tuple(pushes.get(raw["Id"], [])),
            )
        )
    return sorted(found, key=lambda r: (r.created, r.id), reverse=True)


def prune_plan(found: list[ImageRow], snapshots: bool = False) -> list[Removal]:
    """The removals prune makes: never an image in use, never the current build of an env,
    never a bootstrapped base (rebuilds start from it), snapshots only when asked."""
    removals = []
    for row in found:
        if row.in_use_by or row.current or row.kind == "base":
            continue
        if row.kind == "snapshot" and not snapshots:
            continue
        prefixes = (*OWN_PREFIXES, SNAPSHOT_PREFIX) if snapshots else OWN_PREFIXES
        own = tuple(t for t in row.tags if t.startswith(prefixes))
        others = tuple(t for t in row.tags if t not in own)
        if own:
            removals.append(Removal(row, own, others))
        elif not row.tags:
            removals.append(Removal(row, (row.id,)))
    return removals


def reserved(ref: str) -> bool:
    """True for names devenv manages itself; `devenv tag` refuses them."""
    return ref.startswith(RESERVED_PREFIXES)


def iso(timestamp: int) -> str:
    moment = datetime.datetime.fromtimestamp(timestamp, datetime.timezone.utc)
    return moment.isoformat(timespec="seconds").replace("+00:00", "Z")


def human_size(size: int) -> str:
    value = float(size)
    for unit in ("B", "kB", "MB", "GB"):
        if value < 1000 or unit == "GB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1000
    return f"{value:.1f} GB"
