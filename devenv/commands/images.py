"""The image commands' work against the engine: push, tag, list, prune. The decisions are
pure functions elsewhere (devenv.images.listing, devenv.registry); this module only sequences
engine calls and hands back lines for the CLI to print."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from devenv import labels as L
from devenv.converge import image_cache
from devenv.errors import DevenvError, SpecError
from devenv.images import pushlog
from devenv.images.listing import ImageRow, Removal, prune_plan, reserved, rows
from devenv.registry import RegistryNamespace
from devenv.spec.rules import IMAGE_RE

if TYPE_CHECKING:
    from devenv.converge.session import Session
    from devenv.engine import Engine
    from devenv.reporting import Reporter


def built_session(paths: Sequence[str], reporter: Reporter, use_locks: bool = True) -> Session:
    """A session whose envs' images all exist: envs never built are built first (through
    the applier, so the image cache and base handling are the same as in apply); without
    `use_locks`, from the specs alone, ignoring their lock files."""
    from devenv.converge.session import open_session

    session = _checked(open_session(paths, use_locks=use_locks))
    session, failures = built_each(session, reporter, use_locks)
    if failures:
        name, message = next(iter(failures.items()))
        raise DevenvError(message, env=name)
    return session


def built_each(
    session: Session, reporter: Reporter, use_locks: bool
) -> tuple[Session, dict[str, str]]:
    """The session again once every env whose image was missing has been built, and the
    envs that could not be (name → why): one env's failure leaves the others built."""
    from devenv.converge.apply import Applier
    from devenv.converge.plan import Action, Plan
    from devenv.converge.session import open_session

    missing = [w for w in session.desired if session.observed.image(w.image) is None]
    if not missing:
        return session, {}
    for want in missing:
        reporter.step(want.name, f"{want.image} was never built here; building it first")
    plan = Plan(tuple(Action("build", w.name, ("not built yet",), image=w.image) for w in missing))
    applier = Applier(session.engine, session.host, reporter)
    outcomes = applier.apply(plan, session.desired, session.observed)
    failures = {o.env: o.message.removeprefix(f"{o.env}: ") for o in outcomes if not o.ok}
    paths = [str(s.path) for s in session.specs]
    # the base may have changed the build hash
    return open_session(paths, session.engine, use_locks), failures


def _checked(session: Session) -> Session:
    """The session, if every spec loaded and every env's desired state could be worked out."""
    if session.problems:
        raise SpecError(session.problems)
    if session.failures:
        name, message = next(iter(session.failures.items()))
        raise DevenvError(message, env=name)
    return session


@dataclass(frozen=True)
class Pushed:
    env: str
    ref: str
    digest: str


def push_envs(paths: Sequence[str], to: str | None, reporter: Reporter) -> list[Pushed]:
    """Push each env's image as TARGET/ENV:HASH12 and :latest (TARGET: --to or image_cache)."""
    explicit = RegistryNamespace.parse(to) if to else None
    session = built_session(paths, reporter)
    targets = {}
    for want in session.desired:
        target = explicit or image_cache.target_of(want)
        if target is None:
            raise DevenvError(
                "nowhere to push",
                "give --to REGISTRY/NAMESPACE, or set image_cache in the spec",
                env=want.name,
            )
        targets[want.name] = target
    done = []
    for want in session.desired:
        for ref, digest in image_cache.push_image(
            session.engine,
            want.image,
            want.name,
            want.rendered.short_hash,
            targets[want.name],
            reporter,
            session.host,
        ):
            done.append(Pushed(want.name, ref, digest))
    return done


def normalise_ref(ref: str) -> str:
    """NEW_REF as the engine names it (':latest' when no tag); refuses devenv's own names."""
    if "@" in ref or not IMAGE_RE.fullmatch(ref):
        raise DevenvError(
            f"{ref!r} is not a valid image name", "e.g. registry.example.com/team/php:v1"
        )
    full = ref if ":" in ref.rsplit("/", 1)[-1] else f"{ref}:latest"
    if reserved(full):
        raise DevenvError(
            f"{full}: names under devenv/, devenv-base/ and devenv-snapshot/ are devenv's own",
            "pick a name outside them",
        )
    return full


def tag_env(path: str, new_ref: str) -> str:
    """Give the env's current image one more name; devenv's own tag stays."""
    from devenv.converge.session import open_session

    full = normalise_ref(new_ref)
    session = _checked(open_session([path]))
    if len(session.desired) != 1:
        raise DevenvError(f"{path}: give exactly one spec file to tag")
    want = session.desired[0]
    if session.observed.image(want.image) is None:
        raise DevenvError(
            f"{want.image} is not on this engine", "run `devenv apply` first", env=want.name
        )
    session.engine.tag(want.image, full)
    return f"{want.name}: tagged {want.image} as {full}"


def image_rows(engine: Engine, envs: Sequence[str] = ()) -> list[ImageRow]:
    """devenv's images (scoped by DEVENV_LABELS when set), optionally for some envs only."""
    from devenv.host import Host

    found = rows(
        engine.devenv_images(L.extra_labels()),
        engine.all_containers(),
        pushlog.by_image(pushlog.read(Host.current().state_dir)),
    )
    return [r for r in found if not envs or r.env in envs]


def env_names(paths: Sequence[str]) -> list[str]:
    from devenv.spec.loader import load_all

    return [s.spec.name for s in load_all(paths)]


def prune_removals(engine: Engine, snapshots: bool) -> list[Removal]:
    return prune_plan(image_rows(engine), snapshots)


def prune(engine: Engine, removals: list[Removal]) -> Iterator[str]:
    """Remove what prune_removals chose, one name at a time; the engine refuses anything
    that became used meanwhile, and that image is kept and reported."""
    for removal in removals:
        who = removal.image.env or removal.image.id[7:19]
        for ref in removal.refs:
            kept = engine.try_remove_image(ref)
            yield f"{who}: " + (f"kept {ref} ({kept})" if kept else f"removed {ref}")
        if removal.keeps:
            yield f"{who}: image stays under {', '.join(removal.keeps)}"
