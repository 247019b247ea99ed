"""The spec: Pydantic models, their short forms, and every safety rule.

Each short form a user may write (``"8080:80"``, ``./src:/var/www``, ``sshd: true``…) is
normalised by a ``mode="before"`` validator into one canonical model, so the rest of devenv
sees one shape only, and error locations stay those of the YAML the user wrote.
Every string that can reach a Dockerfile or a shell is checked here against a strict pattern.
"""

from __future__ import annotations

import ipaddress
import re
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, Field, ValidationInfo, field_validator, model_validator

from devenv.spec.base import Base as Base  # re-exported: the spec's models live here
from devenv.spec.base import Model
from devenv.spec.hooks import Hooks
from devenv.spec.keys import is_literal_key, key_problem
from devenv.spec.ready import Ready
from devenv.spec.rules import (
    ADOPT_RE,
    ADOPT_RULE,
    CONTROL_RE,
    ENV_KEY_RE,
    ENV_KEY_RULE,
    NAME_RE,
    NETWORK_RULE,
    PACKAGE_RE,
    PACKAGE_RULE,
    PATH_UNSAFE_RE,
    REGISTRY_RE,
    REGISTRY_RULE,
    URL_RE,
    URL_RULE,
    USER_RE,
    USER_RULE,
    VOLUME_RULE,
    command_words,
    env_name,
    home_problem,
    loop_problem,
)
from devenv.spec.rules import container_path as _container_path
from devenv.spec.rules import full_match as _full


def _package(name: str) -> str:
    return _full(PACKAGE_RE, name, PACKAGE_RULE)


# Checked one by one, so that an error points at the offending list entry.
PackageName = Annotated[str, AfterValidator(_package)]


class Apt(Model):
    mirror: str | None = Field(None, description="http(s) apt mirror used at build and run time")
    packages: list[PackageName] = Field(
        default_factory=list, description="Debian package names [=version]"
    )
    check_valid_until: bool = Field(
        True,
        description="false lets apt read archives whose Release files expired "
        "(the Debian snapshot archive, for a lock's old versions)",
    )

    @field_validator("mirror")
    @classmethod
    def _mirror(cls, v: str | None) -> str | None:
        return None if v is None else _full(URL_RE, v.rstrip("/"), URL_RULE)

    @field_validator("packages")
    @classmethod
    def _packages(cls, v: list[str]) -> list[str]:
        if len(set(v)) != len(v):
            dupes = sorted({p for p in v if v.count(p) > 1})
            raise ValueError(f"{', '.join(dupes)} listed twice: list each package once")
        return v


PORT_RE = re.compile(
    r"(?:(?P<bind>[0-9]+\.[0-9]+\.[0-9]+\.[0-9]+|\[[0-9a-fA-F:]+\]):)?(?:(?P<host>[0-9]+):)?(?P<container>[0-9]+)"
    r"(?:/(?P<protocol>tcp|udp))?"
)


class Port(Model):
    """A published port: ``host`` on ``bind`` (127.0.0.1 by default) → ``container``."""

    container: int = Field(ge=1, le=65535)
    host: int | None = Field(None, ge=1, le=65535, description="omit: the engine picks one")
    bind: str = "127.0.0.1"
    protocol: Literal["tcp", "udp"] = "tcp"

    @model_validator(mode="before")
    @classmethod
    def _short_form(cls, data: Any) -> Any:
        if isinstance(data, bool):
            raise ValueError(
                f"{'true' if data else 'false'} is not valid: a boolean is not a port; use a "
                "port number or HOST:CONTAINER (e.g. 8080:80)"
            )
        if isinstance(data, int):
            return {"container": data}
        if isinstance(data, str):
            m = PORT_RE.fullmatch(data.strip())
            if not m:
                raise ValueError(
                    f"{data!r} is not valid: use [BIND:]HOST:CONTAINER[/udp] or CONTAINER "
                    "(e.g. 8080:80)"
                )
            parts: dict[str, Any] = {k: v for k, v in m.groupdict().items() if v is not None}
            for key in ("host", "container"):  # numbers, so a range error shows 70000, not '70000'
                if key in parts:
                    parts[key] = int(parts[key])
            if "bind" in parts and "host" not in parts:
                raise ValueError(
                    f"{data!r} is not valid: a bind address needs a host port "
                    "(e.g. 127.0.0.1:8080:80)"
                )
            if "bind" in parts:
                parts["bind"] = parts["bind"].strip("[]")
            return parts
        return data

    @field_validator("bind")
    @classmethod
    def _bind(cls, v: str) -> str:
        try:
            return str(ipaddress.ip_address(v))
        except ValueError:
            raise ValueError(f"{v!r} is not valid: use an IP address (e.g. 127.0.0.1)") from None

    @property
    def exposed(self) -> bool:
        """True when the port is reachable from other machines, not just this one."""
        return not ipaddress.ip_address(self.bind).is_loopback


class Shared(Model):
    """A shared folder or file: a host path bind-mounted into the box. Never deleted by devenv."""

    host: str = Field(description="host path, relative to the spec file; ~ expands")
    container: str
    readonly: bool = False
    create: bool = Field(
        True,
        description="create a missing host path as a folder; false: a missing path is an error",
    )

    @model_validator(mode="before")
    @classmethod
    def _short_form(cls, data: Any) -> Any:
        if isinstance(data, str):
            parts = data.split(":")
            mode = None
            if len(parts) == 3 and parts[2] in ("ro", "rw"):
                mode = parts.pop()
            if len(parts) != 2 or not parts[0] or not parts[1]:
                raise ValueError(
                    f"{data!r} is not valid: use HOST:CONTAINER[:ro] (e.g. ./src:/var/www)"
                )
            return {"host": parts[0], "container": parts[1], "readonly": mode == "ro"}
        return data

    @field_validator("host")
    @classmethod
    def _host(cls, v: str, info: ValidationInfo) -> str:
        if not v or PATH_UNSAFE_RE.search(v):
            raise ValueError(
                f"{v!r} is not valid: use a path with no control character or ':' (e.g. ./src)"
            )
        problem = home_problem(v) or loop_problem((info.context or {}).get("folder"), v)
        if problem:
            raise ValueError(problem)
        return v

    @field_validator("container")
    @classmethod
    def _container(cls, v: str) -> str:
        return _container_path(v, mount="a shared folder")


class Volume(Model):
    """A named volume: data that outlives every container (a database, a home directory)."""

    name: str
    container: str
    readonly: bool = False

    @field_validator("name")
    @classmethod
    def _name(cls, v: str) -> str:
        return _full(NAME_RE, v, VOLUME_RULE)

    @field_validator("container")
    @classmethod
    def _container(cls, v: str) -> str:
        return _container_path(v, mount="a volume")


class Networks(Model):
    """Which Docker networks the box joins; envs of one folder reach each other by name."""

    folder: bool = Field(True, description="join the devenv network of the spec's folder")
    join: list[str] = Field(default_factory=list, description="existing networks to join too")

    @field_validator("join")
    @classmethod
    def _names(cls, v: list[str]) -> list[str]:
        for name in v:
            _full(re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,127}"), name, NETWORK_RULE)
            if name in ("host", "none"):
                raise ValueError(
                    f"{name!r} is not allowed: boxes never share the host's network stack; "
                    "join a network of your own (e.g. backend)"
                )
        return v


def _authorized_key(entry: str) -> str:
    """A key file's path, or a literal key line that sshd would accept."""
    if CONTROL_RE.search(entry) or "\n" in entry:
        raise ValueError("an authorized key contains a newline or control character")
    problem = home_problem(entry)
    if problem:
        raise ValueError(problem)
    if is_literal_key(entry):
        problem = key_problem(entry)
        if problem:
            shown = entry if len(entry) <= 40 else entry[:40] + "…"
            raise ValueError(f"authorized key {shown!r} {problem}")
    return entry


# Checked one by one, so that an error points at the offending list entry.
AuthorizedKey = Annotated[str, AfterValidator(_authorized_key)]


class Sshd(Model):
    """An OpenSSH server beside the command: key-only, no root login."""

    authorized_keys: list[AuthorizedKey] = Field(
        default_factory=list, description="public key files (~ expands) or literal keys"
    )

    @model_validator(mode="before")
    @classmethod
    def _short_form(cls, data: Any) -> Any:
        return {} if data is True else data


class User(Model):
    """The login user, created in the image; its uid/gid follow the host user at start."""

    name: str
    uid: int | None = Field(None, ge=0, le=2**31 - 1, description="default: the host user's")
    gid: int | None = Field(None, ge=0, le=2**31 - 1, description="default: the host user's")

    @model_validator(mode="before")
    @classmethod
    def _short_form(cls, data: Any) -> Any:
        return {"name": data} if isinstance(data, str) else data

    @field_validator("name")
    @classmethod
    def _name(cls, v: str) -> str:
        return _full(USER_RE, v, USER_RULE)


def _env_key(key: str) -> str:
    return _full(ENV_KEY_RE, key, ENV_KEY_RULE)


EnvKey = Annotated[str, AfterValidator(_env_key)]


class ImageCache(Model):
    """Where built images are shared: apply pulls an image with the same build hash from
    `registry` before building, and pushes what it had to build when `push` is set."""

    registry: str = Field(description="REGISTRY[:PORT][/NAMESPACE] images live under")
    push: bool = Field(False, description="push images that apply builds to the registry")

    @field_validator("registry")
    @classmethod
    def _registry(cls, v: str) -> str:
        return _full(REGISTRY_RE, v.rstrip("/"), REGISTRY_RULE)


def _run_step(step: str) -> str:
    if not step.strip():
        raise ValueError("a run step is empty: give it a shell command (e.g. make install)")
    if CONTROL_RE.search(step):
        raise ValueError(
            "a run step contains a control character: only tabs and newlines may appear "
            "(e.g. make install)"
        )
    return step


RunStep = Annotated[str, AfterValidator(_run_step)]


class Clash(ValueError):
    """Two entries of a spec that cannot both hold; `at` is where the loader points:
    ('ports', 1) for the second ports entry, ('sshd',)…"""

    def __init__(self, message: str, at: tuple[str | int, ...]) -> None:
        super().__init__(message)
        self.at = at


class Spec(Model):
    """One dev environment, as written in envs/NAME.yaml."""

    name: str = Field(description="[a-z0-9][a-z0-9_.-]*; default: the file's stem")
    base: Base = Field(default_factory=lambda: Base(image="debian:bookworm"))
    apt: Apt = Field(default_factory=Apt)
    ports: list[Port] = Field(default_factory=list)
    shared: list[Shared] = Field(default_factory=list)
    volumes: list[Volume] = Field(default_factory=list)
    sshd: Sshd | None = None
    user: User | None = None
    env: dict[EnvKey, str] = Field(default_factory=dict)
    workdir: str | None = None
    command: list[str] | None = Field(
        None, description="what the box runs (with entrypoint: image, its image's arguments)"
    )
    entrypoint: Literal["image"] | None = Field(
        None,
        description="image: the box runs its base image's ENTRYPOINT and CMD (a database, a "
        "cache) after devenv's start-up; command then gives their arguments, as in Compose",
    )
    run: list[RunStep] = Field(default_factory=list, description="build-time shell steps, as root")
    image_cache: ImageCache | None = Field(
        None, description="REGISTRY/NAMESPACE to pull built images from (and push them to)"
    )
    networks: Networks = Field(default_factory=Networks)
    docker_socket: bool = Field(
        False, description="mount the Docker socket: the box then controls the engine (root)"
    )
    adopt: str | None = Field(
        None,
        description="ID of a container devenv did not make (same name) that apply may replace: "
        "written by `devenv init --from CONTAINER`",
    )
    ready: Ready | None = Field(None, description="what proves the box is up: a port or a command")
    hooks: Hooks = Field(
        default_factory=Hooks, description="commands run in the box after create and start"
    )

    @field_validator("name")
    @classmethod
    def _name(cls, v: str) -> str:
        return env_name(v)

    @field_validator("sshd", mode="before")
    @classmethod
    def _sshd_off(cls, v: Any) -> Any:
        return None if v is False else v

    @field_validator("env", mode="before")
    @classmethod
    def _env_scalars(cls, v: Any) -> Any:
        """YAML gives numbers and booleans; the environment only holds text."""
        if not isinstance(v, dict):
            return v
        out = {}
        for key, value in v.items():
            if isinstance(value, bool):
                value = "true" if value else "false"
            elif isinstance(value, int | float):
                value = str(value)
            if isinstance(value, str) and "\x00" in value:
                raise ValueError(f"env {key} contains a NUL byte: give it text (e.g. dev)")
            out[str(key) if isinstance(key, int | float | bool) else key] = value
        return out

    @field_validator("workdir")
    @classmethod
    def _workdir(cls, v: str | None) -> str | None:
        return None if v is None else _container_path(v)

    @field_validator("command", mode="before")
    @classmethod
    def _command_short(cls, v: Any) -> Any:
        return command_words(v)

    @field_validator("command")
    @classmethod
    def _command(cls, v: list[str] | None) -> list[str] | None:
        if v is not None:
            if not v:
                raise ValueError(
                    "command is empty: give one (e.g. [sleep, infinity]), or omit it to keep "
                    "the box running idle"
                )
            if any("\x00" in arg for arg in v):
                raise ValueError("command contains a NUL byte: give it text (e.g. [make, serve])")
        return v

    @field_validator("adopt")
    @classmethod
    def _adopt(cls, v: str | None) -> str | None:
        return None if v is None else _full(ADOPT_RE, v, ADOPT_RULE)

    @field_validator("image_cache", mode="before")
    @classmethod
    def _cache_short(cls, v: Any) -> Any:
        """The short form is the registry alone; checked here so errors point at it."""
        if isinstance(v, str):
            return {"registry": _full(REGISTRY_RE, v.rstrip("/"), REGISTRY_RULE)}
        return v

    @model_validator(mode="after")
    def _no_clashes(self) -> Spec:
        if self.sshd is not None and (self.user is None or self.user.name == "root"):
            raise Clash(
                "sshd: needs a 'user' to log in as, root logins are refused (e.g. user: dev)",
                ("sshd",),
            )
        seen_host: dict[tuple[str, int, str], int] = {}
        seen_container: dict[tuple[int, str], int] = {}
        for i, port in enumerate(self.ports):
            if port.host is not None:
                key = (port.bind, port.host, port.protocol)
                if key in seen_host:
                    raise Clash(
                        f"ports: entry {i + 1} publishes host port {port.host} again "
                        f"(entry {seen_host[key] + 1} already does)",
                        ("ports", i),
                    )
                seen_host[key] = i
            ckey = (port.container, port.protocol)
            if ckey in seen_container:
                raise Clash(
                    f"ports: entry {i + 1} publishes container port {port.container} again "
                    f"(entry {seen_container[ckey] + 1} already does)",
                    ("ports", i),
                )
            seen_container[ckey] = i
        mounts: dict[str, str] = {}
        for i, shared in enumerate(self.shared):
            where = f"shared entry {i + 1}"
            if shared.container in mounts:
                raise Clash(
                    f"{where} mounts {shared.container} again ({mounts[shared.container]})",
                    ("shared", i),
                )
            mounts[shared.container] = where
        for i, volume in enumerate(self.volumes):
            where = f"volumes entry {i + 1}"
            if volume.container in mounts:
                raise Clash(
                    f"{where} mounts {volume.container} again ({mounts[volume.container]})",
                    ("volumes", i),
                )
            mounts[volume.container] = where
        return self
