"""`devenv lock`: read what each env's image adds to its base and pin it beside the spec.

The format and every comparison live in devenv.build.lockfile (pure); this module only builds images
when needed (through the applier, like export), asks the engine what they hold, and writes
files. With `update`, images are built from the specs alone, ignoring their lock files.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING

from devenv import __version__
from devenv.build import context as buildcontext
from devenv.build.lockfile import (
    Lock,
    added_packages,
    dump,
    lock_path,
    mismatch,
    moved,
    parse_dpkg_list,
    requested_names,
    snapshot_of,
)
from devenv.build.lockfile import read as read_lock
from devenv.build.render import base_identity, lock_base_name, packages_for
from devenv.errors import DevenvError, host_file_errors
from devenv.hostfiles import write_file

if TYPE_CHECKING:
    from devenv.converge.desired import DesiredEnv
    from devenv.converge.session import Session
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


def work_out(
    paths: Sequence[str], reporter: Reporter, update: bool
) -> tuple[list[Locked], list[Failed]]:
    """Each env's lock, read from its image (built first when needed), and each env that
    could not be locked, with why: one env's failure never stops the others'. Writes nothing."""
    from devenv.commands.images import built_each
    from devenv.converge.session import open_session

    session = open_session(paths, use_locks=not update)
    failed = [Failed(p.path, str(p)) for p in session.problems]
    failed += [Failed(name, why) for name, why in session.failures.items()]
    session, unbuilt = built_each(session, reporter, not update)
    failed += [Failed(name, why) for name, why in unbuilt.items()]
    done = []
    for want in session.desired:
        if want.name in unbuilt:
            continue
        try:
            done.append(_one(session, want, reporter))
        except DevenvError as exc:
            failed.append(Failed(want.name, str(exc)))
    return done, failed


@dataclass(frozen=True)
class Failed:
    """An env (or a spec file that did not load) that could not be locked, and why."""

    env: str
    why: str


def _one(session: Session, want: DesiredEnv, reporter: Reporter) -> Locked:
    spec = want.spec_file.spec
    base = session.observed.image(want.rendered.base)
    if base is None:
        raise DevenvError(
            f"its base {want.rendered.base} is not on this engine",
            f"run: devenv apply {want.spec_file.path}",
        )
    reporter.step(want.name, f"reading the package versions of {want.image}")
    image = parse_dpkg_list(session.engine.package_versions(want.image))
    before = parse_dpkg_list(session.engine.package_versions(base.id))
    made = spec.base.image is None  # bootstrapped, or built from the user's Dockerfile
    old = _previous(want.spec_file)
    lock = Lock(
        base=lock_base_name(spec.base),
        base_identity=_identity(want, base.id, list(base.digests)),
        requested=requested_names(packages_for(spec)),
        packages=added_packages(before, image),
        base_packages=before if made else {},
    )
    if spec.base.bootstrap:
        lock = replace(lock, snapshot=snapshot_of(spec.base.mirror or "", old, lock))
    text = dump(lock, want.name, __version__)
    path = lock_path(want.spec_file.path)
    return Locked(want.name, path, lock, text, tuple(moved(old, lock)))


def _identity(want: DesiredEnv, image_id: str, digests: list[str]) -> str:
    """The base's identity as the build hash names it (a Dockerfile base: its context)."""
    base = want.spec_file.spec.base
    if base.dockerfile:
        return buildcontext.resolve(want.spec_file).identity
    return base_identity(base, image_id, digests)


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
        try:
            fine.append(_checked(spec_file))
        except DevenvError as exc:
            problems.append(f"{spec_file.spec.name}: {exc.message}")
    return fine, problems


def _checked(spec_file: SpecFile) -> str:
    """'NAME: LOCK matches its spec', or the DevenvError saying why not."""
    spec, where = spec_file.spec, lock_path(spec_file.path)
    lock = read_lock(spec_file.path)
    if lock is None:
        raise DevenvError(f"{where} does not exist (run `devenv lock`)")
    context = buildcontext.resolve(spec_file).identity if spec.base.dockerfile else None
    stale = mismatch(lock, lock_base_name(spec.base), packages_for(spec), context)
    if stale:
        raise DevenvError(f"{where} no longer matches its spec ({stale})")
    return f"{spec.name}: {where} matches its spec"
