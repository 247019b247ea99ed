"""Where the engine is, decided once: the SDK client and `devenv shell`'s docker CLI both use
`connection()`, so a CLI context can never send `shell` to another engine than apply's."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from devenv.connection import DOCKER_SOCKET_URL as DEFAULT_URL
from devenv.connection import Connection, resolve
from devenv.enter import exec_argv


def connection(environ: Mapping[str, str]) -> Connection:
    """The engine for `environ` alone, with Docker's socket taken to answer."""
    return resolve({"HOME": "/nonexistent", **environ}, answers=lambda _path: True)


def test_the_local_socket_by_default_and_docker_host_when_set() -> None:
    assert connection({}).url == DEFAULT_URL
    assert connection({"DOCKER_HOST": ""}).url == DEFAULT_URL
    assert connection({"DOCKER_HOST": "tcp://10.0.0.5:2375"}).url == "tcp://10.0.0.5:2375"
    assert not connection({"DOCKER_HOST": "tcp://10.0.0.5:2375"}).tls


def test_tls_as_the_sdk_and_cli_read_it(tmp_path: Path) -> None:
    for name in ("ca.pem", "cert.pem", "key.pem"):
        (tmp_path / name).write_text("x")
    environ = {
        "DOCKER_HOST": "tcp://10.0.0.5:2376",
        "DOCKER_TLS_VERIFY": "1",
        "DOCKER_CERT_PATH": str(tmp_path),
    }
    assert connection(environ).cli_args() == [
        "--host",
        "tcp://10.0.0.5:2376",
        "--tlsverify",
        f"--tlscacert={tmp_path / 'ca.pem'}",
        f"--tlscert={tmp_path / 'cert.pem'}",
        f"--tlskey={tmp_path / 'key.pem'}",
    ]
    unverified = connection({**environ, "DOCKER_TLS_VERIFY": ""})  # "" means no, as in docker
    assert unverified.tls is not None and not unverified.tls.verify
    assert "--tls" in unverified.cli_args() and "--tlsverify" not in unverified.cli_args()


def test_shell_runs_docker_against_that_engine() -> None:
    engine = connection({"DOCKER_HOST": "ssh://me@build-box"})
    argv = exec_argv(engine, "php", "dev", "/var/www", ["id"], tty=False)
    assert argv == [
        "docker",
        "--host",
        "ssh://me@build-box",
        "exec",
        "-i",
        "-u",
        "dev",
        "-w",
        "/var/www",
        "php",
        "id",
    ]
