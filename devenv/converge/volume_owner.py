"""Named volumes a plan mounts anew for a box's user. A new (or empty) volume takes the owner
of its mount point, which the image makes for the user; one that already holds files is the
user's data, left as it is, and the plan says when it belongs to someone else. Pure: the
owners come from the engine, asked only for what a create or recreate mounts anew."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace

from devenv.converge.desired import DesiredEnv
from devenv.converge.plan import Plan
from devenv.engine.observed import Observed

MOUNTING = ("create", "recreate")


def newly_mounted(the_plan: Plan, desired: Sequence[DesiredEnv], observed: Observed) -> set[str]:
    """The volumes that a create or recreate of a box with a user mounts and its live box
    does not: a converged plan has none, so it asks the engine nothing."""
    by_name = {want.name: want for want in desired}
    live = {c.id: c for c in observed.containers}
    names: set[str] = set()
    for action in the_plan.actions:
        want = by_name.get(action.env)
        if action.kind not in MOUNTING or want is None or not want.config.get("user"):
            continue
        box = live.get(action.container or "")
        mounted = box.mounts if box is not None else frozenset()
        names.update(
            v.name
            for v in want.spec_file.spec.volumes
            if not any(m.startswith(f"volume:{v.name}:") for m in mounted)
        )
    return names


def with_volume_notes(
    the_plan: Plan, desired: Sequence[DesiredEnv], owners: Mapping[str, int | None]
) -> Plan:
    """The plan, a create or recreate noting each volume it mounts that holds files owned
    by another uid than the box's user (`owners`: uid by volume, None when new or empty)."""
    by_name = {want.name: want for want in desired}
    actions = []
    for action in the_plan.actions:
        want = by_name.get(action.env)
        if action.kind in MOUNTING and want is not None:
            notes = tuple(_notes(want, owners))
            action = replace(action, warnings=(*action.warnings, *notes))
        actions.append(action)
    return Plan(tuple(actions))


def _notes(want: DesiredEnv, owners: Mapping[str, int | None]) -> list[str]:
    user = want.config.get("user")
    if not user:
        return []
    notes = []
    for volume in want.spec_file.spec.volumes:
        owner = owners.get(volume.name)
        if owner is None or owner == user["uid"] or user["uid"] == 0:
            continue  # new or empty, the user's, or a user mapped to uid 0 (root's)
        notes.append(
            f"volume {volume.name} holds files owned by uid {owner}, not {user['name']} "
            f"(uid {user['uid']}): left as it is, so {user['name']} may not write to "
            f"{volume.container} (to hand it over: docker run --rm -v {volume.name}:/v "
            f"{want.image} chown -R {user['uid']}:{user['gid']} /v)"
        )
    return notes
