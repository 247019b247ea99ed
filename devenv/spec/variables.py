"""`${VAR}` references in env values, read from the environment and a `.env` beside the spec,
so secrets stay out of git. Pure but for reading that `.env` file (once, and only when asked).

The forms are Compose's braced ones: `${VAR}`, `${VAR:-default}` / `${VAR-default}` and
`${VAR:?message}` / `${VAR?message}`; `$$` is a literal `$`; any other `$` stays as written.
"""

from __future__ import annotations

import hashlib
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from devenv import reads
from devenv.errors import Problem, SpecError
from devenv.hostfiles import InputRefused, read_text_bounded

DOTENV = ".env"
MAX_DOTENV = 1 << 20
NAME = r"[A-Za-z_][A-Za-z0-9_]*"
_INNER = re.compile(rf"(?P<name>{NAME})(?:(?P<op>:?[-?])(?P<arg>.*))?", re.DOTALL)
# A well-formed reference, for the fields that never read variables (they are refused there).
REFERENCE_RE = re.compile(rf"\$\{{{NAME}(?::?[-?][^}}]*)?\}}")
_DOTENV_LINE = re.compile(rf"\s*(?:export\s+)?(?P<key>{NAME})\s*=\s*(?P<value>.*)")
_ESCAPES = {"n": "\n", "t": "\t", "r": "\r", '"': '"', "\\": "\\", "$": "$"}


class VariableError(ValueError):
    """A reference that cannot be read or resolved; `text` is it as written, to locate it."""

    def __init__(self, text: str, message: str) -> None:
        super().__init__(message)
        self.text, self.message = text, message


@dataclass(frozen=True)
class Reference:
    """One `${…}` as written: the variable, the operator (``:-``, ``-``, ``:?``, ``?``, or
    none) and its default or message."""

    text: str
    name: str
    op: str = ""
    arg: str = ""


class Lookup(Protocol):
    def get(self, name: str) -> str | None: ...


def parse(template: str) -> list[str | Reference]:
    """The literal pieces (with `$$` already `$`) and references of `template`, in order."""
    parts: list[str | Reference] = []
    literal, i = "", 0
    while i < len(template):
        if template.startswith("$$", i):
            literal, i = literal + "$", i + 2
        elif template.startswith("${", i):
            end = template.find("}", i)
            if end < 0:
                shown = template[i : i + 20]
                raise VariableError(shown, f"{shown!r}: '${{' is not closed by '}}'")
            parts += [literal] if literal else []
            parts.append(_reference(template[i : end + 1]))
            literal, i = "", end + 1
        else:
            literal, i = literal + template[i], i + 1
    return parts + ([literal] if literal else [])


def _reference(text: str) -> Reference:
    m = _INNER.fullmatch(text[2:-1])
    if not m:
        raise VariableError(
            text,
            f"{text!r} is not a valid reference: use ${{NAME}}, ${{NAME:-default}} or "
            "${NAME:?message}, NAME being letters, digits and '_', not starting with a digit "
            "(write $$ for a literal $)",
        )
    arg = m.group("arg") or ""
    if "${" in arg:
        raise VariableError(text, f"{text!r}: references inside a default are not supported")
    return Reference(text, m.group("name"), m.group("op") or "", arg)


def names(template: str) -> list[str]:
    """The variables `template` reads, in order, once each."""
    found = [p.name for p in parse(template) if isinstance(p, Reference)]
    return list(dict.fromkeys(found))


def has_references(template: str) -> bool:
    return any(isinstance(p, Reference) for p in parse(template))


def substitute(template: str, lookup: Lookup) -> str:
    """`template` with every reference replaced; a missing required variable is an error."""
    return "".join(p if isinstance(p, str) else _value(p, lookup) for p in parse(template))


def _value(ref: Reference, lookup: Lookup) -> str:
    value = lookup.get(ref.name)
    empty = value is None or (value == "" and ref.op.startswith(":"))
    if ref.op in (":-", "-"):
        return ref.arg if empty else str(value)
    if ref.op in (":?", "?") and empty:
        why = ref.arg or "it is required"
        raise VariableError(ref.text, f"variable {ref.name} is not set: {why}")
    if value is None:
        raise VariableError(
            ref.text,
            f"variable {ref.name} is not set; set it in the environment or in {DOTENV} "
            "beside the spec (or give a default: ${" + ref.name + ":-value})",
        )
    return value


def fingerprint(env: str, key: str, value: str) -> str:
    """A salted SHA-256 of a value read from variables: labels record it, never the value."""
    return hashlib.sha256(f"devenv-variable\0{env}\0{key}\0{value}".encode()).hexdigest()


class Environment:
    """The process environment over the `.env` file of a spec's folder (read on first use;
    the process environment wins, as in Compose)."""

    def __init__(self, folder: Path, environ: Mapping[str, str] | None = None) -> None:
        self.folder = folder
        self.environ = os.environ if environ is None else environ
        self.dotenv: dict[str, str] | None = None

    def get(self, name: str) -> str | None:
        if self.environ is os.environ:
            value = reads.environ(name)
            if value is not None:
                return value
        elif name in self.environ:
            return self.environ[name]
        if self.dotenv is None:
            self.dotenv = read_dotenv(self.folder / DOTENV)
        return self.dotenv.get(name)


class AnyValue:
    """Every variable set: to check a spec's shape before its variables exist (init)."""

    def get(self, name: str) -> str | None:
        return "value"


class StandIn:
    """For commands that never use a value (validate, render): each variable's own value
    where it has one, a stand-in where not, so a spec's shape is checked without them."""

    def __init__(self, real: Lookup) -> None:
        self.real = real

    def get(self, name: str) -> str | None:
        value = self.real.get(name)
        return "value" if value is None else value


def unmet(template: str, lookup: Lookup) -> list[str]:
    """The variables `template` needs and `lookup` gives no value for (nor a default)."""
    missing = []
    for part in parse(template):
        if isinstance(part, Reference):
            try:
                _value(part, lookup)
            except VariableError:
                missing.append(part.name)
    return list(dict.fromkeys(missing))


def read_dotenv(path: Path) -> dict[str, str]:
    """KEY=VALUE lines (`export` allowed, `#` comments, single or double quotes); missing
    file: none. Values are taken as written (no references inside a .env)."""
    try:
        text = read_text_bounded(path, MAX_DOTENV)  # a FIFO or /dev/zero: refused, at once
    except FileNotFoundError:
        return {}
    except InputRefused as exc:
        raise SpecError([Problem(str(path), 1, 1, f"{exc.reason}; refusing")]) from None
    except (OSError, UnicodeDecodeError) as exc:
        why = exc.strerror if isinstance(exc, OSError) else "not UTF-8 text"
        raise SpecError([Problem(str(path), 1, 1, f"cannot read: {why or exc}")]) from None
    found: dict[str, str] = {}
    for number, line in enumerate(text.splitlines(), 1):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        m = _DOTENV_LINE.fullmatch(line)
        value = _dotenv_value(m.group("value")) if m else None
        if m is None or value is None:
            col = len(line) - len(line.lstrip()) + 1
            msg = "expected KEY=VALUE (KEY: letters, digits and '_'; quote a value with spaces)"
            raise SpecError([Problem(str(path), number, col, msg)])
        found[m.group("key")] = value
    return found


def _dotenv_value(raw: str) -> str | None:
    """The value of one line, or None when a quote is not closed."""
    raw = raw.strip()
    if raw[:1] in ("'", '"'):
        quote = raw[0]
        end = raw.find(quote, 1)
        while quote == '"' and end > 0 and _escaped(raw, end):
            end = raw.find(quote, end + 1)
        rest = raw[end + 1 :].strip() if end > 0 else ""
        if end < 0 or (rest and not rest.startswith("#")):
            return None
        inner = raw[1:end]
        if quote == "'":
            return inner
        return re.sub(r"\\(.)", lambda m: _ESCAPES.get(m.group(1), m.group(0)), inner)
    return re.split(r"\s+#", raw, maxsplit=1)[0].rstrip()


def _escaped(text: str, index: int) -> bool:
    slashes = len(text[:index]) - len(text[:index].rstrip("\\"))
    return slashes % 2 == 1
