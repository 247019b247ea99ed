"""A spec written back out in a peer's format: a devcontainer.json for the Dev Containers
CLI, a compose file for `docker compose`, each describing the box devenv would run (its
image, ports, mounts, env, user, command, workdir). Pure: the caller gives the image tag and
the canonical container config (devenv.converge.desired.container_config)."""

from __future__ import annotations

import json
import shlex
from typing import Any

import yaml

from devenv.converge.desired import DOCKER_SOCKET, SSH_DIR
from devenv.formats import healthcheck
from devenv.spec.variables import parse


def with_variables(
    config: dict[str, Any], templates: tuple[tuple[str, str], ...], fmt: str
) -> dict[str, Any]:
    """`config` with each env value read from variables written as the reference again (Compose
    reads `${VAR}` as devenv does; devcontainer.json says `${localEnv:VAR}`): never the value."""
    env = dict(config["env"])
    if fmt == "compose":  # Compose reads `$` in every value: a literal one is `$$`
        env = {key: value.replace("$", "$$") for key, value in env.items()}
    for key, template in templates:
        env[key] = _compose_required(template) if fmt == "compose" else _local_env(template)
    return {**config, "env": env}


def _compose_required(template: str) -> str:
    """A required `${VAR}` as Compose writes required: `${VAR?}` (Compose would leave a bare
    one blank when unset, where devenv refuses)."""
    out = ""
    for part in parse(template):
        if isinstance(part, str):
            out += part.replace("$", "$$")
        else:
            out += "${" + part.name + "?}" if part.op == "" else part.text
    return out


def _local_env(template: str) -> str:
    out = ""
    for part in parse(template):
        if isinstance(part, str):
            out += part
        else:
            default = f":{part.arg}" if part.op in (":-", "-") else ""
            out += "${localEnv:" + part.name + default + "}"
    return out


def _environment(config: dict[str, Any]) -> dict[str, str]:
    """The env the box gets, with the variables devenv's entrypoint reads to map the user."""
    env = dict(config["env"])
    if config["user"]:
        user = config["user"]
        env.update(
            DEVENV_USER=user["name"], DEVENV_UID=str(user["uid"]), DEVENV_GID=str(user["gid"])
        )
    if config["sshd"]:
        env["DEVENV_SSHD"] = "1"  # devenv's entrypoint starts sshd beside the command
    return env


def _binds(config: dict[str, Any]) -> list[tuple[str, str, bool]]:
    """(host, container, readonly) of every shared folder (and the socket when asked)."""
    binds = []
    for entry in config["shared"]:
        host, container, mode = entry.rsplit(":", 2)
        binds.append((host, container, mode == "ro"))
    if config["docker_socket"]:
        binds.append((DOCKER_SOCKET, DOCKER_SOCKET, False))
    if config["sshd"] and config.get("ssh_dir"):
        binds.append((config["ssh_dir"], SSH_DIR, False))  # keys apply wrote there
    return binds


def _volumes(config: dict[str, Any]) -> list[tuple[str, str, bool]]:
    return [
        (name, container, mode == "ro")
        for name, container, mode in (v.split(":", 2) for v in config["volumes"])
    ]


def _publish(entry: str) -> str:
    """'127.0.0.1:8080:80' as docker's -p writes it (IPv6 binds in brackets)."""
    bind, host, container = entry.rsplit(":", 2)
    return f"[{bind}]:{host}:{container}" if ":" in bind else entry


def devcontainer(
    name: str,
    image: str,
    config: dict[str, Any],
    hooks: dict[str, list[Any]] | None = None,
    extension: dict[str, Any] | None = None,
) -> str:
    """devcontainer.json text (JSON; notes as // comments, which the CLI reads);
    `extension` (what it cannot hold) goes under customizations.devenv."""
    data: dict[str, Any] = {"name": name, "image": image}
    if config["ports"]:
        data["appPort"] = [_publish(p) for p in config["ports"]]
    mounts = [
        f"source={h},target={c},type=bind" + (",readonly" if ro else "")
        for h, c, ro in _binds(config)
    ]
    mounts += [
        f"source={n},target={c},type=volume" + (",readonly" if ro else "")
        for n, c, ro in _volumes(config)
    ]
    if config["workdir"]:
        data["workspaceFolder"] = config["workdir"]
        at_workdir = [m for m in mounts if f",target={config['workdir']}," in m + ","]
        if at_workdir:
            data["workspaceMount"] = at_workdir[0]
        mounts = [m for m in mounts if m not in at_workdir]
    if mounts:
        data["mounts"] = mounts
    env = _environment(config)
    if env:
        data["containerEnv"] = env
    if config["user"]:
        data["remoteUser"] = config["user"]["name"]
    for kind, key in (("create", "postCreateCommand"), ("start", "postStartCommand")):
        commands = (hooks or {}).get(kind) or []
        if len(commands) == 1:
            data[key] = commands[0]  # a string for a shell, a list run as is: the same forms
        elif commands:  # one after another, as devenv runs them (an object would run in parallel)
            data[key] = " && ".join(_shell(c) for c in commands)
    data["init"] = True
    data["overrideCommand"] = False
    if extension:
        data["customizations"] = {"devenv": extension}
    note = "// written by devenv render --as devcontainer; the spec is the source of truth\n"
    body = json.dumps(data, indent=2)
    if config["command"]:
        note += f"// command {json.dumps(config['command'])}: the image's CMD runs instead (the CLI has no command key)\n"
    return note + body + "\n"


def _shell(command: str | list[str]) -> str:
    return f"( {command}\n)" if isinstance(command, str) else shlex.join(command)


def compose_service(
    image: str, config: dict[str, Any], name: str, spec: dict[str, Any] | None = None
) -> dict[str, Any]:
    """One compose service for the box; `spec` holds its `ready`, `hooks` and what Compose
    cannot hold (x-devenv)."""
    service: dict[str, Any] = {"image": image, "container_name": name, "hostname": name}
    if config.get("image_start"):  # entrypoint: image, behind devenv's start-up as apply runs it
        service["entrypoint"], service["command"] = config["image_start"]
    elif config["command"]:
        service["command"] = list(config["command"])
    if config["workdir"]:
        service["working_dir"] = config["workdir"]
    env = _environment(config)
    if env:
        service["environment"] = env
    if config["ports"]:
        service["ports"] = [_publish(p) for p in config["ports"]]
    volumes = [
        {"type": "bind", "source": h, "target": c, **({"read_only": True} if ro else {})}
        for h, c, ro in _binds(config)
    ]
    volumes += [
        {"type": "volume", "source": n, "target": c, **({"read_only": True} if ro else {})}
        for n, c, ro in _volumes(config)
    ]
    if volumes:
        service["volumes"] = volumes
    service["init"] = True
    service["restart"] = "unless-stopped"
    spec = spec or {}
    check = healthcheck.write(spec.get("ready"))
    if check:
        service["healthcheck"] = check
    starts = (spec.get("hooks") or {}).get("start") or []
    if starts:  # as the box's user, in its workdir, as devenv runs them
        service["post_start"] = [_post_start(c, config) for c in starts]
    if spec.get("extension"):
        service["x-devenv"] = spec["extension"]
    # Compose reads `$` everywhere: all but the env's references are literal, so `$$`
    return {k: v if k == "environment" else _literal(v) for k, v in service.items()}


def _literal(value: Any) -> Any:
    if isinstance(value, str):
        return value.replace("$", "$$")
    if isinstance(value, list):
        return [_literal(v) for v in value]
    if isinstance(value, dict):
        return {k: _literal(v) for k, v in value.items()}
    return value


def _post_start(command: str | list[str], config: dict[str, Any]) -> dict[str, Any]:
    argv = ["/bin/sh", "-c", command] if isinstance(command, str) else list(command)
    hook: dict[str, Any] = {"command": argv}
    if config["user"]:
        hook["user"] = config["user"]["name"]
    if config["workdir"]:
        hook["working_dir"] = config["workdir"]
    return hook


def compose(
    boxes: list[tuple[str, str, dict[str, Any], list[str]]],
    specs: list[dict[str, Any]] | None = None,
) -> str:
    """A compose file for (name, image, config, networks-to-join) of each box; `specs`
    (one per box) give each its ready check, hooks and x-devenv."""
    services: dict[str, Any] = {}
    volumes: dict[str, Any] = {}
    networks: dict[str, Any] = {}
    for index, (name, image, config, join) in enumerate(boxes):
        service = compose_service(image, config, name, (specs or [])[index] if specs else None)
        if join:
            service["networks"] = ["default", *join]
            networks.update({n: {"external": True} for n in join})
        services[name] = service
        volumes.update({n: {"name": n} for n, _c, _ro in _volumes(config)})
    data: dict[str, Any] = {"services": services}
    if volumes:
        data["volumes"] = volumes
    if networks:
        data["networks"] = networks
    head = "# written by devenv render --as compose; the specs are the source of truth\n"
    if any("create" in ((s.get("extension") or {}).get("hooks") or {}) for s in specs or []):
        head += "# hooks.create (once per container) has no Compose key: kept in x-devenv\n"
    return head + yaml.safe_dump(data, sort_keys=False, default_flow_style=False, width=100)
