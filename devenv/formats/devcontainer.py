"""devcontainer.json → a Draft: image or build, ports, mounts, env, user, workspace, runArgs,
lifecycle commands (hooks). Pure but for reading the file; `build` becomes a Dockerfile base;
what the spec cannot hold (features, customizations) is named in the draft's notes."""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from devenv.errors import DevenvError
from devenv.formats import jsonc
from devenv.formats.draft import (
    NOT_YET,
    Draft,
    add_published,
    dockerfile_base,
    has_variable,
    host_path,
    literal,
    port_entry,
    shared_entry,
    spec_name,
    variables_note,
)
from devenv.formats.lifecycle import lifecycle_hooks
from devenv.hostfiles import InputRefused, read_text_bounded

HOOKS = (
    "initializeCommand",
    "onCreateCommand",
    "updateContentCommand",
    "postCreateCommand",
    "postStartCommand",
    "postAttachCommand",
)
IGNORED = {
    "name",
    "$schema",
    "image",
    "build",
    "forwardPorts",
    "appPort",
    "mounts",
    "containerEnv",
    "remoteEnv",
}
IGNORED |= {
    "remoteUser",
    "containerUser",
    "workspaceFolder",
    "workspaceMount",
    "runArgs",
    "features",
}
IGNORED |= {
    "customizations",
    "overrideCommand",
    "shutdownAction",
    "portsAttributes",
    "otherPortsAttributes",
}
IGNORED |= {
    "updateRemoteUserUID",
    "userEnvProbe",
    "waitFor",
    "init",
    "dockerFile",
    "context",
    *HOOKS,
}
LOCAL_ENV_RE = re.compile(r"\$\{localEnv:([A-Za-z_][A-Za-z0-9_]*)(?::([^}]*))?\}")


def workspace_of(path: Path) -> Path:
    """The folder VS Code opens: the parent of `.devcontainer/` (or of its sub-folder)."""
    folder = path.resolve().parent
    if folder.name == ".devcontainer":
        return folder.parent
    if folder.parent.name == ".devcontainer":
        return folder.parent.parent
    return folder


class _Vars:
    """The ${…} variables the Dev Containers spec defines, resolved as the CLI would."""

    def __init__(self, workspace: Path, container_folder: str, environ: Mapping[str, str]) -> None:
        self.values = {
            "localWorkspaceFolder": str(workspace),
            "localWorkspaceFolderBasename": workspace.name,
            "containerWorkspaceFolder": container_folder,
            "containerWorkspaceFolderBasename": container_folder.rstrip("/").rsplit("/", 1)[-1],
        }
        self.environ = environ

    def __call__(self, text: str) -> str:
        text = LOCAL_ENV_RE.sub(lambda m: self.environ.get(m.group(1), m.group(2) or ""), text)
        return self.folders(text)

    def folders(self, text: str) -> str:
        for key, value in self.values.items():
            text = text.replace("${" + key + "}", value)
        return text

    def template(self, text: str) -> str | None:
        """An env value with `${localEnv:VAR[:default]}` kept as the spec's `${VAR[:-default]}`
        (the value stays out of the spec); None when another variable remains."""
        out, last = "", 0
        for m in [*LOCAL_ENV_RE.finditer(text), None]:
            piece = self.folders(text[last : m.start() if m else len(text)])
            if has_variable(piece):
                return None
            out += literal(piece)
            if m:
                default = "" if m.group(2) is None else f":-{m.group(2)}"
                out, last = out + "${" + m.group(1) + default + "}", m.end()
        return out


MAX_CONFIG = 4 << 20


def read(path: Path, out_dir: Path, environ: Mapping[str, str] | None = None) -> Draft:
    """The draft spec for the devcontainer.json at `path`, to be written into `out_dir`."""
    try:
        config = jsonc.loads(read_text_bounded(path, MAX_CONFIG), str(path))
    except InputRefused as exc:
        raise DevenvError(exc.message, "give a devcontainer.json") from None
    except (OSError, UnicodeDecodeError) as exc:
        why = exc.strerror if isinstance(exc, OSError) else "it is not UTF-8 text"
        raise DevenvError(f"cannot read {path}: {why}", "check the path") from None
    if not isinstance(config, dict):
        raise DevenvError(f"{path} is not a JSON object", "is it a devcontainer.json?")
    workspace = workspace_of(path)
    name = spec_name(str(config.get("name") or workspace.name))
    draft = Draft(name, str(path))
    default_folder = f"/workspaces/{workspace.name}"
    folder = str(config.get("workspaceFolder") or default_folder)
    resolve = _Vars(workspace, folder, os.environ if environ is None else environ)
    _base(draft, config, path.resolve().parent, out_dir)
    _workspace(draft, config, resolve, out_dir, workspace)
    _ports(draft, config)
    for mount in config.get("mounts") or []:
        _mount(draft, mount, resolve, out_dir)
    _env(draft, config, resolve)
    _user(draft, config.get("remoteUser") or config.get("containerUser"))
    _run_args(draft, [str(a) for a in config.get("runArgs") or []], resolve, out_dir)
    lifecycle_hooks(draft, config, resolve.folders)
    _unsupported(draft, config)
    variables_note(draft)
    return draft


def _base(draft: Draft, config: dict[str, Any], folder: Path, out_dir: Path) -> None:
    """`build` (or the older top-level `dockerFile`/`context`), relative to the
    devcontainer.json's folder as the Dev Containers spec says, becomes a Dockerfile base."""
    image = config.get("image")
    found = config.get("build")
    build: dict[str, Any] = found if isinstance(found, dict) else {}
    dockerfile = build.get("dockerfile") or config.get("dockerFile")
    context = build.get("context") or config.get("context") or "."
    if isinstance(dockerfile, str) and isinstance(context, str):
        if has_variable(dockerfile) or has_variable(context):
            draft.note(f"build.dockerfile {dockerfile}: variables are {NOT_YET}")
        else:
            args, target = build.get("args"), build.get("target")
            where = (folder / context).resolve()
            dockerfile_base(draft, folder / dockerfile, where, args, target, out_dir)
    built = "base" in draft.keys
    if not built and isinstance(image, str) and not has_variable(image):
        draft.keys["base"] = image
    elif image and not built:
        draft.note(f"image {image}: variables are {NOT_YET}; base is a placeholder")
    if "base" not in draft.keys:
        draft.keys["base"] = "debian:bookworm"
    if config.get("dockerComposeFile"):
        draft.note("dockerComposeFile: run `devenv init --from` on the compose file instead")


def _workspace(
    draft: Draft, config: dict[str, Any], resolve: _Vars, out_dir: Path, workspace: Path
) -> None:
    folder = resolve(str(config.get("workspaceFolder") or f"/workspaces/{workspace.name}"))
    mount = config.get("workspaceMount")
    if mount:
        _mount(draft, mount, resolve, out_dir)
    else:
        draft.add("shared", shared_entry(host_path(str(workspace), out_dir), folder))
    draft.keys["workdir"] = folder


def _ports(draft: Draft, config: dict[str, Any]) -> None:
    forward = config.get("forwardPorts") or []
    app_port = config.get("appPort") or []
    for entry in [*forward, *(app_port if isinstance(app_port, list) else [app_port])]:
        if isinstance(entry, int) and not isinstance(entry, bool):
            draft.add("ports", port_entry(entry, entry))
        elif isinstance(entry, str) and re.fullmatch(r"(\d+:)?\d+", entry):
            host, _, container = entry.rpartition(":")
            draft.add("ports", port_entry(int(container), int(host or container)))
        else:
            draft.note(f"port {entry!r}: only numbers and HOST:CONTAINER map to ports")


def parse_mount(text: str) -> dict[str, str]:
    """'source=a,target=/b,type=bind,readonly' → {'source': 'a', 'target': '/b', …}."""
    fields: dict[str, str] = {}
    for part in text.split(","):
        key, _, value = part.partition("=")
        fields[key.strip().lower()] = value.strip() if value else "true"
    for alias, key in (("src", "source"), ("dst", "target"), ("destination", "target")):
        if alias in fields:
            fields[key] = fields.pop(alias)
    return fields


def _mount(draft: Draft, mount: Any, resolve: _Vars, out_dir: Path) -> None:
    fields = (
        parse_mount(mount)
        if isinstance(mount, str)
        else {k.lower(): str(v) for k, v in dict(mount).items()}
    )
    source, target = resolve(fields.get("source", "")), resolve(fields.get("target", ""))
    kind = fields.get("type", "bind" if source.startswith(("/", ".", "~")) else "volume")
    readonly = fields.get("readonly", fields.get("ro", "false")).lower() in ("true", "1", "")
    if has_variable(source) or has_variable(target):
        draft.note(f"mount {mount}: variables ({source}) are {NOT_YET}")
    elif kind == "bind" and source and target:
        draft.add("shared", shared_entry(host_path(source, out_dir), target, readonly))
    elif kind == "volume" and source and target:
        draft.add(
            "volumes",
            {
                "name": spec_name(source),
                "container": target,
                **({"readonly": True} if readonly else {}),
            },
        )
    else:
        draft.note(f"mount {mount}: only bind mounts and named volumes map")


def _env(draft: Draft, config: dict[str, Any], resolve: _Vars) -> None:
    for where in ("containerEnv", "remoteEnv"):
        for key, value in (config.get(where) or {}).items():
            text = resolve.template(str(value)) if value is not None else ""
            if text is None:
                draft.note(f"{where}.{key}: variables ({value}) are {NOT_YET}")
            elif re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", key):
                draft.env(key, text)
            else:
                draft.note(f"{where}.{key}: not a valid environment name")


def _user(draft: Draft, user: Any) -> None:
    if not user or user == "root":
        return
    if re.fullmatch(r"[a-z_][a-z0-9_-]{0,31}", str(user)):
        draft.keys["user"] = str(user)
    else:
        draft.note(f"user {user!r}: only a user name maps (not a uid)")


FLAG_KEYS = {"-p": "ports", "--publish": "ports", "-v": "shared", "--volume": "shared", "-e": "env"}
FLAG_KEYS |= {"--env": "env", "--name": "name", "-w": "workdir", "--workdir": "workdir"}
FLAG_KEYS |= {"-u": "user", "--user": "user"}


def _run_args(draft: Draft, args: list[str], resolve: _Vars, out_dir: Path) -> None:
    i = 0
    while i < len(args):
        flag, _, value = args[i].partition("=")
        takes = flag in FLAG_KEYS
        if takes and not value and i + 1 < len(args):
            value, i = args[i + 1], i + 1
        i += 1
        if not takes:
            draft.note(f"runArgs {args[i - 1]}: no spec key for it")
            continue
        key = FLAG_KEYS[flag]
        if key == "env":
            _env_flag(draft, value, resolve)
        else:
            apply_flag(draft, key, resolve(value), out_dir)


def _env_flag(draft: Draft, value: str, resolve: _Vars) -> None:
    """`-e NAME=VALUE` (its `${localEnv:…}` kept as variables) or `-e NAME` (the host's NAME)."""
    name, eq, text = value.partition("=")
    template = resolve.template(text) if eq else "${" + name + "}"
    if template is None or not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", name):
        draft.note(f"-e {value}: {NOT_YET}")
    else:
        draft.env(name, template)


def apply_flag(draft: Draft, key: str, value: str, out_dir: Path) -> None:
    """One `docker run` option (-p, -v, -e, --name, -w, -u) into the draft."""
    if key == "ports":
        publish(draft, value)
    elif key == "shared":
        volume_flag(draft, value, out_dir)
    elif key == "env":
        name, eq, text = value.partition("=")
        if eq and not has_variable(text):
            draft.env(name, text)
        else:
            draft.note(f"-e {value}: a value from the host's environment is {NOT_YET}")
    elif key == "name":
        draft.name = spec_name(value)
    elif key == "workdir":
        draft.keys["workdir"] = value
    else:
        _user(draft, value)


def publish(draft: Draft, value: str) -> None:
    """`-p [BIND:][HOST:]CONTAINER[/proto]` into a ports entry."""
    add_published(draft, value, "-p")


def volume_flag(draft: Draft, value: str, out_dir: Path) -> None:
    """`-v SOURCE:TARGET[:ro]` into a shared folder or a named volume."""
    parts = value.split(":")
    readonly = len(parts) == 3 and "ro" in parts[2].split(",")
    if len(parts) < 2:
        draft.note(f"-v {value}: an anonymous volume is not kept (no name to find it by)")
    elif parts[0].startswith(("/", ".", "~")):
        draft.add("shared", shared_entry(host_path(parts[0], out_dir), parts[1], readonly))
    else:
        entry: dict[str, Any] = {"name": parts[0], "container": parts[1]}
        draft.add("volumes", {**entry, "readonly": True} if readonly else entry)


def _unsupported(draft: Draft, config: dict[str, Any]) -> None:
    features = config.get("features") or {}
    if features:
        draft.note(
            f"features ({', '.join(features)}): not carried; add their packages to apt.packages"
        )
    custom = config.get("customizations") or {}
    if custom:
        draft.note(f"customizations ({', '.join(custom)}): editor settings, not carried")
    for key in sorted(set(config) - IGNORED - {"dockerComposeFile", "service"}):
        draft.note(f"{key}: no spec key for it")
