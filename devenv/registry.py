"""Registry names and registry failures, as pure functions: no engine, no files.

Docker keys logins by registry host (``host[:port]``; Docker Hub by its legacy index URL),
and the engine reports registry failures as free text. Both are normalised here once, so
login, push, pull and the image cache speak about registries the same way.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from devenv.errors import DevenvError, RegistryFailure

HUB_ALIASES = ("docker.io", "index.docker.io", "registry-1.docker.io")
HUB_KEY = "https://index.docker.io/v1/"  # where the docker CLI files Docker Hub's login
HOST_RE = re.compile(r"(\[[0-9a-fA-F:]+\]|[A-Za-z0-9.-]+)(:[0-9]{1,5})?")
PATH_RE = re.compile(r"[a-z0-9]+([._-][a-z0-9]+)*")

# Engine/registry phrases → what went wrong (checked in this order: auth beats "not found",
# since some registries answer a missing login with "repository not found").
_KINDS: tuple[tuple[RegistryFailure, tuple[str, ...]], ...] = (
    (
        "auth",
        (
            "unauthorized",
            "authentication required",
            "no basic auth credentials",
            "incorrect username or password",
            "denied",
            "may require 'docker login'",
        ),
    ),
    (
        "missing",
        ("manifest unknown", "not found", "name unknown", "repository does not exist"),
    ),
    (
        "unreachable",
        (
            "connection refused",
            "no such host",
            "dial tcp",
            "timeout",
            "network is unreachable",
            "server gave http response to https client",
            "tls:",
            "x509",
            "connection reset",
            ": eof",
        ),
    ),
)


def server_key(registry: str) -> str:
    """The key docker files a registry's login under: 'host[:port]', or Docker Hub's URL."""
    host = host_of(registry)
    return HUB_KEY if host in HUB_ALIASES else host


def host_of(registry: str) -> str:
    """'https://reg.example.com:5000/team/' → 'reg.example.com:5000'; rejects nonsense."""
    text = re.sub(r"^https?://", "", registry.strip()).split("/", 1)[0]
    if not HOST_RE.fullmatch(text):
        raise DevenvError(
            f"{registry!r} is not a registry address",
            "give HOST[:PORT], e.g. registry.example.com or 127.0.0.1:5000",
        )
    return text.lower()


@dataclass(frozen=True)
class RegistryNamespace:
    """A registry namespace images are pushed to and pulled from: REGISTRY[/NAMESPACE]."""

    registry: str
    namespace: str = ""

    @classmethod
    def parse(cls, text: str) -> RegistryNamespace:
        """'127.0.0.1:5000/team' → RegistryNamespace('127.0.0.1:5000', 'team')."""
        stripped = re.sub(r"^https?://", "", text.strip()).strip("/")
        host, _, path = stripped.partition("/")
        host = host_of(host)
        if path and not all(PATH_RE.fullmatch(part) for part in path.split("/")):
            raise DevenvError(
                f"{text!r}: namespace {path!r} is not valid",
                "use lowercase letters, digits and . _ - separated by /",
            )
        return cls(host, path)

    def repo(self, env: str) -> str:
        """Where `env`'s images live: REGISTRY/NAMESPACE/ENV."""
        return "/".join(part for part in (self.registry, self.namespace, env) if part)

    def ref(self, env: str, tag: str) -> str:
        return f"{self.repo(env)}:{tag}"

    def __str__(self) -> str:
        return "/".join(part for part in (self.registry, self.namespace) if part)


def registry_of(ref: str) -> str:
    """The registry part of an image reference (Docker Hub when the first part is no host)."""
    first, sep, _rest = ref.partition("/")
    if sep and ("." in first or ":" in first or first == "localhost"):
        return first
    return "docker.io"


def failure_kind(text: str) -> RegistryFailure:
    """missing / auth / unreachable / other, from what the engine or registry said."""
    lowered = text.lower()
    for kind, phrases in _KINDS:
        if any(phrase in lowered for phrase in phrases):
            return kind
    return "other"


def explain(ref: str, text: str, action: str) -> tuple[RegistryFailure, str, str | None]:
    """(kind, one sentence, hint) for a failed pull/push/login of `ref` with engine `text`."""
    login = action == "login"
    registry = ref if login else registry_of(ref)
    doing = f"logging in to {ref}" if login else f"{action} {ref}"
    kind = failure_kind(text)
    if kind == "auth":
        if login:
            return kind, f"login to {registry} failed: wrong user name or password", None
        return (
            kind,
            f"{doing}: {registry} refused the credentials (not logged in, or no access)",
            f"run `devenv login {registry}`",
        )
    if kind == "missing" and not login:
        return kind, f"{doing}: no such image or repository in {registry}", None
    if kind == "unreachable":
        return (
            kind,
            f"{doing}: cannot reach the registry {registry} ({first_line(text)})",
            "check the address, that the registry runs, and the network",
        )
    return kind, f"{doing}: {registry} said: {first_line(text)}", None


def first_line(text: str) -> str:
    stripped = text.strip()
    return stripped.splitlines()[0][:300] if stripped else "no details"


def scrub(text: str, *secrets: str) -> str:
    """`text` with every secret replaced, for messages that might echo what was sent."""
    for secret in secrets:
        if secret:
            text = text.replace(secret, "***")
    return text
