"""The local Docker engine reached the way a remote TLS one is: a throwaway CA signs a server
and a client pair, and socat serves the engine's socket on 127.0.0.1 over TLS, checking the
client's certificate (as dockerd's --tlsverify does). Import `tls_engine_fixture`;
it registers as `tls_engine`."""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.integration.conftest import free_port
from tests.integration.services import _start, _stop
from tests.prerequisites import skip_or_fail

DOCKER_SOCKET = "/var/run/docker.sock"


@dataclass(frozen=True)
class TlsEngine:
    url: str  # tcp://127.0.0.1:PORT
    certs: Path  # ca.pem, cert.pem, key.pem: what DOCKER_CERT_PATH names
    stranger: Path  # the same CA, and a client pair that CA never signed


def _openssl(*argv: str, cwd: Path) -> None:
    subprocess.run(["openssl", *argv], cwd=cwd, check=True, capture_output=True, timeout=60)


def _signed(folder: Path, name: str, subject: str, usage: str) -> None:
    """`name`.pem and `name`-key.pem, signed by folder's ca.pem."""
    _openssl(
        "req", "-newkey", "rsa:2048", "-nodes", "-keyout", f"{name}-key.pem",
        "-out", f"{name}.csr", "-subj", f"/CN={subject}", cwd=folder,
    )  # fmt: skip
    (folder / f"{name}.ext").write_text(usage + "\n")
    _openssl(
        "x509", "-req", "-in", f"{name}.csr", "-CA", "ca.pem", "-CAkey", "ca-key.pem",
        "-CAcreateserial", "-out", f"{name}.pem", "-days", "2", "-extfile", f"{name}.ext",
        cwd=folder,
    )  # fmt: skip


def make_certs(folder: Path) -> tuple[Path, Path]:
    """A CA, a server pair for 127.0.0.1, a client folder as DOCKER_CERT_PATH wants it, and
    a stranger's folder (self-signed client pair) for the refusal."""
    _openssl(
        "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", "ca-key.pem",
        "-out", "ca.pem", "-days", "2", "-subj", "/CN=devenv-test-ca", cwd=folder,
    )  # fmt: skip
    _signed(folder, "server", "127.0.0.1", "subjectAltName=IP:127.0.0.1,DNS:localhost")
    _signed(folder, "client", "devenv-test-client", "extendedKeyUsage=clientAuth")
    client, stranger = folder / "client", folder / "stranger"
    for where in (client, stranger):
        where.mkdir()
        shutil.copy(folder / "ca.pem", where / "ca.pem")
    shutil.copy(folder / "client.pem", client / "cert.pem")
    shutil.copy(folder / "client-key.pem", client / "key.pem")
    _openssl(
        "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", "key.pem",
        "-out", "cert.pem", "-days", "2", "-subj", "/CN=stranger", cwd=stranger,
    )  # fmt: skip
    return client, stranger


def _socat() -> str:
    found = shutil.which("socat")
    if found is None and os.geteuid() == 0:  # scripts/setup installs it; a bare machine too
        env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
        install = ["apt-get", "install", "-y", "-qq", "--no-install-recommends", "socat"]
        if subprocess.run(install, env=env, capture_output=True, check=False).returncode:
            subprocess.run(["apt-get", "update", "-qq"], capture_output=True, check=False)
            subprocess.run(install, env=env, capture_output=True, check=False)
        found = shutil.which("socat")
    if found is None:
        skip_or_fail("socat is not installed (apt-get install socat; scripts/setup does it)")
    return found


@pytest.fixture(scope="session", name="tls_engine")
def tls_engine_fixture(
    docker_client, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[TlsEngine]:  # type: ignore[no-untyped-def]
    """The engine over TLS with client-certificate checks, on 127.0.0.1; stopped at the end."""
    program = _socat()
    folder = tmp_path_factory.mktemp("tls-engine")
    client, stranger = make_certs(folder)
    port = free_port()
    listen = (
        f"OPENSSL-LISTEN:{port},bind=127.0.0.1,reuseaddr,fork,cert={folder}/server.pem,"
        f"key={folder}/server-key.pem,cafile={folder}/ca.pem,verify=1"
    )
    process = _start([program, listen, f"UNIX-CONNECT:{DOCKER_SOCKET}"], port, folder / "log")
    try:
        yield TlsEngine(f"tcp://127.0.0.1:{port}", client, stranger)
    finally:
        _stop(process)
