"""A Dockerfile base on the real engine: the user's Dockerfile built, devenv's layers on top,
rebuilt when an included context file changes and only then; a failed build in one sentence;
and a compose file's `build:` service applied beside an `image:` one, reaching it by name."""

from __future__ import annotations

import subprocess
from collections.abc import Callable
from pathlib import Path

from tests.integration.conftest import Result, free_port, unique

DOCKERFILE = """\
FROM debian:bookworm
RUN echo from-the-dockerfile > /built.txt
COPY app.txt /opt/app.txt
"""


def _docker(*args: str) -> str:
    return subprocess.run(["docker", *args], check=True, capture_output=True, text=True).stdout


def test_a_dockerfile_base_builds_rebuilds_on_context_changes_only(
    devenv: Callable[..., Result], tmp_path: Path
) -> None:
    name, port = unique("df"), free_port()
    ctx = tmp_path / "docker"
    ctx.mkdir()
    (ctx / "Dockerfile").write_text(DOCKERFILE)
    # unique per run: the base is content-addressed, and another run's identical base on this
    # engine would rightly make only devenv's layers rebuild
    (ctx / "app.txt").write_text(f"one {name}\n")
    (ctx / "notes.log").write_text("ignored\n")
    (ctx / ".dockerignore").write_text("# scratch files\n*.log\n")
    spec = tmp_path / f"{name}.yaml"
    spec.write_text(
        f"base: {{dockerfile: docker/Dockerfile, context: docker}}\n"
        f"apt: {{packages: [busybox]}}\nports: ['{port}:80']\n"
    )
    shown = devenv("render", str(spec))
    assert shown.code == 0 and "\nFROM devenv-base/dockerfile:" in shown.out, shown.err
    applied = devenv("apply", str(spec), "--yes")
    assert applied.code == 0, applied.out + applied.err
    assert (
        _docker("exec", name, "cat", "/built.txt", "/opt/app.txt")
        == f"from-the-dockerfile\none {name}\n"
    )
    assert "/usr/bin/busybox" in _docker("exec", name, "sh", "-c", "command -v busybox")
    assert f"127.0.0.1:{port}" in _docker("port", name, "80")
    assert devenv("plan", "--detailed-exitcode", str(spec)).code == 0

    (ctx / "notes.log").write_text("still ignored\n")
    assert devenv("plan", "--detailed-exitcode", str(spec)).code == 0

    (ctx / "app.txt").write_text(f"two {name}\n")
    planned = devenv("plan", "--detailed-exitcode", str(spec))
    assert planned.code == 2 and "Dockerfile context changed (app.txt)" in planned.out, planned.out
    again = devenv("apply", str(spec), "--yes")
    assert again.code == 0, again.out + again.err
    assert _docker("exec", name, "cat", "/opt/app.txt") == f"two {name}\n"
    assert devenv("plan", "--detailed-exitcode", str(spec)).code == 0


def test_a_failing_dockerfile_is_one_sentence_with_the_step_and_log(
    devenv: Callable[..., Result], tmp_path: Path
) -> None:
    name = unique("dfbad")
    (tmp_path / "Dockerfile").write_text("FROM debian:bookworm\nRUN exit 3\n")
    spec = tmp_path / f"{name}.yaml"
    spec.write_text("base: {dockerfile: Dockerfile}\n")
    failed = devenv("apply", str(spec), "--yes")
    assert failed.code == 1
    shown = failed.out + failed.err
    assert f"building {name}'s Dockerfile base failed at Step 2/" in shown and "RUN exit 3" in shown
    assert "base-build.log" in shown and "Traceback" not in shown


COMPOSE = """\
services:
  {web}:
    build:
      context: ./web
      args: {{GREETING: hello}}
    command: ["sleep", "infinity"]
    environment: [ROLE=web]
    working_dir: /srv
  {db}:
    image: debian:bookworm
    command: sleep infinity
"""


def test_compose_build_and_image_services_apply_and_reach_each_other(
    devenv: Callable[..., Result], tmp_path: Path
) -> None:
    web, db = unique("web"), unique("db")
    (tmp_path / "web").mkdir()
    (tmp_path / "web" / "Dockerfile").write_text(
        "FROM debian:bookworm\nARG GREETING\nRUN echo $GREETING > /greeting\n"
    )
    (tmp_path / "compose.yaml").write_text(COMPOSE.format(web=web, db=db))
    out = tmp_path / "envs"
    made = devenv("init", "--from", str(tmp_path / "compose.yaml"), "-o", str(out))
    assert made.code == 0, made.err
    assert sorted(p.name for p in out.iterdir()) == sorted([f"{web}.yaml", f"{db}.yaml"])
    applied = devenv("apply", str(out), "--yes")
    assert applied.code == 0, applied.out + applied.err
    assert _docker("exec", web, "cat", "/greeting") == "hello\n"
    assert _docker("exec", web, "sh", "-c", "echo $ROLE; pwd").split() == ["web", "/srv"]
    assert _docker("exec", web, "getent", "hosts", db).strip()
    assert devenv("plan", "--detailed-exitcode", str(out)).code == 0
