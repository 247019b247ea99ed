"""Compose's `${VAR}` outside env values: paths, ports and images are resolved the way
Compose would on a machine with nothing set (the project's `.env`, else each default), and
split at the colons that are not inside a `${…}`."""

from __future__ import annotations

import re
from pathlib import Path

from devenv.hostfiles import InputRefused, read_text_bounded

NAME_RE = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
BRACED_RE = re.compile(r"([A-Za-z_][A-Za-z0-9_]*)(?:(:?[-?+])(.*))?", re.DOTALL)


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
    """`text` with its references replaced by `values` or their defaults (which may hold
    references too); each one that decided something is described in `used`. Raises
    Unresolved when a variable has no value and no default."""
    out, i = "", 0
    while i < len(text):
        bare = NAME_RE.match(text, i + 1) if text[i] == "$" else None
        if text.startswith("$$", i):
            out, i = out + "$", i + 2
        elif text.startswith("${", i):
            end = _closing(text, i + 2)
            out += _braced(text[i : end + 1], values, used)
            i = end + 1
        elif bare:
            out += _braced("${" + bare.group(0) + "}", values, used)
            i = bare.end()
        else:
            out, i = out + text[i], i + 1
    return out


def _closing(text: str, start: int) -> int:
    """The index of the `}` closing the `${` that ends at `start`."""
    depth, i = 1, start
    while i < len(text):
        if text.startswith("${", i):
            depth, i = depth + 1, i + 2
            continue
        if text[i] == "}":
            depth -= 1
            if not depth:
                return i
        i += 1
    raise Unresolved(f"{text}: a '${{' is not closed")


def _braced(whole: str, values: dict[str, str], used: list[str]) -> str:
    m = BRACED_RE.fullmatch(whole[2:-1])
    if not m:
        raise Unresolved(f"{whole} is not a reference Compose reads")
    name, op, arg = m.group(1), m.group(2) or "", m.group(3) or ""
    value = values.get(name)
    empty = value is None or (value == "" and op.startswith(":"))
    if op.endswith("+"):
        return "" if empty else resolve(arg, values, used)
    if op.endswith("-") and empty:
        default = resolve(arg, values, used)
        used.append(f"{whole} taken as {default!r} (its default)")
        return default
    if value is None:
        raise Unresolved(f"{whole} has no value here and no default")
    used.append(f"{whole} taken as {value!r} (from .env)")
    return value


def project_env(folder: Path) -> dict[str, str]:
    """The `.env` beside a compose file, which Compose reads for interpolation."""
    try:
        lines = read_text_bounded(folder / ".env", 1 << 20).splitlines()
    except (OSError, UnicodeDecodeError, InputRefused):
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
