"""The work guard: a recreate or removal never silently loses what was changed inside a
container; it refuses (unless --force) or keeps the changes in a snapshot image first."""

from __future__ import annotations

import time

from devenv import labels as L
from devenv.converge.discards import describe
from devenv.converge.plan import Action
from devenv.engine.protocol import EngineAPI
from devenv.errors import DevenvError
from devenv.reporting import Reporter


def keep_or_discard(
    engine: EngineAPI,
    reporter: Reporter,
    env: str,
    actions: list[Action],
    force: bool,
    snapshot: bool,
) -> None:
    """Refuse to lose work done inside a container, unless told to (--force) or to keep it
    in a snapshot image first (--snapshot)."""
    risky = [a for a in actions if a.discards and a.container]
    if not risky:
        return
    if snapshot:
        for action in risky:
            assert action.container
            tag = take_snapshot(engine, env, action.container)
            reporter.step(env, f"kept the container's changes in {tag}")
        return
    if not force:
        raise discard_refused(env, risky[0].kind, list(risky[0].discards))


def discard_refused(env: str, verb: str, files: list[str]) -> DevenvError:
    """The refusal to `verb` (recreate, remove, destroy) a container holding changed files."""
    return DevenvError(
        f"{verb} {describe(files)} inside the container",
        "rerun with --snapshot to keep them in an image first, or --force to discard them",
        env=env,
    )


def take_snapshot(engine: EngineAPI, env: str, container: str) -> str:
    """Commit the container as devenv-snapshot/ENV:TIMESTAMP; see `devenv snapshots`."""
    stamp = time.strftime("%Y%m%d-%H%M%S", time.gmtime())
    labels = L.ownership({L.KIND: "snapshot", L.ENV: env})
    engine.commit(container, f"devenv-snapshot/{env}", stamp, labels)
    return f"devenv-snapshot/{env}:{stamp}"
