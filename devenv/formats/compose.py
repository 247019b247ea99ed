"""A compose file → one Draft per service. Services land in one folder, so devenv's folder
network lets them reach each other by name as Compose's default network did. Pure but for
reading the compose file and its env_files."""

from __future__ import annotations

import re
import shlex
from pathlib import Path
from typing import Any

import yaml

from devenv.errors import DevenvError
from devenv.formats.draft import (
    Draft,
    add_published,
    compose_reference,
    dockerfile_base,
    has_variable,
    host_path,
    literal,
    port_entry,
    shared_entry,
    spec_name,
    variables_note,
)
from devenv.hostfiles import InputRefused, read_text_bounded

HANDLED = {"image", "build", "ports", "volumes", "environment", "env_file", "working_dir", "user"}
HANDLED |= {"command", "entrypoint", "networks", "container_name", "expose", "depends_on"}
NAMED = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]*")
MAX_COMPOSE = 4 << 20


def load(path: Path) -> dict[str, Any]:
    """The compose file as data; one sentence when it is not a compose file."""
    try:
        data = yaml.safe_load(read_text_bounded(path, MAX_COMPOSE))
    except InputRefused as exc:
        raise DevenvError(exc.message, "give a compose file") from None
    except (OSError, UnicodeDecodeError) as exc:
        why = exc.strerror if isinstance(exc, OSError) else "it is not UTF-8 text"
        raise DevenvError(f"cannot read {path}: {why}", "check the path") from None
    except RecursionError:
        raise DevenvError(f"{path} is nested too deeply to be a compose file") from None
    except yaml.YAMLError as exc:
        raise DevenvError(
            f"{path} is not valid YAML ({str(exc).splitlines()[0]})", "fix it, then run init again"
        ) from None
    if not isinstance(data, dict) or not isinstance(data.get("services"), dict):
        raise DevenvError(f"{path} has no 'services:'", "is it a compose file?")
    return data


def read(path: Path, out_dir: Path, only: str | None = None) -> list[Draft]:
    """Drafts for the services of the compose file at `path` (or only the service `only`)."""
    data = load(path)
    services = data["services"]
    if only is not None and only not in services:
        raise DevenvError(f"{path} has no service {only!r}", f"services: {', '.join(services)}")
    project = spec_name(str(data.get("name") or path.resolve().parent.name)).replace(".", "")
    names = [only] if only else list(services)
    return [_service(path, out_dir, project, data, name, services[name] or {}) for name in names]


def _service(
    path: Path, out_dir: Path, project: str, data: dict[str, Any], name: str, svc: dict[str, Any]
) -> Draft:
    draft = Draft(spec_name(name), f"{path} (service {name})")
    base = path.resolve().parent
    _image(draft, svc, base, out_dir)
    for entry in svc.get("ports") or []:
        _port(draft, entry)
    for entry in svc.get("volumes") or []:
        _volume(draft, entry, base, out_dir, project, data.get("volumes") or {})
    _environment(draft, svc, base)
    if svc.get("working_dir"):
        draft.keys["workdir"] = str(svc["working_dir"])
    _user(draft, svc.get("user"))
    _command(draft, svc)
    _networks(draft, svc.get("networks"), data.get("networks") or {})
    _unmapped(draft, svc)
    variables_note(draft)
    return draft


def _image(draft: Draft, svc: dict[str, Any], folder: Path, out_dir: Path) -> None:
    """`build:` (string or object) becomes a Dockerfile base; else `image:` the base."""
    image, build = svc.get("image"), svc.get("build")
    if build:
        spec = {"context": build} if isinstance(build, str) else dict(build)
        context = str(spec.get("context") or ".")
        if has_variable(context) or "://" in context or spec.get("dockerfile_inline"):
            draft.note(
                f"build {build}: only a local folder and Dockerfile map; base is a placeholder"
            )
        else:
            where = (folder / context).resolve()
            dockerfile = where / str(spec.get("dockerfile") or "Dockerfile")
            dockerfile_base(draft, dockerfile, where, spec.get("args"), spec.get("target"), out_dir)
            return
    if isinstance(image, str) and not has_variable(image):
        draft.keys["base"] = image
    elif image:
        draft.note(f"image {image}: variables are read in env only; base is a placeholder")
    if "base" not in draft.keys:
        draft.keys["base"] = "debian:bookworm"
        draft.note("base: debian:bookworm is a placeholder for what the service builds")


def _port(draft: Draft, entry: Any) -> None:
    if isinstance(entry, dict):
        target, published = entry.get("target"), entry.get("published")
        bind = str(entry.get("host_ip") or "0.0.0.0")
        if (
            not isinstance(target, int)
            or has_variable(str(published))
            or "-" in str(published or "")
        ):
            draft.note(f"port {entry}: not a form devenv maps")
            return
        host = int(published) if published not in (None, "") else None
        draft.add("ports", port_entry(target, host, bind, str(entry.get("protocol") or "tcp")))
        return
    text = str(entry)
    add_published(draft, text, "port")


def _volume(
    draft: Draft, entry: Any, base: Path, out_dir: Path, project: str, declared: dict[str, Any]
) -> None:
    if isinstance(entry, dict):
        kind, source, target = entry.get("type", "volume"), entry.get("source"), entry.get("target")
        readonly = bool(entry.get("read_only"))
    else:
        parts = str(entry).split(":")
        source, target = (parts[0], parts[1]) if len(parts) > 1 else (None, parts[0])
        readonly = len(parts) > 2 and "ro" in parts[2].split(",")
        kind = "bind" if source and source.startswith((".", "/", "~")) else "volume"
    if not source or not target or has_variable(str(source)) or kind not in ("bind", "volume"):
        draft.note(f"volume {entry}: anonymous, tmpfs or variable volumes are not carried")
    elif kind == "bind":
        absolute = source if source.startswith(("/", "~")) else str(base / source)
        draft.add("shared", shared_entry(host_path(absolute, out_dir), str(target), readonly))
    else:
        real = volume_name(str(source), project, declared)
        volume: dict[str, Any] = {"name": real, "container": str(target)}
        draft.add("volumes", {**volume, "readonly": True} if readonly else volume)
        if real != source:
            draft.note(
                f"volume {source} is Compose's {real}: kept under that name, so its data stays"
            )


def volume_name(source: str, project: str, declared: dict[str, Any]) -> str:
    """The engine's name of a compose volume: its `name:`, or PROJECT_VOLUME."""
    spec = declared.get(source) or {}
    if spec.get("name"):
        return str(spec["name"])
    return source if spec.get("external") else f"{project}_{source}"


def _environment(draft: Draft, svc: dict[str, Any], base: Path) -> None:
    files = svc.get("env_file") or []
    for entry in [files] if isinstance(files, (str, dict)) else files:
        file = entry if isinstance(entry, str) else entry.get("path", "")
        for key, value in read_env_file(base / file, draft).items():
            draft.env(key, literal(value))
        draft.note(f"env_file {file}: its values are copied into env (keep secrets out of git)")
    env = svc.get("environment") or {}
    pairs: list[tuple[str, Any]] = (
        [(str(k), v) for k, v in env.items()]
        if isinstance(env, dict)
        else [_pair(str(e)) for e in env]
    )
    for key, value in pairs:  # `KEY` alone passes the host's KEY: a variable too
        template = "${" + key + "}" if value is None else compose_reference(_text(value))
        if template is None:
            draft.note(f"environment {key}: {value} is a form of variable devenv does not read")
        else:
            draft.env(key, template)


def _pair(entry: str) -> tuple[str, str | None]:
    key, eq, value = entry.partition("=")
    return key, value if eq else None


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def read_env_file(path: Path, draft: Draft) -> dict[str, str]:
    """KEY=VALUE lines of an env file (comments and blank lines skipped, quotes removed)."""
    try:
        lines = path.read_text().splitlines()
    except OSError:
        draft.note(f"env_file {path}: not readable here")
        return {}
    found = {}
    for line in lines:
        line = line.strip()
        if not line or line.startswith("#") or "=" not in line:
            continue
        key, _, value = line.removeprefix("export ").partition("=")
        value = value.strip()
        if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
            value = value[1:-1]
        found[key.strip()] = value
    return found


def _user(draft: Draft, user: Any) -> None:
    if user is None or str(user) == "root":
        return
    if re.fullmatch(r"[a-z_][a-z0-9_-]{0,31}", str(user)):
        draft.keys["user"] = str(user)
    else:
        draft.note(f"user {user}: only a user name maps (not uid:gid)")


def _words(value: Any) -> list[str]:
    return shlex.split(value) if isinstance(value, str) else [str(v) for v in value]


def _command(draft: Draft, svc: dict[str, Any]) -> None:
    command, entrypoint = svc.get("command"), svc.get("entrypoint")
    words = _words(command) if command else []
    if entrypoint:
        words = _words(entrypoint) + words
        draft.note("entrypoint: folded into command (devenv's entrypoint runs first, then it)")
    if words:
        draft.keys["command"] = words


def _networks(draft: Draft, networks: Any, declared: dict[str, Any]) -> None:
    names = list(networks or [])
    joined = []
    for name in names:
        spec = declared.get(name) or {}
        if spec.get("external"):
            joined.append(str(spec.get("name") or name))
    if joined:
        draft.keys["networks"] = {"join": joined}
    internal = [n for n in names if n not in ("default", *joined)]
    if internal:
        draft.note(
            f"networks {', '.join(map(str, internal))}: services share the folder's network instead"
        )


def _unmapped(draft: Draft, svc: dict[str, Any]) -> None:
    depends = svc.get("depends_on")
    if isinstance(depends, dict) and any(
        isinstance(v, dict) and v.get("condition") for v in depends.values()
    ):
        draft.note("depends_on conditions: not carried (apply brings envs up independently)")
    if svc.get("container_name"):
        draft.note(f"container_name {svc['container_name']}: the container is named {draft.name}")
    for key in sorted(set(svc) - HANDLED):
        draft.note(f"{key}: not carried")
