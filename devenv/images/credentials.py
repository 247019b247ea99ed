"""Registry logins, kept where docker keeps them so `docker` and devenv share one login.

That is ``$DOCKER_CONFIG/config.json`` (default ``~/.docker/config.json``): its ``auths``
map, or — when the file names a ``credsStore`` or a per-registry ``credHelpers`` entry — the
``docker-credential-<name>`` program, spoken to over its stdin/stdout protocol. The engine
reads the same file when it pulls and pushes. Secrets never appear in an error message.
"""

from __future__ import annotations

import base64
import contextlib
import json
import os
import shutil
import subprocess
import tempfile
from pathlib import Path
from typing import Any

from devenv.errors import DevenvError
from devenv.hostfiles import InputRefused, read_bounded
from devenv.registry import scrub

MAX_CONFIG = 4 << 20  # docker's client config: logins and settings, a few KiB


def config_path() -> Path:
    """docker's client config file, honouring DOCKER_CONFIG as the docker CLI does."""
    folder = os.environ.get("DOCKER_CONFIG")
    return (Path(folder) if folder else Path.home() / ".docker") / "config.json"


def load_config(path: Path | None = None) -> dict[str, Any]:
    path = path or config_path()
    try:
        data = json.loads(read_bounded(path, MAX_CONFIG) or b"{}")
    except FileNotFoundError:
        return {}
    except InputRefused as exc:
        raise DevenvError(f"cannot read docker's config: {exc.message}", exc.hint) from None
    except (OSError, ValueError) as exc:
        raise DevenvError(f"cannot read docker's config {path} ({exc})") from None
    if not isinstance(data, dict):
        raise DevenvError(f"docker's config {path} is not a JSON object")
    return data


def save_config(data: dict[str, Any], path: Path | None = None) -> None:
    """Write atomically, private to the user (it may hold base64 passwords)."""
    path = path or config_path()
    if path.is_symlink():  # keep the link (dotfile setups): write where it points
        path = path.resolve()
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=".config.json.", dir=path.parent)
    try:
        with os.fdopen(fd, "w") as handle:
            json.dump(data, handle, indent="\t")
            handle.write("\n")
        os.chmod(tmp, 0o600)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


def helper_for(config: dict[str, Any], key: str) -> str | None:
    """The credential helper docker would use for `key`: credHelpers first, then credsStore."""
    helpers = config.get("credHelpers") or {}
    return helpers.get(key) or config.get("credsStore") or None


def store(key: str, username: str, secret: str, path: Path | None = None) -> str:
    """Save a login for registry `key`; returns where it went (for the user to see)."""
    config = load_config(path)
    auths = config.setdefault("auths", {})
    helper = helper_for(config, key)
    if helper:
        payload = {"ServerURL": key, "Username": username, "Secret": secret}
        _helper(helper, "store", json.dumps(payload), secret=secret)
        auths[key] = {}  # as the docker CLI does: the entry lists the login, the helper holds it
        where = f"docker-credential-{helper}"
    else:
        token = base64.b64encode(f"{username}:{secret}".encode()).decode()
        auths[key] = {"auth": token}
        where = str(path or config_path())
    save_config(config, path)
    return where


def erase(key: str, path: Path | None = None) -> bool:
    """Forget the login for `key`; False when there was none."""
    config = load_config(path)
    auths = config.get("auths") or {}
    found = auths.pop(key, None) is not None
    helper = helper_for(config, key)
    if helper:
        found = _helper(helper, "erase", key, missing_ok=True) is not None or found
    if found:
        save_config(config, path)
    return found


def lookup(key: str, path: Path | None = None) -> str | None:
    """The user name logged in to `key`, if any (never the secret)."""
    config = load_config(path)
    helper = helper_for(config, key)
    if helper:
        out = _helper(helper, "get", key, missing_ok=True)
        try:
            return str(json.loads(out or "{}").get("Username") or "") or None
        except (ValueError, AttributeError):
            return None
    entry = (config.get("auths") or {}).get(key) or {}
    if entry.get("username"):
        return str(entry["username"])
    try:
        return base64.b64decode(entry.get("auth", "")).decode().split(":", 1)[0] or None
    except ValueError:
        return None


def _helper(
    name: str, verb: str, payload: str, missing_ok: bool = False, secret: str = ""
) -> str | None:
    """Run `docker-credential-NAME VERB` with `payload` on stdin; its stdout, or None when
    `missing_ok` and it says it has no such entry."""
    program = f"docker-credential-{name}"
    found = shutil.which(program)
    if found is None:
        raise DevenvError(
            f"docker's config names the credential helper {program!r}, which is not installed",
            f"install it, or remove credsStore/credHelpers from {config_path()}",
        )
    try:
        proc = subprocess.run(
            [found, verb], input=payload, capture_output=True, text=True, check=False, timeout=60
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise DevenvError(f"{program} {verb} did not run ({type(exc).__name__})") from None
    if proc.returncode == 0:
        return proc.stdout
    said = (proc.stdout.strip() or proc.stderr.strip() or f"exit {proc.returncode}").splitlines()
    said = [scrub(line, secret) for line in said]
    if missing_ok and "not found" in " ".join(said).lower():
        return None
    raise DevenvError(f"{program} {verb} failed: {said[0][:200]}")
