"""`render --as kubernetes`: manifests a cluster accepts (checked against Kubernetes' own
schemas by kubernetes-validate), describing the box devenv runs; what a cluster cannot be
given (a variable's value, the host user's uid) stays out, said in comments."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import kubernetes_validate
import pytest
import yaml

from devenv.commands.porting import rendered
from devenv.errors import DevenvError
from tests.unit.test_roundtrip import home as home  # a home with a key, variables set
from tests.unit.test_roundtrip import identity, inspect_image

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "roundtrip"


def documents(*specs: Path) -> tuple[str, list[dict[str, Any]]]:
    text = rendered("kubernetes", [str(s) for s in specs], lambda _spec: None)
    return text, [d for d in yaml.safe_load_all(text) if d]


def test_every_document_passes_kubernetes_schemas() -> None:
    text, docs = documents(FIXTURES / "web.yaml", FIXTURES / "offline.yaml")
    for doc in docs:
        kubernetes_validate.validate(doc, kubernetes_validate.latest_version(), strict=True)
    kinds = [(d["kind"], d["metadata"]["name"]) for d in docs]
    assert kinds == [
        ("PersistentVolumeClaim", "web-data"),
        ("PersistentVolumeClaim", "web-cache"),
        ("ConfigMap", "web-ssh"),
        ("Deployment", "web"),
        ("Service", "web"),
        ("Deployment", "offline"),
    ]
    assert "never-written" not in text  # variables' values stay out


def test_the_deployment_runs_the_box_as_devenv_does() -> None:
    text, docs = documents(FIXTURES / "web.yaml")
    deployment = next(d for d in docs if d["kind"] == "Deployment")
    assert deployment["spec"]["replicas"] == 1
    assert deployment["spec"]["strategy"] == {"type": "Recreate"}
    pod = deployment["spec"]["template"]["spec"]
    (box,) = pod["containers"]
    assert box["image"].startswith("devenv/web:") and "command" not in box
    assert box["args"] == ["python3", "-m", "http.server", "80"]  # after devenv's entrypoint
    assert box["workingDir"] == "/srv/app"
    env = {e["name"]: e.get("value", e.get("valueFrom")) for e in box["env"]}
    assert env["APP_ENV"] == "dev" and env["DEVENV_USER"] == "dev" and env["DEVENV_SSHD"] == "1"
    assert env["DB_PASSWORD"] == {"secretKeyRef": {"name": "web-env", "key": "DB_PASSWORD"}}
    assert "DEVENV_UID" not in env  # the host's uid means nothing on a node
    assert box["ports"][0] == {
        "containerPort": 80, "protocol": "TCP", "hostPort": 8080, "hostIP": "127.0.0.1",
    }  # fmt: skip
    assert {"containerPort": 53, "protocol": "UDP", "hostPort": 5353, "hostIP": "127.0.0.1"} in (
        box["ports"]
    )
    assert box["readinessProbe"] == {
        "tcpSocket": {"port": 80},
        "periodSeconds": 1,
        "failureThreshold": 45,
    }
    claims = {
        v["persistentVolumeClaim"]["claimName"]
        for v in pod["volumes"]
        if "persistentVolumeClaim" in v
    }
    assert claims == {"web-data", "web-cache"}
    paths = [v["hostPath"]["path"] for v in pod["volumes"] if "hostPath" in v]
    assert paths == [str(FIXTURES / "src"), str(FIXTURES / "docs")]
    assert f"# hostPath {FIXTURES / 'src'}: a path on the node that runs the pod" in text
    assert "kubectl create secret generic web-env --from-literal=API_KEY=VALUE" in text
    service = next(d for d in docs if d["kind"] == "Service")
    assert {"name": "tcp-80", "port": 8080, "targetPort": 80, "protocol": "TCP"} in (
        service["spec"]["ports"]
    )


def test_a_pushed_image_and_names_a_cluster_accepts(tmp_path: Path) -> None:
    spec = tmp_path / "my_box.yaml"
    spec.write_text(
        "name: my_box.1\nimage_cache: registry.example.com/team\n"
        "volumes: [{name: my_data, container: /data}]\ndocker_socket: true\n"
    )
    _text, docs = documents(spec)
    deployment = next(d for d in docs if d["kind"] == "Deployment")
    assert deployment["metadata"]["name"] == "my-box-1"
    (box,) = deployment["spec"]["template"]["spec"]["containers"]
    assert box["image"].startswith("registry.example.com/team/my_box.1:")  # where push puts it
    assert docs[0]["metadata"]["name"] == "my-data"
    volumes = deployment["spec"]["template"]["spec"]["volumes"]
    assert {
        "name": "host-0",
        "hostPath": {"path": "/var/run/docker.sock", "type": "Socket"},
    } in volumes


def test_an_unknown_format_is_one_sentence_with_a_hint() -> None:
    with pytest.raises(DevenvError, match="--as helm: unknown format") as caught:
        rendered("helm", [str(FIXTURES / "offline.yaml")], lambda _spec: None)
    assert caught.value.hint == "use --as devcontainer, --as compose, --as kubernetes"


def test_entrypoint_image_runs_devenvs_start_up_then_the_images_entrypoint() -> None:
    """As apply creates the box: devenv's start-up (uid mapping, sshd) first, then the image's
    ENTRYPOINT with its CMD, both given (a pod given a command drops the image's CMD)."""
    text = rendered("kubernetes", [str(FIXTURES / "recorder.yaml")], identity, inspect_image)
    (box,) = [d for d in yaml.safe_load_all(text) if d and d["kind"] == "Deployment"]
    (container,) = box["spec"]["template"]["spec"]["containers"]
    assert container["command"] == ["/usr/local/bin/devenv-entrypoint", "/usr/local/bin/record"]
    assert container["args"] == ["from-cmd", "two words"]
    assert {"name": "DEVENV_SSHD", "value": "1"} in container["env"]


def test_entrypoint_image_read_from_no_image_is_said() -> None:
    with pytest.raises(DevenvError) as caught:
        rendered("compose", [str(FIXTURES / "recorder.yaml")], identity, lambda _ref: None)
    assert "runs its image's own ENTRYPOINT (entrypoint: image)" in caught.value.message
    assert "is on the engine" in caught.value.message
    assert caught.value.hint.startswith("run `devenv apply ")


def test_the_secrets_command_carries_each_default_the_spec_writes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A Secret has no default: the command that makes it is written with the values devenv
    gives with nothing set, and VALUE where the spec has none (a required variable)."""
    spec = tmp_path / "vars.yaml"
    spec.write_text(
        "name: vars\nenv:\n"
        "  HOST: '${DB_HOST:-db.local}:${DB_PORT:-5432}'\n"
        "  EMPTY: '${PASS_THROUGH:-}'\n"
        "  TOKEN: '${TOKEN:?ask the team}'\n"
        "  PLAIN: plain\n"
    )
    monkeypatch.setenv("TOKEN", "s3cret-token")  # set here, never written
    text, _docs = documents(spec)
    assert "s3cret-token" not in text
    assert (
        "kubectl create secret generic vars-env --from-literal=EMPTY="
        " --from-literal=HOST=db.local:5432 --from-literal=TOKEN=VALUE\n" in text
    ), text
