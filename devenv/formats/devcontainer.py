"""devcontainer.json → a Draft: image or build, ports, mounts, env, user, workspace, runArgs,
lifecycle commands (hooks). Pure but for reading the file; `build` becomes a Dockerfile base;
what the spec cannot hold (features, customizations) is named in the draft's notes."""

from __future__ import annotations

import contextlib
import os
import re
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from devenv.errors import DevenvError
from devenv.formats import jsonc, roundtrip, runargs
from devenv.formats.draft import (
    NOT_YET,
    Draft,
    add_published,
    dockerfile_base,
    has_variable,
    host_path,
    literal,
    parse_mount,
    port_entry,
    shared_entry,
    spec_name,
    variables_note,
)
from devenv.formats.lifecycle import lifecycle_hooks
from devenv.formats.shares import add_bind
from devenv.hostfiles import InputRefused, read_text_bounded

HOOKS = (
    "initializeCommand",
    "onCreateCommand",
    "updateContentCommand",
    "postCreateCommand",
    "postStartCommand",
    "postAttachCommand",
)
# Read by a step below, or of no consequence to the box (how an editor attaches to it).
IGNORED = {"name", "$schema", "image", "build", "forwardPorts", "appPort", "mounts"}
IGNORED |= {"containerEnv", "remoteEnv", "remoteUser", "containerUser", "workspaceFolder"}
IGNORED |= {"workspaceMount", "runArgs", "features", "customizations", "overrideCommand"}
IGNORED |= {"shutdownAction", "updateRemoteUserUID", "userEnvProbe", "init", "dockerFile"}
IGNORED |= {"context", "dockerComposeFile", "service", "runServices", *HOOKS}
IGNORED |= {"waitFor", "portsAttributes", "otherPortsAttributes"}
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
        self.base = workspace  # where a relative mount source starts

    def __call__(self, text: str) -> str:
        text = LOCAL_ENV_RE.sub(lambda m: self.environ.get(m.group(1), m.group(2) or ""), text)
        return self.folders(text)

    def folders(self, text: str) -> str:
        for key, value in self.values.items():
            text = text.replace("${" + key + "}", value)
        return text

    def template(self, text: str) -> str | None:
        """An env value with `${localEnv:VAR[:default]}` kept as the spec's `${VAR:-[default]}`
        (the value stays out of the spec); None when another variable remains."""
        out, last = "", 0
        for m in [*LOCAL_ENV_RE.finditer(text), None]:
            piece = self.folders(text[last : m.start() if m else len(text)])
            if has_variable(piece):
                return None
            out += literal(piece)
            if m:
                default = f":-{m.group(2) or ''}"  # unset: the CLI gives ""
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
    composed = config.get("dockerComposeFile")
    default_folder = "/" if composed else f"/workspaces/{workspace.name}"
    folder = str(config.get("workspaceFolder") or default_folder)
    resolve = _Vars(workspace, folder, os.environ if environ is None else environ)
    resolve.base = path.resolve().parent
    project = follow_compose(draft, config, path, out_dir, workspace) if composed else None
    if project is None:
        _base(draft, config, path.resolve().parent, out_dir)
        _workspace(draft, config, resolve, out_dir, workspace)
        if config.get("overrideCommand") is False:  # the image's ENTRYPOINT and CMD run
            draft.keys["entrypoint"] = "image"
    else:
        resolve.base = project  # the CLI hands mounts to Compose: relative to its project
        if config.get("workspaceFolder"):
            draft.keys["workdir"] = resolve(folder)
    for key, step in _steps(config, resolve, out_dir):
        try:
            step(draft)
        except (TypeError, ValueError, AttributeError, KeyError, IndexError) as exc:
            draft.note(f"{key}: not a form devenv reads ({exc}), not carried")
    roundtrip.read_devcontainer_extension(draft, config, out_dir)
    variables_note(draft)
    return draft


def _steps(
    config: dict[str, Any], resolve: _Vars, out_dir: Path
) -> list[tuple[str, Callable[[Draft], None]]]:
    """Each key's mapping on its own, so one odd value costs that key only."""
    args = [str(a) for a in config.get("runArgs") or []]
    return [
        ("ports", lambda d: _ports(d, config)),
        ("mounts", lambda d: _mounts(d, config.get("mounts") or [], resolve, out_dir)),
        ("containerEnv", lambda d: _env(d, config, resolve)),
        ("remoteUser", lambda d: _user(d, config.get("remoteUser") or config.get("containerUser"))),
        ("runArgs", lambda d: runargs.apply(d, args, out_dir, resolve.template, resolve)),
        ("lifecycle", lambda d: lifecycle_hooks(d, config, resolve.folders)),
        ("features", lambda d: _unsupported(d, config)),
    ]


def follow_compose(
    draft: Draft, config: dict[str, Any], path: Path, out_dir: Path, workspace: Path
) -> Path | None:
    """The service `service` of the `dockerComposeFile`s (relative to the devcontainer.json,
    merged in order) as the draft's start; the Compose project's folder, or None (noted)
    when they cannot be followed."""
    from devenv.formats import compose

    files = config["dockerComposeFile"]
    paths = [
        path.resolve().parent / str(f) for f in (files if isinstance(files, list) else [files])
    ]
    service = config.get("service")
    missing = [p for p in paths if not p.is_file()]
    if missing or not isinstance(service, str):
        why = f"{missing[0].name} is not here" if missing else "no 'service' names the box"
        draft.note(f"dockerComposeFile: {why}; base is a placeholder")
        return None
    first = paths[0].resolve().parent
    project = f"{workspace.name}_devcontainer" if first == workspace / ".devcontainer" else None
    (found,) = compose.read_files(paths, out_dir, service, project)
    draft.keys.update(found.keys)
    for note in found.notes:
        if not note.startswith("variables "):  # said once for the whole draft, by read()
            draft.note(f"service {service}: {note}")
    shown = [path.parent / str(f) for f in (files if isinstance(files, list) else [files])]
    for other in [str(s) for s in config.get("runServices") or [] if s != service]:
        draft.note(f"runServices {other}: its own env; {_init_hint(other, paths, shown)}")
    if config.get("overrideCommand", True):
        draft.keys.pop("entrypoint", None)  # the CLI replaces the image's command too
        if draft.keys.pop("command", None) is not None:
            draft.note(
                "command: the Dev Containers CLI replaces it (overrideCommand), so the box idles"
            )
    return first


def _init_hint(service: str, paths: list[Path], shown: list[Path]) -> str:
    """How to import `service`, from the compose file that defines it (as the user named it)."""
    from devenv.formats import composefile

    defining = []
    for path, name in zip(paths, shown, strict=True):
        with contextlib.suppress(DevenvError):
            if service in (composefile.load(path).get("services") or {}):
                defining.append(os.path.normpath(name))
    if not defining:
        return "no compose file here defines it"
    command = f"run `devenv init --from {defining[0]} --service {service}`"
    return command if len(defining) == 1 else f"{command} (also set in {', '.join(defining[1:])})"


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
        if not config.get("dockerComposeFile"):
            draft.note("base: debian:bookworm is a placeholder (no image or build here)")


def _workspace(
    draft: Draft, config: dict[str, Any], resolve: _Vars, out_dir: Path, workspace: Path
) -> None:
    """The project folder at workspaceFolder, as the CLI mounts it; a file devenv wrote
    says exactly what it mounts (workspaceMount) and where it works (workspaceFolder)."""
    ours = isinstance((config.get("customizations") or {}).get("devenv"), dict)
    folder = resolve(str(config.get("workspaceFolder") or f"/workspaces/{workspace.name}"))
    mount = config.get("workspaceMount")
    if mount:
        _mount(draft, mount, resolve, out_dir)
    elif not ours:
        draft.add("shared", shared_entry(host_path(str(workspace), out_dir), folder))
    if config.get("workspaceFolder") or not ours:
        draft.keys["workdir"] = folder


def _ports(draft: Draft, config: dict[str, Any]) -> None:
    """forwardPorts: numbers on 127.0.0.1 (a `service:port` is another service's); appPort:
    numbers on 127.0.0.1, strings as `docker run -p` reads them, as the CLI passes them."""
    app_port = config.get("appPort") or []
    for entry in config.get("forwardPorts") or []:
        if isinstance(entry, int) and not isinstance(entry, bool):
            draft.add("ports", port_entry(entry, entry))
        elif isinstance(entry, str) and re.fullmatch(r"(\d+:)?\d+", entry):
            host, _, container = entry.rpartition(":")
            draft.add("ports", port_entry(int(container), int(host or container)))
        else:
            draft.note(f"forwardPorts {entry!r}: a port of another service, not carried")
    for entry in app_port if isinstance(app_port, list) else [app_port]:
        if isinstance(entry, int) and not isinstance(entry, bool):
            draft.add("ports", port_entry(entry, entry))
        else:
            add_published(draft, str(entry), "appPort")


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
        absolute = source if source.startswith(("/", "~")) else str(resolve.base / source)
        add_bind(draft, absolute, target, readonly, out_dir, f"mount {_short_mount(mount)}")
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
            elif re.fullmatch(r"[^=\x00]+", key):
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


def _mounts(draft: Draft, mounts: list[Any], resolve: _Vars, out_dir: Path) -> None:
    for mount in mounts:
        _mount(draft, mount, resolve, out_dir)


def _short_mount(mount: Any) -> str:
    return mount if isinstance(mount, str) else ",".join(f"{k}={v}" for k, v in mount.items())


def _unsupported(draft: Draft, config: dict[str, Any]) -> None:
    features = config.get("features") or {}
    if features:
        draft.note(
            f"features ({', '.join(features)}): not carried; add their packages to apt.packages"
        )
    custom = [str(k) for k in config.get("customizations") or {} if k != "devenv"]
    if custom:
        draft.note(f"customizations ({', '.join(custom)}): editor settings, not carried")
    if config.get("waitFor"):
        draft.note(f"waitFor {config['waitFor']}: not carried (apply runs every hook first)")
    attributes = [str(k) for k in config.get("portsAttributes") or {}]
    if attributes or config.get("otherPortsAttributes"):
        shown = ", ".join(attributes) or "other ports"
        draft.note(f"portsAttributes ({shown}): how an editor shows ports, not carried")
    for key in sorted(set(config) - IGNORED):
        draft.note(f"{key}: no spec key for it")
