"""devcontainer.json lifecycle commands → the spec's hooks, in the Dev Containers order:
onCreateCommand, updateContentCommand, postCreateCommand run once per container (hooks.create),
postStartCommand after each start (hooks.start). What has no counterpart is named."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from devenv.formats.draft import Draft

CREATE = ("onCreateCommand", "updateContentCommand", "postCreateCommand")
START = ("postStartCommand",)
NOT_CARRIED = {
    "initializeCommand": "runs on the host before the box exists; run it yourself",
    "postAttachCommand": "devenv has no attach step; run it in `devenv shell`",
}


def lifecycle_hooks(draft: Draft, config: dict[str, Any], resolve: Callable[[str], str]) -> None:
    """Put each lifecycle command under `hooks`; `resolve` fills the folder variables."""
    hooks: dict[str, list[str | list[str]]] = {}
    for kind, keys in (("create", CREATE), ("start", START)):
        for key in keys:
            for command in commands(draft, key, config.get(key)):
                hooks.setdefault(kind, []).append(_resolved(draft, key, command, resolve))
    if hooks:
        draft.keys["hooks"] = hooks
    for key, why in NOT_CARRIED.items():
        if config.get(key):
            draft.note(f"{key} ({short(config[key])}): not carried: {why}")


def commands(draft: Draft, key: str, value: Any) -> list[str | list[str]]:
    """A command is a string (a shell runs it), an array (run as is) or an object of named
    commands, which the Dev Containers CLI runs in parallel and devenv one after another."""
    if value is None or value == "" or value == []:
        return []
    if isinstance(value, str):
        return [value]
    if isinstance(value, list) and all(isinstance(w, str | int | float) for w in value):
        return [[str(w) for w in value]]
    if isinstance(value, dict):
        found = [c for name in value for c in commands(draft, f"{key}.{name}", value[name])]
        if len(value) > 1:
            draft.note(f"{key} ({', '.join(value)}): run one after another, not in parallel")
        return found
    draft.note(f"{key} ({short(value)}): neither a command nor a list of words, not carried")
    return []


def _resolved(
    draft: Draft, key: str, command: str | list[str], resolve: Callable[[str], str]
) -> str | list[str]:
    out = resolve(command) if isinstance(command, str) else [resolve(w) for w in command]
    if "${localEnv:" in str(out):
        draft.note(f"{key}: ${{localEnv:…}} stays as written; the box's shell cannot read it")
    return out


def short(value: Any) -> str:
    text = value if isinstance(value, str) else str(value)
    return text if len(text) <= 80 else text[:77] + "..."
