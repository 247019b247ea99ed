"""Real mirrors for the integration tests: an apt proxy (apt-cacher-ng) and an image registry
(docker-registry), each started once per session on 127.0.0.1 and killed at its end.

Import the fixtures into a test module (``from tests.integration.services import …``); they are
registered under the names ``apt_proxy`` and ``registry``.
"""

from __future__ import annotations

import random
import re
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.integration.conftest import free_port
from tests.prerequisites import skip_or_fail


def _need(program: str, package: str) -> str:
    """The program's path; without it, fail under CI and skip elsewhere."""
    found = shutil.which(program) or next(
        (str(p) for p in (Path("/usr/sbin") / program, Path("/usr/bin") / program) if p.exists()),
        None,
    )
    if found is None:
        skip_or_fail(
            f"{program} is not installed (apt-get install {package}; scripts/setup does it)"
        )
    return found


def debian_archive() -> str:
    """The host's own Debian archive (the first http(s) `.../debian` URI its apt uses)."""
    parts = Path("/etc/apt/sources.list.d")
    sources = [Path("/etc/apt/sources.list"), *sorted(parts.glob("*.list"))]
    for source in [*sources, *sorted(parts.glob("*.sources"))]:
        try:
            text = source.read_text()
        except OSError:
            continue
        for line in text.splitlines():
            if not re.match(r"\s*(URIs:|deb\s)", line):
                continue
            for url in re.findall(r"https?://\S+/debian/?(?=\s|$)", line):
                return url.rstrip("/")
    pytest.fail("no Debian archive in this machine's apt sources", pytrace=False)


def free_low_port() -> int:
    """A free port on 127.0.0.1 below 32768: apt-cacher-ng cannot bind higher ones
    ("Error resolving address for binding"), and the kernel hands out ephemeral ports above."""
    for _ in range(200):
        port = random.randint(20000, 32767)
        with socket.socket() as probe:
            try:
                probe.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    raise AssertionError("no free port below 32768 on 127.0.0.1")


def _wait_for_port(port: int, process: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        if process.poll() is not None:
            break
        with socket.socket() as probe:
            probe.settimeout(0.5)
            if probe.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.1)
    _stop(process)
    raise AssertionError(f"service did not listen on 127.0.0.1:{port}: {log.read_text()[-2000:]}")


def _start(command: list[str], port: int, log: Path) -> subprocess.Popen[bytes]:
    with log.open("wb") as out:
        process = subprocess.Popen(
            command, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL
        )
    _wait_for_port(port, process, log)
    return process


def _stop(process: subprocess.Popen[bytes]) -> None:
    """Stop the one process we started, by its handle."""
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)


@dataclass(frozen=True)
class AptProxy:
    port: int
    upstream: str  # the archive it proxies, without scheme: deb.debian.org/debian
    log: Path  # apt-cacher.log: one line per file served

    @property
    def mirror(self) -> str:
        """The apt mirror URL that reaches the host's Debian archive through the proxy."""
        return f"http://127.0.0.1:{self.port}/{self.upstream}"

    def served(self) -> str:
        return self.log.read_text(errors="replace") if self.log.exists() else ""

    def bootstrapped_spec(self, name: str) -> str:
        """A spec whose base is bootstrapped from this mirror, with `hello` installed on it."""
        return (
            f'name: {name}\nbase: {{bootstrap: "debian:bookworm", mirror: "{self.mirror}"}}\n'
            "apt: {packages: [hello]}\n"
        )


@pytest.fixture(scope="session", name="apt_proxy")
def apt_proxy_fixture(tmp_path_factory: pytest.TempPathFactory) -> Iterator[AptProxy]:
    """apt-cacher-ng on 127.0.0.1, passing every request through to the named upstream host.

    Debian's packaged config remaps Debian requests to a backend list this network may not
    reach, so it runs with a minimal config of its own.
    """
    program = _need("apt-cacher-ng", "apt-cacher-ng")
    upstream = re.sub(r"^https?://", "", debian_archive())
    root = tmp_path_factory.mktemp("apt-proxy")
    for sub in ("conf", "cache", "log"):
        (root / sub).mkdir()
    port = free_low_port()
    (root / "conf" / "acng.conf").write_text(
        f"CacheDir: {root / 'cache'}\n"
        f"LogDir: {root / 'log'}\n"
        f"Port: {port}\n"
        "BindAddress: 127.0.0.1\n"
        "PassThroughPattern: .*\n"
    )
    process = _start([program, "-c", str(root / "conf"), "ForeGround=1"], port, root / "out.log")
    try:
        yield AptProxy(port, upstream, root / "log" / "apt-cacher.log")
    finally:
        _stop(process)


@dataclass(frozen=True)
class Registry:
    address: str  # 127.0.0.1:PORT, which the engine trusts over plain HTTP


@pytest.fixture(scope="session", name="registry")
def registry_fixture(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Registry]:
    """docker-registry on 127.0.0.1 without auth, storing in a session temp folder."""
    program = _need("docker-registry", "docker-registry")
    root = tmp_path_factory.mktemp("registry")
    port = free_port()
    (root / "config.yml").write_text(
        "version: 0.1\n"
        f"storage: {{filesystem: {{rootdirectory: {root / 'data'}}}, delete: {{enabled: true}}}}\n"
        f"http: {{addr: 127.0.0.1:{port}}}\n"
    )
    process = _start([program, "serve", str(root / "config.yml")], port, root / "out.log")
    try:
        yield Registry(f"127.0.0.1:{port}")
    finally:
        _stop(process)


@dataclass(frozen=True)
class AuthRegistry:
    address: str  # 127.0.0.1:PORT
    username: str
    password: str
    root: Path  # its config, htpasswd, data and log


def start_registry(root: Path, port: int, htpasswd: Path | None = None) -> subprocess.Popen[bytes]:
    """docker-registry on 127.0.0.1:port storing under root, with htpasswd auth when given."""
    program = _need("docker-registry", "docker-registry")
    auth = f"auth: {{htpasswd: {{realm: devenv-test, path: {htpasswd}}}}}\n" if htpasswd else ""
    (root / "config.yml").write_text(
        "version: 0.1\n"
        f"storage: {{filesystem: {{rootdirectory: {root / 'data'}}}, delete: {{enabled: true}}}}\n"
        f"http: {{addr: 127.0.0.1:{port}}}\n" + auth
    )
    return _start([program, "serve", str(root / "config.yml")], port, root / "out.log")


@pytest.fixture(scope="session", name="auth_registry")
def auth_registry_fixture(tmp_path_factory: pytest.TempPathFactory) -> Iterator[AuthRegistry]:
    """docker-registry on 127.0.0.1 with htpasswd auth (bcrypt, as `docker login` expects),
    a random password, storing in a session temp folder; killed at the session's end."""
    import secrets

    htpasswd = _need("htpasswd", "apache2-utils")
    root = tmp_path_factory.mktemp("auth-registry")
    username, password = "devenv-test", secrets.token_urlsafe(18)
    entry = subprocess.run(
        [htpasswd, "-Bbn", username, password], capture_output=True, text=True, check=True
    ).stdout
    (root / "htpasswd").write_text(entry)
    port = free_port()
    process = start_registry(root, port, root / "htpasswd")
    try:
        yield AuthRegistry(f"127.0.0.1:{port}", username, password, root)
    finally:
        _stop(process)


@pytest.fixture(name="small_engine")
def small_engine_fixture(docker_client) -> Iterator[str]:  # type: ignore[no-untyped-def]
    """A second, real Docker engine whose disk is a 400 MB tmpfs holding only the base
    image: builds on it can fill its disk for real. Yields its DOCKER_HOST URL."""
    import tempfile

    root = Path(tempfile.mkdtemp(prefix="dvd"))  # short: a socket path must stay < 108 bytes
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=400m", "tmpfs", str(root)], check=True)
    (root / "data").mkdir()
    (root / "exec").mkdir()
    url = f"unix://{root}/d.sock"
    # its own network namespace: a dockerd with --bridge=none deletes the host's docker0,
    # which would break every later build and container of the main engine
    command = [
        "unshare", "--net", "dockerd", f"--data-root={root}/data", f"--exec-root={root}/exec",
        f"--pidfile={root}/d.pid", f"--host={url}", "--bridge=none",
        "--iptables=false", "--ip-masq=false",
    ]  # fmt: skip
    with (root / "dockerd.log").open("wb") as out:
        daemon = subprocess.Popen(
            command, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL
        )
    try:
        for _ in range(120):
            if subprocess.run(["docker", "-H", url, "info"], capture_output=True).returncode == 0:
                break
            time.sleep(0.25)
        else:
            raise AssertionError(
                f"the small engine did not start: {(root / 'dockerd.log').read_text()[-2000:]}"
            )
        saved = subprocess.run(
            ["docker", "save", "debian:bookworm"], capture_output=True, check=True
        ).stdout
        subprocess.run(
            ["docker", "-H", url, "load", "-q"], input=saved, capture_output=True, check=True
        )
        yield url
    finally:
        _stop(daemon)  # type: ignore[arg-type]
        subprocess.run(["umount", "-l", str(root)], check=False)
        shutil.rmtree(root, ignore_errors=True)
