"""`render --as kubernetes` run by a real Kubernetes-YAML runtime on this machine (`podman kube
play`): the box runs devenv's image as devenv runs it, its published port answers on
127.0.0.1, and its named volume (a PersistentVolumeClaim) keeps its data across
`podman kube down` and `play`."""

from __future__ import annotations

import os
import shutil
import subprocess
import time
import urllib.request
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.integration.conftest import Result, free_port, recorder_spec, unique


def _podman() -> str:
    """Podman's CLI, installed by scripts/podman-up in CI (as the engine tests do)."""
    if shutil.which("podman") is None and os.environ.get("CI"):
        script = Path(__file__).resolve().parents[2] / "scripts" / "podman-up"
        subprocess.run(["bash", str(script)], check=False, capture_output=True)
    found = shutil.which("podman")
    if found is None:
        if os.environ.get("CI"):
            pytest.fail("podman is not installed (scripts/podman-up installs it)", pytrace=False)
        pytest.skip("podman is not installed (apt-get install podman)")
    return found


def _run(*argv: str, stdin: bytes | None = None) -> str:
    done = subprocess.run(argv, input=stdin, capture_output=True, check=False, timeout=300)
    assert done.returncode == 0, done.stderr.decode(errors="replace")
    return done.stdout.decode(errors="replace")


def _get(port: int) -> str:
    """The page the box serves on 127.0.0.1:`port`, once it answers."""
    last: Exception | None = None
    for _ in range(60):
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=2) as page:
                return str(page.read().decode())
        except OSError as exc:
            last = exc
            time.sleep(0.5)
    raise AssertionError(f"nothing answers on 127.0.0.1:{port}: {last}")


def _box(podman: str, name: str) -> str:
    """The container kube play made for the env (its pod's name differs by Podman version)."""
    names = _run(podman, "ps", "--format", "{{.Names}}").split()
    found = [n for n in names if n.endswith(f"-{name}") and n.startswith(name)]
    assert found, names
    return found[0]


def _play_again(podman: str, kube: Path) -> None:
    """`kube play` once more; Podman before 4.4 refuses a claim whose volume exists (a cluster
    keeps it), so there the pods are played alone and find the volume by the claim's name."""
    again = subprocess.run([podman, "kube", "play", str(kube)], capture_output=True, check=False)
    if again.returncode != 0 and b"already exists" in again.stderr:
        documents = kube.read_text().split("\n---\n")
        pods = kube.with_name("pods.yaml")
        pods.write_text("\n---\n".join(d for d in documents if "PersistentVolumeClaim" not in d))
        _run(podman, "kube", "play", str(pods))
    else:
        assert again.returncode == 0, again.stderr.decode(errors="replace")


def _built_for_podman(
    devenv: Callable[..., Result], spec: Path, tmp_path: Path, podman: str
) -> tuple[Path, str]:
    """Apply `spec` on Docker (its image built), remove its box, write what `render --as
    kubernetes` says of it, and load its image into Podman: (the manifests' file, image)."""
    built = devenv("apply", str(spec), "--yes")
    assert built.code == 0, built.out + built.err
    image = _run("docker", "inspect", "-f", "{{.Config.Image}}", spec.stem).strip()
    assert devenv("destroy", str(spec), "--yes").code == 0
    manifests = devenv("render", "--as", "kubernetes", str(spec))
    assert manifests.code == 0, manifests.err
    kube = tmp_path / "kube.yaml"
    kube.write_text(manifests.out)
    archive = tmp_path / "image.tar"
    _run("docker", "save", "-o", str(archive), image)
    _run(podman, "load", "-q", "-i", str(archive))
    return kube, image


def test_render_as_kubernetes_runs_on_podman_kube_play(
    devenv: Callable[..., Result], tmp_path: Path, spec_dir: Callable[..., Path]
) -> None:
    podman = _podman()
    name, port = unique("kube"), free_port()
    spec = spec_dir(
        name,
        f"""\
        name: {name}
        apt: {{packages: [busybox]}}
        ports: ["{port}:8000"]
        volumes: [{{name: {name}-site, container: /srv}}]
        user: dev
        env: {{GREETING: hello}}
        workdir: /srv
        command: [busybox, httpd, -f, -p, "8000", -h, /srv]
        """,
    )
    kube, image = _built_for_podman(devenv, spec, tmp_path, podman)  # its port the pod's now
    manifests = kube.read_text()
    assert "kind: PersistentVolumeClaim" in manifests and "hostPort: " in manifests
    try:
        _run(podman, "kube", "play", str(kube))
        box = _box(podman, name)
        _run(podman, "exec", box, "sh", "-c", "echo kept across kube down > /srv/index.html")
        assert _get(port) == "kept across kube down\n"
        assert _run(podman, "exec", box, "printenv", "GREETING") == "hello\n"
        processes = _run(podman, "exec", box, "busybox", "ps", "-o", "user,args").splitlines()
        assert any(p.split()[0] == "dev" and "httpd" in p for p in processes[1:]), processes
        _run(podman, "kube", "down", str(kube))
        _play_again(podman, kube)
        assert _get(port) == "kept across kube down\n"
    finally:
        subprocess.run([podman, "kube", "down", str(kube)], capture_output=True, check=False)
        subprocess.run(
            [podman, "volume", "rm", "-f", f"{name}-site"], capture_output=True, check=False
        )
        subprocess.run([podman, "rmi", "-f", image], capture_output=True, check=False)


def test_entrypoint_image_runs_devenvs_start_up_then_the_images_entrypoint_on_kube_play(
    devenv: Callable[..., Result], spec_dir: Callable[..., Path], tmp_path: Path
) -> None:
    """`entrypoint: image`: the pod runs devenv's start-up (the box's user) and then the
    image's own ENTRYPOINT with the spec's command as its arguments."""
    podman = _podman()
    name = unique("kep")
    spec = recorder_spec(spec_dir, name)
    kube, image = _built_for_podman(devenv, spec, tmp_path, podman)
    try:
        _run(podman, "kube", "play", str(kube))
        box = _box(podman, name)
        args = ""
        for _ in range(50):
            found = subprocess.run(
                [podman, "exec", box, "cat", "/tmp/entry-args"], capture_output=True, text=True
            )
            if found.stdout:
                args = found.stdout
                break
            time.sleep(0.2)
        assert args == "-m\nit's two\n"
        assert _run(podman, "exec", box, "cat", "/tmp/entry-user") == "dev\n"
    finally:
        subprocess.run([podman, "kube", "down", str(kube)], capture_output=True, check=False)
        subprocess.run([podman, "rmi", "-f", image], capture_output=True, check=False)
