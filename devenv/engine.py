"""The only module that imports docker: observe, pull, build, create, swap, remove.

Every SDK or transport error leaves this module as one DevenvError sentence. Observation
costs a constant number of listing calls however many envs and fields there are.
"""

from __future__ import annotations

import contextlib
import re
import tempfile
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any, BinaryIO

from devenv import labels as L
from devenv.connection import Connection, current_hint, current_where, resolve
from devenv.desired import DOCKER_SOCKET, SSH_DIR, DesiredEnv
from devenv.errors import BuildError, DevenvError, EngineError, ImageMissing, RegistryError
from devenv.images.registry import explain, scrub
from devenv.observed import Observed, ObservedContainer, ObservedImage, short_name
from devenv.refs import label_instructions, split_ref

__all__ = ["Engine", "engine_errors", "label_instructions", "split_ref"]
from devenv.server import Server, rootless

LOG_TAIL = 15
MIN_API_VERSION = "1.24"  # used only for the first /version call, which sets the real one
ANSI_RE = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")  # colour codes the engine adds to stderr lines


def _explain(exc: BaseException) -> str:
    """The shortest true sentence about a transport or API failure."""
    text = str(getattr(exc, "explanation", None) or exc)
    if isinstance(exc, PermissionError) or "Permission denied" in text:
        return "permission denied"
    if "No such file or directory" in text or "FileNotFoundError" in text:
        return "no engine socket there"
    if "Connection refused" in text:
        return "connection refused"
    if "Read timed out" in text or "timed out" in text:
        return "the engine did not answer in time"
    return text.strip().splitlines()[0] if text.strip() else type(exc).__name__


@contextlib.contextmanager
def engine_errors(what: str) -> Iterator[None]:
    """Turn SDK/transport exceptions raised while doing `what` into one EngineError."""
    import docker.errors
    import requests.exceptions

    try:
        yield
    except docker.errors.ImageNotFound as exc:
        raise EngineError(f"{what}: image not found ({_explain(exc)})") from None
    except docker.errors.NotFound as exc:
        raise EngineError(f"{what}: not found ({_explain(exc)})") from None
    except docker.errors.APIError as exc:
        raise EngineError(f"{what}: the engine said: {_explain(exc)}") from None
    except (docker.errors.DockerException, requests.exceptions.RequestException, OSError) as exc:
        raise EngineError(
            f"{what}: cannot reach the Docker engine at {current_where()} ({_explain(exc)})",
            current_hint(),
        ) from None


def _client(connection: Connection) -> tuple[Any, Server]:
    """A low-level client for `connection`, and the engine's /version (asked once, which also
    picks the API version, as version="auto" would)."""
    import docker
    import docker.tls

    tls: Any = False
    if connection.tls is not None:
        files = connection.tls
        cert = (files.cert, files.key) if files.cert and files.key else None
        tls = docker.tls.TLSConfig(client_cert=cert, ca_cert=files.ca, verify=files.verify)
    api = docker.APIClient(
        **connection.client_kwargs(), tls=tls, version=MIN_API_VERSION, timeout=120
    )
    if connection.ssh_jump:  # the SDK adds "-p 22", which would override ~/.ssh/config's Port
        api._custom_adapter.ssh_host = connection.ssh_jump
    raw = api.version(api_version=False)
    api._version = str(raw.get("ApiVersion") or MIN_API_VERSION)
    return api, Server.from_version(raw)


class Engine:
    """A thin adapter over docker-py's low-level API; decides nothing."""

    def __init__(self, api: Any = None, connection: Connection | None = None) -> None:
        self._api = api
        self._connection = connection
        self._server: Server | None = None
        self._info: dict[str, Any] | None = None

    # ---- connection (settings from devenv.connection; /version asked once) --------------
    @property
    def connection(self) -> Connection:
        if self._connection is None:
            self._connection = resolve()
        return self._connection

    @property
    def api(self) -> Any:
        if self._api is None:
            with engine_errors("connecting"):
                self._api, self._server = _client(self.connection)
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
        if self._info is None:
            with engine_errors("asking the engine about itself"):
                self._info = dict(self.api.info())
        return self._info

    @property
    def rootless(self) -> bool:
        return rootless(self.info())

    # ---- observe -------------------------------------------------------------------------
    def observe(self, names: list[str]) -> Observed:
        """devenv's containers, any container bearing one of `names`, and all images."""
        with engine_errors("listing containers"):
            owned = self.api.containers(all=True, filters={"label": f"{L.MANAGED}=true"})
            named = self.api.containers(all=True, filters={"name": names}) if names else []
        by_id = {raw["Id"]: raw for raw in [*owned, *named]}
        containers = tuple(ObservedContainer.from_summary(raw) for raw in by_id.values())
        return Observed(containers, self.images())

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
        want: DesiredEnv,
        log_path: Path,
        on_line: Callable[[str], None] = lambda _line: None,
        network: str | None = None,
    ) -> str:
        """Build `want.image`; stream lines to `on_line` and the log file; return the image id."""
        log_path.parent.mkdir(parents=True, exist_ok=True)
        step = "preparing the build"
        tail: list[str] = []
        image_id = ""
        labels = {**L.extra_labels(), L.MANAGED: "true", L.KIND: "env", L.ENV: want.name}
        labels[L.BUILD_HASH] = want.rendered.build_hash
        with tempfile.TemporaryDirectory(prefix="devenv-build-") as ctx, log_path.open("w") as log:
            (Path(ctx) / "Dockerfile").write_text(want.rendered.dockerfile)
            for name, content in want.rendered.files.items():
                target = Path(ctx) / name
                target.write_bytes(content)
                target.chmod(0o755)
            with engine_errors(f"building {want.image}"):
                stream = self.api.build(
                    path=ctx,
                    tag=want.image,
                    rm=True,
                    forcerm=True,
                    decode=True,
                    labels=labels,
                    network_mode=network,
                )
                for chunk in stream:
                    if "stream" in chunk:
                        for raw_line in chunk["stream"].splitlines():
                            line = ANSI_RE.sub("", raw_line)
                            log.write(line + "\n")
                            if line.startswith("Step "):
                                step = line
                            if line.strip():
                                tail = [*tail[-(LOG_TAIL - 1) :], line]
                                on_line(line)
                    if "error" in chunk:
                        log.write(chunk["error"] + "\n")
                        log.flush()
                        shown = "\n    ".join(tail[-LOG_TAIL:])
                        full = any("No space left on device" in line for line in tail)
                        why = "the engine's disk is full. " if full else ""
                        raise BuildError(
                            f"building {want.name} failed at {step}: {why}{chunk['error'].strip()}"
                            + (f"\n  last output:\n    {shown}" if shown else ""),
                            f"full log: {log_path}",
                            str(log_path),
                        )
                    if "aux" in chunk and "ID" in chunk["aux"]:
                        image_id = chunk["aux"]["ID"]
                if not image_id:  # Podman's builds (buildah) report no aux ID
                    image_id = str(self.api.inspect_image(want.image)["Id"])
        return image_id

    def import_rootfs(self, tar_path: Path, ref: str, labels: dict[str, str]) -> None:
        repo, tag = split_ref(ref)
        changes = ['CMD ["bash"]', *label_instructions(labels)]
        with engine_errors(f"importing {ref}"):
            self.api.import_image(src=str(tar_path), repository=repo, tag=tag, changes=changes)

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
    def create(self, want: DesiredEnv, name: str, host_env_dir: Path) -> str:
        """Create (not start) the container for `want` under `name`; return its id."""
        api, spec, config = self.api, want.spec_file.spec, want.config
        port_bindings = {}
        for entry in spec.ports:
            port_bindings[f"{entry.container}/{entry.protocol}"] = (entry.bind, entry.host)
        binds = [entry for entry in config["shared"]]
        binds += [entry for entry in config["volumes"]]
        environment = dict(config["env"])
        if config["user"]:
            environment.update(
                DEVENV_USER=config["user"]["name"],
                DEVENV_UID=str(config["user"]["uid"]),
                DEVENV_GID=str(config["user"]["gid"]),
            )
        if config["docker_socket"]:
            binds.append(f"{DOCKER_SOCKET}:{DOCKER_SOCKET}:rw")
        if config["sshd"]:
            binds.append(f"{host_env_dir / 'ssh'}:{SSH_DIR}:rw")
            environment["DEVENV_SSHD"] = "1"
        networks = list(config["networks"])
        with engine_errors(f"creating container {name}"):
            for volume in spec.volumes:
                self._ensure_volume(volume.name, want.name)
            for network in networks:
                self._ensure_network(network, want, own=network not in spec.networks.join)
            host_config = api.create_host_config(
                port_bindings=port_bindings,
                binds=binds,
                init=True,
                restart_policy={"Name": "unless-stopped"},
                network_mode=networks[0] if networks else None,
            )
            keep_id = self.server.podman and self.rootless
            if keep_id:  # the host user keeps its uid inside: what it makes in shared folders
                host_config["UsernsMode"] = "keep-id"  # is its own; root still starts the box
            endpoints = (
                api.create_networking_config(
                    {networks[0]: api.create_endpoint_config(aliases=[want.name])}
                )
                if networks
                else None
            )
            created = api.create_container(
                image=want.image,
                name=name,
                command=config["command"],
                environment=environment,
                working_dir=config["workdir"],
                labels=want.labels,
                ports=[(p.container, p.protocol) for p in spec.ports],
                host_config=host_config,
                hostname=want.name,
                user="0:0" if keep_id else None,
                detach=True,
                networking_config=endpoints,
            )
            for network in networks[1:]:
                api.connect_container_to_network(created["Id"], network, aliases=[want.name])
        return str(created["Id"])

    def _ensure_volume(self, name: str, env: str) -> None:
        if not self.api.volumes(filters={"name": name}).get("Volumes"):
            labels = {**L.extra_labels(), L.MANAGED: "true", L.ENV: env}
            self.api.create_volume(name=name, labels=labels)

    def _ensure_network(self, name: str, want: DesiredEnv, own: bool) -> None:
        if self.api.networks(names=[name]):
            return
        if not own:
            raise EngineError(f"{want.name}: network {name!r} does not exist", "create it first")
        labels = {**L.extra_labels(), L.MANAGED: "true", L.PROJECT: want.project}
        self.api.create_network(name, driver="bridge", labels=labels)

    def remove_network_if_unused(self, name: str) -> bool:
        """Remove a devenv-owned network that no container uses any more."""
        with engine_errors(f"removing network {name}"):
            found = [n for n in self.api.networks(names=[name]) if n.get("Name") == name]
            if not found or not L.owned(found[0].get("Labels")):
                return False
            if self.api.inspect_network(found[0]["Id"]).get("Containers"):
                return False
            self.api.remove_network(found[0]["Id"])
            return True

    def start(self, container: str) -> None:
        with engine_errors(f"starting {container[:12]}"):
            try:
                self.api.start(container)
            except Exception as exc:
                raise EngineError(_start_failure(exc)) from None

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
        """The container's writable-layer changes (docker diff)."""
        with engine_errors(f"reading changes of {container[:12]}"):
            return list(self.api.diff(container) or [])

    def commit(self, container: str, repository: str, tag: str, labels: dict[str, str]) -> str:
        """Keep a container's filesystem as an image (a snapshot before discarding it)."""
        changes = label_instructions(labels)
        with engine_errors(f"snapshotting {container[:12]}"):
            made = self.api.commit(container, repository=repository, tag=tag, changes=changes)
        return str(made["Id"])

    def snapshots(self) -> list[dict[str, str]]:
        """devenv's snapshot images, newest first."""
        import datetime

        rows = []
        found = self.devenv_images({L.KIND: "snapshot"})
        for raw in found:
            for ref in map(short_name, raw.get("RepoTags") or []):
                stamp = datetime.datetime.fromtimestamp(
                    raw.get("Created", 0), datetime.timezone.utc
                )
                env = (raw.get("Labels") or {}).get(L.ENV, "")
                rows.append({"ref": ref, "env": env, "created": stamp.isoformat(), "id": raw["Id"]})
        return sorted(rows, key=lambda r: r["created"], reverse=True)

    def remove_volume(self, name: str) -> None:
        with engine_errors(f"removing volume {name}"):
            self.api.remove_volume(name)

    def volume_owned(self, name: str) -> bool:
        with engine_errors(f"inspecting volume {name}"):
            found = self.api.volumes(filters={"name": name}).get("Volumes") or []
        return any(v.get("Name") == name and L.owned(v.get("Labels")) for v in found)

    def login(self, registry: str, username: str, password: str) -> None:
        """Have the engine log in to `registry` (it contacts it), so a wrong password fails
        here, before anything is stored; the password never reaches an error message."""
        import docker.errors

        with engine_errors(f"logging in to {registry}"):
            try:
                self.api.login(username=username, password=password, registry=registry, reauth=True)
            except docker.errors.APIError as exc:
                raise _registry_error(registry, scrub(_explain(exc), password), "login") from None

    def pull_from_registry(
        self, ref: str, on_event: Callable[[dict[str, Any]], None] = lambda _e: None
    ) -> str:
        """Pull `ref` with progress events; return its image id. Failures are RegistryError."""
        import docker.errors

        repo, tag = split_ref(ref)
        with engine_errors(f"pulling {ref}"):
            try:
                for event in self.api.pull(repo, tag=tag, stream=True, decode=True):
                    if "error" in event:
                        raise _registry_error(ref, str(event["error"]), "pulling")
                    on_event(event)
            except docker.errors.APIError as exc:
                raise _registry_error(ref, _explain(exc), "pulling") from None
            return str(self.api.inspect_image(ref)["Id"])

    def push_to_registry(
        self, ref: str, on_event: Callable[[dict[str, Any]], None] = lambda _e: None
    ) -> str:
        """Push `ref` with progress events, using docker's stored login; return its digest."""
        import docker.errors

        repo, tag = split_ref(ref)
        digest = ""
        with engine_errors(f"pushing {ref}"):
            try:
                for event in self.api.push(repo, tag=tag, stream=True, decode=True):
                    if "error" in event:
                        raise _registry_error(ref, str(event["error"]), "pushing")
                    digest = str((event.get("aux") or {}).get("Digest") or digest)
                    on_event(event)
            except docker.errors.APIError as exc:
                raise _registry_error(ref, _explain(exc), "pushing") from None
        return digest

    def inspect_image(self, ref: str) -> dict[str, Any] | None:
        """What the engine knows of the image `ref` names (id, labels, size), or None."""
        import docker.errors

        with engine_errors(f"inspecting image {ref}"):
            try:
                return dict(self.api.inspect_image(ref))
            except docker.errors.NotFound:
                return None

    def tag(self, source: str, ref: str) -> None:
        """Give the image `source` names one more name, `ref` (moving `ref` if it existed)."""
        repo, tag = split_ref(ref)
        with engine_errors(f"tagging {source} as {ref}"):
            self.api.tag(source, repo, tag, force=True)

    def devenv_images(self, labels: dict[str, str]) -> list[dict[str, Any]]:
        """Summaries (size, created, tags, labels) of devenv's images carrying `labels` too."""
        with engine_errors("listing images"):
            found = self.api.images(filters={"label": f"{L.MANAGED}=true"})
        # the other labels are matched here: Podman's API finds nothing for two label filters
        return [
            raw
            for raw in found
            if all((raw.get("Labels") or {}).get(k) == v for k, v in labels.items())
        ]

    def all_containers(self) -> list[dict[str, Any]]:
        """Every container, stopped too, as one listing call: what images are in use."""
        with engine_errors("listing containers"):
            return list(self.api.containers(all=True))

    def save_images(self, names: list[str], out: BinaryIO) -> None:
        """`docker save` of `names` (tags keep their names; ids load untagged) into `out`."""
        with engine_errors("saving images"):
            api = self.api
            response = api._get(api._url("/images/get"), params={"names": names}, stream=True)
            api._raise_for_status(response)
            for chunk in response.iter_content(chunk_size=1 << 20):
                out.write(chunk)

    def load_images(self, chunks: Iterable[bytes]) -> list[str]:
        """`docker load` from a stream of chunks; return what the engine says it loaded."""
        loaded = []
        with engine_errors("loading images"):
            for event in self.api.load_image(iter(chunks)) or []:
                if "error" in event:
                    raise EngineError(f"loading images: the engine said: {event['error']}")
                found = re.search(r"Loaded image(?: ID)?: (\S+)", str(event.get("stream", "")))
                if found:
                    loaded.append(found.group(1))
        return loaded


def _start_failure(exc: BaseException) -> str:
    text = str(getattr(exc, "explanation", None) or exc)
    taken = re.search(r"(?:Bind for |listen \w+ )([0-9.:\[\]a-f]+?):(\d+)", text)
    if taken or "port is already allocated" in text or "address already in use" in text:
        where = f"{taken.group(1)}:{taken.group(2)}" if taken else "a published port"
        return f"host port {where} is already taken by another process or container"
    return f"the container did not start: {text.strip().splitlines()[0] if text.strip() else exc}"


def _registry_error(ref: str, text: str, action: str) -> RegistryError:
    """One sentence for a registry failure, with its kind (see devenv.registry.explain)."""
    kind, message, hint = explain(ref, text, action)
    return RegistryError(message, kind, hint)
