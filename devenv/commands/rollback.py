"""`devenv rollback`: put back the box the last apply replaced.

A recreate keeps the replaced container, stopped, as NAME.devenv-previous for one generation
(devenv.converge.apply). Rolling back swaps the two, as a recreate swaps: the previous box
runs again under the env's name, proven stably up, and the one it replaces is kept as the new
previous (a second rollback goes forward again). Nothing is removed, so nothing is lost."""

from __future__ import annotations

from typing import TYPE_CHECKING

from devenv.converge.readiness import Clock, stable_seconds, wait_steady
from devenv.converge.safety import one_apply_at_a_time, signals_held
from devenv.converge.verdict import PREVIOUS
from devenv.errors import DevenvError

if TYPE_CHECKING:
    from devenv.engine.protocol import EngineAPI
    from devenv.host import Host
    from devenv.reporting import Reporter

SWAPPING = ".devenv-new"  # the replaced box's name while the two are swapped


def rollback(
    path: str, engine: EngineAPI, host: Host, reporter: Reporter, clock: Clock | None = None
) -> tuple[str, str]:
    """Swap the env of the spec at `path` back to its previous box: the env, and what was
    done in words."""
    from devenv.spec.loader import load_one

    name = load_one(path).spec.name
    clock = clock or Clock()
    with one_apply_at_a_time(host, name, lambda: reporter.waiting(name)):
        observed = engine.observe([name])
        current, previous = observed.named(name), observed.named(name + PREVIOUS)
        if current is not None and not current.owned:
            raise DevenvError(
                f"a container named {name!r} exists that devenv did not create; left alone",
                "remove or rename it first",
            )
        if previous is None or not previous.owned:
            raise DevenvError(
                f"{name} has no previous box to go back to",
                "apply keeps the box a recreate replaced, until the next recreate; "
                "there is none now (see: devenv status)",
            )
        reporter.step(name, f"putting back the previous box {previous.id[:12]}")
        _swap(engine, name, current.id if current else None, previous.id, clock)
    kept = f"; the replaced one is kept as {name}{PREVIOUS}" if current else ""
    return name, f"the previous box runs again ({previous.id[:12]}){kept}"


def _swap(engine: EngineAPI, name: str, current: str | None, previous: str, clock: Clock) -> None:
    with signals_held():
        if current is not None:
            engine.stop(current)
            engine.rename(current, name + SWAPPING)
        engine.rename(previous, name)
        engine.start(previous)
        started = clock.now()
    try:
        wait_steady(engine, name, previous, stable_seconds() + 30, clock, started)
    except DevenvError as exc:
        with signals_held():
            engine.stop(previous)
            engine.rename(previous, name + PREVIOUS)
            if current is not None:
                engine.rename(current, name)
                engine.start(current)
        raise DevenvError(
            f"the previous box did not stay up either ({exc.message}); "
            "the current one is back as it was",
            f"see its output: docker logs {previous[:12]}",
        ) from None
    if current is not None:
        engine.rename(current, name + PREVIOUS)
