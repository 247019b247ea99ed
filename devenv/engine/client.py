"""The SDK client for a connection: TLS, the user's OpenSSH for ssh://, and the engine's
/version asked once (which also picks the API version, as version="auto" would)."""

from __future__ import annotations

import sys
from typing import Any

from devenv.engine.connection import Connection
from devenv.engine.server import Server

MIN_API_VERSION = "1.24"  # used only for the first /version call, which sets the real one


def make_client(connection: Connection) -> tuple[Any, Server]:
    """A low-level client for `connection`, and the engine's /version (asked once, which also
    picks the API version, as version="auto" would)."""
    import_sdk()
    import docker
    import docker.tls

    if connection.scheme == "ssh":
        _ssh_support()
    tls: Any = False
    if connection.tls is not None:
        files = connection.tls
        cert = (files.cert, files.key) if files.cert and files.key else None
        tls = docker.tls.TLSConfig(client_cert=cert, ca_cert=files.ca, verify=files.verify)
    api = docker.APIClient(
        **connection.client_kwargs(), tls=tls, version=MIN_API_VERSION, timeout=120
    )
    if connection.tls is not None:
        _pin_verify(api)
    if connection.ssh_jump:  # the SDK adds "-p 22", which would override ~/.ssh/config's Port
        api._custom_adapter.ssh_host = connection.ssh_jump
    raw = api.version(api_version=False)
    api._version = str(raw.get("ApiVersion") or MIN_API_VERSION)
    return api, Server.from_version(raw)


def _pin_verify(api: Any) -> None:
    """Keep the engine's own CA (or no check) for every request: requests otherwise lets
    REQUESTS_CA_BUNDLE / CURL_CA_BUNDLE replace it (docker/docker-py#2433), and an engine
    with its own CA then fails verification although `docker` reaches it."""
    verify = api.verify
    merge = api.merge_environment_settings

    def pinned(*args: Any) -> Any:
        settings = merge(*args)
        settings["verify"] = verify
        return settings

    api.merge_environment_settings = pinned


def import_sdk() -> None:
    """Import docker-py without paramiko: the SDK imports it up front for ssh:// (60 to 180
    ms of a 2-core machine's start-up), which a local socket or tcp:// never uses; an
    ssh:// client gets its adapter when it is made (see _ssh_support). Call it before any
    other import of docker."""
    if "docker" in sys.modules:
        return
    blocked = "paramiko" not in sys.modules
    if blocked:
        sys.modules["paramiko"] = None  # type: ignore[assignment]  # import paramiko fails
    try:
        import docker  # noqa: F401
    finally:
        if blocked:
            del sys.modules["paramiko"]


def _ssh_support() -> None:
    """docker-py's ssh:// adapter, when the SDK was first imported without paramiko."""
    import docker.api.client

    if not hasattr(docker.api.client, "SSHHTTPAdapter"):
        from docker.transport.sshconn import SSHHTTPAdapter

        docker.api.client.SSHHTTPAdapter = SSHHTTPAdapter


class SdkReader:
    """devenv.engine.observe.Reader over the Docker SDK's low-level client."""

    def __init__(self, api: Any) -> None:
        self.api = api

    def containers(self, **filters: list[str]) -> list[dict[str, Any]]:
        return list(self.api.containers(all=True, filters=filters))

    def inspect(self, container: str) -> dict[str, Any] | None:
        import docker.errors

        try:
            return dict(self.api.inspect_container(container))
        except docker.errors.NotFound:
            return None

    def images(self) -> list[dict[str, Any]]:
        return list(self.api.images())

    def events(self, since: float, until: float, **filters: list[str]) -> list[dict[str, Any]]:
        found = self.api.events(
            since=f"{since:.9f}", until=f"{until:.9f}", filters=filters, decode=True
        )
        return list(found)
