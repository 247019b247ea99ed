"""Where the engine is, decided once: the SDK client and `devenv shell`'s docker CLI both use
`connection()`, so a CLI context can never send `shell` to another engine than apply's."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import pytest

from devenv.commands.shell import exec_argv
from devenv.engine.connection import DOCKER_SOCKET_URL as DEFAULT_URL
from devenv.engine.connection import Connection, resolve
from devenv.errors import EngineError


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


def test_the_engines_ca_wins_over_requests_ca_bundle(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import docker

    from devenv.engine.client import _pin_verify

    ca = tmp_path / "ca.pem"
    ca.write_text("x")
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", "/etc/ssl/certs/ca-certificates.crt")
    tls = docker.tls.TLSConfig(ca_cert=str(ca), verify=True)
    api = docker.APIClient(base_url="tcp://10.0.0.5:2376", tls=tls, version="1.41")
    url = "https://10.0.0.5:2376/version"
    assert api.merge_environment_settings(url, {}, None, None, None)["verify"] != str(ca)
    _pin_verify(api)  # docker/docker-py#2433: the variable replaced the engine's CA
    assert api.merge_environment_settings(url, {}, None, None, None)["verify"] == str(ca)


def test_tls_faults_in_words() -> None:
    from devenv.engine.faults import explain_failure

    nested = "HTTPSConnectionPool(…) (Caused by SSLError(SSLError(1, '[SSL: TLSV1_ALERT_UNKNOWN_CA] tlsv1 alert unknown ca (_ssl.c:2580)')))"
    assert (
        explain_failure(OSError(nested)) == "TLS: the engine does not trust the client certificate"
    )
    assert connection({"DOCKER_HOST": "tcp://h:2376"}).tls is None


def test_a_rootless_storage_conf_without_runroot_is_one_sentence_with_the_fix() -> None:
    import docker.errors

    from devenv.engine.faults import engine_errors

    said = "CommitFailure: runroot must be set"  # rootless Podman 4.3's API, as it answers
    with pytest.raises(EngineError) as caught, engine_errors("snapshotting b165ee03b199"):
        raise docker.errors.APIError("500 Server Error", explanation=said)
    assert caught.value.message == (
        "snapshotting b165ee03b199: the engine's storage.conf names no runroot"
        " (rootless Podman needs one for this)"
    )
    assert caught.value.hint and "~/.config/containers/storage.conf" in caught.value.hint
    assert "{{.Store.RunRoot}} {{.Store.GraphRoot}}" in caught.value.hint
    with pytest.raises(EngineError) as other, engine_errors("snapshotting x"):
        raise docker.errors.APIError("500 Server Error", explanation="CommitFailure: disk full")
    assert other.value.message == "snapshotting x: the engine said: CommitFailure: disk full"


def test_podman_pushes_to_a_registry_on_this_machine_over_plain_http() -> None:
    from devenv.engine.transfer import local_registry, pushed_digest

    assert local_registry("127.0.0.1:5000/team/x") and local_registry("localhost:5000/x")
    assert not local_registry("registry.example.com/team/x") and not local_registry("team/x")
    digest = "sha256:" + "a" * 64
    assert pushed_digest({"aux": {"Digest": digest}}) == digest  # Docker
    assert pushed_digest({"status": f"latest: digest: {digest} size: 581"}) == digest  # Podman
    assert pushed_digest({"status": "Pushed"}) is None


SDK_CHECK = """
import sys
from devenv.engine.faults import engine_errors
with engine_errors("checking"):  # the first import of docker, as in every command
    pass
import docker
print("paramiko" in sys.modules)
from devenv.engine.client import _ssh_support
_ssh_support()
api = docker.APIClient(base_url="ssh://nobody@192.0.2.1", use_ssh_client=True, version="1.41")
print(type(api._custom_adapter).__name__)
"""


def test_the_sdk_loads_without_paramiko_and_ssh_still_works() -> None:
    """paramiko costs start-up time and serves ssh:// only: it is not loaded for a local
    engine, and an ssh:// client made afterwards still gets the SDK's ssh adapter."""
    import subprocess
    import sys

    root = str(Path(__file__).resolve().parents[2])
    out = subprocess.run(
        [sys.executable, "-c", SDK_CHECK],
        capture_output=True,
        text=True,
        check=True,
        env={"PYTHONPATH": root, "PATH": "/usr/bin:/bin", "HOME": "/nonexistent"},
    ).stdout.split()
    assert out == ["False", "SSHHTTPAdapter"]


def test_a_tls_hang_up_in_the_handshake_is_named_as_the_likely_refusal() -> None:
    from devenv.engine.faults import tls_failure

    raw = "SSLError(SSLEOFError(8, 'EOF occurred in violation of protocol (_ssl.c:2427)'))"
    said = tls_failure(raw)
    assert said is not None and said.endswith("does not trust the client certificate")
    assert tls_failure("[SSL: TLSV1_ALERT_UNKNOWN_CA] tlsv1 alert unknown ca") == (
        "TLS: the engine does not trust the client certificate"
    )
