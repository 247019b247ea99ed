"""Compose's `${VAR}` outside env values: paths, ports and images are resolved the way
Compose would on a machine with nothing set (the project's `.env`, else each default), and
split at the colons that are not inside a `${…}`."""

from __future__ import annotations

import re
from pathlib import Path

REFERENCE_RE = re.compile(
    r"\$\$|\$\{(?P<name>[A-Za-z_][A-Za-z0-9_]*)(?:(?P<op>:?[-?+])(?P<arg>[^}$]*))?\}"
    r"|\$(?P<bare>[A-Za-z_][A-Za-z0-9_]*)"
)


class Unresolved(ValueError):
    """A variable with no value here and no default: the value cannot be written down."""


def split_colons(text: str) -> list[str]:
    """`${A:-.}/dags:/opt/dags:ro` → ['${A:-.}/dags', '/opt/dags', 'ro']."""
    parts, current, depth, i = [], "", 0, 0
    while i < len(text):
        if text.startswith("${", i):
            depth, current, i = depth + 1, current + "${", i + 2
            continue
        ch = text[i]
        if ch == "}" and depth:
            depth -= 1
        if ch == ":" and not depth:
            parts.append(current)
            current = ""
        else:
            current += ch
        i += 1
    return [*parts, current]


def resolve(text: str, values: dict[str, str], used: list[str]) -> str:
    """`text` with its references replaced by `values` or their defaults; each one that
    decided something is described in `used`. Raises Unresolved when none applies."""

    def one(m: re.Match[str]) -> str:
        if m.group(0) == "$$":
            return "$"
        name = m.group("name") or m.group("bare")
        op, arg = m.group("op") or "", m.group("arg") or ""
        value = values.get(name)
        empty = value is None or (value == "" and op.startswith(":"))
        if op.endswith("+"):
            return "" if empty else arg
        if op.endswith("-") and empty:
            used.append(f"{m.group(0)} taken as {arg!r} (its default)")
            return arg
        if value is None:
            raise Unresolved(f"{m.group(0)} has no value here and no default")
        used.append(f"{m.group(0)} taken as {value!r} (from .env)")
        return value

    if "${" in REFERENCE_RE.sub("", text):
        raise Unresolved(f"{text}: a nested or malformed ${{…}}")
    return REFERENCE_RE.sub(one, text)


def project_env(folder: Path) -> dict[str, str]:
    """The `.env` beside a compose file, which Compose reads for interpolation."""
    try:
        lines = (folder / ".env").read_text().splitlines()
    except (OSError, UnicodeDecodeError):
        return {}
    found = {}
    for line in lines:
        key, eq, value = line.strip().removeprefix("export ").partition("=")
        if eq and not key.startswith("#") and re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", key.strip()):
            value = value.strip()
            if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
                value = value[1:-1]
            found[key.strip()] = value
    return found
