"""What the applier asks of an engine, as an interface: devenv.engine.Engine is the real one,
tests pass a fake that records calls. Also the record of one container's run state."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from devenv.engine.observed import Observed, ObservedImage, PublishedPort

if TYPE_CHECKING:
    from devenv.build.render import Rendered
    from devenv.engine.connection import Connection
    from devenv.engine.shape import ContainerShape


class BuildTarget(Protocol):
    """What a build needs to know of an env: its name, its image tag and the recipe."""

    @property
    def name(self) -> str: ...

    @property
    def image(self) -> str: ...

    @property
    def rendered(self) -> Rendered: ...


@dataclass(frozen=True)
class ContainerState:
    """One container's run state, as the engine's inspect reports it."""

    status: str  # created, running, restarting, exited, dead, paused
    exit_code: int = 0
    restarts: int = 0
    error: str = ""
    ports: tuple[PublishedPort, ...] = ()
    pid: int = 0  # the box's first process, as the engine's host numbers it (0: none)

    @property
    def running(self) -> bool:
        return self.status == "running"

    @classmethod
    def from_inspect(cls, raw: dict[str, Any]) -> ContainerState:
        state = raw.get("State") or {}
        ports = []
        for key, bindings in ((raw.get("NetworkSettings") or {}).get("Ports") or {}).items():
            number, _, protocol = key.partition("/")
            for binding in bindings or []:
                if binding.get("HostPort") and binding.get("HostIp") != "::":
                    bind = binding.get("HostIp") or "0.0.0.0"
                    ports.append(
                        PublishedPort(int(number), protocol, bind, int(binding["HostPort"]))
                    )
        return cls(
            status=str(state.get("Status") or "unknown"),
            exit_code=int(state.get("ExitCode") or 0),
            restarts=int(raw.get("RestartCount") or 0),
            error=str(state.get("Error") or ""),
            ports=tuple(ports),
            pid=int(state.get("Pid") or 0),
        )


class EngineAPI(Protocol):
    """The engine calls apply, the work guard and the image cache make (see engine.py)."""

    @property
    def connection(self) -> Connection: ...
    def observe(self, names: list[str]) -> Observed: ...
    def prepare_for_threads(self) -> None: ...
    def images(self) -> tuple[ObservedImage, ...]: ...
    def pull(self, ref: str, as_ref: str | None = None) -> None: ...
    def build(
        self,
        want: BuildTarget,
        log_path: Path,
        on_line: Callable[[str], None] = ...,
        network: str | None = None,
    ) -> str: ...
    def build_from(
        self,
        tag: str,
        what: str,
        log_path: Path,
        on_line: Callable[[str], None],
        labels: dict[str, str],
        **source: Any,
    ) -> str: ...
    def devenv_images(self, labels: dict[str, str]) -> list[dict[str, Any]]: ...
    def try_remove_image(self, ref: str) -> str | None: ...
    def import_rootfs(self, tar_path: Path, ref: str, labels: dict[str, str]) -> None: ...
    def package_versions(self, image: str) -> str: ...
    def create(self, shape: ContainerShape, name: str) -> str: ...
    def put_files(
        self, container: str, folder: str, files: Mapping[str, tuple[bytes, int]]
    ) -> None: ...
    def start(self, container: str) -> None: ...
    def restart(self, container: str) -> None: ...
    def repair(self, container: str, shape: ContainerShape, repairs: Sequence[str]) -> None: ...
    def stop(self, container: str, timeout: int = 10) -> None: ...
    def rename(self, container: str, name: str) -> None: ...
    def remove(self, container: str) -> None: ...
    def remove_network_if_unused(self, name: str) -> bool: ...
    def diff(self, container: str) -> list[dict[str, Any]]: ...
    def commit(self, container: str, repository: str, tag: str, labels: dict[str, str]) -> str: ...
    def state(self, container: str) -> ContainerState: ...
    def processes(self, container: str) -> list[tuple[str, str, str]] | None: ...
    def logs(
        self,
        container: str,
        tail: int | None = None,
        since: float | None = None,
        follow: bool = False,
    ) -> Iterator[bytes]: ...
    def exec_start(self, container: str, argv: list[str]) -> str: ...
    def exec_result(self, exec_id: str) -> int | None: ...
    def exec_lines(
        self,
        container: str,
        argv: list[str],
        user: str | None,
        workdir: str | None,
        on_line: Callable[[str], None],
    ) -> int: ...
    def pull_from_registry(
        self, ref: str, on_event: Callable[[dict[str, Any]], None] = ...
    ) -> str: ...
    def push_to_registry(
        self, ref: str, on_event: Callable[[dict[str, Any]], None] = ...
    ) -> str: ...
    def inspect_image(self, ref: str) -> dict[str, Any] | None: ...
    def tag(self, source: str, ref: str) -> None: ...
    def remove_image(self, ref: str) -> None: ...
