"""Where the engine is: one resolution of the connection settings, as the docker CLI does it.

Precedence: `--host` > `--context` > DOCKER_HOST > DOCKER_CONTEXT > the current context of
the docker config > the default socket; when none of those was chosen and no Docker socket
answers, Podman's rootful then rootless sockets. The CLI turns its flags into the
environment (see `apply_flags`), so `docker` subprocesses resolve the same engine.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import NamedTuple
from urllib.parse import urlsplit

from devenv.errors import DevenvError
from devenv.hostfiles import InputRefused, read_bounded

MAX_CLIENT_FILE = 1 << 20  # a docker client config or context file: a few KiB

DOCKER_SOCKET_URL = "unix:///var/run/docker.sock"
PODMAN_ROOTFUL = "/run/podman/podman.sock"
LOCAL_NAMES = ("localhost", "127.0.0.1", "::1", "[::1]")


class TlsFiles(NamedTuple):
    """Client TLS material for a tcp:// engine, and whether to check the server's cert."""

    ca: str | None
    cert: str | None
    key: str | None
    verify: bool


class Connection(NamedTuple):
    """The engine devenv talks to, and how it was chosen (for messages and `doctor`)."""

    url: str
    source: str  # "--host", "context NAME", "DOCKER_HOST", "default socket", "Podman socket"
    tls: TlsFiles | None = None
    context: str | None = None

    @property
    def scheme(self) -> str:
        return urlsplit(self.url).scheme or "unix"

    @property
    def local(self) -> bool:
        """Whether the engine runs on this machine, so its paths and ports are ours."""
        if self.scheme in ("unix", "npipe", "http+unix"):
            return True
        if self.scheme == "ssh":
            return False
        return (urlsplit(self.url).hostname or "") in LOCAL_NAMES

    @property
    def ssh_jump(self) -> str | None:
        """`[user@]host[:port]` of an ssh:// engine, as ProxyJump takes it."""
        if self.scheme != "ssh":
            return None
        return self.url.split("://", 1)[1].rstrip("/")

    @property
    def machine(self) -> str:
        """The engine's machine, in words: 'this machine' or its host name."""
        if self.local:
            return "this machine"
        return urlsplit(self.url).hostname or self.url

    def describe(self) -> str:
        return f"{self.url} ({self.source})"

    def cli_args(self) -> list[str]:
        """The docker CLI's global options that reach this engine, whatever else its
        environment or current context says (`devenv shell` runs `docker … exec`)."""
        if self.context:
            return ["--context", self.context]
        args = ["--host", self.url]
        if self.tls is not None:
            args.append("--tlsverify" if self.tls.verify else "--tls")
            named = (("cacert", self.tls.ca), ("cert", self.tls.cert), ("key", self.tls.key))
            args += [f"--tls{kind}={path}" for kind, path in named if path and Path(path).is_file()]
        return args

    def client_kwargs(self) -> dict[str, object]:
        """Arguments for docker.APIClient, bar `tls` (built by the engine module)."""
        kwargs: dict[str, object] = {"base_url": self.url}
        if self.scheme == "ssh":
            kwargs["use_ssh_client"] = True  # the user's OpenSSH: ~/.ssh/config, agent, known_hosts
        return kwargs


def docker_config_dir(env: Mapping[str, str]) -> Path:
    return Path(env.get("DOCKER_CONFIG") or Path(env.get("HOME") or Path.home()) / ".docker")


def context_names(config_dir: Path) -> list[str]:
    """Names of the contexts stored under the docker config (for hints and doctor)."""
    names = []
    for meta in sorted((config_dir / "contexts" / "meta").glob("*/meta.json")):
        try:
            names.append(str(json.loads(read_bounded(meta, MAX_CLIENT_FILE))["Name"]))
        except (OSError, ValueError, KeyError, TypeError, InputRefused):
            continue
    return names


def from_context(name: str, config_dir: Path) -> Connection:
    """A named context's docker endpoint and TLS material, as `docker context` stores them."""
    import hashlib  # here: only contexts need it, and it is slow to load

    digest = hashlib.sha256(name.encode()).hexdigest()
    meta_path = config_dir / "contexts" / "meta" / digest / "meta.json"
    try:
        meta = json.loads(read_bounded(meta_path, MAX_CLIENT_FILE))
    except FileNotFoundError:
        known = ", ".join(context_names(config_dir)) or "none"
        raise DevenvError(
            f"docker context {name!r} does not exist (known: {known})",
            "list them with `docker context ls`, or pick another with --context",
        ) from None
    except InputRefused as exc:
        raise DevenvError(
            f"docker context {name!r} cannot be read: {exc.message}", exc.hint
        ) from None
    except (OSError, ValueError) as exc:
        raise DevenvError(f"docker context {name!r} cannot be read: {exc}") from None
    endpoint = (meta.get("Endpoints") or {}).get("docker") or {}
    host = endpoint.get("Host")
    if not host:
        raise DevenvError(f"docker context {name!r} has no docker endpoint", "docker context ls")
    tls_dir = config_dir / "contexts" / "tls" / digest / "docker"
    files = {kind: tls_dir / f"{kind}.pem" for kind in ("ca", "cert", "key")}
    tls = None
    if any(path.is_file() for path in files.values()) or host.startswith("https"):
        found = {kind: str(path) if path.is_file() else None for kind, path in files.items()}
        tls = TlsFiles(
            found["ca"], found["cert"], found["key"], not endpoint.get("SkipTLSVerify", False)
        )
    return Connection(host, f"context {name}", tls, name)


def _env_tls(env: Mapping[str, str]) -> TlsFiles | None:
    """DOCKER_TLS_VERIFY / DOCKER_CERT_PATH, read as the docker CLI and SDK read them."""
    verify = env.get("DOCKER_TLS_VERIFY") not in (None, "", "0")
    cert_path = env.get("DOCKER_CERT_PATH") or None
    if not (verify or cert_path):
        return None
    folder = Path(cert_path or docker_config_dir(env))
    return TlsFiles(
        str(folder / "ca.pem"), str(folder / "cert.pem"), str(folder / "key.pem"), verify
    )


def _current_context(config_dir: Path) -> str | None:
    try:
        config = json.loads(read_bounded(config_dir / "config.json", MAX_CLIENT_FILE))
    except (OSError, ValueError):  # a FIFO or /dev/zero there: InputRefused, one sentence
        return None
    current = config.get("currentContext") if isinstance(config, dict) else None
    return str(current) if current else None


def socket_answers(path: str) -> bool:
    """Whether something accepts connections on the unix socket `path` (no API call)."""
    import socket

    if not os.path.exists(path):
        return False
    probe = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        probe.settimeout(1.0)
        probe.connect(path)
    except OSError:
        return False
    finally:
        probe.close()
    return True


def _default(env: Mapping[str, str], answers: Callable[[str], bool]) -> Connection:
    """The Docker socket; Podman's sockets only when Docker's does not answer."""
    docker_path = DOCKER_SOCKET_URL.removeprefix("unix://")
    if answers(docker_path):
        return Connection(DOCKER_SOCKET_URL, "default socket")
    runtime = env.get("XDG_RUNTIME_DIR")
    candidates = [(PODMAN_ROOTFUL, "Podman socket")]
    if runtime:
        candidates.append((f"{runtime}/podman/podman.sock", "rootless Podman socket"))
    for path, source in candidates:
        if answers(path):
            return Connection(f"unix://{path}", source)
    return Connection(DOCKER_SOCKET_URL, "default socket")


def resolve(
    env: Mapping[str, str] | None = None,
    host: str | None = None,
    context: str | None = None,
    answers: Callable[[str], bool] = socket_answers,
) -> Connection:
    """The engine to talk to, by the docker CLI's precedence (see the module docstring)."""
    env = os.environ if env is None else env
    if host and context:
        raise DevenvError("--host and --context both name an engine", "give one of them, not both")
    config_dir = docker_config_dir(env)
    if host:
        return Connection(host, "--host", _env_tls(env))
    if context and context != "default":
        return from_context(context, config_dir)
    if context is None and env.get("DOCKER_HOST"):
        return Connection(env["DOCKER_HOST"], "DOCKER_HOST", _env_tls(env))
    named = context or env.get("DOCKER_CONTEXT") or _current_context(config_dir)
    if named and named != "default":
        return from_context(named, config_dir)
    if env.get("DOCKER_HOST"):  # `--context default` still honours DOCKER_HOST, as docker does
        return Connection(env["DOCKER_HOST"], "DOCKER_HOST", _env_tls(env))
    return _default(env, answers)


def connection() -> Connection:
    """The engine this process talks to: every command, and `shell`'s docker CLI, use it."""
    return resolve()


def apply_flags(host: str | None, context: str | None) -> None:
    """Make the CLI's --host/--context the environment's choice, for devenv and for the
    `docker`/`ssh` processes it starts (the flags outrank the variables, as in docker)."""
    if host and context:
        raise DevenvError("--host and --context both name an engine", "give one of them, not both")
    if host:
        os.environ["DOCKER_HOST"] = host
        os.environ.pop("DOCKER_CONTEXT", None)
    elif context:
        os.environ["DOCKER_CONTEXT"] = context
        os.environ.pop("DOCKER_HOST", None)


def reach_hint(connection: Connection) -> str:
    """What to try when `connection`'s engine does not answer."""
    if connection.scheme == "ssh":
        return (
            f"check that `ssh {connection.ssh_jump} docker version` works "
            "(key, known_hosts, and docker on that machine)"
        )
    if connection.scheme in ("tcp", "https", "http"):
        return _tcp_hint(connection)
    if "podman" in connection.url:
        return (
            "start it: `podman system service --time=0 "
            + connection.url
            + "` (or its systemd socket)"
        )
    return (
        "start Docker (e.g. `sudo systemctl start docker`) or Podman's service, "
        "set DOCKER_HOST or --context, or join the docker group"
    )


def _tcp_hint(connection: Connection) -> str:
    tls = connection.tls
    if tls is None:
        return (
            "check the address; an engine that wants TLS (port 2376) needs DOCKER_TLS_VERIFY=1 "
            "and DOCKER_CERT_PATH (or a context with TLS material)"
        )
    folder = Path(tls.cert or tls.ca or ".").parent
    return (
        f"check the address and the TLS files in {folder}: ca.pem (the engine's CA), "
        "cert.pem and key.pem (a client pair that CA signed)"
    )


def current_where() -> str:
    """The engine's address and how it was chosen, for messages (never raises)."""
    try:
        return resolve().describe()
    except DevenvError:
        return os.environ.get("DOCKER_HOST") or DOCKER_SOCKET_URL


def current_hint() -> str:
    try:
        return reach_hint(resolve())
    except DevenvError as exc:
        return exc.hint or exc.message


def cli_env(connection: Connection, env: Mapping[str, str] | None = None) -> dict[str, str]:
    """The environment for a `docker` command that must reach the same engine as devenv."""
    out = dict(os.environ if env is None else env)
    if connection.context:
        out["DOCKER_CONTEXT"] = connection.context
        out.pop("DOCKER_HOST", None)
        return out
    out["DOCKER_HOST"] = connection.url
    if connection.tls is not None and connection.tls.cert:
        out["DOCKER_CERT_PATH"] = str(Path(connection.tls.cert).parent)
        out["DOCKER_TLS_VERIFY"] = "1" if connection.tls.verify else ""
    return out
