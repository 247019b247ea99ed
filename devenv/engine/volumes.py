"""Named volumes' contents, read and written through the engine (for backups): a helper
container, created and never started, mounts the volume, and the archive API reads or writes
it. The helper's image is an empty one devenv imports for the purpose, so this works on an
engine that has lost every image, and nothing ever runs in it; both are removed after."""

from __future__ import annotations

import contextlib
import io
import tarfile
from collections.abc import Iterable, Iterator
from typing import Any

from devenv import labels as L
from devenv.engine.faults import engine_errors
from devenv.engine.observe import held_folder_owner
from devenv.errors import EngineError

HELPER_IMAGE = "devenv/volume-helper:empty"
MOUNTED = "/devenv-volume"  # where a helper mounts the volume; its archives are rooted here
TOP = MOUNTED.lstrip("/")  # the one top folder of every volume archive
CHUNK = 1 << 20


def find_volume(api: Any, name: str) -> dict[str, Any] | None:
    """The engine's record of the volume named exactly `name`: its name filter also
    matches volumes whose names merely contain it."""
    with engine_errors(f"inspecting volume {name}"):
        found = api.volumes(filters={"name": name}).get("Volumes") or []
    return next((dict(v) for v in found if v.get("Name") == name), None)


def volume_owner(api: Any, name: str) -> int | None:
    """The uid owning the volume's files, read where the engine keeps them (so only on the
    engine's own machine); None for a volume that is missing or holds nothing yet."""
    volume = find_volume(api, name)
    return None if volume is None else held_folder_owner(str(volume.get("Mountpoint") or ""))


def ensure_volume(api: Any, name: str, env: str) -> None:
    """The volume, made (labelled as the env's) unless one of that exact name exists."""
    if find_volume(api, name) is None:
        create_volume(api, name, env)


def create_volume(api: Any, name: str, env: str) -> None:
    with engine_errors(f"creating volume {name}"):
        api.create_volume(name=name, labels=L.ownership({L.ENV: env}))


def remove_volume_if_owned(api: Any, name: str) -> bool:
    """Remove a volume devenv made; any other is the user's and stays."""
    volume = find_volume(api, name)
    if volume is None or not L.owned(volume.get("Labels")):
        return False
    with engine_errors(f"removing volume {name}"):
        api.remove_volume(name)
    return True


@contextlib.contextmanager
def archive(api: Any, container: str, path: str) -> Iterator[Iterable[bytes]]:
    """`path` in the container as a tar stream, its response closed on the way out however
    much of it was read: the helper is removed next, and a response left half read would
    hold its connection open. The SDK's `get_archive` returns a generator that never closes
    its response (docker/docker-py#2766), so the same request goes through the client's
    public face as a `requests.Session` (`base_url`, `api_version`, `timeout`): the Engine
    API's own URL, a connect timeout and none while the archive streams, as `get_archive`."""
    import docker.errors
    import requests

    url = f"{api.base_url}/v{api.api_version}/containers/{container}/archive"
    response = api.get(
        url,
        params={"path": path},
        headers={"Accept-Encoding": "identity"},  # the engine's tar as it is, not gzipped
        stream=True,
        timeout=(api.timeout, None),
    )
    try:
        try:
            response.raise_for_status()
        except requests.HTTPError as exc:
            docker.errors.create_api_error_from_http_exception(exc)  # raises the SDK's error
        yield response.iter_content(CHUNK)
    finally:
        response.close()


class Volumes:
    """One command's access to volumes; `close` removes the helper image it made."""

    def __init__(self, api: Any, can_pause: bool) -> None:
        self.api = api
        self.can_pause = can_pause
        self._image = False

    @contextlib.contextmanager
    def held(self, container: str) -> Iterator[str]:
        """A running box kept still while its volumes are read, so they are read as of one
        moment: paused, or stopped and started again where the engine cannot pause."""
        how = "paused" if self.can_pause else "stopped"
        with engine_errors(f"holding {container[:12]} still for the backup"):
            (self.api.pause if self.can_pause else self.api.stop)(container)
        try:
            yield how
        finally:
            with engine_errors(f"resuming {container[:12]} after the backup"):
                (self.api.unpause if self.can_pause else self.api.start)(container)

    def exists(self, name: str) -> bool:
        return find_volume(self.api, name) is not None

    def users(self, name: str) -> list[str]:
        """The containers (any state) that mount the volume, by name."""
        with engine_errors(f"listing the containers of volume {name}"):
            found = self.api.containers(all=True, filters={"volume": name})
        return [str((c.get("Names") or ["?"])[0]).lstrip("/") for c in found]

    def create(self, name: str, env: str) -> None:
        create_volume(self.api, name, env)

    def remove(self, name: str) -> None:
        with engine_errors(f"removing volume {name}"):
            self.api.remove_volume(name)

    def size(self, name: str) -> int:
        """The size of the volume's archive, read once to the end (and thrown away)."""
        with self.read(name) as stream:
            return sum(len(chunk) for chunk in stream)

    @contextlib.contextmanager
    def read(self, name: str) -> Iterator[Iterable[bytes]]:
        """The volume as a tar stream whose one top folder is TOP."""
        with (
            self._helper(name, readonly=True) as helper,
            engine_errors(f"reading volume {name}"),
            archive(self.api, helper, MOUNTED) as chunks,
        ):
            yield chunks

    def holds_data(self, name: str) -> bool:
        with self.read(name) as stream, tarfile.open(fileobj=_Chunks(stream), mode="r|") as tar:
            return any(m.name.rstrip("/") != TOP for m in tar)

    def write(self, name: str, archive: Iterable[bytes]) -> None:
        """Extract `archive` (rooted at TOP, checked by the caller) into the volume."""
        with self._helper(name, readonly=False) as helper, engine_errors(f"writing volume {name}"):
            if not self.api.put_archive(helper, "/", iter(archive)):  # streamed, chunked
                raise EngineError(f"the engine refused the archive for volume {name}")

    @contextlib.contextmanager
    def _helper(self, name: str, readonly: bool) -> Iterator[str]:
        self._ensure_image()
        mode = ":ro" if readonly else ""
        with engine_errors(f"creating a helper container for volume {name}"):
            created = self.api.create_container(
                HELPER_IMAGE,
                command=["/none"],  # never started
                labels=L.ownership({L.KIND: "volume-helper"}),
                host_config=self.api.create_host_config(binds=[f"{name}:{MOUNTED}{mode}"]),
            )
        try:
            yield str(created["Id"])
        finally:
            with engine_errors("removing the helper container"):
                self.api.remove_container(created["Id"], force=True)

    def _ensure_image(self) -> None:
        if self._image:
            return
        empty = io.BytesIO()
        tarfile.open(fileobj=empty, mode="w").close()
        repo, tag = HELPER_IMAGE.split(":")
        changes = L.label_instructions(L.ownership({L.KIND: "volume-helper"}))
        with engine_errors("importing the empty helper image"):
            self.api.import_image_from_data(
                empty.getvalue(), repository=repo, tag=tag, changes=changes
            )
        self._image = True

    def close(self) -> None:
        if self._image:
            with contextlib.suppress(Exception), engine_errors("removing the helper image"):
                self.api.remove_image(HELPER_IMAGE)
            self._image = False


class _Chunks(io.RawIOBase):
    """A file over an iterable of byte chunks, for tarfile's stream mode."""

    def __init__(self, chunks: Iterable[bytes]) -> None:
        self._chunks = iter(chunks)
        self._rest = b""

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        while not self._rest:
            chunk = next(self._chunks, None)
            if chunk is None:
                return 0
            self._rest = chunk
        size = min(len(buffer), len(self._rest))
        buffer[:size] = self._rest[:size]
        self._rest = self._rest[size:]
        return size
