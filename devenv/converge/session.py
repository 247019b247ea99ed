"""The steps every engine command shares: load specs, observe once, work out desired state
and the plan. Commands in devenv.cli compose these; nothing here prints."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from devenv import labels as L
from devenv import reads
from devenv.converge.desired import DesiredEnv, desire
from devenv.converge.discards import discarded
from devenv.converge.identity import identity_note, with_identity_notes
from devenv.converge.memo.record import remember
from devenv.converge.packaged import hand_made_work, package_files
from devenv.converge.plan import Action, Plan, plan, with_discards
from devenv.converge.remote import with_remote_notes
from devenv.converge.safety import crash_point
from devenv.converge.volume_owner import newly_mounted, with_volume_notes
from devenv.engine import Engine
from devenv.engine.observed import Observed
from devenv.engine.protocol import EngineAPI
from devenv.errors import DevenvError, Problem
from devenv.host import Host
from devenv.spec.loader import SpecFile, load_tolerant


@dataclass
class Session:
    """One command's view of the world: specs, engine state, what they should become."""

    specs: list[SpecFile]
    problems: list[Problem]
    engine: Engine
    host: Host
    observed: Observed
    desired: list[DesiredEnv] = field(default_factory=list)
    failures: dict[str, str] = field(default_factory=dict)
    identity: dict[str, str] = field(default_factory=dict)  # env → its SSH host key is new

    def plan(self, prune: bool = False, takeover: bool = False) -> Plan:
        """The plan; destructive actions also name the in-container work they would lose."""
        projects = {str(s.folder) for s in self.specs} if prune and not self.problems else set()
        the_plan = plan(self.desired, self.observed, projects, takeover)
        the_plan = with_discards(
            the_plan, changed_files(self.engine, self.observed, the_plan.destructive)
        )
        asked = newly_mounted(the_plan, self.desired, self.observed)  # none when converged
        owners = {name: self.engine.volume_owner(name) for name in sorted(asked)}
        the_plan = with_volume_notes(the_plan, self.desired, owners)
        the_plan = with_identity_notes(the_plan, self.identity)
        connection = self.engine.connection
        if not connection.local:
            the_plan = with_remote_notes(the_plan, self.desired, connection.machine)
        return the_plan


def changed_files(
    engine: EngineAPI, observed: Observed, actions: list[Action]
) -> dict[str, list[str]]:
    """What each container about to be replaced or removed holds outside its mounts (one
    diff call per such container; a converged plan makes none). A hand-made container
    being adopted: less its own packages' files, which the spec installs again."""
    changed = {}
    by_id = {c.id: c for c in observed.containers}
    for action in actions:
        live = by_id.get(action.container or "")
        if live is not None:
            mounts = [m.rsplit(":", 2)[1] for m in live.mounts]
            diff = engine.diff(live.id)
            files = discarded(diff, mounts, live.workdir)
            if files and not L.owned(live.labels):
                files = hand_made_work(diff, files, package_files(engine, live.id, diff))
            changed[live.id] = files
    return changed


def with_engine_paths(host: Host, engine: Engine, specs: list[SpecFile]) -> Host:
    """`host` knowing the local engine's data root (its /info, asked only when a spec
    shares something), so no share reaches it wherever the engine keeps it."""
    if not engine.connection.local or not any(s.spec.shared for s in specs):
        return host
    root = engine.info().get("DockerRootDir")
    return host._replace(engine_paths=(root,)) if isinstance(root, str) and root else host


def open_session(
    paths: Sequence[str | Path], engine: Engine | None = None, use_locks: bool = True
) -> Session:
    crash_point()
    with reads.recording() as recorded:  # what loading read, for the memo
        host = Host.current()
        specs, problems = load_tolerant(paths)
        engine = engine or Engine()
        observed = engine.observe([s.spec.name for s in specs])
        host = with_engine_paths(host, engine, specs)
        session = Session(specs, problems, engine, host, observed)
        unkept = []
        for spec_file in specs:
            try:
                with reads.for_spec(spec_file.named):
                    want = desire(spec_file, observed, host, use_locks)
                    session.desired.append(want)
                    note = identity_note(want, observed, host)  # its reads: the memo's too
            except DevenvError as exc:  # without the env's name: whoever prints it adds it
                session.failures[spec_file.spec.name] = str(exc)
                unkept.append(spec_file.named)
                continue
            if note:  # said by the full path only: the memo keeps no entry for it
                session.identity[want.name] = note
                unkept.append(spec_file.named)
    # without locks (`devenv lock`), the desired state is not what apply builds: not kept
    if use_locks:
        remember(
            session.desired, unkept, recorded, observed, host, engine.connection, engine.server
        )
    return session
