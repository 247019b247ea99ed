"""`devenv lock`: read what each env's image adds to its base and pin it beside the spec.

The format and every comparison live in devenv.build.lockfile (pure); this module only builds images
when needed (through the applier, like export), asks the engine what they hold, and writes
files. With `update`, images are built from the specs alone, ignoring their lock files.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from devenv import __version__
from devenv.build.lockfile import (
    Lock,
    added_packages,
    dump,
    lock_path,
    mismatch,
    moved,
    parse_dpkg_list,
    requested_names,
)
from devenv.build.lockfile import read as read_lock
from devenv.build.render import base_identity, base_ref, packages_for
from devenv.errors import DevenvError, host_file_errors
from devenv.hostfiles import write_file

if TYPE_CHECKING:
    from devenv.reporting import Reporter
    from devenv.spec.loader import SpecFile


@dataclass(frozen=True)
class Locked:
    """A lock worked out for one env: where it goes, its text, and what moved since the last."""

    env: str
    path: Path
    lock: Lock
    text: str
    moved: tuple[str, ...]


def work_out(paths: Sequence[str], reporter: Reporter, update: bool) -> list[Locked]:
    """Each env's lock, read from its image (built first when needed); writes nothing."""
    from devenv.commands.images import built_session

    session = built_session(paths, reporter, use_locks=not update)
    done = []
    for want in session.desired:
        spec = want.spec_file.spec
        base = session.observed.image(base_ref(spec.base))
        if base is None:
            raise DevenvError(
                f"its base {base_ref(spec.base)} is not on this engine",
                f"run: devenv apply {want.spec_file.path}",
                env=want.name,
            )
        reporter.step(want.name, f"reading the package versions of {want.image}")
        image = parse_dpkg_list(session.engine.package_versions(want.image))
        before = parse_dpkg_list(session.engine.package_versions(base.id))
        lock = Lock(
            base=base_ref(spec.base),
            base_identity=base_identity(spec.base, base.id, list(base.digests)),
            requested=requested_names(packages_for(spec)),
            packages=added_packages(before, image),
        )
        old = _previous(want.spec_file)
        text = dump(lock, want.name, __version__)
        done.append(
            Locked(want.name, lock_path(want.spec_file.path), lock, text, tuple(moved(old, lock)))
        )
    return done


def _previous(spec_file: SpecFile) -> Lock | None:
    """The lock already beside the spec; an unreadable one counts as none (it is replaced)."""
    try:
        return read_lock(spec_file.path)
    except DevenvError:
        return None


def write(locked: Locked) -> None:
    """Replace the lock file atomically (a crash never leaves half a lock), never through a
    link planted beside the spec (a box may share the spec's folder)."""
    with host_file_errors("write the lock file", locked.path):
        write_file(locked.path, locked.text, 0o644)


def check(paths: Sequence[str]) -> tuple[list[str], list[str]]:
    """(fine, problems): one line per spec; a missing or stale lock is a problem."""
    from devenv.spec.loader import load_all

    fine, problems = [], []
    for spec_file in load_all(paths):
        spec, where = spec_file.spec, lock_path(spec_file.path)
        try:
            lock = read_lock(spec_file.path)
        except DevenvError as exc:
            problems.append(f"{spec.name}: {exc.message}")
            continue
        if lock is None:
            problems.append(f"{spec.name}: {where} does not exist (run `devenv lock`)")
            continue
        stale = mismatch(lock, base_ref(spec.base), packages_for(spec))
        if stale:
            problems.append(f"{spec.name}: {where} no longer matches its spec ({stale})")
        else:
            fine.append(f"{spec.name}: {where} matches its spec")
    return fine, problems
