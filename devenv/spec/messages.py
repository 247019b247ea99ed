"""Pydantic's validation errors as sentences a user reads, located at the file:line:col of
the YAML they wrote (the loader keeps every key's and value's mark by path)."""

from __future__ import annotations

import difflib
import typing
from typing import Any, Protocol

from pydantic import BaseModel, ValidationError

from devenv.errors import Problem
from devenv.spec.models import Clash, Spec

Loc = tuple[str | int, ...]


class Marks(Protocol):
    """Where each key and value of the YAML is written."""

    def key(self, loc: Loc) -> tuple[int, int]: ...
    def value(self, loc: Loc) -> tuple[int, int]: ...


def _fields_at(model: type[BaseModel], loc: Loc) -> list[str]:
    """The known keys of the model that sits at `loc`, for 'did you mean' suggestions."""
    current: Any = model
    for part in loc:
        if isinstance(part, int):
            continue
        if not (isinstance(current, type) and issubclass(current, BaseModel)):
            return []
        field = current.model_fields.get(str(part))
        if field is None:
            return []
        current = field.annotation
        while typing.get_args(current):
            args = [a for a in typing.get_args(current) if a is not type(None)]
            models = [a for a in args if isinstance(a, type) and issubclass(a, BaseModel)]
            current = models[0] if models else args[-1]
    if isinstance(current, type) and issubclass(current, BaseModel):
        return list(current.model_fields)
    return []


def dotted(loc: Loc) -> str:
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


_TYPE_WORDS = {
    "model_type": "expected a mapping",
    "model_attributes_type": "expected a mapping",
    "dict_type": "expected a mapping",
    "list_type": "expected a list",
    "string_type": "expected a string",
    "int_type": "expected an integer",
    "int_parsing": "expected an integer",
    "int_from_float": "expected a whole number",
    "bool_type": "expected true or false",
    "bool_parsing": "expected true or false",
}


def _message(err: dict[str, Any]) -> str:
    kind, loc = err["type"], tuple(err["loc"])
    where = dotted(loc)
    if kind == "value_error":
        text = str(err["msg"]).removeprefix("Value error, ")
        return f"{where}: {text}" if where else text
    if kind == "int_type" and isinstance(err["input"], bool):  # strict: True is not 1
        shown = "true" if err["input"] else "false"
        return f"{where}: expected a number, got {shown} (a boolean is not a number)"
    if kind == "int_type" and isinstance(err["input"], float):
        kind = "int_from_float"
    if kind in _TYPE_WORDS:
        return f"{where}: {_TYPE_WORDS[kind]}, got {err['input']!r}"
    if kind in ("greater_than_equal", "less_than_equal", "greater_than", "less_than"):
        return f"{where}: {err['input']!r} is out of range ({err['msg'].lower()})"
    if kind == "literal_error":
        return f"{where}: {err['input']!r} is not allowed; {err['msg'].lower()}"
    if kind == "missing":
        return f"missing required key {dotted(loc)!r}"
    return f"{where}: {err['msg']}"


def _shorten(message: str, limit: int = 300) -> str:
    """A message that quotes a huge value keeps its head and tail, not a megabyte."""
    if len(message) <= limit:
        return message
    return f"{message[: limit - 100]} … {message[-80:]}"


def problems_of(path: str, exc: ValidationError, marks: Marks) -> list[Problem]:
    """Each Pydantic error as a Problem at the mark of the YAML it came from."""
    problems: list[Problem] = []
    for err in exc.errors():
        loc: Loc = tuple(err["loc"])
        if err["type"] == "extra_forbidden":
            key = str(loc[-1])
            known = _fields_at(Spec, loc[:-1])
            close = difflib.get_close_matches(key, known, n=1)
            hint = f" (did you mean {close[0]!r}?)" if close else f" (known: {', '.join(known)})"
            line, col = marks.key(loc)
            problems.append(Problem(path, line, col, f"unknown key {key!r}{hint}"))
            continue
        if loc and loc[-1] == "[key]":
            loc = loc[:-1]
            line, col = marks.key(loc)
        else:
            line, col = marks.value(loc)
        if err["type"] == "missing":
            line, col = marks.value(loc[:-1])
        clash = (err.get("ctx") or {}).get("error")
        if isinstance(clash, Clash):
            line, col = marks.value((*loc, *clash.at))
        problems.append(Problem(path, line, col, _shorten(_message({**err, "loc": loc}))))
    return sorted(set(problems), key=lambda p: (p.line, p.col, p.message))
