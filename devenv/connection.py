"""Where the engine is and how to reach it, decided once: the docker SDK client (devenv.engine)
and every `docker` command line devenv runs (`devenv shell`) use these settings, so a docker
CLI context or config can never send one command to another engine than the rest."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

DEFAULT_URL = "unix:///var/run/docker.sock"


@dataclass(frozen=True)
class Connection:
    """Where the engine is and how to reach it: its URL, and TLS client files when used."""

    url: str
    tls: bool = False
    verify: bool = False  # check the engine's certificate against ca.pem
    cert_dir: Path | None = None  # holds ca.pem, cert.pem, key.pem

    def files(self) -> dict[str, Path]:
        """The TLS files that exist, by the docker CLI's flag: 'cacert', 'cert', 'key' → path."""
        if not self.tls or self.cert_dir is None:
            return {}
        named = {"cacert": "ca.pem", "cert": "cert.pem", "key": "key.pem"}
        return {k: self.cert_dir / v for k, v in named.items() if (self.cert_dir / v).is_file()}

    def cli_args(self) -> list[str]:
        """The docker CLI's global options that point it here, whatever its context says."""
        args = ["--host", self.url]
        if self.tls:
            args.append("--tlsverify" if self.verify else "--tls")
            args += [f"--tls{kind}={path}" for kind, path in self.files().items()]
        return args


def connection(environ: Mapping[str, str] | None = None) -> Connection:
    """The engine devenv talks to: --host / DOCKER_HOST, with TLS from DOCKER_TLS_VERIFY and
    DOCKER_CERT_PATH, read as the docker SDK and CLI read them (default: the local socket)."""
    environ = os.environ if environ is None else environ
    cert_path = environ.get("DOCKER_CERT_PATH") or None
    verify = environ.get("DOCKER_TLS_VERIFY") not in (None, "")  # any value but "" means yes
    tls = bool(cert_path) or verify
    cert_dir = Path(cert_path) if cert_path else Path.home() / ".docker"
    return Connection(
        url=environ.get("DOCKER_HOST") or DEFAULT_URL,
        tls=tls,
        verify=verify,
        cert_dir=cert_dir if tls else None,
    )
