"""The spec: Pydantic models, their short forms, and every safety rule.

Each short form a user may write (``"8080:80"``, ``./src:/var/www``, ``sshd: true``…) is
normalised by a ``mode="before"`` validator into one canonical model, so the rest of devenv
sees one shape only, and error locations stay those of the YAML the user wrote.
Every string that can reach a Dockerfile or a shell is checked here against a strict pattern.
"""

from __future__ import annotations

import ipaddress
import posixpath
import re
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, field_validator, model_validator

NAME_RE = re.compile(r"[a-z0-9][a-z0-9_.-]{0,62}")
USER_RE = re.compile(r"[a-z_][a-z0-9_-]{0,31}")
ENV_KEY_RE = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
PACKAGE_RE = re.compile(r"[a-z0-9][a-z0-9+.-]+(=[A-Za-z0-9.+~:-]+)?")
URL_RE = re.compile(r"https?://[A-Za-z0-9.-]+(:[0-9]{1,5})?(/[A-Za-z0-9._~%/+-]*)?")
REGISTRY_RE = re.compile(r"[A-Za-z0-9.-]+(:[0-9]{1,5})?(/[a-z0-9]+([._-][a-z0-9]+)*)*")
SUITE_RE = re.compile(r"(debian|ubuntu):[a-z][a-z0-9-]*")
# Docker's reference grammar, simplified: [registry[:port]/]path[:tag][@digest]
IMAGE_RE = re.compile(
    r"([A-Za-z0-9.-]+(:[0-9]{1,5})?/)?"
    r"[a-z0-9]+([._-][a-z0-9]+)*(/[a-z0-9]+([._-][a-z0-9]+)*)*"
    r"(:[A-Za-z0-9_][A-Za-z0-9_.-]{0,127})?(@sha256:[a-f0-9]{64})?"
)
KEY_RE = re.compile(
    r"(ssh-(ed25519|rsa|dss)|ecdsa-sha2-nistp\d+|sk-[a-z0-9@.-]+) [A-Za-z0-9+/=]+( [^\n\r\x00]*)?"
)
CONTROL_RE = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")
PATH_UNSAFE_RE = re.compile(r"[\x00-\x1f\x7f:]")


def _full(pattern: re.Pattern[str], value: str, what: str) -> str:
    if not pattern.fullmatch(value):
        raise ValueError(f"{what} {value!r} is not valid")
    return value


# The runtime owns these in every container: a mount on or under them is refused.
RUNTIME_PATHS = ("/proc", "/sys", "/dev")


def _container_path(value: str, what: str = "container path", mount: str | None = None) -> str:
    """`value` normalised (one leading slash, no `..`); with `mount` (what is mounted there,
    e.g. "a volume"), also refused on / and on or under the runtime's /proc, /sys and /dev."""
    if not isinstance(value, str) or not value.startswith("/"):
        raise ValueError(f"{what} {value!r} must be absolute (start with /)")
    if PATH_UNSAFE_RE.search(value):
        raise ValueError(f"{what} {value!r} contains a control character or ':'")
    path = "/" + posixpath.normpath(value).lstrip("/")  # POSIX keeps a leading '//'
    if mount and path == "/":
        raise ValueError(f"{mount} cannot be mounted over / itself")
    if mount and any(path == top or path.startswith(top + "/") for top in RUNTIME_PATHS):
        raise ValueError(
            f"{mount} cannot be mounted on {path}: /proc, /sys and /dev belong to the container runtime"
        )
    return path


class Model(BaseModel):
    """Strict base: unknown keys are errors, models are immutable once loaded."""

    model_config = ConfigDict(extra="forbid", frozen=True, str_strip_whitespace=False)


class Base(Model):
    """Where the image starts: a reference, pulled through an optional registry mirror, or a
    Debian/Ubuntu suite bootstrapped offline with mmdebstrap from an apt mirror."""

    image: str | None = Field(None, description="Image reference, e.g. debian:bookworm")
    registry_mirror: str | None = Field(
        None, description="Registry host[:port][/namespace] to pull the image through"
    )
    bootstrap: str | None = Field(None, description="debian:SUITE or ubuntu:SUITE to build offline")
    mirror: str | None = Field(None, description="apt mirror URL mmdebstrap bootstraps from")
    variant: Literal["minbase", "apt", "required", "important", "standard"] = "minbase"

    @model_validator(mode="before")
    @classmethod
    def _short_form(cls, data: Any) -> Any:
        return {"image": data} if isinstance(data, str) else data

    @field_validator("image")
    @classmethod
    def _image(cls, v: str | None) -> str | None:
        return None if v is None else _full(IMAGE_RE, v, "image reference")

    @field_validator("registry_mirror")
    @classmethod
    def _registry(cls, v: str | None) -> str | None:
        if v is None:
            return None
        v = re.sub(r"^https?://", "", v).rstrip("/")
        return _full(REGISTRY_RE, v, "registry mirror")

    @field_validator("bootstrap")
    @classmethod
    def _suite(cls, v: str | None) -> str | None:
        return None if v is None else _full(SUITE_RE, v, "bootstrap (debian:SUITE or ubuntu:SUITE)")

    @field_validator("mirror")
    @classmethod
    def _mirror(cls, v: str | None) -> str | None:
        return None if v is None else _full(URL_RE, v.rstrip("/"), "mirror URL (http or https)")

    @model_validator(mode="after")
    def _one_source(self) -> Base:
        if (self.image is None) == (self.bootstrap is None):
            raise ValueError("base needs exactly one of 'image' or 'bootstrap'")
        if self.bootstrap and self.registry_mirror:
            raise ValueError("'registry_mirror' applies to 'image', not to 'bootstrap'")
        if self.image and self.mirror:
            raise ValueError("'mirror' applies to 'bootstrap'; use 'registry_mirror' with 'image'")
        if self.bootstrap and not self.mirror:
            raise ValueError("'bootstrap' needs 'mirror', the apt mirror URL to bootstrap from")
        return self


def _package(name: str) -> str:
    return _full(PACKAGE_RE, name, "Debian package name")


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
        return None if v is None else _full(URL_RE, v.rstrip("/"), "apt mirror URL (http or https)")

    @field_validator("packages")
    @classmethod
    def _packages(cls, v: list[str]) -> list[str]:
        if len(set(v)) != len(v):
            dupes = sorted({p for p in v if v.count(p) > 1})
            raise ValueError(f"package listed twice: {', '.join(dupes)}")
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
            raise ValueError(f"port {data!r} is not a port number")
        if isinstance(data, int):
            return {"container": data}
        if isinstance(data, str):
            m = PORT_RE.fullmatch(data.strip())
            if not m:
                raise ValueError(
                    f"port {data!r} is not of the form [BIND:]HOST:CONTAINER[/udp] or CONTAINER"
                )
            parts: dict[str, Any] = {k: v for k, v in m.groupdict().items() if v is not None}
            for key in ("host", "container"):  # numbers, so a range error shows 70000, not '70000'
                if key in parts:
                    parts[key] = int(parts[key])
            if "bind" in parts and "host" not in parts:
                raise ValueError(f"port {data!r}: a bind address needs a host port")
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
            raise ValueError(f"bind {v!r} is not an IP address") from None

    @property
    def exposed(self) -> bool:
        """True when the port is reachable from other machines, not just this one."""
        return not ipaddress.ip_address(self.bind).is_loopback


class Shared(Model):
    """A shared folder: a host directory bind-mounted into the box. Never deleted by devenv."""

    host: str = Field(description="host path, relative to the spec file; ~ expands")
    container: str
    readonly: bool = False
    create: bool = Field(True, description="create the host folder when missing")

    @model_validator(mode="before")
    @classmethod
    def _short_form(cls, data: Any) -> Any:
        if isinstance(data, str):
            parts = data.split(":")
            mode = None
            if len(parts) == 3 and parts[2] in ("ro", "rw"):
                mode = parts.pop()
            if len(parts) != 2 or not parts[0] or not parts[1]:
                raise ValueError(f"shared folder {data!r} is not of the form HOST:CONTAINER[:ro]")
            return {"host": parts[0], "container": parts[1], "readonly": mode == "ro"}
        return data

    @field_validator("host")
    @classmethod
    def _host(cls, v: str) -> str:
        if not v or PATH_UNSAFE_RE.search(v):
            raise ValueError(f"host path {v!r} is empty or contains a control character or ':'")
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
        return _full(NAME_RE, v, "volume name")

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
            _full(re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,127}"), name, "network name")
            if name in ("host", "none"):
                raise ValueError(
                    f"network {name!r} is not allowed: boxes never share the host's network stack"
                )
        return v


class Sshd(Model):
    """An OpenSSH server beside the command: key-only, no root login."""

    authorized_keys: list[str] = Field(
        default_factory=list, description="public key files (~ expands) or literal keys"
    )

    @model_validator(mode="before")
    @classmethod
    def _short_form(cls, data: Any) -> Any:
        return {} if data is True else data

    @field_validator("authorized_keys")
    @classmethod
    def _keys(cls, v: list[str]) -> list[str]:
        for entry in v:
            if CONTROL_RE.search(entry) or "\n" in entry:
                raise ValueError("an authorized key contains a newline or control character")
            looks_like_key = bool(re.match(r"(ssh-|ecdsa-|sk-)", entry))
            if looks_like_key and not KEY_RE.fullmatch(entry):
                raise ValueError(f"authorized key {entry[:30]!r}… is not a valid public key line")
        return v


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
        return _full(USER_RE, v, "user name")


def _env_key(key: str) -> str:
    if not ENV_KEY_RE.fullmatch(key):
        raise ValueError(f"env name {key!r} is not an identifier ([A-Za-z_][A-Za-z0-9_]*)")
    return key


EnvKey = Annotated[str, AfterValidator(_env_key)]


class ImageCache(Model):
    """Where built images are shared: apply pulls an image with the same build hash from
    `registry` before building, and pushes what it had to build when `push` is set."""

    registry: str = Field(description="REGISTRY[:PORT][/NAMESPACE] images live under")
    push: bool = Field(False, description="push images that apply builds to the registry")

    @field_validator("registry")
    @classmethod
    def _registry(cls, v: str) -> str:
        return _full(REGISTRY_RE, v.rstrip("/"), "image_cache registry")


def _run_step(step: str) -> str:
    if not step.strip():
        raise ValueError("a run step is empty")
    if CONTROL_RE.search(step):
        raise ValueError("a run step contains a control character")
    return step


RunStep = Annotated[str, AfterValidator(_run_step)]


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
    command: list[str] | None = None
    run: list[RunStep] = Field(default_factory=list, description="build-time shell steps, as root")
    image_cache: ImageCache | None = Field(
        None, description="REGISTRY/NAMESPACE to pull built images from (and push them to)"
    )
    networks: Networks = Field(default_factory=Networks)
    docker_socket: bool = Field(
        False, description="mount the Docker socket: the box then controls the engine (root)"
    )

    @field_validator("name")
    @classmethod
    def _name(cls, v: str) -> str:
        return _full(NAME_RE, v, "name (lowercase letters, digits, '_', '.', '-')")

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
                raise ValueError(f"env {key} contains a NUL byte")
            out[str(key) if isinstance(key, int | float | bool) else key] = value
        return out

    @field_validator("workdir")
    @classmethod
    def _workdir(cls, v: str | None) -> str | None:
        return None if v is None else _container_path(v, "workdir")

    @field_validator("command", mode="before")
    @classmethod
    def _command_short(cls, v: Any) -> Any:
        if isinstance(v, str):
            import shlex

            try:
                return shlex.split(v)
            except ValueError as exc:
                raise ValueError(f"command cannot be split into words: {exc}") from None
        if isinstance(v, list):  # `[sleep, 10]`: YAML numbers are words of the command too
            return [
                str(a) if isinstance(a, int | float) and not isinstance(a, bool) else a for a in v
            ]
        return v

    @field_validator("command")
    @classmethod
    def _command(cls, v: list[str] | None) -> list[str] | None:
        if v is not None:
            if not v:
                raise ValueError("command is empty; omit it to keep the box running idle")
            if any("\x00" in arg for arg in v):
                raise ValueError("command contains a NUL byte")
        return v

    @field_validator("image_cache", mode="before")
    @classmethod
    def _cache_short(cls, v: Any) -> Any:
        """The short form is the registry alone; checked here so errors point at it."""
        if isinstance(v, str):
            return {"registry": _full(REGISTRY_RE, v.rstrip("/"), "image_cache")}
        return v

    @model_validator(mode="after")
    def _no_clashes(self) -> Spec:
        if self.sshd is not None and (self.user is None or self.user.name == "root"):
            raise ValueError("sshd: needs a 'user' to log in as (root logins are refused)")
        seen_host: dict[tuple[str, int, str], int] = {}
        seen_container: dict[tuple[int, str], int] = {}
        for i, port in enumerate(self.ports):
            if port.host is not None:
                key = (port.bind, port.host, port.protocol)
                if key in seen_host:
                    raise ValueError(
                        f"ports: entry {i + 1} publishes host port {port.host} again "
                        f"(entry {seen_host[key] + 1} already does)"
                    )
                seen_host[key] = i
            ckey = (port.container, port.protocol)
            if ckey in seen_container:
                raise ValueError(
                    f"ports: entry {i + 1} publishes container port {port.container} again "
                    f"(entry {seen_container[ckey] + 1} already does)"
                )
            seen_container[ckey] = i
        mounts: dict[str, str] = {}
        for i, shared in enumerate(self.shared):
            where = f"shared entry {i + 1}"
            if shared.container in mounts:
                raise ValueError(
                    f"{where} mounts {shared.container} again ({mounts[shared.container]})"
                )
            mounts[shared.container] = where
        for i, volume in enumerate(self.volumes):
            where = f"volumes entry {i + 1}"
            if volume.container in mounts:
                raise ValueError(
                    f"{where} mounts {volume.container} again ({mounts[volume.container]})"
                )
            mounts[volume.container] = where
        return self


def clash_location(message: str) -> tuple[str | int, ...] | None:
    """Where a cross-field error points, from its message: ('ports', 1), ('sshd',)…"""
    m = re.match(r"(ports|shared|volumes):? entry (\d+)", message)
    if m:
        return (m.group(1), int(m.group(2)) - 1)
    return ("sshd",) if message.startswith("sshd:") else None
