"""Runs a Plan's actions, env by env, in a safe order; decides nothing itself.

Replacement is create-before-destroy: build first, create the new container beside the
old one, then swap them with signals held off, so an interrupt leaves the old or the new
env running, never neither. Envs are locked, so two applies never swap the same env.
"""

from __future__ import annotations

import contextlib
import functools

from devenv import labels as L
from devenv.desired import DesiredEnv, desire, folder_network
from devenv.engine import Engine
from devenv.errors import ConflictError, DevenvError, ImageMissing, Interrupted
from devenv.guards import env_lock, pause_point, signals_held
from devenv.host import Host
from devenv.hostprep import check_ports, prepare_host
from devenv.images import cache as image_cache
from devenv.observed import Observed, ObservedContainer
from devenv.plan import Action, Plan, plan, with_discards
from devenv.render import base_ref
from devenv.reporting import Outcome, Reporter
from devenv.session import changed_files
from devenv.workguard import keep_or_discard


class Applier:
    def __init__(
        self,
        engine: Engine,
        host: Host,
        reporter: Reporter,
        force: bool = False,
        snapshot: bool = False,
    ) -> None:
        self.engine, self.host, self.reporter = engine, host, reporter
        self.force, self.snapshot = force, snapshot

    def apply(self, plan: Plan, desired: list[DesiredEnv], observed: Observed) -> list[Outcome]:
        """Apply each env's actions; one env's failure does not stop the others."""
        outcomes: list[Outcome] = []
        by_name = {d.name: d for d in desired}
        for name in dict.fromkeys(a.env for a in plan.actions):
            actions = plan.for_env(name)
            if all(a.kind == "noop" for a in actions):
                outcomes.append(Outcome(name, True, "no changes"))
                continue
            want = by_name.get(name)
            try:
                on_wait = functools.partial(self.reporter.waiting, name)
                with env_lock(self.host, name, on_wait) as waited:
                    if waited and want is not None:
                        want, actions, observed = self._replan(want)
                    message = self._apply_env(want, actions, observed)
                outcomes.append(Outcome(name, True, message))
            except Interrupted:
                raise
            except DevenvError as exc:
                outcomes.append(Outcome(name, False, str(exc)))
        if any(a.kind == "remove" and a.env not in by_name for a in plan.actions):
            for folder in {d.spec_file.folder for d in desired}:
                self.engine.remove_network_if_unused(folder_network(folder))
        return outcomes

    def _replan(self, want: DesiredEnv) -> tuple[DesiredEnv, list[Action], Observed]:
        """After waiting for another apply of this env: look again, plan again."""
        observed = self.engine.observe([want.name])
        want = desire(want.spec_file, observed, self.host)
        fresh = plan([want], observed)
        fresh = with_discards(fresh, changed_files(self.engine, observed, fresh.destructive))
        return want, fresh.for_env(want.name), observed

    def _apply_env(self, want: DesiredEnv | None, actions: list[Action], observed: Observed) -> str:  # noqa: C901 (split in issue 10)
        kinds = {a.kind for a in actions}
        if "conflict" in kinds:
            raise ConflictError(actions[0].reasons[0])
        if want is None:  # orphans under --prune
            keep_or_discard(
                self.engine, self.reporter, actions[0].env, actions, self.force, self.snapshot
            )
            for action in actions:
                self._remove(action)
            return "removed"
        if kinds & {"create", "recreate"}:
            check_ports(want, observed, self.engine.connection.local)
        keep_or_discard(self.engine, self.reporter, want.name, actions, self.force, self.snapshot)
        how = ""
        if "build" in kinds:
            want, how = self._build(want, observed)
            if how.startswith("sha256:") and _runs(observed.named(want.name), want, how):
                # the base had only lost its tag: the container already runs this very image
                actions = [a for a in actions if a.kind != "recreate"]
                how = "base fetched again"
        if kinds & {"create", "recreate", "start"}:
            prepare_host(want, self.host)
        done = []
        for action in sorted(actions, key=lambda a: a.kind != "remove"):
            if action.kind == "create":
                self._create(want)
                done.append("created")
            elif action.kind == "recreate":
                assert action.container
                self._recreate(want, action.container)
                done.append("recreated")
            elif action.kind == "start":
                assert action.container
                self.reporter.step(want.name, "starting")
                self.engine.start(action.container)
                done.append("started")
            elif action.kind == "remove":
                self._remove(action)
        if how:
            done.insert(0, "image already there" if how.startswith("sha256:") else how)
        return ", ".join(done) or "cleaned up"

    def _build(self, want: DesiredEnv, observed: Observed) -> tuple[DesiredEnv, str]:
        """Make want.image exist; say how ("built", "pulled from …", or an image id when
        fetching the base showed the image was already there)."""
        spec = want.spec_file.spec
        if not want.base_present:
            self._ensure_base(want)
            images = self.engine.images()
            want = desire(want.spec_file, Observed(observed.containers, images), self.host)
            existing = next((i for i in images if want.image in i.tags), None)
            if existing is not None:
                return want, existing.id
        if image_cache.pull_cached(self.engine, want, self.reporter):
            return want, "pulled from the image cache"
        self.reporter.step(want.name, f"building {want.image}")
        log = self.host.env_dir(want.name) / "build.log"
        network = "host" if _uses_loopback(spec.apt.mirror) else None
        pause_point("build")
        self.engine.build(
            want, log, lambda line: self.reporter.build_line(want.name, line), network
        )
        image_cache.push_built(self.engine, want, self.reporter, self.host)
        return want, "built"

    def _ensure_base(self, want: DesiredEnv) -> None:
        base = want.spec_file.spec.base
        log = self.host.env_dir(want.name) / "bootstrap.log"
        if base.bootstrap:
            from devenv.images.bootstrap import bootstrap

            self.reporter.step(want.name, f"bootstrapping {base.bootstrap} from {base.mirror}")
            bootstrap(self.engine, base, log)
            return
        assert base.image is not None
        mirror = base.registry_mirror
        rest = "or load it, or bootstrap it: base: {bootstrap: debian:SUITE, mirror: URL}"
        try:
            if mirror:
                self.reporter.step(want.name, f"pulling {base.image} through {mirror}")
                self._pull_through(mirror, base.image, base_ref(base))
            else:
                self.reporter.step(want.name, f"pulling {base.image}")
                self.engine.pull(base.image)
        except ImageMissing:
            where = f"the registry mirror {mirror}" if mirror else "its registry"
            raise DevenvError(
                f"{want.name}: base image {base.image} is neither on this engine nor in {where}",
                (f"push it to {mirror}; " if mirror else "log in, or set base.registry_mirror; ")
                + rest,
            ) from None
        except DevenvError as exc:
            raise DevenvError(
                f"{want.name}: base image {base.image} is not on this engine and "
                f"could not be pulled ({exc.message})",
                f"check that {mirror or 'its registry'} is reachable; {rest}",
            ) from None

    def _pull_through(self, mirror: str, image: str, as_ref: str) -> None:
        """A plain registry holds `debian:…` as given; a Docker Hub pull-through cache holds
        official images under `library/`: try the first, then the second."""
        try:
            self.engine.pull(mirror_ref(mirror, image), as_ref=as_ref)
        except ImageMissing:
            if "/" in image.split("@")[0]:
                raise
            self.engine.pull(mirror_ref(mirror, f"library/{image}"), as_ref=as_ref)

    def _create(self, want: DesiredEnv) -> None:
        self.reporter.step(want.name, "creating container")
        env_dir = self.host.env_dir(want.name)
        with signals_held():
            container = self.engine.create(want, want.name, env_dir)
            pause_point("create")
            try:
                self.engine.start(container)
            except DevenvError:
                self.engine.remove(container)
                raise

    def _recreate(self, want: DesiredEnv, old: str) -> None:
        """Create-before-destroy: the old container runs until the new one is ready."""
        self.reporter.step(want.name, "replacing container")
        env_dir = self.host.env_dir(want.name)
        staging = f"{want.name}.devenv-new"
        retired = f"{want.name}.devenv-old"
        with signals_held():
            new = self.engine.create(want, staging, env_dir)
            pause_point("create")
            try:
                self.engine.stop(old)
                pause_point("swap")
                self.engine.rename(old, retired)
                self.engine.rename(new, want.name)
                self.engine.start(new)
            except DevenvError:
                self._roll_back(want.name, old, new)
                raise
            self.engine.remove(old)

    def _roll_back(self, name: str, old: str, new: str) -> None:
        """Put the old container back, running, under its own name."""
        with contextlib.suppress(DevenvError):
            self.engine.remove(new)
        with contextlib.suppress(DevenvError):
            self.engine.rename(old, name)
        with contextlib.suppress(DevenvError):
            self.engine.start(old)

    def _remove(self, action: Action) -> None:
        assert action.container
        self.reporter.step(action.env, f"removing container {action.container[:12]}")
        self.engine.remove(action.container)


def _runs(live: ObservedContainer | None, want: DesiredEnv, image_id: str) -> bool:
    """True when `live` is `want` already: same image, same applied config."""
    return (
        live is not None
        and live.image_id == image_id
        and live.labels.get(L.CONFIG_HASH) == want.config_hash
        and live.labels.get(L.BUILD_HASH) == want.rendered.build_hash
    )


def mirror_ref(mirror: str, image: str) -> str:
    """debian:bookworm through registry.example.com → registry.example.com/debian:bookworm."""
    return f"{mirror.rstrip('/')}/{image}"


def _uses_loopback(url: str | None) -> bool:
    """Builds must use the host's network to reach a mirror on the host's loopback."""
    if not url:
        return False
    host = url.split("://", 1)[-1].split("/", 1)[0].rsplit(":", 1)[0]
    return host in ("localhost", "[::1]") or host.startswith("127.")
