"""Engine faults as sentences: every SDK or transport error leaves the adapter as one
DevenvError; a local file's fault never reads as an unreachable engine."""

from __future__ import annotations

import contextlib
import re
import socket
from collections.abc import Iterator

from devenv.engine.client import import_sdk
from devenv.engine.connection import current_hint, current_where
from devenv.errors import STATE_PATH, DevenvError, EngineError, HostFileError, RegistryError
from devenv.registry import explain

# Socket faults the SDK lets through unwrapped (mid-stream): the engine, not a local file.
TRANSPORT = (ConnectionError, TimeoutError, socket.gaierror, socket.herror)


def explain_failure(exc: BaseException) -> str:
    """The shortest true sentence about a transport or API failure."""
    text = str(getattr(exc, "explanation", None) or exc)
    tls = tls_failure(text)
    if tls:
        return tls
    if isinstance(exc, PermissionError) or "Permission denied" in text:
        return "permission denied"
    if "No such file or directory" in text or "FileNotFoundError" in text:
        return "no engine socket there"
    if "Connection refused" in text:
        return "connection refused"
    if "Read timed out" in text or "timed out" in text:
        return "the engine did not answer in time"
    return text.strip().splitlines()[0] if text.strip() else type(exc).__name__


TLS_FAULTS = (
    ("CERTIFICATE_VERIFY_FAILED", "TLS: the engine's certificate is not signed by the CA given"),
    ("alert unknown ca", "TLS: the engine does not trust the client certificate"),
    (  # TLS 1.3: the client may read the hang-up before the alert that explains it
        "EOF occurred in violation of protocol",
        "TLS: the engine hung up in the handshake, as it does when it does not trust the "
        "client certificate",
    ),
    ("alert bad certificate", "TLS: the engine rejected the client certificate"),
    ("alert certificate required", "TLS: the engine wants a client certificate"),
    ("certificate required", "TLS: the engine wants a client certificate"),
    ("Path to a certificate and key", "TLS: the client certificate or key file is missing"),
    ("Invalid CA certificate", "TLS: the CA certificate file is missing"),
    ("WRONG_VERSION_NUMBER", "TLS: the engine does not speak TLS on that port"),
    (
        "Connection reset by peer",
        "the engine closed the connection, as a TLS port does to plain HTTP",
    ),
)


def tls_failure(text: str) -> str | None:
    """TLS handshake and material faults in words (the SDK's text is a nest of reprs)."""
    return next((words for needle, words in TLS_FAULTS if needle in text), None)


@contextlib.contextmanager
def engine_errors(what: str) -> Iterator[None]:
    """Turn SDK/transport exceptions raised while doing `what` into one EngineError."""
    import_sdk()  # the first import of docker, most often
    import docker.errors
    import requests.exceptions

    try:
        yield
    except docker.errors.ImageNotFound as exc:
        raise EngineError(f"{what}: image not found ({explain_failure(exc)})") from None
    except docker.errors.NotFound as exc:
        raise EngineError(f"{what}: not found ({explain_failure(exc)})") from None
    except docker.errors.APIError as exc:
        known = engine_setup_fault(explain_failure(exc))
        if known:
            raise EngineError(f"{what}: {known[0]}", known[1]) from None
        raise EngineError(f"{what}: the engine said: {explain_failure(exc)}") from None
    except (docker.errors.DockerException, requests.exceptions.RequestException, *TRANSPORT) as exc:
        raise EngineError(
            f"{what}: cannot reach the Docker engine at {current_where()} ({explain_failure(exc)})",
            current_hint(),
        ) from None
    except OSError as exc:  # a local file: its own words, never "cannot reach the engine"
        if isinstance(exc.filename, str):
            raise HostFileError("use", exc.filename, exc) from None
        raise DevenvError(
            f"{what}: a file on this machine could not be used ({exc.strerror or exc})",
            f"check the free space and permissions of devenv's files, {STATE_PATH}",
        ) from None


STORAGE_VALUES = "podman info --format '{{.Store.RunRoot}} {{.Store.GraphRoot}}'"
ENGINE_SETUP_FAULTS = (
    # Podman's API service rereads ~/.config/containers/storage.conf for a commit (podman 4.3)
    # and, unlike its CLI, fills in no default for a [storage] section without runroot
    (
        "runroot must be set",
        "the engine's storage.conf names no runroot (rootless Podman needs one for this)",
        "under [storage] in ~/.config/containers/storage.conf of the user running Podman, set"
        f" runroot and graphroot to what `{STORAGE_VALUES}` prints (as that user)",
    ),
)


def engine_setup_fault(text: str) -> tuple[str, str] | None:
    """A failure that is the engine's configuration, not devenv's request: words and a hint."""
    return next(
        ((words, hint) for needle, words, hint in ENGINE_SETUP_FAULTS if needle in text), None
    )


def start_failure(exc: BaseException) -> str:
    text = str(getattr(exc, "explanation", None) or exc)
    taken = re.search(r"(?:Bind for |listen \w+ )([0-9.:\[\]a-f]+?):(\d+)", text)
    if taken or "port is already allocated" in text or "address already in use" in text:
        where = f"{taken.group(1)}:{taken.group(2)}" if taken else "a published port"
        return f"host port {where} is already taken by another process or container"
    return f"the container did not start: {text.strip().splitlines()[0] if text.strip() else exc}"


def registry_error(ref: str, text: str, action: str) -> RegistryError:
    """One sentence for a registry failure, with its kind (see devenv.registry.explain)."""
    kind, message, hint = explain(ref, text, action)
    return RegistryError(message, kind, hint)
