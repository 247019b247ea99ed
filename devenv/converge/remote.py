"""What changes when the engine runs on another machine: shared folders are paths there
(the classic trap of remote engines), so the plan says so for every shared entry. Pure."""

from __future__ import annotations

from dataclasses import replace

from devenv.converge.desired import DesiredEnv
from devenv.converge.plan import Plan


def shared_notes(want: DesiredEnv, machine: str) -> tuple[str, ...]:
    """One note per shared folder: its host side is a path on `machine`, not here."""
    notes = []
    for entry in want.config["shared"]:
        source, target = str(entry).split(":")[:2]
        notes.append(
            f"shared {source} → {target}: the engine runs on {machine}, so this is a path "
            "there, not on this machine"
        )
    return tuple(notes)


def with_remote_notes(the_plan: Plan, desired: list[DesiredEnv], machine: str) -> Plan:
    """The plan, each env's actions carrying its shared-folder notes (on a remote engine)."""
    notes = {want.name: shared_notes(want, machine) for want in desired}
    return Plan(
        tuple(
            replace(action, warnings=(*action.warnings, *notes.get(action.env, ())))
            for action in the_plan.actions
        )
    )
