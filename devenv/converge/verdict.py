"""Whether an env's container is what its spec asks, and if not, why: the one decision
behind `plan`, `apply`, `status` and the answers from the memo (devenv.answers), whichever
path reaches it. Pure, and light: it imports nothing that loads a spec, so a converged
command can run it from the memo (the `Wanted` record is what the memo keeps).

Every field devenv sets is compared here, once (docs/architecture.md has the table):
image and build inputs (build hash label, image id) → build and recreate; the applied
config (config hash label: env, user, workdir, command, init, labels…) → recreate, with the
fields named from the config label; ports and mounts as the engine lists them → recreate;
restart policy, networks, pause and a shared folder gone from the host → repaired in place;
stopped → start; restarted since devenv started it (a crash loop, at any moment) → restart."""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from typing import Any, NamedTuple

from devenv import labels as L
from devenv.engine.observed import (
    Observed,
    ObservedContainer,
    ports_match,
    unasked_writable_mounts,
)

PREVIOUS = ".devenv-previous"  # the replaced box, kept stopped for one generation (rollback)
INTERRUPTED = (".devenv-old", ".devenv-new")  # names of an apply's swap, left by a crash


class Wanted(NamedTuple):
    """What an env's container must be: everything the verdict compares, nothing else."""

    name: str
    spec: str  # the spec file, as the SPEC label holds it
    image: str  # the tag apply builds
    build_hash: str
    config_hash: str
    recorded: dict[str, Any]  # the config as the CONFIG label records it
    ports: tuple[str, ...]  # BIND:HOST:CONTAINER[/PROTO], HOST empty when the engine picks
    mounts: tuple[str, ...]  # as devenv.engine.observed.mount_key shows them
    networks: tuple[str, ...]  # by name; the first is the network mode
    restart_policy: str
    base: str  # the base's reference, for the reason a build names
    base_present: bool


class Decision(NamedTuple):
    """One thing apply would do for an env, with the reasons a plan shows."""

    kind: str  # build, create, recreate, start, repair, noop, remove, conflict, foreign
    reasons: tuple[str, ...] = ()
    container: str | None = None
    repairs: tuple[
        str, ...
    ] = ()  # start/repair: restart_policy, networks, unpause, mounts, restart


def judge(want: Wanted, observed: Observed, takeover: bool = False) -> list[Decision]:
    """What apply would do for `want`: [noop] when the env is exactly as its spec asks."""
    live = observed.named(want.name)
    if live is not None and not live.owned:
        return [Decision("foreign", (), live.id)]  # the plan's to judge: adopt or leave alone
    other = live.labels.get(L.SPEC) if live is not None else None
    if live is not None and other and other != want.spec and not takeover:
        why = (
            f"{want.name!r} is applied from {other}, not from {want.spec}; left alone "
            "(rename one env, or `apply --takeover` to replace it from this spec)"
        )
        return [Decision("conflict", (why,), live.id)]
    decisions = []
    image = observed.image(want.image)
    if image is None:
        decisions.append(Decision("build", (_build_reason(want, live),)))
    if live is None:
        leftovers = [c for c in observed.of_env(want.name) if c.name != want.name]
        why = "container missing (removed by hand?)" if leftovers else "new env"
        decisions.append(Decision("create", (why,)))
    else:
        decisions.append(_container_decision(want, live, image.id if image else None))
    decisions.extend(
        Decision("remove", (f"{c.name}: {_leftover_kind(want.name, c.name)}",), c.id)
        for c in observed.of_env(want.name)
        if c.name not in (want.name, want.name + PREVIOUS)
    )
    return decisions


def converged(want: Wanted, observed: Observed) -> ObservedContainer | None:
    """The live container of `want` when nothing would be done for it, else None."""
    if [d.kind for d in judge(want, observed)] != ["noop"]:
        return None
    return observed.named(want.name)


def orphans(observed: Observed, wanted: Iterable[str], projects: Iterable[str]) -> list[Decision]:
    """`--prune`: devenv's envs of these spec folders whose spec is no longer among them."""
    names, folders = set(wanted), set(projects)
    return [
        Decision(
            "remove",
            (f"orphan: its spec is no longer in {c.labels.get(L.PROJECT)}",),
            c.id,
        )
        for c in observed.containers
        if c.owned and c.env not in names and c.labels.get(L.PROJECT) in folders
    ]


def _build_reason(want: Wanted, live: ObservedContainer | None) -> str:
    built = live.labels.get(L.BUILD_HASH) if live is not None else None
    if not want.base_present:
        return f"base {want.base} is not on this engine yet"
    if built == want.build_hash:
        return f"image {want.image} is missing (deleted by hand?)"
    if built:
        return f"image: build hash {built[:12]} → {want.build_hash[:12]}"
    return f"image {want.image} is not built yet"


def _container_decision(want: Wanted, live: ObservedContainer, image_id: str | None) -> Decision:
    reasons = recreate_reasons(want, live, image_id)
    if reasons:
        return Decision("recreate", tuple(reasons), live.id)
    repairs, why = repair_reasons(want, live)
    if live.failing:
        return Decision("start", (f"state: {live.condition}", *why), live.id, (*repairs, "restart"))
    if live.state not in ("running", "paused"):
        return Decision("start", (f"state: {live.condition}", *why), live.id, repairs)
    if repairs:
        return Decision("repair", tuple(why), live.id, repairs)
    return Decision("noop", (), live.id)


def recreate_reasons(want: Wanted, live: ObservedContainer, image_id: str | None) -> list[str]:
    """What only a new container can change: its image, its applied config, ports, mounts."""
    reasons = []
    live_hash = live.labels.get(L.BUILD_HASH, "")
    if live_hash != want.build_hash:
        reasons.append(f"image: build hash {live_hash[:12] or 'unknown'} → {want.build_hash[:12]}")
    elif image_id is None or live.image_id != image_id:
        reasons.append(f"image: the container does not run {want.image} (image rebuilt or deleted)")
    if live.labels.get(L.CONFIG_HASH) != want.config_hash:
        try:
            old = json.loads(live.labels.get(L.CONFIG, ""))
        except (ValueError, RecursionError):
            old = None
        config_changes = config_reasons(old if isinstance(old, dict) else None, want.recorded)
        reasons.extend(config_changes or ["labels: config hash edited by hand"])
    else:  # applied as the spec says: anything different now was changed by hand
        reasons.extend(drift_reasons(want, live))
    return reasons


def drift_reasons(want: Wanted, live: ObservedContainer) -> list[str]:
    """Differences between the live container and the spec that no label records."""
    reasons = []
    if live.state == "running":
        actual = sorted(str(p) for p in live.ports)
        if not ports_match(list(want.ports), actual):
            shown = f"live {_show(actual)}, spec {_show(list(want.ports))}"
            reasons.append(f"ports (changed by hand): {shown}")
    missing = sorted(set(want.mounts) - live.mounts)
    if missing:
        shown = ", ".join(m.split(":", 1)[1] for m in missing)
        reasons.append(f"mounts (changed by hand): missing {shown}")
    extra = unasked_writable_mounts(want.mounts, live.mounts)
    if extra:
        shown = ", ".join(m.split(":", 1)[1] for m in extra)
        reasons.append(f"mounts: {shown} is writable from the box but the spec shares no such path")
    return reasons


def repair_reasons(want: Wanted, live: ObservedContainer) -> tuple[tuple[str, ...], list[str]]:
    """What the engine can put right in place, as repair codes and the plan's reasons."""
    repairs, why = [], []
    if live.restart_policy is not None and live.restart_policy != want.restart_policy:
        repairs.append("restart_policy")
        why.append(
            f"restart policy (changed by hand): {live.restart_policy} → {want.restart_policy}"
        )
    off = [n for n in want.networks if n not in live.networks]
    if off and want.networks[0] not in ("host", "none"):
        repairs.append("networks")
        why.append(f"networks (changed by hand): not on {', '.join(off)}")
    if live.state == "paused":
        repairs.append("unpause")
        why.append("paused (by hand): unpaused")
    if live.missing:
        repairs.append("mounts")
        why.append(
            f"shared folder gone from the host: {', '.join(live.missing)} "
            "(made again, and the box restarted to see it)"
        )
    return tuple(repairs), why


def _leftover_kind(env: str, container: str) -> str:
    if container in tuple(env + suffix for suffix in INTERRUPTED):
        return "left over from an interrupted apply"
    return "a copy of this env renamed by hand"


def _show(value: Any) -> str:
    if value is None or value == [] or value == {}:
        return "none"
    if isinstance(value, list):
        return ", ".join(str(v) for v in value)
    if isinstance(value, dict) and set(value) >= {"name", "uid", "gid"}:
        return f"{value['name']} ({value['uid']}:{value['gid']})"
    return str(value)


def _var(key: str, *envs: dict[str, Any]) -> str:
    """Where an env value is read from, when variables (recorded as a hash, never shown)."""
    sources = [e[key]["from"] for e in envs if isinstance(e.get(key), dict)]
    return f" (from {sources[0]})" if sources else ""


def config_reasons(old: dict[str, Any] | None, new: dict[str, Any]) -> list[str]:
    """Field-level reasons between the applied config (from the label) and the desired one."""
    if old is None:
        return ["labels: devenv's labels are missing or unreadable (edited by hand?)"]
    reasons = []
    for key in sorted(set(old) | set(new)):
        before, after = old.get(key), new.get(key)
        if before == after:
            continue
        if key == "env":
            reasons.append(f"env: {', '.join(_env_changes(before or {}, after or {}))}")
        elif key == "sshd":  # the config holds a hash of the keys: never show it
            if before and after:
                reasons.append("sshd: authorized keys changed")
            else:
                reasons.append(f"sshd: {'on' if before else 'off'} → {'on' if after else 'off'}")
        else:
            reasons.append(f"{key}: {_show(before)} → {_show(after)}")
    return reasons


def _env_changes(before: dict[str, Any], after: dict[str, Any]) -> Sequence[str]:
    changed = [f"{k} added{_var(k, after)}" for k in sorted(set(after) - set(before))]
    changed += [f"{k} removed{_var(k, before)}" for k in sorted(set(before) - set(after))]
    changed += [
        f"{k} changed{_var(k, after, before)}"
        for k in sorted(set(before) & set(after))
        if before[k] != after[k]
    ]
    return changed
