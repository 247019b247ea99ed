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

from devenv.build import context as buildcontext
from devenv.converge.desired import DesiredEnv
from devenv.converge.discards import describe
from devenv.converge.verdict import judge, orphans
from devenv.engine.observed import Observed, ObservedContainer

Kind = Literal["build", "create", "recreate", "start", "repair", "noop", "remove", "conflict"]
CHANGES: frozenset[str] = frozenset({"build", "create", "recreate", "start", "repair", "remove"})
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
    repairs: tuple[str, ...] = ()  # start/repair: what is put right in place (see verdict)

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


def _env_actions(want: DesiredEnv, observed: Observed, takeover: bool = False) -> list[Action]:
    warnings = env_warnings(want)
    decisions = judge(want.wanted, observed, takeover)
    if decisions[0].kind == "foreign":
        live = observed.named(want.name)
        assert live is not None
        return _foreign_actions(want, live, observed, warnings)
    actions = []
    for decision in decisions:
        reasons = decision.reasons
        if decision.kind == "build" and not want.base_present:
            reasons = (_base_missing(want, observed),)
        image = None if decision.kind in ("remove", "conflict") else want.image
        shown = warnings if decision.kind in ("create", "recreate") else ()
        actions.append(
            Action(
                decision.kind,  # type: ignore[arg-type]
                want.name,
                reasons,
                decision.container,
                image,
                shown,
                repairs=decision.repairs,
            )
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
    if base.bootstrap:
        return f"bootstrapped base {base.bootstrap} ({want.rendered.base}) is not built yet"
    return f"base {base.image} is not on this engine yet"


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
    for orphan in orphans(observed, wanted, projects):
        container = next(c for c in observed.containers if c.id == orphan.container)
        env = container.env or container.name
        actions.append(Action("remove", env, orphan.reasons, orphan.container))
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
