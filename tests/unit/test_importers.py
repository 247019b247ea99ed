"""Importers and exporters without an engine: JSONC, devcontainer.json, compose, a container's
inspect data → specs that validate; specs → devcontainer.json / compose; cgroup → container."""

from __future__ import annotations

import textwrap
from pathlib import Path
from typing import Any

import pytest
import yaml

from devenv.commands.init import init_from
from devenv.commands.which import container_id
from devenv.errors import DevenvError
from devenv.formats import compose, devcontainer, jsonc
from devenv.formats.container import Found, draft
from devenv.formats.draft import Draft, to_yaml
from devenv.spec.loader import load_file
from devenv.spec.variables import AnyValue
from tests.conftest import run_cli

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "importers"
CID = "a" * 64


def written(tmp_path: Path, d: Draft) -> dict[str, Any]:
    """The draft as its YAML, validated by the real loader; its data."""
    path = tmp_path / f"{d.name}.yaml"
    path.write_text(to_yaml(d))
    load_file(path, AnyValue())  # the shape: variables are checked by test_variables
    data = yaml.safe_load(path.read_text())
    assert isinstance(data, dict)
    return data


def test_jsonc_reads_comments_and_trailing_commas_but_keeps_strings() -> None:
    text = '// top\n{"a": "http://x//y /* no */", /* c */ "b": [1, 2,], "c": {"d": "x,",}, // t\n}'
    assert jsonc.loads(text) == {"a": "http://x//y /* no */", "b": [1, 2], "c": {"d": "x,"}}


def test_jsonc_error_names_file_line_and_column() -> None:
    with pytest.raises(DevenvError, match=r"dc.json:3:\d+: not valid JSON"):
        jsonc.loads('{\n"a": 1\n"b": 2}', "dc.json")


def write_dc(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "proj" / ".devcontainer" / "devcontainer.json"
    path.parent.mkdir(parents=True)
    path.write_text(textwrap.dedent(text))
    return path


def test_devcontainer_maps_image_ports_mounts_env_user_and_workspace(tmp_path: Path) -> None:
    path = write_dc(
        tmp_path,
        """\
        {
          "name": "My App", // comment
          "image": "debian:bookworm",
          "forwardPorts": [8000, "5432:5432",],
          "appPort": 3000,
          "mounts": [
            "source=${localWorkspaceFolder}/data,target=/data,type=bind,readonly",
            {"source": "cache-${localWorkspaceFolderBasename}", "target": "/cache", "type": "volume"},
          ],
          "containerEnv": {"APP": "dev", "FROM_HOST": "${localEnv:DEMO_VAR}"},
          "remoteEnv": {"WS": "${containerWorkspaceFolder}"},
          "remoteUser": "vscode",
          "runArgs": ["--cap-add=SYS_PTRACE", "-p", "0.0.0.0:9000:9000", "-e", "X=1"],
          "features": {"ghcr.io/devcontainers/features/node:1": {}},
          "customizations": {"vscode": {"extensions": ["ms-python.python"]}},
          "postCreateCommand": "pip install -r requirements.txt",
        }
        """,
    )
    out = tmp_path / "envs"
    d = devcontainer.read(path, out, environ={"DEMO_VAR": "hello"})
    data = written(tmp_path, d)
    assert data["name"] == "my-app" and data["base"] == "debian:bookworm"
    assert data["ports"] == ["8000:8000", "5432:5432", "3000:3000", "0.0.0.0:9000:9000"]
    assert data["shared"] == ["../proj:/workspaces/proj", "../proj/data:/data:ro"]
    assert data["volumes"] == [{"name": "cache-proj", "container": "/cache"}]
    assert data["env"] == {
        "APP": "dev",
        "FROM_HOST": "${DEMO_VAR:-}",  # a variable still (blank when unset, as the CLI has it)
        "WS": "/workspaces/proj",
        "X": "1",
    }
    assert data["user"] == "vscode" and data["workdir"] == "/workspaces/proj"
    notes = "\n".join(d.notes)
    assert (
        "runArgs --cap-add SYS_PTRACE: no spec key" in notes
        and "ghcr.io/devcontainers/features/node:1" in notes
    )
    assert "customizations (vscode)" in notes and "postCreateCommand" not in notes
    assert data["hooks"] == {"create": ["pip install -r requirements.txt"]}


def test_devcontainer_lifecycle_commands_become_hooks_in_spec_order(tmp_path: Path) -> None:
    path = write_dc(
        tmp_path,
        """\
        {
          "image": "debian:bookworm",
          "postStartCommand": ["make", "serve"],
          "postCreateCommand": {"deps": "npm ci", "db": ["make", "db", 3]},
          "onCreateCommand": "echo ${containerWorkspaceFolder} > /tmp/ws",
          "updateContentCommand": "",
          "initializeCommand": "git pull",
          "postAttachCommand": "code .",
        }
        """,
    )
    d = devcontainer.read(path, tmp_path / "envs", environ={})
    data = written(tmp_path, d)
    assert data["hooks"] == {
        "create": ["echo /workspaces/proj > /tmp/ws", "npm ci", ["make", "db", "3"]],
        "start": [["make", "serve"]],
    }
    notes = "\n".join(d.notes)
    assert "postCreateCommand (deps, db): run one after another" in notes
    assert "initializeCommand (git pull): not carried: runs on the host" in notes
    assert "postAttachCommand (code .): not carried" in notes


def test_devcontainer_build_becomes_a_dockerfile_base_and_variables_are_reported(
    tmp_path: Path,
) -> None:
    path = write_dc(
        tmp_path,
        """{"build": {"dockerfile": "Dockerfile", "context": "..", "target": "dev",
                      "args": {"V": "3", "FROM_HOST": "${localEnv:X}"}},
            "containerEnv": {"T": "${containerEnv:PATH}"}}""",
    )
    (path.parent / "Dockerfile").write_text("FROM debian:bookworm AS dev\n")
    out = tmp_path / "envs"
    d = devcontainer.read(path, out, environ={})
    data = written_in(out, d)
    assert data["base"] == {
        "dockerfile": "../proj/.devcontainer/Dockerfile",
        "context": "../proj",
        "args": {"V": "3"},
        "target": "dev",
    }
    notes = "\n".join(d.notes)
    assert "build arg FROM_HOST: takes its value from variables" in notes
    assert "containerEnv.T: variables" in notes and "T" not in data.get("env", {})


def test_devcontainer_legacy_dockerfile_key(tmp_path: Path) -> None:
    path = write_dc(tmp_path, '{"dockerFile": "Dockerfile"}')
    (path.parent / "Dockerfile").write_text("FROM debian:bookworm\n")
    out = tmp_path / "envs"
    d = devcontainer.read(path, out, environ={})
    assert written_in(out, d)["base"] == {
        "dockerfile": "../proj/.devcontainer/Dockerfile",
        "context": "../proj/.devcontainer",
    }
    assert not any("dockerFile" in n for n in d.notes)


def written_in(out: Path, d: Draft) -> dict[str, Any]:
    """The draft written where init puts it (paths are relative to it), loaded; its data."""
    out.mkdir(parents=True, exist_ok=True)
    return written(out, d)


def test_devcontainer_workspace_mount_and_folder(tmp_path: Path) -> None:
    path = write_dc(
        tmp_path,
        """{"image": "debian:bookworm", "workspaceFolder": "/src",
            "workspaceMount": "source=${localWorkspaceFolder},target=/src,type=bind"}""",
    )
    data = written(tmp_path, devcontainer.read(path, tmp_path / "envs", environ={}))
    assert data["shared"] == ["../proj:/src"] and data["workdir"] == "/src"


COMPOSE = """\
services:
  web:
    image: nginx:1.25
    ports:
      - "8080:80"
      - "127.0.0.1:8443:443"
      - "9000"
      - target: 53
        published: 5353
        host_ip: 127.0.0.1
        protocol: udp
      - "3000-3005:3000-3005"
    volumes:
      - ./site:/usr/share/nginx/html:ro
      - data:/var/lib/data
      - type: bind
        source: ./conf
        target: /etc/nginx/conf.d
        read_only: true
      - type: volume
        source: named
        target: /named
      - /anonymous
    environment:
      - A=1
      - FROM_SHELL
    env_file: web.env
    working_dir: /usr/share/nginx/html
    user: www-data
    entrypoint: ["/docker-entrypoint.sh"]
    command: nginx -g 'daemon off;'
    networks: [front, outside]
    healthcheck: {test: ["CMD", "true"]}
    deploy: {replicas: 2}
    depends_on:
      db: {condition: service_healthy}
  db:
    image: postgres:16
    environment: {POSTGRES_PASSWORD: secret, PORT: 5432, DEBUG: true, FROM_VAR: "${PW}"}
    command: ["postgres", "-c", "fsync=off"]
    user: "999:999"
    profiles: [debug]
volumes:
  data: {}
  named: {name: my-named}
networks:
  front: {}
  outside: {external: true, name: shared-net}
"""


def test_compose_maps_each_form_into_one_spec_per_service(tmp_path: Path) -> None:
    folder = tmp_path / "myproj"
    folder.mkdir()
    (folder / "compose.yaml").write_text(COMPOSE)
    (folder / "web.env").write_text("# comment\nB='two'\nexport C=3\n")
    out = folder / "envs"
    web, db = compose.read(folder / "compose.yaml", out)
    w, b = written(out.parent, web), written(out.parent, db)
    assert w["base"] == "nginx:1.25"
    assert w["ports"] == [
        "0.0.0.0:8080:80",
        "8443:443",
        {"container": 9000, "bind": "0.0.0.0", "protocol": "tcp"},
        "5353:53/udp",
    ]
    assert w["shared"] == ["../site:/usr/share/nginx/html:ro", "../conf:/etc/nginx/conf.d:ro"]
    assert w["volumes"] == [
        {"name": "myproj_data", "container": "/var/lib/data"},
        {"name": "my-named", "container": "/named"},
    ]
    assert w["env"] == {"B": "two", "C": "3", "A": "1", "FROM_SHELL": "${FROM_SHELL:-}"}
    assert w["workdir"] == "/usr/share/nginx/html" and w["user"] == "www-data"
    assert w["command"] == ["/docker-entrypoint.sh", "nginx", "-g", "daemon off;"]
    assert w["networks"] == {"join": ["shared-net"]}
    notes = "\n".join(web.notes)
    for word in ("3000-3005", "/anonymous", "healthcheck", "deploy", "depends_on"):
        assert word in notes, word
    assert b["env"] == {
        "POSTGRES_PASSWORD": "secret",
        "PORT": "5432",
        "DEBUG": "true",
        "FROM_VAR": "${PW:-}",
    }
    assert b["command"] == ["postgres", "-c", "fsync=off"] and "user" not in b
    # an image's service runs the image's ENTRYPOINT, its command as arguments; an
    # entrypoint given in the file is the command devenv's start-up runs
    assert b["entrypoint"] == "image" and "entrypoint" not in w
    assert any("profiles" in n for n in db.notes) and any("variables PW" in n for n in db.notes)


def test_compose_services_keep_their_images_behaviour(tmp_path: Path) -> None:
    (tmp_path / "compose.yaml").write_text(
        "services:\n  cache:\n    image: memcached:1.6\n    command: ['-m', '1024']\n"
        "  db:\n    image: postgres:16\n"
        "  plain:\n    command: [sleep, infinity]\n"
        "  reset:\n    image: debian:bookworm\n    entrypoint: []\n"
    )
    cache, db, plain, reset = (
        written(tmp_path, d) for d in compose.read(tmp_path / "compose.yaml", tmp_path)
    )
    assert cache["entrypoint"] == "image" and cache["command"] == ["-m", "1024"]
    assert db["entrypoint"] == "image" and "command" not in db
    assert "entrypoint" not in plain  # no image: its base is only a placeholder
    assert "entrypoint" not in reset and "command" not in reset


@pytest.mark.parametrize(("override", "expected"), [(False, "image"), (True, None), (None, None)])
def test_devcontainer_override_command_false_keeps_the_images_command(
    tmp_path: Path, override: bool | None, expected: str | None
) -> None:
    line = "" if override is None else f', "overrideCommand": {str(override).lower()}'
    path = write_dc(tmp_path, '{"image": "redis:7"' + line + "}")
    data = written(tmp_path, devcontainer.read(path, tmp_path))
    assert data.get("entrypoint") == expected


def test_compose_one_service_and_unknown_service(tmp_path: Path) -> None:
    (tmp_path / "compose.yaml").write_text(COMPOSE)
    assert [d.name for d in compose.read(tmp_path / "compose.yaml", tmp_path, "db")] == ["db"]
    with pytest.raises(DevenvError, match="has no service 'nope'"):
        compose.read(tmp_path / "compose.yaml", tmp_path, "nope")


def test_compose_build_string_and_object_become_dockerfile_bases(tmp_path: Path) -> None:
    (tmp_path / "app").mkdir()
    (tmp_path / "app" / "Dockerfile").write_text("FROM debian:bookworm\n")
    (tmp_path / "app" / "dev.Dockerfile").write_text("FROM debian:bookworm AS dev\n")
    (tmp_path / "compose.yaml").write_text(
        "services:\n  short:\n    build: ./app\n"
        "  long:\n    image: mine/long:1\n"
        "    build: {context: app, dockerfile: dev.Dockerfile, target: dev,"
        " args: [A=1, B, 'C=${X}']}\n"
        "  remote:\n    build: https://github.com/docker/welcome.git\n"
    )
    out = tmp_path / "envs"
    short, long, remote = compose.read(tmp_path / "compose.yaml", out)
    assert written_in(out, short)["base"] == {
        "dockerfile": "../app/Dockerfile",
        "context": "../app",
    }
    assert written_in(out, long)["base"] == {
        "dockerfile": "../app/dev.Dockerfile",
        "context": "../app",
        "args": {"A": "1"},
        "target": "dev",
    }
    assert [n for n in long.notes if "build arg" in n] == [
        "build arg B: takes its value from variables, not carried yet",
        "build arg C: takes its value from variables, not carried yet",
    ]
    assert written_in(out, remote)["base"] == "debian:bookworm"
    assert any("only a local folder and Dockerfile map" in n for n in remote.notes)


INSPECT: dict[str, Any] = {
    "Id": CID,
    "Name": "/php",
    "Image": "sha256:" + "b" * 64,
    "State": {"Running": True},
    "Config": {
        "Image": "debian:bookworm",
        "Env": ["PATH=/usr/local/bin:/usr/bin", "APP_ENV=dev"],
        "Cmd": ["sleep", "infinity"],
        "Entrypoint": None,
        "WorkingDir": "/var/www",
        "User": "",
        "Labels": {},
    },
    "HostConfig": {
        "PortBindings": {
            "80/tcp": [{"HostIp": "127.0.0.1", "HostPort": "8080"}],
            "22/tcp": [{"HostIp": "", "HostPort": "2222"}],
        },
        "CapAdd": ["NET_ADMIN"],
        "Devices": [{"PathOnHost": "/dev/fuse"}],
        "NetworkMode": "bridge",
    },
    "Mounts": [
        {"Type": "bind", "Source": "/srv/src", "Destination": "/var/www", "RW": True},
        {"Type": "volume", "Name": "php-home", "Destination": "/root", "RW": True},
        {"Type": "volume", "Name": "f" * 64, "Destination": "/anon", "RW": True},
    ],
    "NetworkSettings": {"Networks": {"bridge": {}, "backend": {"Aliases": ["api"]}}},
}
IMAGE = {
    "Id": "sha256:" + "b" * 64,
    "Config": {"Env": ["PATH=/usr/local/bin:/usr/bin"], "Cmd": ["bash"]},
}


def test_container_draft_adopts_it_and_carries_what_maps(tmp_path: Path) -> None:
    found = Found(
        INSPECT,
        IMAGE,
        packages=frozenset({"bash", "sl"}),
        image_packages=frozenset({"bash"}),
        owned_files=frozenset({"/usr/games/sl"}),
        diff=[
            {"Path": "/usr/games/sl", "Kind": 1},
            {"Path": "/etc/motd", "Kind": 0},
            {"Path": "/var/lib/dpkg/status", "Kind": 0},
        ],
    )
    d = draft(found, tmp_path)
    data = written(tmp_path, d)
    assert data["adopt"] == CID and data["name"] == "php" and data["base"] == "debian:bookworm"
    assert data["apt"] == {"packages": ["sl"]}
    assert data["ports"] == ["0.0.0.0:2222:22", "8080:80"]
    assert data["shared"] == ["/srv/src:/var/www"]
    assert data["volumes"] == [{"name": "php-home", "container": "/root"}]
    assert data["env"] == {"APP_ENV": "dev"} and data["workdir"] == "/var/www"
    assert data["command"] == ["sleep", "infinity"]
    notes = "\n".join(d.notes)
    for word in ("NET_ADMIN", "/dev/fuse", "anonymous volume at /anon", "backend (aliases api)"):
        assert word in notes, word
    assert "files changed outside packages (keep them with apply --snapshot): /etc/motd" in notes
    assert "/usr/games/sl" not in notes and "/var/lib/dpkg" not in notes


def test_fixtures_from_real_repositories_become_valid_specs(tmp_path: Path) -> None:
    (try_python,) = init_from(str(FIXTURES / "try-python"), str(tmp_path / "a"), None)
    assert try_python.draft.keys["ports"] == ["9000:9000"]
    built = try_python.draft.keys["base"]
    assert built["dockerfile"].endswith("try-python/.devcontainer/Dockerfile")
    assert built["context"].endswith("try-python") and built["args"] == {"VARIANT": "3"}
    assert any("settings" in n for n in try_python.draft.notes)
    assert try_python.draft.keys["hooks"] == {"create": ["pip3 install -r requirements.txt"]}
    (template,) = init_from(str(FIXTURES / "templates-python"), str(tmp_path / "b"), None)
    assert template.draft.keys["base"] == "debian:bookworm"
    wordpress = init_from(str(FIXTURES / "wordpress-mysql"), str(tmp_path / "c"), None)
    assert [w.path.name for w in wordpress] == ["db.yaml", "wordpress.yaml", "phpmyadmin.yaml"]
    db = yaml.safe_load(wordpress[0].path.read_text())
    assert db["volumes"] == [{"name": "wordpress-mysql_db_data", "container": "/var/lib/mysql"}]
    assert db["command"] == ["--default-authentication-plugin=mysql_native_password"]


def test_init_writes_a_commented_starter_that_validates_and_never_overwrites(
    tmp_path: Path,
) -> None:
    spec = tmp_path / "php.yaml"
    first = run_cli("init", "php", "-o", spec)
    assert first.returncode == 0, first.stderr
    text = spec.read_text()
    assert text.startswith("# yaml-language-server: $schema=") and "# ports:" in text
    assert run_cli("validate", spec).returncode == 0
    again = run_cli("init", "php", "-o", spec)
    assert again.returncode == 1
    assert again.stderr.splitlines()[0].endswith("devenv init never overwrites a file")
    assert "hint:" in again.stderr and "Traceback" not in again.stderr


def test_render_as_devcontainer_and_compose_describe_the_same_box(tmp_path: Path) -> None:
    spec = tmp_path / "box.yaml"
    spec.write_text(
        "base: debian:bookworm\nports: ['8080:80']\nshared: ['./src:/work']\n"
        "volumes: [{name: box-data, container: /data}]\nenv: {A: '1'}\nworkdir: /work\n"
        "user: dev\ncommand: [sleep, infinity]\n"
        "hooks: {create: ['make deps', [touch, /tmp/made]], start: [[make, serve]]}\n"
    )
    dc = run_cli("render", "--as", "devcontainer", spec)
    assert dc.returncode == 0, dc.stderr
    data = jsonc.loads(dc.stdout)
    assert data["image"].startswith("devenv/box:") and data["appPort"] == ["127.0.0.1:8080:80"]
    assert data["workspaceFolder"] == "/work" and ",target=/work," in data["workspaceMount"] + ","
    assert data["mounts"] == ["source=box-data,target=/data,type=volume"]
    assert data["containerEnv"]["A"] == "1" and data["remoteUser"] == "dev"
    # several hooks one after another (an object of commands would run them in parallel)
    assert data["postCreateCommand"] == "( make deps\n) && touch /tmp/made"
    assert data["postStartCommand"] == ["make", "serve"]
    cf = run_cli("render", "--as", "compose", spec)
    service = yaml.safe_load(cf.stdout)["services"]["box"]
    assert service["image"] == data["image"] and service["ports"] == ["127.0.0.1:8080:80"]
    assert service["command"] == ["sleep", "infinity"] and service["working_dir"] == "/work"
    assert yaml.safe_load(cf.stdout)["volumes"] == {"box-data": {"name": "box-data"}}
    bad = run_cli("render", "--as", "helm", spec)
    assert bad.returncode == 1 and "unknown format" in bad.stderr


@pytest.mark.parametrize(
    "text",
    [
        "12:pids:/docker/" + CID + "\n0::/",
        "0::/system.slice/docker-" + CID + ".scope",
        "0::/machine.slice/libpod-" + CID + ".scope/container",
        "1:name=systemd:/docker/" + "9" * 64 + "/docker/" + CID,
    ],
)
def test_cgroup_paths_name_the_container(text: str) -> None:
    assert container_id(text) == CID


def test_a_host_process_is_in_no_container() -> None:
    assert container_id("0::/user.slice/user-1000.slice/session-2.scope") is None
    result = run_cli("which", "1")
    assert result.returncode == 1 and "Traceback" not in result.stderr


def test_version_prints_the_version() -> None:
    result = run_cli("--version")
    assert result.returncode == 0 and result.stdout.startswith("devenv ")
