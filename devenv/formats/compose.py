"""Compose files → one Draft per service. Services land in one folder, so devenv's folder
network lets them reach each other by name as Compose's default network did. Pure but for
reading the compose files, their `.env` and their env_files. A value devenv cannot read
is listed, never fatal: each key is mapped on its own."""

from __future__ import annotations

import re
import shlex
from collections.abc import Callable
from pathlib import Path
from typing import Any

from devenv.engine.shape import ENTRYPOINT
from devenv.errors import DevenvError
from devenv.formats import composefile, healthcheck, roundtrip
from devenv.formats.composefile import Project
from devenv.formats.draft import (
    Draft,
    add_published,
    compose_reference,
    dockerfile_base,
    literal,
    port_entry,
    spec_name,
    variables_note,
)
from devenv.formats.interpolation import Unresolved, project_env, resolve, split_colons
from devenv.formats.shares import add_bind
from devenv.spec.variables import names

HANDLED = {"image", "build", "ports", "volumes", "environment", "env_file", "working_dir", "user"}
HANDLED |= {"command", "entrypoint", "networks", "container_name", "expose", "depends_on"}
HANDLED |= {"healthcheck", "post_start", "network_mode", "hostname"}
USER_RE = re.compile(r"[a-z_][a-z0-9_-]{0,31}")
ENV_NAME_RE = re.compile(r"[^=\x00]+")


def read(path: Path, out_dir: Path, only: str | None = None) -> list[Draft]:
    """Drafts for the services of the compose file at `path` (or only the service `only`)."""
    return read_files([path], out_dir, only)


def read_files(
    paths: list[Path], out_dir: Path, only: str | None = None, project: str | None = None
) -> list[Draft]:
    """Drafts for the services of `paths` merged in order (paths relative to the first)."""
    data = composefile.load_all(paths)
    services = data["services"]
    if only is not None and only not in services:
        raise DevenvError(
            f"{paths[-1]} has no service {only!r}", f"services: {', '.join(map(str, services))}"
        )
    folder = paths[0].resolve().parent
    name = composefile.project_name(data, folder, project)
    source = " + ".join(str(p) for p in paths)
    context = Project(source, folder, out_dir, name, data, project_env(folder))
    names = [only] if only else [str(n) for n in services]
    return [_service(context, n, services[n]) for n in names]


Step = Callable[[Draft, "Project", dict[str, Any]], None]


def _service(project: Project, name: str, svc: Any) -> Draft:
    draft = Draft(spec_name(name), f"{project.source} (service {name})")
    if not isinstance(svc, dict):
        svc = {}
        draft.note(f"service {name}: not a mapping; nothing to carry")
    steps: tuple[tuple[str, Step], ...] = (
        ("image", _image),
        ("ports", _ports),
        ("volumes", _volumes),
        ("environment", _environment),
        ("working_dir", _workdir),
        ("user", _user),
        ("command", _command),
        ("networks", _networks),
        ("healthcheck", healthcheck.read),
        ("post_start", roundtrip.read_post_start),
    )
    for key, step in steps:
        try:
            step(draft, project, svc)
        except (TypeError, ValueError, AttributeError, KeyError, IndexError) as exc:
            draft.note(f"{key}: not a form devenv reads ({exc}), not carried")
    if "base" not in draft.keys:
        draft.keys["base"] = "debian:bookworm"
        draft.note("base: debian:bookworm is a placeholder for what the service builds")
    _unmapped(draft, svc)
    roundtrip.read_compose_extension(draft, svc, project.out_dir)
    variables_note(draft)
    _dotenv_note(draft, project)
    return draft


def _dotenv_note(draft: Draft, project: Project) -> None:
    """Compose reads the `.env` beside the file; a spec reads the one beside it: say which
    of the spec's variables the project's sets, so validate need not find them missing."""
    read = {n for v in (draft.keys.get("env") or {}).values() for n in names(str(v))}
    found = sorted(read & set(project.values))
    if found:
        where = Path(project.source.split(" + ")[0]).parent / ".env"
        draft.note(
            f"{where} sets {', '.join(found)}: Compose reads it, devenv reads the .env beside "
            "the spec (copy what you need there; keep it out of git)"
        )


def resolved(draft: Draft, project: Project, text: Any, what: str) -> str | None:
    """`text` with Compose's variables resolved as Compose would here; None (noted) when one
    has no value; the defaults taken are noted."""
    used: list[str] = []
    try:
        out = resolve(str(text), project.values, used)
    except Unresolved as exc:
        draft.note(f"{what}: {exc}, not carried")
        return None
    if used:
        draft.note(f"{what}: {', '.join(dict.fromkeys(used))}")
    return out


def _image(draft: Draft, project: Project, svc: dict[str, Any]) -> None:
    """`build:` (string or object) becomes a Dockerfile base; else `image:` the base."""
    image, build = svc.get("image"), svc.get("build")
    if build:
        spec = {"context": build} if isinstance(build, str) else dict(build)
        context = resolved(draft, project, spec.get("context") or ".", "build.context")
        if context is None or "://" in context or spec.get("dockerfile_inline"):
            draft.note(f"build {build}: only a local folder and Dockerfile map")
        else:
            where = (project.folder / context).resolve()
            dockerfile = where / str(spec.get("dockerfile") or "Dockerfile")
            args, target = spec.get("args"), spec.get("target")
            dockerfile_base(draft, dockerfile, where, args, target, project.out_dir)
            if "base" in draft.keys:
                return
    if image:
        text = resolved(draft, project, image, f"image {image}")
        if text:
            draft.keys["base"] = text


def _ports(draft: Draft, project: Project, svc: dict[str, Any]) -> None:
    for entry in svc.get("ports") or []:
        if not isinstance(entry, dict):
            text = resolved(draft, project, entry, f"port {entry}")
            if text is not None:
                add_published(draft, text, "port")
            continue
        target, published = entry.get("target"), entry.get("published")
        published = resolved(draft, project, published or "", f"port {entry}")
        if published is None:
            continue
        bind = str(entry.get("host_ip") or "0.0.0.0")
        if not str(target).isdigit() or (published and not published.isdigit()):
            draft.note(f"port {entry}: not a form devenv maps")
            continue
        host = int(published) if published else None
        protocol = str(entry.get("protocol") or "tcp")
        draft.add("ports", port_entry(int(str(target)), host, bind, protocol))


def _volumes(draft: Draft, project: Project, svc: dict[str, Any]) -> None:
    for entry in svc.get("volumes") or []:
        if isinstance(entry, dict):
            kind = str(entry.get("type", "volume"))
            source, target = entry.get("source"), entry.get("target")
            readonly = bool(entry.get("read_only"))
        else:
            parts = split_colons(str(entry))
            source, target = (parts[0], parts[1]) if len(parts) > 1 else (None, parts[0])
            readonly = len(parts) > 2 and "ro" in parts[2].split(",")
            kind = "bind" if source and source.startswith((".", "/", "~", "$")) else "volume"
        what = f"volume {entry}"
        if not source or not target or kind not in ("bind", "volume"):
            draft.note(f"{what}: anonymous and tmpfs volumes are not carried")
            continue
        source = resolved(draft, project, source, what)
        target = resolved(draft, project, target, what)
        if source is None or target is None:
            continue
        if kind == "volume" and not source.startswith((".", "/", "~")):
            _named_volume(draft, project, source, target, readonly)
        else:
            absolute = source if source.startswith(("/", "~")) else str(project.folder / source)
            add_bind(draft, absolute, target, readonly, project.out_dir, what)


def _named_volume(draft: Draft, project: Project, source: str, target: str, readonly: bool) -> None:
    real = volume_name(source, project.name, project.data.get("volumes") or {})
    volume: dict[str, Any] = {"name": real, "container": target}
    draft.add("volumes", {**volume, "readonly": True} if readonly else volume)
    if real != source:
        draft.note(f"volume {source} is Compose's {real}: kept under that name, so its data stays")


def volume_name(source: str, project: str, declared: dict[str, Any]) -> str:
    """The engine's name of a compose volume: its `name:`, or PROJECT_VOLUME."""
    spec = declared.get(source) or {}
    if spec.get("name"):
        return str(spec["name"])
    return source if spec.get("external") else f"{project}_{source}"


def _environment(draft: Draft, project: Project, svc: dict[str, Any]) -> None:
    files = svc.get("env_file") or []
    for entry in [files] if isinstance(files, str | dict) else files:
        raw = entry if isinstance(entry, str) else entry.get("path", "")
        file = resolved(draft, project, raw, f"env_file {raw}")
        if file is None:
            continue
        found = read_env_file(project.folder / file, draft)
        for key, value in (found or {}).items():
            draft.env(key, literal(value))
        if found is not None:
            draft.note(f"env_file {raw}: its values are copied into env (keep secrets out of git)")
    env = svc.get("environment") or {}
    pairs: list[tuple[str, Any]] = (
        [(str(k), v) for k, v in env.items()]
        if isinstance(env, dict)
        else [_pair(str(e)) for e in env]
    )
    for key, value in pairs:  # `KEY` alone passes the host's KEY when it is set
        template = "${" + key + ":-}" if value is None else compose_reference(_text(value))
        if not ENV_NAME_RE.fullmatch(key):
            draft.note(f"environment {key!r}: not a name Docker accepts")
        elif template is None:
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


def read_env_file(path: Path, draft: Draft) -> dict[str, str] | None:
    """KEY=VALUE lines of an env file (comments and blank lines skipped, quotes removed);
    None (noted) when it cannot be read here."""
    try:
        lines = path.read_text().splitlines()
    except (OSError, UnicodeDecodeError):
        draft.note(f"env_file {path.name}: not readable here, not carried")
        return None
    found = {}
    for line in lines:
        line = line.strip()
        if not line or line.startswith("#") or "=" not in line:
            continue
        key, _, value = line.removeprefix("export ").partition("=")
        value = value.strip()
        if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
            value = value[1:-1]
        if key.strip() and "\x00" not in key:
            found[key.strip()] = value
    return found


def _workdir(draft: Draft, project: Project, svc: dict[str, Any]) -> None:
    if svc.get("working_dir"):
        folder = resolved(draft, project, svc["working_dir"], "working_dir")
        if folder:
            draft.keys["workdir"] = folder


def _user(draft: Draft, project: Project, svc: dict[str, Any]) -> None:
    user = svc.get("user")
    if user is None or str(user) in ("root", "0", "0:0"):
        return
    if USER_RE.fullmatch(str(user)):
        draft.keys["user"] = str(user)
    else:
        draft.note(f"user {user}: only a user name maps (not uid:gid)")


def words(value: Any) -> list[str]:
    return shlex.split(value) if isinstance(value, str) else [str(v) for v in value]


def _command(draft: Draft, project: Project, svc: dict[str, Any]) -> None:
    command, entrypoint = svc.get("command"), svc.get("entrypoint")
    argv = words(command) if command else []
    if entrypoint and "x-devenv" in svc and words(entrypoint)[:1] == [ENTRYPOINT]:
        return  # devenv's own `entrypoint: image` output: x-devenv holds entrypoint and command
    if entrypoint:
        argv = words(entrypoint) + argv
        draft.note("entrypoint: folded into command (devenv's entrypoint runs first, then it)")
    elif entrypoint is None and "base" in draft.keys:  # an image or a build, not a placeholder
        # the image's own ENTRYPOINT and CMD run, as Compose runs them; command: their arguments
        draft.keys["entrypoint"] = "image"
    if argv:
        used: list[str] = []
        try:
            argv = [resolve(word, project.values, used) for word in argv]
        except Unresolved as exc:
            draft.note(f"command: {exc}; kept as written (the box's shell does not read it)")
        draft.keys["command"] = argv


def _networks(draft: Draft, project: Project, svc: dict[str, Any]) -> None:
    names = [str(n) for n in svc.get("networks") or []]
    declared = project.data.get("networks") or {}
    joined = []
    for name in names:
        spec = declared.get(name) or {}
        if spec.get("external"):
            joined.append(str(spec.get("name") or name))
    if joined:
        draft.keys["networks"] = {"join": joined}
    internal = [n for n in names if n not in ("default", *joined)]
    if internal:
        draft.note(f"networks {', '.join(internal)}: services share the folder's network instead")


def _unmapped(draft: Draft, svc: dict[str, Any]) -> None:
    depends = svc.get("depends_on")
    if depends:
        names = ", ".join(map(str, depends))
        draft.note(f"depends_on ({names}): not carried (apply brings envs up independently)")
    expose = svc.get("expose")
    if expose:
        ports = ", ".join(str(p) for p in (expose if isinstance(expose, list) else [expose]))
        draft.note(f"expose ({ports}): not carried (envs of a folder reach each other's ports)")
    if svc.get("network_mode"):
        draft.note(
            f"network_mode {svc['network_mode']}: not carried (each box has its own network; "
            "envs of a folder reach each other by name)"
        )
    for key in ("container_name", "hostname"):
        if svc.get(key) and str(svc[key]) != draft.name:
            draft.note(f"{key} {svc[key]}: the box is named {draft.name} (its hostname too)")
    ours = {"init", "restart"} if "x-devenv" in svc else set()  # what devenv's output adds
    for key in sorted(str(k) for k in set(svc) - HANDLED - ours):
        if not key.startswith("x-"):
            draft.note(f"{key}: not carried")
