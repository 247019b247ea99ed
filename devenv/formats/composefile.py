"""Compose files as data: read (bounded), several merged in order as `docker compose -f A
-f B` merges them, and the project's name, which prefixes its volumes' names."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from devenv.errors import DevenvError
from devenv.formats.interpolation import split_colons
from devenv.hostfiles import InputRefused, read_bounded

MAX_BYTES = 4 * 1024 * 1024
# Lists Compose merges by a key (the mount point, the variable) rather than appending.
BY_KEY = ("environment", "labels", "extra_hosts", "volumes", "devices", "annotations")
REPLACED = ("command", "entrypoint", "test")


@dataclass(frozen=True)
class Project:
    """What every service of the files shares: where paths start, names, variables."""

    source: str
    folder: Path
    out_dir: Path
    name: str
    data: dict[str, Any]
    values: dict[str, str]


def load(path: Path) -> dict[str, Any]:
    """The compose file as data; one sentence when it is not a compose file."""
    try:
        raw = read_bounded(path, MAX_BYTES)
    except InputRefused as exc:
        raise DevenvError(exc.message, "give a compose file") from None
    except OSError as exc:
        raise DevenvError(f"cannot read {path}: {exc.strerror}", "check the path") from None
    try:
        data = yaml.safe_load(raw.decode("utf-8-sig"))
    except UnicodeDecodeError:
        raise DevenvError(f"{path} is not UTF-8 text", "is it a compose file?") from None
    except (yaml.YAMLError, RecursionError) as exc:
        first = str(exc).splitlines()[0] if str(exc) else "nested too deeply"
        raise DevenvError(
            f"{path} is not valid YAML ({first})", "fix it, then run init again"
        ) from None
    if not isinstance(data, dict) or not isinstance(data.get("services"), dict):
        raise DevenvError(f"{path} has no 'services:'", "is it a compose file?")
    return data


def load_all(paths: list[Path]) -> dict[str, Any]:
    """The files merged in order: later ones override and extend earlier ones."""
    merged: dict[str, Any] = {}
    for path in paths:
        merged = merge(merged, load(path))
    return merged


def merge(base: Any, over: Any, key: str = "") -> Any:
    """Compose's override rules, simplified: mappings merge, the lists of BY_KEY merge by
    their key, command-like values are replaced, other lists are appended without repeats."""
    if isinstance(base, dict) and isinstance(over, dict):
        out = dict(base)
        for name, value in over.items():
            out[name] = merge(base[name], value, str(name)) if name in base else value
        return out
    if key in BY_KEY and isinstance(base, list | dict) and isinstance(over, list | dict):
        return list({_entry_key(e): e for e in [*_entries(base), *_entries(over)]}.values())
    if isinstance(base, list) and isinstance(over, list) and key not in REPLACED:
        return base + [e for e in over if e not in base]
    return over


def _entries(value: list[Any] | dict[str, Any]) -> list[Any]:
    if isinstance(value, dict):
        return [str(k) if v is None else f"{k}={_scalar(v)}" for k, v in value.items()]
    return list(value)


def _scalar(value: Any) -> str:
    return str(value).lower() if isinstance(value, bool) else str(value)


def _entry_key(entry: Any) -> str:
    if isinstance(entry, dict):
        return str(entry.get("target") or entry)
    text = str(entry)
    if "=" in text:
        return text.partition("=")[0]
    parts = split_colons(text)
    return parts[1] if len(parts) > 1 else parts[0]


def project_name(data: dict[str, Any], folder: Path, default: str | None = None) -> str:
    """What Compose names the project: `name:`, else `default`, else the folder's name,
    lowercased to the characters Compose keeps."""
    raw = str(data.get("name") or default or folder.resolve().name)
    return re.sub(r"[^a-z0-9_-]", "", raw.lower()).lstrip("_-") or "default"
