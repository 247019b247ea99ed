"""Specs → Kubernetes manifests: per env a Deployment (one replica, replaced not rolled: its
volumes and host ports cannot be held twice) running the box's image as devenv runs it (the
image's entrypoint, the spec's command as args, env, workdir, the user by name), a
PersistentVolumeClaim per named volume, a Service for its published ports (and each as a
`hostPort`, which a single-node runtime such as `podman kube play` publishes). Shared folders
become hostPath volumes: paths on the node that runs the pod, as a comment says. Pure."""

from __future__ import annotations

import os
import re
import shlex
from typing import Any

import yaml

from devenv.converge.desired import DOCKER_SOCKET, SSH_DIR
from devenv.spec import variables

MANAGED = {"app.kubernetes.io/managed-by": "devenv"}
STORAGE = "1Gi"
HEAD = """\
# written by devenv render --as kubernetes; the specs are the source of truth.
# Apply with `kubectl apply -f FILE` once the cluster can pull each image (devenv push).
# Not carried: the host user's uid mapping (the box's user keeps the image's uid), sshd's
# host keys (new on each start), hooks, and networks.join; a Service reaches only the
# published ports. Variables come from a Secret NAME-env (see each Deployment).
"""


class _Dumper(yaml.SafeDumper):
    """No `&id001` anchors: each document spells its labels out."""

    def ignore_aliases(self, data: Any) -> bool:
        return True


def k8s_name(name: str) -> str:
    """A DNS-1123 label from a devenv name (`_` and `.` become `-`)."""
    label = re.sub(r"[^a-z0-9-]+", "-", name.lower()).strip("-")[:63].rstrip("-")
    return label if label[:1].isalpha() else f"env-{label}"[:63]


def manifests(
    boxes: list[tuple[str, str, dict[str, Any], list[str]]], specs: list[dict[str, Any]]
) -> str:
    """The documents for (name, image, config, joined networks) of each box, `specs`
    giving each its ready check, hooks and authorized keys."""
    documents: list[tuple[list[str], dict[str, Any]]] = []
    for (name, image, config, join), spec in zip(boxes, specs, strict=True):
        documents += _box(name, image, config, join, spec)
    parts = []
    for comments, document in documents:
        text = yaml.dump(
            document, Dumper=_Dumper, sort_keys=False, default_flow_style=False, width=100
        )
        parts.append("".join(f"# {c}\n" for c in comments) + text)
    return HEAD + "---\n" + "---\n".join(parts)


def _box(
    name: str, image: str, config: dict[str, Any], join: list[str], spec: dict[str, Any]
) -> list[tuple[list[str], dict[str, Any]]]:
    app = k8s_name(name)
    labels = {"app.kubernetes.io/name": app, **MANAGED}
    docs: list[tuple[list[str], dict[str, Any]]] = []
    mounts, volumes, notes = [], [], []
    for index, entry in enumerate(config["volumes"]):
        volume, container, mode = entry.split(":", 2)
        claim = k8s_name(volume)
        docs.append(([f"volume {volume} of {name}"], _claim(claim, labels)))
        volumes.append({"name": f"volume-{index}", "persistentVolumeClaim": {"claimName": claim}})
        mounts.append(_mount(f"volume-{index}", container, mode == "ro"))
    for index, (host, container, readonly, kind) in enumerate(_host_paths(config)):
        volumes.append({"name": f"host-{index}", "hostPath": {"path": host, "type": kind}})
        mounts.append(_mount(f"host-{index}", container, readonly))
        notes.append(f"hostPath {host}: a path on the node that runs the pod, not this machine")
    container = _container(app, image, config, spec, mounts)
    if spec.get("keys"):
        docs.append(([f"sshd keys of {name}"], _keys(app, labels, spec["keys"])))
        volumes.append({"name": "ssh-keys", "configMap": {"name": f"{app}-ssh"}})
    if join:
        notes.append(f"networks.join ({', '.join(join)}): not carried")
    pod_spec: dict[str, Any] = {"hostname": app, "containers": [container]}
    if volumes:
        pod_spec["volumes"] = volumes
    pod = {"metadata": {"labels": labels}, "spec": pod_spec}
    deployment = {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": app, "labels": labels},
        "spec": {
            "replicas": 1,
            "strategy": {"type": "Recreate"},
            "selector": {"matchLabels": {"app.kubernetes.io/name": app}},
            "template": pod,
        },
    }
    templates = spec.get("templates") or {}
    docs.append(([f"env {name}", *notes, *_secret_note(app, templates)], deployment))
    service = _service(app, labels, config["ports"])
    if service:
        docs.append(([f"published ports of {name}"], service))
    return docs


def _claim(name: str, labels: dict[str, str]) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "PersistentVolumeClaim",
        "metadata": {"name": name, "labels": labels},
        "spec": {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": STORAGE}}},
    }


def _mount(volume: str, path: str, readonly: bool) -> dict[str, Any]:
    mount: dict[str, Any] = {"name": volume, "mountPath": path}
    return {**mount, "readOnly": True} if readonly else mount


def _host_paths(config: dict[str, Any]) -> list[tuple[str, str, bool, str]]:
    """(host path, container path, readonly, hostPath type) of each share and the socket."""
    found = []
    for entry in config["shared"]:
        host, container, mode = entry.rsplit(":", 2)
        kind = "File" if os.path.isfile(host) else "DirectoryOrCreate"
        found.append((host, container, mode == "ro", kind))
    if config["docker_socket"]:
        found.append((DOCKER_SOCKET, DOCKER_SOCKET, False, "Socket"))
    return found


def _container(
    app: str, image: str, config: dict[str, Any], spec: dict[str, Any], mounts: list[Any]
) -> dict[str, Any]:
    container: dict[str, Any] = {"name": app, "image": image, "imagePullPolicy": "IfNotPresent"}
    if config.get("image_start"):  # entrypoint: image, behind devenv's start-up as apply runs it
        container["command"], container["args"] = config["image_start"]
    elif config["command"]:
        container["args"] = list(config["command"])  # after the image's entrypoint, as devenv
    if config["workdir"]:
        container["workingDir"] = config["workdir"]
    env = _env(app, config, spec.get("templates") or {})
    if env:
        container["env"] = env
    ports = [_port(p) for p in config["ports"]]
    if ports:
        container["ports"] = ports
    if spec.get("keys"):
        mounts.append(
            {"name": "ssh-keys", "mountPath": f"{SSH_DIR}/authorized_keys", "subPath": "keys"}
        )
    if mounts:
        container["volumeMounts"] = mounts
    probe = _probe(spec.get("ready"))
    if probe:
        container["readinessProbe"] = probe
    return container


def _env(app: str, config: dict[str, Any], templates: dict[str, str]) -> list[dict[str, Any]]:
    """The env as values (`$(` doubled: Kubernetes reads `$(VAR)`); one the spec reads from
    variables comes from the Secret APP-env, never with its value."""
    out: list[dict[str, Any]] = []
    for key, value in config["env"].items():
        if key in templates:
            secret = {"name": f"{app}-env", "key": _secret_key(key)}
            out.append({"name": key, "valueFrom": {"secretKeyRef": secret}})
        else:
            out.append({"name": key, "value": str(value).replace("$(", "$$(")})
    user = config["user"]
    if user:
        out.append({"name": "DEVENV_USER", "value": user["name"]})
    if config["sshd"]:
        out.append({"name": "DEVENV_SSHD", "value": "1"})
    return out


def _secret_key(key: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]", "_", key)


def _secret_note(app: str, templates: dict[str, str]) -> list[str]:
    """The command that makes the Secret, each value as devenv gives it with no variable set
    (the defaults the spec writes: a Secret has no default of its own), VALUE where none."""
    if not templates:
        return []
    pairs = " ".join(
        shlex.quote(f"--from-literal={_secret_key(k)}={_unset_value(v)}")
        for k, v in templates.items()
    )
    shown = ", ".join(f"{k}={v}" for k, v in templates.items())
    return [f"variables ({shown}): kubectl create secret generic {app}-env {pairs}"]


def _unset_value(template: str) -> str:
    try:
        return variables.substitute(template, {})
    except variables.VariableError:
        return "VALUE"


def _port(entry: str) -> dict[str, Any]:
    bind_host, _, rest = entry.rpartition(":")
    bind, _, host = bind_host.rpartition(":")
    container, _, protocol = rest.partition("/")
    port: dict[str, Any] = {
        "containerPort": int(container),
        "protocol": (protocol or "tcp").upper(),
    }
    if host:
        port.update(hostPort=int(host), hostIP=bind)
    return port


def _service(app: str, labels: dict[str, str], ports: list[str]) -> dict[str, Any] | None:
    entries = []
    for entry in ports:
        port = _port(entry)
        protocol = port["protocol"]
        entries.append(
            {
                "name": f"{protocol.lower()}-{port['containerPort']}",
                "port": port.get("hostPort", port["containerPort"]),
                "targetPort": port["containerPort"],
                "protocol": protocol,
            }
        )
    if not entries:
        return None
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": app, "labels": labels},
        "spec": {"selector": {"app.kubernetes.io/name": app}, "ports": entries},
    }


def _keys(app: str, labels: dict[str, str], keys: str) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": f"{app}-ssh", "labels": labels},
        "data": {"keys": keys},
    }


def _probe(ready: dict[str, Any] | None) -> dict[str, Any] | None:
    if not ready:
        return None
    check: dict[str, Any] = (
        {"tcpSocket": {"port": int(ready["port"])}}
        if ready.get("port")
        else {"exec": {"command": list(ready["command"])}}
    )
    return {**check, "periodSeconds": 1, "failureThreshold": int(ready.get("timeout", 30))}
