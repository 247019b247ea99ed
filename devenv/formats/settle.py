"""A draft made into a spec that validates as written, as `devenv validate` judges it: each
entry devenv refuses (a port published twice, a share of a system folder, a name the spec
cannot hold…) is dropped and listed with devenv's reason, so an import never aborts."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pydantic import ValidationError

from devenv.errors import DevenvError
from devenv.formats.draft import Draft
from devenv.spec.hostpaths import shared_host_path
from devenv.spec.loader import SHELL_FIELDS, SpecFile, same_host_port
from devenv.spec.models import Clash, Spec
from devenv.spec.variables import REFERENCE_RE, Reference, VariableError, parse, substitute

PLACEHOLDER = "debian:bookworm"
MAX_ROUNDS = 200


class SourceVariables:
    """Variables as on a machine where none is set, but for those the source itself
    requires (`${VAR}`, `${VAR:?…}`): a spec is checked as it would be before its `.env`."""

    def __init__(self, env: dict[str, Any]) -> None:
        self.required = set()
        for value in env.values():
            try:
                parts = parse(str(value))
            except VariableError:
                continue
            self.required |= {
                p.name for p in parts if isinstance(p, Reference) and p.op in ("", "?", ":?")
            }

    def get(self, name: str) -> str | None:
        return "value" if name in self.required else None


def settle(draft: Draft, spec_path: Path) -> Spec:
    """Drop from `draft` what devenv refuses, each with a note, until it validates."""
    for _ in range(MAX_ROUNDS):
        spec = _validated(draft, spec_path)
        if spec is None:
            continue
        spec_file = SpecFile(spec_path.resolve(), spec)
        for index, shared in enumerate(spec.shared):
            try:
                shared_host_path(spec_file, index)
            except DevenvError as exc:
                why = "it resolves to " + exc.message.split(" resolves to ", 1)[-1].split(";")[0]
                draft.note(f"shared {shared.host}:{shared.container}: not carried ({why})")
                _remove(draft, ("shared", index))
                break
        else:
            return spec
    raise DevenvError(
        f"the spec drafted for {draft.name} does not settle into one devenv accepts",
        "please report it with the source; meanwhile write the spec by hand (devenv init NAME)",
    )


def settle_all(
    drafts: list[Draft], spec_paths: list[Path], beside: list[tuple[str, Spec]] | None = None
) -> None:
    """Settle each draft, then drop a host port that a spec already in the folder (`beside`,
    each with how to name it) or an earlier one of the same import publishes too (Compose
    profiles keep such services apart): devenv would refuse the folder."""
    settled = list(beside or [])
    for draft, path in zip(drafts, spec_paths, strict=True):
        spec = settle(draft, path)
        for index in reversed(range(len(spec.ports))):
            port = spec.ports[index]
            taken = next((n for n, s in settled for p in s.ports if same_host_port(port, p)), None)
            if taken is not None:
                draft.note(
                    f"{_shown(draft, ('ports', index))}: not carried (host port "
                    f"{port.host}/{port.protocol} is also published by {taken}; only one box "
                    "can have it)"
                )
                _remove(draft, ("ports", index))
        settled.append((f"env {draft.name} of this import", settle(draft, path)))


def _written_variable(draft: Draft) -> tuple[Any, ...] | None:
    """Where a `${VAR}` stands that the loader refuses (outside env, run, command, hooks)."""

    def find(value: Any, loc: tuple[Any, ...]) -> tuple[Any, ...] | None:
        if isinstance(value, str):
            return loc if REFERENCE_RE.search(value) else None
        if isinstance(value, dict | list):
            items = value.items() if isinstance(value, dict) else enumerate(value)
            for key, item in items:
                found = find(item, (*loc, key))
                if found:
                    return found
        return None

    for key, value in draft.keys.items():
        if key not in ("env", *SHELL_FIELDS):
            found = find(value, (key,))
            if found:
                return found
    return None


def _validated(draft: Draft, spec_path: Path) -> Spec | None:
    """The Spec the draft validates to; None after dropping one refused entry."""
    written = _written_variable(draft)
    if written:
        draft.note(f"{_shown(draft, written)}: not carried (variables are read in env only)")
        _remove(draft, written)
        return None
    env = draft.keys.get("env") or {}
    lookup = SourceVariables(env)
    values = {}
    for key, template in list(env.items()):
        try:
            values[key] = substitute(str(template), lookup)
        except VariableError as exc:
            draft.note(f"env {key}: not carried ({exc.message})")
            del env[key]
            return None
    data = {"name": draft.name, **draft.keys, **({"env": values} if env else {})}
    try:
        return Spec.model_validate(data, context={"folder": spec_path.parent.resolve()})
    except ValidationError as exc:
        error = exc.errors()[0]
        clash = (error.get("ctx") or {}).get("error")
        loc = tuple(clash.at) if isinstance(clash, Clash) else tuple(error["loc"])
        if not loc or loc == ("name",):
            raise DevenvError(
                f"the spec drafted for {draft.name} does not validate: {error['msg']}",
                "please report it with the source; meanwhile write the spec by hand",
            ) from None
        message = str(error["msg"]).removeprefix("Value error, ")
        draft.note(f"{_shown(draft, loc)}: not carried ({message})")
        _remove(draft, loc)
        return None


def _shown(draft: Draft, loc: tuple[Any, ...]) -> str:
    """The entry at `loc` as the note names it: `ports 8080:80`, `env A.B`, `user 1000`."""
    top, value = str(loc[0]), draft.keys.get(str(loc[0]))
    if isinstance(value, list) and len(loc) > 1 and isinstance(loc[1], int):
        return f"{top} {_short(value[loc[1]])}"
    if top == "env" and len(loc) > 1:
        return f"env {loc[1]}"
    if top == "hooks" and len(loc) > 2 and isinstance(loc[2], int):
        return f"hooks.{loc[1]} {_short(value[loc[1]][loc[2]])}"  # type: ignore[index]
    return f"{top} {_short(value)}"


def _short(value: Any) -> str:
    if isinstance(value, dict) and "container" in value:
        value = f"{value.get('name', value.get('host', ''))}:{value['container']}"
    text = value if isinstance(value, str) else str(value)
    return text if len(text) <= 80 else text[:77] + "..."


def _indexes(value: Any, loc: tuple[Any, ...]) -> bool:
    """True when loc[1] picks an entry of `value`: a list's index, an env's name."""
    if len(loc) < 2:
        return False
    if isinstance(value, list):
        return isinstance(loc[1], int)
    return str(loc[0]) == "env" and isinstance(value, dict) and loc[1] in value


def _remove(draft: Draft, loc: tuple[Any, ...]) -> None:
    """Drop the entry at `loc` (a placeholder base for the base)."""
    keys, top = draft.keys, str(loc[0])
    value = keys.get(top)
    if top == "base":
        keys["base"] = PLACEHOLDER
    elif value is not None and _indexes(value, loc):
        del value[loc[1]]
    elif top == "hooks" and isinstance(value, dict) and len(loc) > 2 and isinstance(loc[2], int):
        del value[loc[1]][loc[2]]
    else:
        keys.pop(top, None)
    if keys.get(top) in ([], {}):
        del keys[top]
