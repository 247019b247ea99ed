"""Which engine answers, from its /version (and /info) replies: Docker Engine, Podman or
Docker Desktop, so devenv can adapt where they differ and say which one it talks to."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, NamedTuple

if TYPE_CHECKING:
    from devenv.engine.connection import Connection


class Server(NamedTuple):
    """What /version says about the engine: product, version, API version, platform."""

    product: str  # "Docker Engine", "Podman", "Docker Desktop"
    version: str
    api_version: str
    os: str = ""
    arch: str = ""

    @property
    def podman(self) -> bool:
        return self.product == "Podman"

    @property
    def desktop(self) -> bool:
        return self.product == "Docker Desktop"

    def __str__(self) -> str:
        return f"{self.product} {self.version}".strip()

    @classmethod
    def from_version(cls, raw: dict[str, Any]) -> Server:
        names = [str(c.get("Name", "")) for c in raw.get("Components") or []]
        platform = str((raw.get("Platform") or {}).get("Name", ""))
        if any(name.startswith("Podman") for name in names) or "podman" in platform.lower():
            product = "Podman"
        elif platform.startswith("Docker Desktop"):
            product = "Docker Desktop"
        else:
            product = "Docker Engine"
        return cls(
            product,
            str(raw.get("Version", "")),
            str(raw.get("ApiVersion", "")),
            str(raw.get("Os", "")),
            str(raw.get("Arch", "")),
        )


def engine_line(server: Server, connection: Connection) -> str:
    """The line every engine command prints on stderr naming the engine it talks to; none
    for the usual local Docker Engine."""
    if server.product == "Docker Engine" and connection.source == "default socket":
        return ""
    return f"devenv: engine: {server} at {connection.describe()}\n"


def rootless(info: dict[str, Any]) -> bool:
    """Docker says so in SecurityOptions ("name=rootless"); Podman's compat /info in Rootless."""
    options = [str(o) for o in info.get("SecurityOptions") or []]
    return bool(info.get("Rootless")) or any("name=rootless" in o for o in options)


def can_pause(info: dict[str, Any]) -> bool:
    """A rootless engine on cgroup v1 owns no cgroup to freeze its containers with (Podman:
    "can only pause containers on rootless containers with cgroup V1"), so a commit there must
    not pause the container; everywhere else it does, as `docker commit` does."""
    return not (rootless(info) and str(info.get("CgroupVersion", "")) == "1")


def desktop_vm(info: dict[str, Any]) -> bool:
    """Docker Desktop and WSL engines run in a VM: its paths and ports are not the host's."""
    text = f"{info.get('OperatingSystem', '')} {info.get('KernelVersion', '')}".lower()
    return "docker desktop" in text or "microsoft" in text or "wsl" in text
