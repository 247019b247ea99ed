"""Whether a live env is exactly what its cached desired state asks for, by the same rules
as devenv.converge.plan (a test holds the two together): owned, from this spec, running steadily,
on the image built for this hash, with the applied config's hash and the wanted ports and
mounts, and no leftovers. Pure; any doubt is "not converged", for the full path to judge."""

from __future__ import annotations

from collections.abc import Iterable

from devenv import labels as L
from devenv.converge.memo.store import Cached
from devenv.engine.observed import (
    Observed,
    ObservedContainer,
    ports_match,
    unasked_writable_mounts,
)


def converged(want: Cached, observed: Observed) -> ObservedContainer | None:
    """The live container of `want` if the plan would say "no changes" for it, else None."""
    live = observed.named(want.name)
    if live is None or not live.owned or live.unsettled:
        return None
    if live.labels.get(L.SPEC) not in (None, "", want.spec):
        return None  # another spec file's env: a conflict
    image = observed.image(want.image)
    base = observed.image(want.base)
    seen = (base.id, tuple(base.digests)) if base else None
    if image is None or seen != want.base_seen or live.image_id != image.id:
        return None
    if any(c.name != want.name for c in observed.of_env(want.name)):
        return None  # leftovers of an interrupted apply, or a renamed copy
    if live.labels.get(L.BUILD_HASH) != want.build_hash:
        return None
    if live.labels.get(L.CONFIG_HASH) != want.config_hash:
        return None
    if not ports_match(list(want.ports), sorted(str(p) for p in live.ports)):
        return None
    if not set(want.mounts) <= live.mounts or live.state != "running" or live.failing:
        return None
    if unasked_writable_mounts(want.mounts, live.mounts):
        return None
    return live


def orphans(observed: Observed, wanted: Iterable[str], projects: Iterable[str]) -> bool:
    """Whether `--prune` would remove something: a devenv env of these spec folders whose
    spec is no longer among them."""
    names, folders = set(wanted), set(projects)
    return any(
        c.owned and c.env not in names and c.labels.get(L.PROJECT) in folders
        for c in observed.containers
    )
