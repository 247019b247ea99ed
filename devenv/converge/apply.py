"""Runs a Plan's actions, env by env, in a safe order; decides nothing itself.

Replacement is create-before-destroy: build first, create the new container beside the
old one, then swap them with signals held off, so an interrupt leaves the old or the new
env running, never neither. Envs are locked, so two applies never swap the same env.
"""

from __future__ import annotations

import copy
import functools
from collections.abc import Callable
from pathlib import Path
from typing import Literal

from devenv import labels as L
from devenv.build.aptlog import dead_mirror_error
from devenv.build.lockfile import lock_path, unserved_error
from devenv.build.render import base_ref, build_mirror
from devenv.converge import image_cache
from devenv.converge.desired import SSH_DIR, DesiredEnv, desire, folder_network
from devenv.converge.hooks import HookFailed, run_hooks
from devenv.converge.hostprep import check_ports, prepare_host, ssh_files
from devenv.converge.identity import with_host_key
from devenv.converge.jobs import jobs_wanted, run_bounded
from devenv.converge.plan import Action, Plan, plan, with_discards
from devenv.converge.readiness import Clock, default_wait, wait_until_up
from devenv.converge.safety import (
    StoppingReporter,
    one_apply_at_a_time,
    pause_point,
    signals_held,
    stop_point,
)
from devenv.converge.session import changed_files
from devenv.converge.verdict import PREVIOUS
from devenv.converge.workguard import keep_or_discard
from devenv.engine.observed import Observed, ObservedContainer
from devenv.engine.protocol import EngineAPI
from devenv.errors import (
    BuildError,
    ConflictError,
    DevenvError,
    HostFileError,
    ImageMissing,
    Interrupted,
)
from devenv.host import Host
from devenv.reporting import Outcome, Reporter
from devenv.spec.loader import SpecFile

LEFT_FOR_INSPECTION = "the container is left for inspection: devenv logs {spec}"
HOOK_LEFT = (
    "the container is left for inspection (devenv shell {spec}); once the hook is fixed, "
    "devenv destroy {spec} && devenv apply {spec} runs the create hooks again"
)
ROLLED_BACK = "the old container runs again, unchanged; fix the spec and apply again"
STOPPED_WAITING = "interrupted while waiting for the new box; the old one runs again, unchanged"


class Applier:
    def __init__(
        self,
        engine: EngineAPI,
        host: Host,
        reporter: Reporter,
        force: bool = False,
        snapshot: bool = False,
        takeover: bool = False,
        wait_timeout: float | None = None,
        clock: Clock | None = None,
    ) -> None:
        self.engine, self.host, self.reporter = engine, host, reporter
        self.force, self.snapshot = force, snapshot
        self.takeover = takeover  # replace envs another spec file applied (see plan)
        self.wait_timeout, self.clock = wait_timeout, clock or Clock()

    def apply(self, plan: Plan, desired: list[DesiredEnv], observed: Observed) -> list[Outcome]:
        """Apply each env's actions, a few envs at once (DEVENV_JOBS, see converge/jobs.py);
        one env's failure does not stop the others."""
        by_name = {d.name: d for d in desired}
        names = list(dict.fromkeys(a.env for a in plan.actions))
        busy = [n for n in names if any(a.kind != "noop" for a in plan.for_env(n))]
        jobs = jobs_wanted() if len(busy) > 1 else 1
        applier = self if jobs == 1 else self._in_workers()
        done = dict(
            zip(
                busy,
                run_bounded(busy, lambda n: applier._apply_one(n, plan, by_name, observed), jobs),
                strict=True,
            )
        )
        outcomes = [done.get(n) or Outcome(n, True, "no changes") for n in names]
        if any(a.kind == "remove" and a.env not in by_name for a in plan.actions):
            for folder in {d.spec_file.folder for d in desired}:
                self.engine.remove_network_if_unused(folder_network(folder))
        return outcomes

    def _in_workers(self) -> Applier:
        """This applier for worker threads: its reports and waits are where a Ctrl-C the
        main thread caught stops the env (see safety.stop_point); the engine's lazy state
        is settled first, so threads only make requests."""
        self.engine.prepare_for_threads()
        clock = Clock(self.clock.now, _stopping(self.clock.sleep), self.clock.settle)
        worker = copy.copy(self)
        worker.reporter, worker.clock = StoppingReporter(self.reporter), clock
        return worker

    def _apply_one(
        self, name: str, plan: Plan, by_name: dict[str, DesiredEnv], observed: Observed
    ) -> Outcome:
        actions = plan.for_env(name)
        want = by_name.get(name)
        try:
            on_wait = functools.partial(self.reporter.waiting, name)
            with one_apply_at_a_time(self.host, name, on_wait) as waited:
                if waited and want is not None:
                    want, actions, observed = self._replan(want)
                message = self._apply_env(want, actions, observed)
            return Outcome(name, True, message)
        except Interrupted:
            raise
        except DevenvError as exc:
            return Outcome(name, False, str(exc))
        except OSError as exc:  # a host file no guard named: still this env's alone
            where = exc.filename if isinstance(exc.filename, str) else str(self.host.state_dir)
            return Outcome(name, False, str(HostFileError("use", where, exc)))

    def _desire(self, spec_file: SpecFile, observed: Observed, use_lock: bool) -> DesiredEnv:
        return desire(spec_file, observed, self.host, use_lock)

    def _replan(self, want: DesiredEnv) -> tuple[DesiredEnv, list[Action], Observed]:
        """After waiting for another apply of this env: look again, plan again."""
        observed = self.engine.observe([want.name])
        want = self._desire(want.spec_file, observed, want.lock is not None)
        fresh = plan([want], observed, takeover=self.takeover)
        fresh = with_discards(fresh, changed_files(self.engine, observed, fresh.destructive))
        return want, fresh.for_env(want.name), observed

    def _apply_env(self, want: DesiredEnv | None, actions: list[Action], observed: Observed) -> str:
        kinds = {a.kind for a in actions}
        if kinds <= {"noop"}:  # planned again after a wait: another apply did it all
            return "no changes"
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
        if kinds & {"create", "recreate", "start", "repair"}:
            prepare_host(want, self.host)
        done = self._run_actions(want, actions)
        if how:
            done.insert(0, "image already there" if how.startswith("sha256:") else how)
        return ", ".join(done) or "cleaned up"

    def _run_actions(self, want: DesiredEnv, actions: list[Action]) -> list[str]:
        """Removals of leftovers first, then the container's action, proven up."""
        done = []
        for action in sorted(actions, key=lambda a: a.kind != "remove"):
            if action.kind == "create":
                self._create(want)
                done.append("created")
            elif action.kind == "recreate":
                assert action.container
                self._recreate(want, action.container)
                done.append("recreated")
            elif action.kind in ("start", "repair"):
                assert action.container
                done.append(self._start_or_repair(want, action))
            elif action.kind == "remove":
                self._remove(action)
        return done

    def _start_or_repair(self, want: DesiredEnv, action: Action) -> str:
        """Repairs in place first; then a stopped box is started, a failing one (or one whose
        shared folder was made again) restarted, and either proven up."""
        assert action.container
        fixes = [r for r in action.repairs if r not in ("restart", "mounts")]
        if fixes:
            self.reporter.step(want.name, f"repairing {', '.join(fixes).replace('_', ' ')}")
            self.engine.repair(action.container, want.shape, fixes)
        restart = {"restart", "mounts"} & set(action.repairs)
        if action.kind == "repair" and not restart:
            return "repaired"
        self.reporter.step(want.name, "restarting" if restart else "starting")
        (self.engine.restart if restart else self.engine.start)(action.container)
        started = self.clock.now()
        self._prove_up(want, action.container, LEFT_FOR_INSPECTION, started)
        self._hooks(want, action.container, ("start",), LEFT_FOR_INSPECTION)
        return "restarted" if restart else "started" if action.kind == "start" else "repaired"

    def started(self, want: DesiredEnv, container: str) -> None:
        """A box started outside a plan (`devenv start`, `restart`): proven up, as after
        apply's own starts, and its start hooks run."""
        self._prove_up(want, container, LEFT_FOR_INSPECTION)
        self._hooks(want, container, ("start",), LEFT_FOR_INSPECTION)

    def _prove_up(
        self, want: DesiredEnv, container: str, hint: str, started: float | None = None
    ) -> None:
        """Wait until the box is up (see devenv.converge.readiness); else fail with its evidence.
        `started`: when the start call returned, if it was made here."""
        self.reporter.step(want.name, "waiting for the box to be up")
        timeout = self.wait_timeout if self.wait_timeout is not None else default_wait(want)
        try:
            wait_until_up(self.engine, want, container, timeout, self.clock, started)
        except DevenvError as exc:
            raise DevenvError(exc.message, hint.format(spec=want.spec_file.path)) from None

    def _hooks(
        self,
        want: DesiredEnv,
        container: str,
        which: tuple[Literal["create", "start"], ...],
        hint: str,
    ) -> None:
        """Run the spec's hooks in the box that is up; a failing one fails with `hint`."""
        try:
            for kind in which:
                run_hooks(self.engine, self.reporter, want, container, kind)
        except HookFailed as exc:
            raise DevenvError(exc.message, hint.format(spec=want.spec_file.path)) from None

    def _build(self, want: DesiredEnv, observed: Observed) -> tuple[DesiredEnv, str]:
        """Make want.image exist; say how ("built", "pulled from …", or an image id when
        fetching the base showed the image was already there)."""
        spec = want.spec_file.spec
        # a Dockerfile base is named by its recipe: the cache can spare building it at all
        tried_cache = bool(spec.base.dockerfile) and not want.base_present
        if tried_cache and image_cache.pull_cached(self.engine, want, self.reporter):
            return want, "pulled from the image cache"
        if not want.base_present:
            self._ensure_base(want)
            images = self.engine.images()
            seen = Observed(observed.containers, images)
            want = self._desire(want.spec_file, seen, want.lock is not None)
            existing = next((i for i in images if want.image in i.tags), None)
            if existing is not None:
                return want, existing.id
        if not tried_cache and image_cache.pull_cached(self.engine, want, self.reporter):
            return want, "pulled from the image cache"
        self.reporter.step(want.name, f"building {want.image}")
        log = self.host.env_dir(want.name) / "build.log"
        network = "host" if _uses_loopback(build_mirror(spec)) else None
        pause_point("build")
        stop_point()
        try:
            self.engine.build(
                want, log, lambda line: self.reporter.build_line(want.name, line), network
            )
        except BuildError as exc:
            raise _unserved(want, exc) or exc from None
        image_cache.push_built(self.engine, want, self.reporter, self.host)
        return want, "built"

    def _ensure_base(self, want: DesiredEnv) -> None:
        base = want.spec_file.spec.base
        if base.dockerfile:
            from devenv.converge.dockerbase import build_base

            self.reporter.step(want.name, f"building its Dockerfile base {want.rendered.base}")
            log = self.host.env_dir(want.name) / "base-build.log"
            build_base(
                self.engine, want, log, lambda line: self.reporter.build_line(want.name, line)
            )
            return
        log = self.host.env_dir(want.name) / "bootstrap.log"
        if base.bootstrap:
            from devenv.converge.bootstrap import bootstrap

            self.reporter.step(want.name, f"bootstrapping {base.bootstrap} from {base.mirror}")
            bootstrap(self.engine, base, log, want.lock, lock_path(want.spec_file.path))
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
                f"base image {base.image} is neither on this engine nor in {where}",
                (f"push it to {mirror}; " if mirror else "log in, or set base.registry_mirror; ")
                + rest,
                env=want.name,
            ) from None
        except DevenvError as exc:
            raise DevenvError(
                f"base image {base.image} is not on this engine and "
                f"could not be pulled ({exc.message})",
                f"check that {mirror or 'its registry'} is reachable; {rest}",
                env=want.name,
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
        with signals_held():
            container = self._make(want, want.name)
            pause_point("create")
            try:
                self.engine.start(container)
            except DevenvError:
                self.engine.remove(container)
                raise
            started = self.clock.now()
        self._prove_up(want, container, LEFT_FOR_INSPECTION, started)
        self._hooks(want, container, ("create", "start"), HOOK_LEFT)

    def _make(self, want: DesiredEnv, name: str) -> str:
        """Create the env's container under `name`, and copy in before its first start what
        no box may mount from this machine (the env's SSH keys: see container_shape)."""
        files = ssh_files(Path(want.shape.ssh_copy)) if want.shape.ssh_copy else {}
        container = self.engine.create(with_host_key(want.shape, files), name)
        if files:
            try:
                self.engine.put_files(container, SSH_DIR, files)
            except DevenvError:
                self.engine.remove(container)
                raise
        return container

    def _recreate(self, want: DesiredEnv, old: str) -> None:
        """Create-before-destroy: the old container is removed only once the new one is up."""
        self.reporter.step(want.name, "replacing container")
        retired = f"{want.name}.devenv-old"
        renamed = False
        with signals_held() as caught:
            new = self._make(want, f"{want.name}.devenv-new")
            pause_point("create")
            try:
                self.engine.stop(old)
                pause_point("swap")
                self.engine.rename(old, retired)
                renamed = True
                self.engine.rename(new, want.name)
                self.engine.start(new)
                started = self.clock.now()
            except DevenvError as exc:
                self._roll_back(want.name, old, new, renamed, exc)
                raise
            if caught:  # interrupted during the swap: it finishes, and the wait is skipped
                self.engine.remove(old)
        try:
            self._prove_up(want, new, ROLLED_BACK, started)
            self._hooks(want, new, ("create", "start"), ROLLED_BACK)
        except (DevenvError, KeyboardInterrupt) as exc:
            cause = exc if isinstance(exc, DevenvError) else Interrupted(STOPPED_WAITING)
            with signals_held():
                self._roll_back(want.name, old, new, True, cause)
            raise cause from None
        self._keep_as_previous(want.name, old)

    def _keep_as_previous(self, name: str, old: str) -> None:
        """The replaced box stays, stopped, as NAME.devenv-previous for one generation: a
        failure after apply returned still has `devenv rollback` (the one before it goes)."""
        previous = self.engine.observe([name]).named(name + PREVIOUS)
        if previous is not None and previous.id != old:
            self.engine.remove(previous.id)
        self.engine.rename(old, name + PREVIOUS)

    def _roll_back(self, name: str, old: str, new: str, renamed: bool, cause: DevenvError) -> None:
        """Put the old container back, running, under its own name; if that fails too, say
        which container holds the old box and how to restore it."""
        steps: list[tuple[Callable[[], object], str]] = [
            (lambda: self.engine.remove(new), f"docker rm -f {new[:12]}"),
            (lambda: self.engine.rename(old, name), f"docker rename {old[:12]} {name}"),
            (lambda: self.engine.start(old), f"docker start {name}"),
        ]
        if not renamed:
            del steps[1]
        for index, (step, _command) in enumerate(steps):
            try:
                step()
            except DevenvError as exc:
                where = f"{name}.devenv-old" if renamed and index < 2 else name
                restore = " && ".join(command for _step, command in steps[index:])
                raise DevenvError(
                    f"{cause.message}; rolling back failed too ({exc.message}): "
                    f"the old box is in container {old[:12]} (named {where})",
                    f"restore it with: {restore}",
                ) from None

    def _remove(self, action: Action) -> None:
        assert action.container
        self.reporter.step(action.env, f"removing container {action.container[:12]}")
        self.engine.remove(action.container)


def _stopping(sleep: Callable[[float], None]) -> Callable[[float], None]:
    """A sleep after which a stop asked meanwhile is honoured (waiting for a box)."""

    def sleep_then_check(seconds: float) -> None:
        sleep(seconds)
        stop_point()

    return sleep_then_check


def _runs(live: ObservedContainer | None, want: DesiredEnv, image_id: str) -> bool:
    """True when `live` is `want` already: same image, same applied config."""
    return (
        live is not None
        and live.image_id == image_id
        and live.labels.get(L.CONFIG_HASH) == want.config_hash
        and live.labels.get(L.BUILD_HASH) == want.rendered.build_hash
    )


def _unserved(want: DesiredEnv, failed: BuildError) -> DevenvError | None:
    """A build that failed because the apt mirror does not answer, or (a pinned install)
    lacks the locked versions, said as such."""
    if not failed.log_path:
        return None
    log = Path(failed.log_path).read_text(errors="replace")
    dead = dead_mirror_error(want.name, log)
    if dead is not None or want.lock is None:
        return dead
    return unserved_error(want.name, lock_path(want.spec_file.path), log)


def mirror_ref(mirror: str, image: str) -> str:
    """debian:bookworm through registry.example.com → registry.example.com/debian:bookworm."""
    return f"{mirror.rstrip('/')}/{image}"


def _uses_loopback(url: str | None) -> bool:
    """Builds must use the host's network to reach a mirror on the host's loopback."""
    if not url:
        return False
    host = url.split("://", 1)[-1].split("/", 1)[0].rsplit(":", 1)[0]
    return host in ("localhost", "[::1]") or host.startswith("127.")
