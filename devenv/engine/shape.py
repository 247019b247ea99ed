"""The shape of a container as the engine takes it: its image, command, mounts, ports,
networks and labels. Produced once from the spec (devenv.converge.desired), consumed by
create and by drift comparison alike."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from devenv.errors import DevenvError

ENTRYPOINT = "/usr/local/bin/devenv-entrypoint"


def image_start(
    config: Mapping[str, Any], command: list[str] | None, env: str
) -> tuple[list[str], list[str]]:
    """`entrypoint: image` as every runner of the box says it (create, and the peers'
    formats): devenv's start-up, then the image's ENTRYPOINT with `command` as its arguments
    (or the image's CMD), as Compose runs a service's `command`. Both are given: a runner
    that is handed an entrypoint drops the image's CMD."""
    entrypoint = list(config.get("Entrypoint") or [])
    args = list(command if command is not None else config.get("Cmd") or [])
    if not entrypoint and not args:
        raise DevenvError(
            "its image has neither an ENTRYPOINT nor a CMD to run (entrypoint: image)",
            "give the spec a command, or remove `entrypoint: image` so the box idles",
            env=env,
        )
    return [ENTRYPOINT, *entrypoint], args


@dataclass(frozen=True)
class Mount:
    """A bind mount (host path) or a named volume, as create passes it and the engine lists it."""

    kind: Literal["bind", "volume"]
    source: str  # a host path, or a volume's name
    target: str
    readonly: bool = False

    @property
    def bind(self) -> str:
        """'SOURCE:TARGET:rw|ro', the engine's binds entry (and the config label's form)."""
        return f"{self.source}:{self.target}:{'ro' if self.readonly else 'rw'}"

    @property
    def key(self) -> str:
        """'KIND:SOURCE:TARGET:MODE', as devenv.engine.observed.mount_key reads a live mount."""
        return f"{self.kind}:{self.bind}"


@dataclass(frozen=True)
class PortBinding:
    """A container port published on the host (`host` None: the engine picks one)."""

    bind: str
    host: int | None
    container: int
    protocol: str
    exposed: bool  # reachable from other machines, not only this one (see spec Port.exposed)

    def __str__(self) -> str:
        """'BIND:HOST:CONTAINER[/PROTO]' (HOST empty when the engine picks it)."""
        proto = "" if self.protocol == "tcp" else f"/{self.protocol}"
        return f"{self.bind}:{self.host or ''}:{self.container}{proto}"


@dataclass(frozen=True)
class ContainerShape:
    """Everything a container of an env is created with: the one description that create
    consumes and drift comparison reads. The box's user is applied at start (DEVENV_USER…)."""

    name: str  # the env's name: also its hostname and its alias on its networks
    image: str
    command: list[str] | None = field(hash=False)
    workdir: str | None
    environment: dict[str, str] = field(hash=False)
    labels: dict[str, str] = field(hash=False)
    mounts: tuple[Mount, ...]
    ports: tuple[PortBinding, ...]
    networks: tuple[str, ...]  # the first is the network mode, the others are joined after
    external_networks: frozenset[str]  # must exist already; devenv creates the others
    project: str  # the spec folder: the owner of the networks devenv creates
    init: bool = True
    restart_policy: str = "unless-stopped"
    # devenv's folder of the env's SSH keys on this machine, copied into SSH_DIR before the
    # box first starts: never mounted, so no box can write where devenv writes
    ssh_copy: str | None = None
    # `entrypoint: image`: the image keeps its base's ENTRYPOINT and CMD (the Dockerfile sets
    # none), so the built image itself is their truth, read at create (see image_start)
    image_entrypoint: bool = False

    def image_start(self, config: Mapping[str, Any]) -> tuple[list[str], list[str]]:
        """The entrypoint and command to create the box with, from its image's `Config`."""
        return image_start(config, self.command, self.name)

    @property
    def mount_keys(self) -> frozenset[str]:
        """Mounts as the engine's listing shows them, to catch hand-made changes."""
        return frozenset(m.key for m in self.mounts)

    @property
    def volumes(self) -> tuple[str, ...]:
        """The named volumes it mounts (created, owned by devenv, when missing)."""
        return tuple(m.source for m in self.mounts if m.kind == "volume")
