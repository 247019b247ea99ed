"""Real files import without aborting: what cannot carry over is listed, every spec written
validates as written (variables unset), and an import writes all its specs or none."""

from __future__ import annotations

import textwrap
from pathlib import Path
from typing import Any

import pytest
import yaml

from devenv.commands import init
from devenv.commands.init import init_from
from devenv.errors import DevenvError
from devenv.formats import compose, devcontainer, runargs
from tests.conftest import run_cli

AIRFLOW_LIKE = """\
x-common: &common
  image: ${AIRFLOW_IMAGE_NAME:-apache/airflow:2.8.1}
  environment: &env
    AIRFLOW__CORE__EXECUTOR: CeleryExecutor
    AIRFLOW__CORE__FERNET_KEY: ''
    _PIP_ADDITIONAL_REQUIREMENTS: ${_PIP_ADDITIONAL_REQUIREMENTS:-}
  volumes:
    - ${AIRFLOW_PROJ_DIR:-.}/dags:/opt/airflow/dags
    - ${LOGS_DIR}/logs:/opt/airflow/logs
  user: "${AIRFLOW_UID:-50000}:0"
services:
  scheduler:
    <<: *common
    command: scheduler
    healthcheck:
      test: ["CMD", "curl", "--fail", "http://localhost:8974/health"]
      interval: 30s
      timeout: 10s
      retries: 5
      start_period: 30s
    depends_on: [redis, postgres]
  elastic:
    image: docker.elastic.co/elasticsearch/elasticsearch:8.11.1
    environment:
      discovery.type: single-node
      ES_JAVA_OPTS: -Xms512m
      PASSTHROUGH:
    expose: [9200]
    ports: ["9200:9200", "127.0.0.1:19200:9200", "${KIBANA_PORT:-5601}:5601"]
    volumes:
      - /var/run/docker.sock:/var/run/docker.sock
      - /etc/localtime:/etc/localtime:ro
      - /dev/random:/dev/random
      - /etc/ssl/certs:/etc/ssl/certs:ro
      - Data_Volume:/data
volumes:
  Data_Volume: {name: Data_Volume}
"""


def drafts_of(tmp_path: Path, text: str, dotenv: str = "") -> dict[str, Any]:
    """The specs `init --from` writes for the compose `text`: name → (data, notes)."""
    folder = tmp_path / "proj"
    folder.mkdir()
    (folder / "compose.yaml").write_text(text)
    if dotenv:
        (folder / ".env").write_text(dotenv)
    written = init_from(str(folder / "compose.yaml"), str(tmp_path / "envs"), None)
    return {
        w.draft.name: (yaml.safe_load(w.path.read_text()), "\n".join(w.draft.notes))
        for w in written
    }


def test_compose_paths_split_at_the_right_colon_and_read_defaults(tmp_path: Path) -> None:
    found = drafts_of(tmp_path, AIRFLOW_LIKE, dotenv="AIRFLOW_PROJ_DIR=./airflow\n")
    data, notes = found["scheduler"]
    assert data["base"] == "apache/airflow:2.8.1"
    assert data["shared"] == ["../proj/airflow/dags:/opt/airflow/dags"]
    assert "${AIRFLOW_PROJ_DIR:-.} taken as './airflow' (from .env)" in notes
    assert "${AIRFLOW_IMAGE_NAME:-apache/airflow:2.8.1} taken as" in notes
    assert "volume ${LOGS_DIR}/logs:/opt/airflow/logs: ${LOGS_DIR} has no value here" in notes
    assert "user ${AIRFLOW_UID:-50000}:0: only a user name maps" in notes
    assert "depends_on (redis, postgres): not carried" in notes
    assert data["env"]["_PIP_ADDITIONAL_REQUIREMENTS"] == "${_PIP_ADDITIONAL_REQUIREMENTS:-}"
    assert data["ready"] == {
        "command": ["curl", "--fail", "http://localhost:8974/health"],
        "timeout": 180,
    }


def test_docker_accepted_env_names_sockets_clocks_and_devices_never_abort(tmp_path: Path) -> None:
    data, notes = drafts_of(tmp_path, AIRFLOW_LIKE)["elastic"]
    assert data["env"] == {
        "discovery.type": "single-node",
        "ES_JAVA_OPTS": "-Xms512m",
        "PASSTHROUGH": "${PASSTHROUGH:-}",
        "TZ": "${TZ:-UTC}",
    }
    assert data["docker_socket"] is True and "shared" not in data
    assert "carried as docker_socket: true" in notes
    assert "/etc/localtime:/etc/localtime:ro: the host's clock files are not shared" in notes
    assert "volume /dev/random:/dev/random: not carried (/dev/random belongs to the" in notes
    assert (
        "shared /etc/ssl/certs:/etc/ssl/certs: not carried (it resolves to /etc/ssl/certs, inside the system location /etc)"
        in notes
    )
    assert "expose (9200): not carried" in notes
    # the same container port published twice: the second is listed, the spec validates
    assert data["ports"] == ["0.0.0.0:9200:9200", "0.0.0.0:5601:5601"]
    assert "ports 19200:9200: not carried (ports: entry 2 publishes" in notes
    assert (
        "volumes Data_Volume:/data: not carried ('Data_Volume' is not valid" in notes
        and "volumes" not in data
    )


def test_every_spec_written_validates_with_its_variables_unset(tmp_path: Path) -> None:
    drafts_of(tmp_path, AIRFLOW_LIKE)
    result = run_cli("validate", tmp_path / "envs")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "PASSTHROUGH" in result.stdout  # listed as read, optional


def test_an_import_writes_all_its_specs_or_none(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = tmp_path / "proj"
    folder.mkdir()
    (folder / "compose.yaml").write_text(
        "services:\n  app: {image: debian}\n  db: {image: debian}\n"
    )
    out = tmp_path / "envs"
    real = init.check_spec

    def failing(temp: Path, path: Path) -> None:
        if path.name == "db.yaml":
            raise DevenvError("the spec drafted for db.yaml does not validate: planted")
        real(temp, path)

    monkeypatch.setattr(init, "check_spec", failing)
    with pytest.raises(DevenvError, match="planted"):
        init_from(str(folder / "compose.yaml"), str(out), None)
    assert not out.exists()  # not app.yaml, nor a temp file, nor the folder made for them
    monkeypatch.setattr(init, "check_spec", real)
    out.mkdir()
    (out / "db.yaml").write_text("base: debian\n")
    with pytest.raises(DevenvError, match="never overwrites"):
        init_from(str(folder / "compose.yaml"), str(out), None)
    assert sorted(p.name for p in out.iterdir()) == ["db.yaml"]


def test_a_dangling_link_where_a_spec_goes_is_refused_in_one_sentence(tmp_path: Path) -> None:
    folder = tmp_path / "proj"
    folder.mkdir()
    (folder / "compose.yaml").write_text("services:\n  app: {image: debian}\n")
    out = tmp_path / "envs"
    out.mkdir()
    (out / "app.yaml").symlink_to(tmp_path / "nowhere")
    result = run_cli("init", "--from", folder / "compose.yaml", "-o", f"{out}/")
    assert result.returncode == 1, result.stderr
    assert "app.yaml already exists; devenv init never overwrites a file" in result.stderr
    assert not (tmp_path / "nowhere").exists()
    late = out / "late.yaml"
    late.symlink_to(tmp_path / "nowhere")  # appears between the check and the link
    with pytest.raises(DevenvError, match=r"late\.yaml already exists"):
        init.write_all(
            [
                (out / "first.yaml", "name: first\nbase: debian\n"),
                (late, "name: late\nbase: debian\n"),
            ]
        )
    assert not (out / "first.yaml").exists() and not (tmp_path / "nowhere").exists()


def test_init_lists_what_did_not_carry_on_screen_and_on_top_of_the_spec(tmp_path: Path) -> None:
    (tmp_path / "compose.yaml").write_text(AIRFLOW_LIKE)
    result = run_cli("init", "--from", tmp_path / "compose.yaml", "-o", tmp_path / "envs/")
    assert result.returncode == 0, result.stderr
    assert "  review: volume /dev/random:/dev/random: not carried" in result.stdout
    text = (tmp_path / "envs" / "elastic.yaml").read_text()
    assert "# Review these (what did not carry over as it was written):\n#   - " in text
    assert "#   - volume /dev/random:/dev/random: not carried" in text


def test_devcontainer_compose_files_are_followed_to_their_service(tmp_path: Path) -> None:
    dc = tmp_path / "proj" / ".devcontainer"
    dc.mkdir(parents=True)
    (tmp_path / "proj" / "docker-compose.yml").write_text(
        textwrap.dedent(
            """\
            services:
              app:
                image: python:3.12
                command: sleep infinity
                environment: {A: "1"}
                ports: ["8000:8000"]
              db:
                image: postgres:16
                volumes: [pgdata:/var/lib/postgresql/data]
            volumes: {pgdata: {}}
            """
        )
    )
    (dc / "docker-compose.extend.yml").write_text(
        "services:\n  app:\n    environment: {B: '2'}\n    volumes: ['..:/workspace:cached']\n"
    )
    (dc / "devcontainer.json").write_text(
        """{"name": "proj", "dockerComposeFile": ["../docker-compose.yml",
            "docker-compose.extend.yml"], "service": "app", "runServices": ["app", "db"],
            "workspaceFolder": "/workspace", "remoteUser": "vscode",
            "waitFor": "postCreateCommand", "portsAttributes": {"8000": {"label": "web"}},
            "runArgs": ["--security-opt", "seccomp=unconfined", "--cap-add=SYS_PTRACE"]}"""
    )
    d = devcontainer.read(dc / "devcontainer.json", tmp_path / "envs", environ={})
    assert d.keys["base"] == "python:3.12" and d.keys["env"] == {"A": "1", "B": "2"}
    # `..` is relative to the first file's folder (proj/), as Compose reads it: tmp_path
    assert d.keys["shared"] == ["..:/workspace"] and d.keys["workdir"] == "/workspace"
    assert d.keys["ports"] == ["0.0.0.0:8000:8000"] and d.keys["user"] == "vscode"
    assert "command" not in d.keys  # the CLI overrides it: the box idles
    notes = "\n".join(d.notes)
    assert "runServices db: its own env; run `devenv init --from " in notes
    assert "docker-compose.yml --service db`" in notes
    assert "waitFor postCreateCommand: not carried" in notes
    assert "portsAttributes (8000): how an editor shows ports" in notes
    assert "runArgs --security-opt seccomp=unconfined: no spec key for it" in notes
    assert "seccomp=unconfined: no spec key" not in notes.replace("--security-opt seccomp", "")


def test_devcontainer_compose_project_names_its_volumes_as_the_cli_does(tmp_path: Path) -> None:
    dc = tmp_path / "proj" / ".devcontainer"
    dc.mkdir(parents=True)
    (dc / "compose.yaml").write_text(
        "services:\n  db:\n    image: postgres:16\n    volumes: [pgdata:/var/lib/postgresql/data]\n"
    )
    (dc / "devcontainer.json").write_text('{"dockerComposeFile": "compose.yaml", "service": "db"}')
    d = devcontainer.read(dc / "devcontainer.json", tmp_path / "envs", environ={})
    assert d.keys["volumes"] == [
        {"name": "proj_devcontainer_pgdata", "container": "/var/lib/postgresql/data"}
    ]


def test_a_missing_compose_file_or_dockerfile_is_listed_with_a_placeholder(tmp_path: Path) -> None:
    dc = tmp_path / "proj" / ".devcontainer"
    dc.mkdir(parents=True)
    (dc / "devcontainer.json").write_text('{"dockerComposeFile": "gone.yml", "service": "x"}')
    d = devcontainer.read(dc / "devcontainer.json", tmp_path / "envs", environ={})
    assert d.keys["base"] == "debian:bookworm"
    assert "dockerComposeFile: gone.yml is not here; base is a placeholder" in d.notes
    (tmp_path / "compose.yaml").write_text("services:\n  web: {build: ./nowhere}\n")
    (web,) = compose.read(tmp_path / "compose.yaml", tmp_path / "envs")
    assert web.keys["base"] == "debian:bookworm"
    assert any("nowhere is not here" in n for n in web.notes)


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["--security-opt", "seccomp=unconfined"], [("--security-opt", "seccomp=unconfined")]),
        (["--security-opt=seccomp=unconfined"], [("--security-opt", "seccomp=unconfined")]),
        (["-p8080:80", "--init", "-it"], [("-p", "8080:80"), ("--init", None), ("-it", None)]),
        (["--privileged", "-e", "A=1"], [("--privileged", None), ("-e", "A=1")]),
    ],
)
def test_run_args_are_read_one_option_at_a_time(
    args: list[str], expected: list[tuple[str, str | None]]
) -> None:
    assert runargs.options(args) == expected


def test_odd_values_cost_their_key_only(tmp_path: Path) -> None:
    (tmp_path / "compose.yaml").write_text(
        'services:\n  web:\n    image: nginx\n    ports: 8080\n    command: "unclosed \'quote"\n'
        "    environment: [A=1]\n    healthcheck: {test: [CMD, x], interval: often}\n"
    )
    (web,) = compose.read(tmp_path / "compose.yaml", tmp_path / "envs")
    assert web.keys["env"] == {"A": "1"} and web.keys["base"] == "nginx"
    notes = "\n".join(web.notes)
    assert "ports: not a form devenv reads" in notes and "command: not a form" in notes
    assert "healthcheck: not a form devenv reads ('often' is not a duration)" in notes


def test_the_projects_dotenv_is_named_for_the_variables_it_sets(tmp_path: Path) -> None:
    """Compose reads the .env beside the file; the spec reads the one beside it."""
    found = drafts_of(
        tmp_path,
        "services:\n  app:\n    image: debian\n    environment: {A: '${A:?}', B: '${B:-}'}\n",
        dotenv="A=1\nC=3\n",
    )
    notes = found["app"][1]
    assert f"{tmp_path / 'proj' / '.env'} sets A: Compose reads it, devenv reads the .env" in notes


def test_specs_already_in_the_folder_keep_their_names_and_host_ports(tmp_path: Path) -> None:
    """validate judges the folder as one: an import takes neither a name nor a host port."""
    out = tmp_path / "envs"
    out.mkdir()
    (out / "php.yaml").write_text("base: debian\nports: ['8080:80']\n")
    (out / "other.yaml").write_text("name: web\nbase: debian\n")
    (out / "broken.yaml").write_text("name: [\n")
    (tmp_path / "compose.yaml").write_text(
        "services:\n  web: {image: nginx, ports: ['127.0.0.1:8080:80', '8443:443']}\n"
    )
    result = run_cli("init", "--from", tmp_path / "compose.yaml", "-o", f"{out}/")
    assert result.returncode == 0, result.stderr
    assert f"review: name web: {out / 'other.yaml'} has it; this one is web-2" in result.stdout
    assert f"also published by env php ({out / 'php.yaml'})" in result.stdout
    assert yaml.safe_load((out / "web-2.yaml").read_text())["ports"] == ["0.0.0.0:8443:443"]
    (out / "broken.yaml").unlink()
    assert run_cli("validate", out).returncode == 0
