"""A Dockerfile base on the real engine: the user's Dockerfile built, devenv's layers on top,
rebuilt when an included context file changes and only then; a failed build in one sentence;
and a compose file's `build:` service applied beside an `image:` one, reaching it by name."""

from __future__ import annotations

import subprocess
from collections.abc import Callable
from pathlib import Path

from devenv.build.lockfile import parse
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


def test_a_folder_with_a_dockerfile_base_locks_each_env_alone(
    devenv: Callable[..., Result], tmp_path: Path
) -> None:
    """Issue 20: a Dockerfile base locks (its context, what its build installed); a spec
    that cannot be built fails alone, named, and the others' locks are written."""
    df, plain, bad = unique("dflock"), unique("plain"), unique("broken")
    envs = tmp_path / "envs"
    (envs / "docker").mkdir(parents=True)
    (envs / "docker" / "Dockerfile").write_text(
        "FROM debian:bookworm\n"
        f"RUN echo {df} > /made; apt-get update -qq && "
        "apt-get install -y -qq --no-install-recommends hello\n"
    )
    (envs / "bad").mkdir()
    (envs / "bad" / "Dockerfile").write_text("FROM debian:bookworm\nRUN exit 3\n")
    (envs / f"{df}.yaml").write_text(
        "base: {dockerfile: docker/Dockerfile, context: docker}\napt: {packages: [busybox]}\n"
    )
    (envs / f"{plain}.yaml").write_text("base: debian:bookworm\n")
    (envs / f"{bad}.yaml").write_text("base: {dockerfile: bad/Dockerfile, context: bad}\n")

    locked = devenv("lock", str(envs))
    assert locked.code == 1, locked.out + locked.err
    assert f"✗ {bad}: building {bad}'s Dockerfile base failed" in locked.err, locked.err
    assert "Traceback" not in locked.err and f"1 env(s) not locked: {bad}" in locked.err
    assert not (envs / f"{bad}.lock").exists()
    lock = parse((envs / f"{df}.lock").read_text(), "df.lock")
    assert lock.base == "dockerfile:docker/Dockerfile"
    assert lock.base_identity.startswith("dockerfile:") and "busybox" in lock.packages
    assert "hello" in lock.base_packages and "hello" not in lock.packages  # its build's
    assert (envs / f"{plain}.lock").exists()
    # the locally imported debian:bookworm is said to be machine-bound, with the way out
    assert "is known only by its local image ID, so this lock is bound to this machine" in (
        locked.out
    )
    assert "base: {bootstrap: debian:bookworm, mirror: URL}" in locked.out

    (envs / f"{bad}.yaml").unlink()
    checked = devenv("lock", "--check", str(envs))
    assert checked.code == 0, checked.err
    applied = devenv("apply", str(envs / f"{df}.yaml"), "--yes")
    assert applied.code == 0, applied.out + applied.err
    assert _docker("exec", df, "cat", "/made") == f"{df}\n"
    assert devenv("plan", "--detailed-exitcode", str(envs / f"{df}.yaml")).code == 0

    (envs / "docker" / "Dockerfile").write_text(
        (envs / "docker" / "Dockerfile").read_text() + "RUN true\n"
    )
    stale = devenv("lock", "--check", str(envs))
    assert stale.code == 1
    assert f"{df}: {envs / f'{df}.lock'} no longer matches its spec (its Dockerfile or" in (
        stale.err
    )
