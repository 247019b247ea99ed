"""The engine adapter: observe, build, create, start, swap, remove, exec, logs; images
travel through its ImageTransfer half. Observation costs a constant number of listing calls
however many envs and fields there are; where the engine is comes from devenv.engine.connection,
as for every `docker` command line devenv runs."""

import threading
from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

from devenv import labels as L
from devenv.build.workspace import BuildLog, build_context
from devenv.engine.build_output import follow
from devenv.engine.buildkit import build as buildkit_build
from devenv.engine.buildkit import find_cli
from devenv.engine.client import SdkReader, make_client
from devenv.engine.connection import Connection, resolve
from devenv.engine.faults import engine_errors, start_failure
from devenv.engine.networks import ensure as ensure_network
from devenv.engine.networks import remove_if_unused
from devenv.engine.observe import observe
from devenv.engine.observed import Observed, ObservedImage
from devenv.engine.protocol import BuildTarget, ContainerState
from devenv.engine.server import Server, can_pause, rootless
from devenv.engine.shape import ContainerShape
from devenv.engine.tarfiles import root_tar
from devenv.engine.transfer import ImageTransfer
from devenv.engine.upperdir import layer_changes, layer_dirs
from devenv.engine.volumes import Volumes, ensure_volume, remove_volume_if_owned, volume_owner
from devenv.errors import DevenvError, EngineError, ImageMissing
from devenv.refs import split_ref


class Engine(ImageTransfer):
    """A thin adapter over docker-py's low-level API; decides nothing."""

    def __init__(self, api: Any = None, connection: Connection | None = None) -> None:
        self._api = api
        self._connection = connection
        self._server: Server | None = None
        self._info: dict[str, Any] | None = None
        self._lock = threading.RLock()  # what threads share: lazy answers, networks, volumes

    def prepare_for_threads(self) -> None:
        """Settle the client before worker threads use it: they then only make requests
        (the SDK's session serves separate requests from several threads)."""
        with self._lock:
            _ = self.server

    # ---- connection (settings from devenv.engine.connection; /version asked once) --------------
    @property
    def connection(self) -> Connection:
        if self._connection is None:
            self._connection = resolve()
        return self._connection

    @property
    def api(self) -> Any:
        if self._api is None:
            with engine_errors("connecting"):
                self._api, self._server = make_client(self.connection)
        return self._api

    @property
    def server(self) -> Server:
        """Which engine answers (Docker Engine, Podman, Docker Desktop), from its /version."""
        if self._server is None:
            api = self.api
            if self._server is None:  # an injected client: ask it
                with engine_errors("asking the engine's version"):
                    self._server = Server.from_version(api.version(api_version=False))
        return self._server

    def info(self) -> dict[str, Any]:
        """The engine's /info (storage, rootless, OS), asked at most once."""
        with self._lock:
            if self._info is None:
                with engine_errors("asking the engine about itself"):
                    self._info = dict(self.api.info())
            return self._info

    @property
    def rootless(self) -> bool:
        return rootless(self.info())

    # ---- observe -------------------------------------------------------------------------
    def observe(self, names: list[str]) -> Observed:
        """devenv's containers, any container bearing one of `names`, and all images, as
        devenv.engine.observe reads them (the answers from the memo read the same way)."""
        with engine_errors("observing the engine's containers"):
            return observe(SdkReader(self.api), names, self.connection.local)

    def images(self) -> tuple[ObservedImage, ...]:
        with engine_errors("listing images"):
            return tuple(ObservedImage.from_summary(raw) for raw in self.api.images())

    # ---- images --------------------------------------------------------------------------
    def pull(self, ref: str, as_ref: str | None = None) -> None:
        """Pull `ref` (and tag it `as_ref`); an image the registry lacks is ImageMissing."""
        import docker.errors

        repo, tag = split_ref(ref)
        with engine_errors(f"pulling {ref}"):
            try:
                events = self.api.pull(repo, tag=tag, stream=True, decode=True)
            except docker.errors.NotFound:
                raise ImageMissing(f"{ref} is not in its registry") from None
            for event in events:
                if "error" in event:
                    raise EngineError(f"pulling {ref}: {event['error']}")
            if as_ref and as_ref != ref:
                target_repo, target_tag = split_ref(as_ref)
                self.api.tag(ref, target_repo, target_tag)

    def build(
        self,
        want: BuildTarget,
        log_path: Path,
        on_line: Callable[[str], None] = lambda _line: None,
        network: str | None = None,
    ) -> str:
        """Build `want.image`; stream lines to `on_line` and the log file; return the image id.
        BuildKit through the docker CLI where it works (apt's caches kept between builds),
        else the engine's classic builder: the same recipe, the same build hash."""
        labels = L.ownership(
            {L.KIND: "env", L.ENV: want.name, L.BUILD_HASH: want.rendered.build_hash}
        )
        found = self._buildkit_build(want, log_path, on_line, labels, network)
        if found is not None:
            return found or self._image_id(want.image)
        with build_context(want.rendered) as ctx:
            return self.build_from(
                want.image, want.name, log_path, on_line, labels, path=ctx, network_mode=network
            )

    def _buildkit_build(
        self,
        want: BuildTarget,
        log_path: Path,
        on_line: Callable[[str], None],
        labels: dict[str, str],
        network: str | None,
    ) -> str | None:
        """The BuildKit build (see devenv.engine.buildkit), or None where it cannot run:
        no such docker CLI, or Podman (its compat API has no BuildKit session)."""
        cli = None if self.server.podman else find_cli()
        if cli is None or not want.rendered.buildkit_dockerfile:
            return None
        with build_context(want.rendered, buildkit=True) as ctx:
            return buildkit_build(
                cli,
                self.connection,
                want.image,
                want.name,
                log_path,
                on_line,
                labels,
                context=Path(ctx),
                network=network,
            )

    def build_from(
        self,
        tag: str,
        what: str,
        log_path: Path,
        on_line: Callable[[str], None],
        labels: dict[str, str],
        **source: Any,
    ) -> str:
        """Build `tag` from `source` (path=FOLDER, or fileobj=TAR with custom_context=True;
        dockerfile, buildargs, target, network_mode); a failure is one BuildError."""
        with BuildLog(log_path) as log, engine_errors(f"building {tag}"):
            stream = self.api.build(
                tag=tag, rm=True, forcerm=True, decode=True, labels=labels, **source
            )
            image_id = follow(stream, log, log_path, what, on_line)
        # Podman's builds (buildah) report no aux ID
        return image_id or self._image_id(tag)

    def _image_id(self, ref: str) -> str:
        with engine_errors(f"inspecting {ref}"):
            return str(self.api.inspect_image(ref)["Id"])

    def remove_image(self, ref: str) -> None:
        with engine_errors(f"removing image {ref}"):
            self.api.remove_image(ref, noprune=False)

    def try_remove_image(self, ref: str) -> str | None:
        """Remove an image name; None when done, else why the engine kept it (e.g. in use)."""
        try:
            self.remove_image(ref)
        except DevenvError as exc:
            return exc.message
        return None

    # ---- containers ----------------------------------------------------------------------
    def create(self, shape: ContainerShape, name: str) -> str:
        """Create (not start) a container of `shape` under `name`; return its id."""
        api, networks = self.api, shape.networks
        port_bindings = {f"{p.container}/{p.protocol}": (p.bind, p.host) for p in shape.ports}
        with engine_errors(f"creating container {name}"):
            for volume in shape.volumes:
                self._ensure_volume(volume, shape.name)
            for network in networks:
                self._ensure_network(network, shape)
            host_config = api.create_host_config(
                port_bindings=port_bindings,
                binds=[m.bind for m in shape.mounts],
                init=shape.init,
                restart_policy={"Name": shape.restart_policy},
                network_mode=networks[0] if networks else None,
            )
            keep_id = self.server.podman and self.rootless
            if keep_id:  # the host user keeps its uid inside: what it makes in shared folders
                host_config["UsernsMode"] = "keep-id"  # is its own; root still starts the box
            endpoints = (
                api.create_networking_config(
                    {networks[0]: api.create_endpoint_config(aliases=[shape.name])}
                )
                if networks
                else None
            )
            entrypoint, command = None, shape.command
            if shape.image_entrypoint:
                config = api.inspect_image(shape.image).get("Config") or {}
                entrypoint, command = shape.image_start(config)
            created = api.create_container(
                image=shape.image,
                name=name,
                entrypoint=entrypoint,
                command=command,
                environment=shape.environment,
                working_dir=shape.workdir,
                labels=shape.labels,
                ports=[(p.container, p.protocol) for p in shape.ports],
                host_config=host_config,
                hostname=shape.name,
                user="0:0" if keep_id else None,
                detach=True,
                networking_config=endpoints,
            )
            for network in networks[1:]:
                api.connect_container_to_network(created["Id"], network, aliases=[shape.name])
        return str(created["Id"])

    def put_files(
        self, container: str, folder: str, files: Mapping[str, tuple[bytes, int]]
    ) -> None:
        """Write `files` (name → content, mode) into `folder` of a container, owned by root:
        how a created box gets the files devenv keeps on this machine (never bind-mounted)."""
        with engine_errors(f"copying files into {container[:12]}"):
            if not self.api.put_archive(container, "/", root_tar(folder, files)):
                raise EngineError(f"the engine refused the files for {folder} in {container[:12]}")

    def _ensure_volume(self, name: str, env: str) -> None:
        with self._lock:  # two envs of a folder made at once look for it one after the other
            ensure_volume(self.api, name, env)

    def _ensure_network(self, name: str, shape: ContainerShape) -> None:
        with self._lock:  # the engine would make a second network of the same name
            ensure_network(self.api, name, shape)

    def repair(self, container: str, shape: ContainerShape, repairs: Sequence[str]) -> None:
        """Put right in place what the engine can change on a live container: its restart
        policy, the networks it was taken off, a pause (devenv.converge.verdict decides)."""
        api = self.api
        with engine_errors(f"repairing {container[:12]}"):
            if "restart_policy" in repairs:
                api.update_container(container, restart_policy={"Name": shape.restart_policy})
            if "networks" in repairs:
                inspect = api.inspect_container(container)
                on = set((inspect.get("NetworkSettings") or {}).get("Networks") or {})
                for network in (n for n in shape.networks if n not in on):
                    self._ensure_network(network, shape)
                    api.connect_container_to_network(container, network, aliases=[shape.name])
            if "unpause" in repairs:
                api.unpause(container)

    def remove_network_if_unused(self, name: str) -> bool:
        """Remove a devenv-owned network that no container uses any more."""
        with engine_errors(f"removing network {name}"):
            return remove_if_unused(self.api, name)

    def start(self, container: str) -> None:
        import docker.errors

        with engine_errors(f"starting {container[:12]}"):
            try:
                self.api.start(container)
            except docker.errors.APIError as exc:
                raise EngineError(start_failure(exc)) from None

    def state(self, container: str) -> ContainerState:
        with engine_errors(f"inspecting {container[:12]}"):
            return ContainerState.from_inspect(self.api.inspect_container(container))

    def processes(self, container: str) -> list[tuple[str, str, str]] | None:
        """(pid, parent pid, command line) of each process in the box, from the engine's
        `top` (Docker numbers them as its host does, Podman as the box does); None when the
        engine does not say."""
        import docker.errors

        try:
            with engine_errors(f"listing the processes of {container[:12]}"):
                listed = self.api.top(container)
            titles = [str(title).upper() for title in listed["Titles"]]
            pid, ppid = titles.index("PID"), titles.index("PPID")
            return [(str(r[pid]), str(r[ppid]), str(r[-1])) for r in listed["Processes"]]
        except (DevenvError, docker.errors.DockerException, LookupError, ValueError, TypeError):
            return None

    def logs(
        self,
        container: str,
        tail: int | None = None,
        since: float | None = None,
        follow: bool = False,
    ) -> Iterator[bytes]:
        """The container's output (stdout and stderr, as `docker logs`), chunk by chunk."""
        with engine_errors(f"reading the output of {container[:12]}"):
            yield from self.api.logs(
                container,
                stream=True,
                follow=follow,
                tail="all" if tail is None else tail,
                since=since,
            )

    def exec_start(self, container: str, argv: list[str]) -> str:
        """Start `argv` in the container, detached; see exec_result."""
        with engine_errors(f"running {argv[0]} in {container[:12]}"):
            made = self.api.exec_create(container, argv, stdout=False, stderr=False)
            self.api.exec_start(made["Id"], detach=True)
        return str(made["Id"])

    def exec_result(self, exec_id: str) -> int | None:
        """The exit code of a started exec, or None while it runs."""
        with engine_errors("checking a command in the box"):
            found = self.api.exec_inspect(exec_id)
        return None if found.get("Running") else int(found.get("ExitCode") or 0)

    def exec_lines(
        self,
        container: str,
        argv: list[str],
        user: str | None,
        workdir: str | None,
        on_line: Callable[[str], None],
    ) -> int:
        """Run `argv` in the container as `user` in `workdir`; each line of its output (stdout
        and stderr) to `on_line` as it comes; its exit code."""
        with engine_errors(f"running {argv[0]} in {container[:12]}"):
            made = self.api.exec_create(
                container, argv, user=user or "", workdir=workdir, stdout=True, stderr=True
            )
            pending = [b"", b""]  # stdout's and stderr's unfinished lines
            for chunks in self.api.exec_start(made["Id"], stream=True, demux=True):
                for index, chunk in enumerate(chunks):
                    *lines, pending[index] = (pending[index] + (chunk or b"")).split(b"\n")
                    for line in lines:
                        on_line(line.decode(errors="replace"))
            for rest in pending:
                if rest:
                    on_line(rest.decode(errors="replace"))
            code = self.api.exec_inspect(made["Id"]).get("ExitCode")
        return int(code or 0)

    def stop(self, container: str, timeout: int = 10) -> None:
        with engine_errors(f"stopping {container[:12]}"):
            self.api.stop(container, timeout=timeout)

    def restart(self, container: str) -> None:
        with engine_errors(f"restarting {container[:12]}"):
            self.api.restart(container, timeout=10)

    def rename(self, container: str, name: str) -> None:
        with engine_errors(f"renaming {container[:12]} to {name}"):
            self.api.rename(container, name)

    def remove(self, container: str) -> None:
        """Remove a container; its anonymous and named volumes are kept (user data)."""
        with engine_errors(f"removing {container[:12]}"):
            self.api.remove_container(container, force=True, v=False)

    def diff(self, container: str) -> list[dict[str, Any]]:
        """The container's writable-layer changes (docker diff): read from its upper dir
        where that is exactly the engine's answer (see upperdir), else asked of the engine."""
        found = self._local_diff(container)
        if found is not None:
            return found
        with engine_errors(f"reading changes of {container[:12]}"):
            return list(self.api.diff(container) or [])

    def _local_diff(self, container: str) -> list[dict[str, Any]] | None:
        if not self.connection.local or self.server.podman:
            return None
        raw = self.inspect_container(container)
        dirs = layer_dirs(raw or {})
        if dirs is None:
            return None
        try:
            return layer_changes(*dirs)
        except OSError:  # unreadable here, or changing under the walk: the engine knows
            return None

    def commit(self, container: str, repository: str, tag: str, labels: dict[str, str]) -> str:
        """Keep a container's filesystem as an image (a snapshot before discarding it); paused
        while copied, where the engine can pause it."""
        changes = L.label_instructions(labels)
        pause = can_pause(self.info())
        with engine_errors(f"snapshotting {container[:12]}"):
            made = self.api.commit(
                container, repository=repository, tag=tag, changes=changes, pause=pause
            )
        return str(made["Id"])

    def inspect_container(self, ref: str) -> dict[str, Any] | None:
        """What the engine knows of the container `ref` (name or ID) names, or None."""
        import docker.errors

        with engine_errors(f"inspecting container {ref}"):
            try:
                return dict(self.api.inspect_container(ref))
            except docker.errors.NotFound:
                return None

    def exec_output(self, container: str, argv: list[str]) -> str:
        """Run `argv` as root in a running container; its stdout, or EngineError on failure."""
        with engine_errors(f"running {argv[0]} in {container[:12]}"):
            made = self.api.exec_create(container, argv, user="root", stdout=True, stderr=False)
            out = self.api.exec_start(made["Id"])
            code = self.api.exec_inspect(made["Id"]).get("ExitCode")
        if code:
            raise EngineError(f"{argv[0]} in {container[:12]} exited with {code}")
        return bytes(out).decode(errors="replace")

    def run_output(self, image: str, argv: list[str]) -> str:
        """Run `argv` in a throwaway container of `image` (no network); its stdout."""
        labels = L.ownership({L.KIND: "probe"})
        with engine_errors(f"running {argv[0]} in {image}"):
            made = self.api.create_container(
                image,
                entrypoint=argv[:1],
                command=argv[1:],
                user="root",
                labels=labels,
                network_disabled=True,
            )
            try:
                self.api.start(made["Id"])
                code = self.api.wait(made["Id"], timeout=120).get("StatusCode")
                out = self.api.logs(made["Id"], stdout=True, stderr=False)
            finally:
                self.api.remove_container(made["Id"], force=True)
        if code:
            raise EngineError(f"{argv[0]} in a container of {image} exited with {code}")
        return bytes(out).decode(errors="replace")

    def volumes(self) -> Volumes:
        """Access to volumes' contents (backup, restore); close it when done."""
        return Volumes(self.api, can_pause(self.info()))

    def remove_volume_if_owned(self, name: str) -> bool:
        return remove_volume_if_owned(self.api, name)

    def volume_owner(self, name: str) -> int | None:
        """The uid owning an existing volume that holds files; None when it is new or empty
        (its first mount gives it the owner of the image's folder) or unknown here."""
        return volume_owner(self.api, name) if self.connection.local else None
