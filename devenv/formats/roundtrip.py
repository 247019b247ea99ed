"""What a peer's format cannot hold, written where that format lets a tool keep its own
data (`x-devenv` on a compose service, `customizations.devenv` in a devcontainer.json) and
read back by the importer, so `render --as` then `init --from` gives the spec again: the
base's recipe (not the `devenv/NAME:HASH` it builds), apt, run, sshd's keys, a user's fixed
uid/gid, and for each format what it has no key for. The variables devenv's entrypoint reads
(DEVENV_USER…) become the spec's keys again, never env entries."""

from __future__ import annotations

import os
import shlex
from typing import TYPE_CHECKING, Any

from devenv.formats.draft import host_path
from devenv.host import expand_home
from devenv.spec.keys import is_literal_key

if TYPE_CHECKING:
    from pathlib import Path

    from devenv.formats.composefile import Project
    from devenv.formats.draft import Draft
    from devenv.spec.loader import SpecFile

EXTENSION = "devenv"  # customizations.devenv; x-devenv in compose
ENTRYPOINT_ENV = ("DEVENV_USER", "DEVENV_UID", "DEVENV_GID", "DEVENV_SSHD")
SSH_DIR = "/etc/devenv/ssh"
BASE_PATHS = ("dockerfile", "context")


def recorded(spec_file: SpecFile, fmt: str) -> dict[str, Any]:
    """The spec's keys `fmt` cannot hold, with host paths made absolute."""
    spec = spec_file.spec
    base = spec.base.model_dump(exclude_defaults=True)
    for key in BASE_PATHS:
        if key in base:
            base[key] = os.path.normpath(spec_file.folder / expand_home(base[key]))
    out: dict[str, Any] = {"base": base.get("image") if list(base) == ["image"] else base}
    for key in ("apt", "image_cache"):
        value = getattr(spec, key)
        dumped = value.model_dump(exclude_defaults=True) if value is not None else {}
        if dumped:
            out[key] = dumped
    if spec.run:
        out["run"] = list(spec.run)
    if spec.entrypoint:  # each format's own rule would read it from its command keys
        out["entrypoint"] = spec.entrypoint
    if spec.sshd is not None:
        out["sshd"] = {"authorized_keys": [_key(spec_file, k) for k in spec.sshd.authorized_keys]}
    if spec.user is not None and (spec.user.uid is not None or spec.user.gid is not None):
        out["user"] = spec.user.model_dump(exclude_none=True)
    if not spec.networks.folder or (fmt != "compose" and spec.networks.join):
        out["networks"] = spec.networks.model_dump(exclude_defaults=True)
    out.update(_unheld(spec_file, fmt))
    return out


def _unheld(spec_file: SpecFile, fmt: str) -> dict[str, Any]:
    """What only one of the formats lacks: a devcontainer.json has no command, no ready
    check, joins several hooks into one and reads `${localEnv:X}` as blank when unset;
    a compose file has no hook that runs once per container."""
    spec, out = spec_file.spec, dict[str, Any]()
    hooks = spec.hooks.model_dump()
    if fmt == "compose":
        if hooks["create"]:
            out["hooks"] = {"create": hooks["create"]}
        if spec.entrypoint and spec.command is not None:  # its command key holds the image's
            out["command"] = list(spec.command)  # CMD when the spec has none
        return out
    if spec.command:
        out["command"] = list(spec.command)
    if spec.ready is not None:
        out["ready"] = spec.ready.model_dump(exclude_none=True)
    if any(len(commands) > 1 for commands in hooks.values()):
        out["hooks"] = {kind: commands for kind, commands in hooks.items() if commands}
    if spec_file.templates:
        out["env"] = dict(spec_file.templates)
    return out


def _key(spec_file: SpecFile, entry: str) -> str:
    if is_literal_key(entry) or entry.startswith("~"):
        return entry
    return os.path.normpath(spec_file.folder / entry)


def hook_text(command: Any) -> str | list[str]:
    """A hook as the spec writes it: `sh -c TEXT` is the string TEXT, a list its words."""
    argv = shlex.split(command) if isinstance(command, str) else [str(w) for w in command]
    return argv[2] if len(argv) == 3 and argv[:2] == ["/bin/sh", "-c"] else argv


def read_post_start(draft: Draft, project: Project, svc: dict[str, Any]) -> None:
    """Compose's `post_start` hooks run after each start: the spec's `hooks.start`."""
    for entry in svc.get("post_start") or []:
        if entry.get("command"):
            hooks = draft.keys.setdefault("hooks", {})
            hooks.setdefault("start", []).append(hook_text(_compose_text(entry["command"])))


def _compose_text(value: Any) -> Any:
    """A value of devenv's compose output as written before Compose's `$$` escaping."""
    if isinstance(value, str):
        return value.replace("$$", "$")
    if isinstance(value, list):
        return [_compose_text(v) for v in value]
    if isinstance(value, dict):
        return {k: _compose_text(v) for k, v in value.items()}
    return value


def read_back(draft: Draft, extension: Any, image: Any, out_dir: Path) -> None:
    """Undo what devenv's exporters add (the entrypoint's variables, sshd's key folder) and
    restore what `extension` records; the recorded base only while the peer still runs
    the image devenv builds from it."""
    env = draft.keys.get("env") or {}
    user = env.get("DEVENV_USER")
    for key in ENTRYPOINT_ENV:
        env.pop(key, None)
    if not env:
        draft.keys.pop("env", None)
    if user and "user" not in draft.keys:
        draft.keys["user"] = user
    if not isinstance(extension, dict):
        return
    draft.keys.pop("entrypoint", None)  # devenv's own output: the extension says
    _drop_share(draft, SSH_DIR)
    for key in ("apt", "run", "entrypoint", "image_cache", "networks", "user", "command", "ready"):
        if key in extension:
            draft.keys[key] = extension[key]
    if str(image or "").startswith("devenv/") and extension.get("base"):
        draft.keys["base"] = _base(extension["base"], out_dir)
    if "sshd" in extension:
        keys = extension["sshd"].get("authorized_keys") or []
        draft.keys["sshd"] = (
            {"authorized_keys": [_path(k, out_dir) for k in keys]} if keys else True
        )
    hooks = extension.get("hooks") or {}
    if hooks:
        draft.keys["hooks"] = {**(draft.keys.get("hooks") or {}), **hooks}
    for key, template in (extension.get("env") or {}).items():
        if key in (draft.keys.get("env") or {}):
            draft.keys["env"][key] = template


def _base(base: Any, out_dir: Path) -> Any:
    if not isinstance(base, dict):
        return base
    return {k: host_path(v, out_dir) if k in BASE_PATHS else v for k, v in base.items()}


def _path(entry: str, out_dir: Path) -> str:
    return entry if is_literal_key(entry) or entry.startswith("~") else host_path(entry, out_dir)


def _drop_share(draft: Draft, container: str) -> None:
    shared = [
        s
        for s in draft.keys.get("shared") or []
        if (s.get("container") if isinstance(s, dict) else str(s).split(":")[1]) != container
    ]
    if shared:
        draft.keys["shared"] = shared
    else:
        draft.keys.pop("shared", None)


def read_compose_extension(draft: Draft, svc: dict[str, Any], out_dir: Path) -> None:
    """`x-devenv` on a service of devenv's compose output."""
    read_back(draft, _compose_text(svc.get(f"x-{EXTENSION}")), svc.get("image"), out_dir)


def read_devcontainer_extension(draft: Draft, config: dict[str, Any], out_dir: Path) -> None:
    """`customizations.devenv` of devenv's devcontainer.json output."""
    customizations = config.get("customizations")
    extension = customizations.get(EXTENSION) if isinstance(customizations, dict) else None
    read_back(draft, extension, config.get("image"), out_dir)
