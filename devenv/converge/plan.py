"""plan(desired, observed) → Plan: what apply would do and why, field by field. Pure.

Comparison semantics are decided here once (as Ansible's docker_container does):
image inputs → build + recreate; container config → recreate; stopped → start; else noop.
The applied config travels in a label, so reasons name fields, not just hashes; the live
ports and mounts are compared too, so changes made by hand (drift) are caught.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field, replace
from typing import Any, Literal

from devenv import labels as L
from devenv.build import context as buildcontext
from devenv.converge.desired import DesiredEnv
from devenv.converge.discards import describe
from devenv.engine.observed import (
    Observed,
    ObservedContainer,
    ports_match,
    unasked_writable_mounts,
)

Kind = Literal["build", "create", "recreate", "start", "noop", "remove", "conflict"]
CHANGES: frozenset[str] = frozenset({"build", "create", "recreate", "start", "remove"})
DESTRUCTIVE: frozenset[str] = frozenset({"recreate", "remove"})


@dataclass(frozen=True)
class Action:
    kind: Kind
    env: str
    reasons: tuple[str, ...] = ()
    container: str | None = None  # the live container's id, when there is one
    image: str | None = None
    warnings: tuple[str, ...] = ()
    discards: tuple[str, ...] = ()  # files in the container's writable layer it would lose

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        for key in ("reasons", "warnings", "discards"):
            data[key] = list(data[key])
        return data


@dataclass(frozen=True)
class Plan:
    actions: tuple[Action, ...] = field(default_factory=tuple)

    @property
    def has_changes(self) -> bool:
        return any(a.kind in CHANGES for a in self.actions)

    @property
    def conflicts(self) -> list[Action]:
        return [a for a in self.actions if a.kind == "conflict"]

    @property
    def destructive(self) -> list[Action]:
        return [a for a in self.actions if a.kind in DESTRUCTIVE]

    def for_env(self, env: str) -> list[Action]:
        return [a for a in self.actions if a.env == env]

    def to_json(self, errors: Sequence[str] = ()) -> str:
        """The documented machine-readable form (see README, `plan --json`); `errors` are
        the specs or envs that could not be planned (the exit code is then 1)."""
        return json.dumps(
            {
                "format_version": 1,
                "changes": self.has_changes,
                "actions": [a.to_dict() for a in self.actions],
                "errors": list(errors),
            },
            indent=2,
        )


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
            before, after = before or {}, after or {}
            changed = [f"{k} added{_var(k, after)}" for k in sorted(set(after) - set(before))]
            changed += [f"{k} removed{_var(k, before)}" for k in sorted(set(before) - set(after))]
            changed += [
                f"{k} changed{_var(k, after, before)}"
                for k in sorted(set(before) & set(after))
                if before[k] != after[k]
            ]
            reasons.append(f"env: {', '.join(changed)}")
        elif key == "sshd":  # the config holds a hash of the keys: never show it
            if before and after:
                reasons.append("sshd: authorized keys changed")
            else:
                reasons.append(f"sshd: {'on' if before else 'off'} → {'on' if after else 'off'}")
        else:
            reasons.append(f"{key}: {_show(before)} → {_show(after)}")
    return reasons


def drift_reasons(want: DesiredEnv, live: ObservedContainer) -> list[str]:
    """Differences between the live container and the spec that no label records."""
    reasons = []
    shape = want.shape
    if live.state == "running":
        actual = sorted(str(p) for p in live.ports)
        wanted = [str(p) for p in shape.ports]
        if not ports_match(wanted, actual):
            shown = f"live {_show(actual)}, spec {_show(wanted)}"
            reasons.append(f"ports (changed by hand): {shown}")
    if not shape.mount_keys <= live.mounts:
        missing = ", ".join(m.split(":", 1)[1] for m in sorted(shape.mount_keys - live.mounts))
        reasons.append(f"mounts (changed by hand): missing {missing}")
    extra = unasked_writable_mounts(shape.mount_keys, live.mounts)
    if extra:
        shown = ", ".join(m.split(":", 1)[1] for m in extra)
        reasons.append(f"mounts: {shown} is writable from the box but the spec shares no such path")
    return reasons


def env_warnings(want: DesiredEnv) -> tuple[str, ...]:
    """What the plan warns about an env whatever its action: exposure beyond this machine."""
    warnings = tuple(
        f"port {p} is published on {p.bind}: reachable from the network"
        for p in want.shape.ports
        if p.exposed
    )
    if want.config.get("docker_socket"):
        warnings += (
            "docker_socket: the box can control the Docker engine, i.e. root on this machine",
        )
    return warnings + want.warnings


def _conflict(want: DesiredEnv, live: ObservedContainer | None, takeover: bool) -> Action | None:
    """A devenv container by this name that another spec file owns: replaced only under
    --takeover (a container devenv did not create is `_foreign_actions`' to judge)."""
    name = want.name
    if live is None:
        return None
    other = live.labels.get(L.SPEC)
    if other and other != str(want.spec_file.path) and not takeover:
        why = (
            f"{name!r} is applied from {other}, not from {want.spec_file.path}; left alone "
            "(rename one env, or `apply --takeover` to replace it from this spec)"
        )
        return Action("conflict", name, (why,), container=live.id)
    return None


def _env_actions(want: DesiredEnv, observed: Observed, takeover: bool = False) -> list[Action]:
    name = want.name
    live = observed.named(name)
    warnings = env_warnings(want)
    if live is not None and not live.owned:
        return _foreign_actions(want, live, observed, warnings)
    conflict = _conflict(want, live, takeover)
    if conflict is not None:
        return [conflict]
    actions: list[Action] = []
    image = observed.image(want.image)
    if image is None:
        if not want.base_present:
            why = _base_missing(want, observed)
        elif live is not None and live.labels.get(L.BUILD_HASH) == want.rendered.build_hash:
            why = f"image {want.image} is missing (deleted by hand?)"
        elif live is not None and live.labels.get(L.BUILD_HASH):
            why = f"image: build hash {live.labels[L.BUILD_HASH][:12]} → {want.rendered.short_hash}"
        else:
            why = f"image {want.image} is not built yet"
        actions.append(Action("build", name, (why,), image=want.image))
    leftovers = [c for c in observed.of_env(name) if c.name != name]
    if live is None:
        why = "container missing (removed by hand?)" if leftovers else "new env"
        actions.append(Action("create", name, (why,), image=want.image, warnings=warnings))
    else:
        reasons = _recreate_reasons(want, live, image.id if image else None)
        if reasons:
            actions.append(Action("recreate", name, tuple(reasons), live.id, want.image, warnings))
        elif live.state != "running" or live.failing:  # a crash loop is never "no changes"
            actions.append(
                Action("start", name, (f"state: {live.condition}",), live.id, want.image)
            )
        else:
            actions.append(Action("noop", name, (), live.id, want.image))
    actions.extend(
        Action("remove", name, (f"{c.name}: {_leftover_kind(name, c.name)}",), c.id)
        for c in leftovers
    )
    return actions


def _base_missing(want: DesiredEnv, observed: Observed) -> str:
    """Why the base must be made: for a Dockerfile base, which of its inputs changed."""
    base = want.spec_file.spec.base
    if base.dockerfile:
        before = buildcontext.previous_inputs(
            (image.labels for image in observed.images), want.spec_file.path
        )
        return buildcontext.changes(before, want.rendered.base_inputs)
    return f"base {base.image or base.bootstrap} is not on this engine yet"


def _foreign_actions(
    want: DesiredEnv, live: ObservedContainer, observed: Observed, warnings: tuple[str, ...]
) -> list[Action]:
    """A container by this name that devenv did not create: left alone, unless the spec
    adopts exactly this container (`adopt: ID`, written by `init --from`); then replaced."""
    name, adopt = want.name, want.spec_file.spec.adopt
    if adopt is None or not live.id.startswith(adopt):
        why = f"a container named {name!r} exists that devenv did not create; left alone"
        if adopt is not None:
            why += f" (the spec adopts {adopt[:12]}, this one is {live.id[:12]})"
        return [Action("conflict", name, (why,), container=live.id)]
    actions = []
    if observed.image(want.image) is None:
        actions.append(
            Action("build", name, (f"image {want.image} is not built yet",), image=want.image)
        )
    why = f"adopt: take over the hand-made container {live.id[:12]} (replaced by devenv's)"
    actions.append(Action("recreate", name, (why,), live.id, want.image, warnings))
    return actions


def _leftover_kind(env: str, container: str) -> str:
    if container in (f"{env}.devenv-old", f"{env}.devenv-new"):
        return "left over from an interrupted apply"
    return "a copy of this env renamed by hand"


def _recreate_reasons(want: DesiredEnv, live: ObservedContainer, image_id: str | None) -> list[str]:
    reasons = []
    live_hash = live.labels.get(L.BUILD_HASH, "")
    if live_hash != want.rendered.build_hash:
        reasons.append(
            f"image: build hash {live_hash[:12] or 'unknown'} → {want.rendered.short_hash}"
        )
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


def plan(
    desired: Sequence[DesiredEnv],
    observed: Observed,
    prune_projects: Iterable[str] = (),
    takeover: bool = False,
) -> Plan:
    """The actions that make `observed` match `desired`; orphans only for `prune_projects`;
    with `takeover`, an env another spec file applied is replaced like any recreate."""
    actions: list[Action] = []
    for want in desired:
        actions.extend(_env_actions(want, observed, takeover))
    wanted = {d.name for d in desired}
    projects = set(prune_projects)
    for container in observed.containers:
        if (
            container.owned
            and container.env not in wanted
            and container.labels.get(L.PROJECT) in projects
        ):
            reason = f"orphan: its spec is no longer in {container.labels.get(L.PROJECT)}"
            actions.append(
                Action("remove", container.env or container.name, (reason,), container.id)
            )
    return Plan(tuple(actions))


def with_discards(the_plan: Plan, changed: dict[str, list[str]]) -> Plan:
    """The plan, with each destructive action saying which changed files it would lose."""
    actions = []
    for action in the_plan.actions:
        files = changed.get(action.container or "", [])
        if action.kind in DESTRUCTIVE and files:
            action = replace(
                action, reasons=(*action.reasons, describe(files)), discards=tuple(files)
            )
        actions.append(action)
    return Plan(tuple(actions))
