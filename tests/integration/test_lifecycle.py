"""The whole life of an env on the real engine, as issue 3 describes it, in one walk."""

from __future__ import annotations

import json
import time
import urllib.request
from collections.abc import Callable
from pathlib import Path

from tests.integration.conftest import Result, free_port

WEB_SPEC = """\
name: {name}
base: debian:bookworm
apt:
  packages: [{packages}]
ports: ["{port}:8000"]
shared: ["./site:/srv"]
user: dev
workdir: /srv
command: [busybox, httpd, -f, -p, "8000", -h, /srv]
"""


def fetch(port: int, path: str = "/index.html", tries: int = 40) -> str:
    last: Exception | None = None
    for _ in range(tries):
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=2) as response:
                return str(response.read().decode())
        except Exception as exc:  # not up yet
            last = exc
            time.sleep(0.25)
    raise AssertionError(f"nothing served on 127.0.0.1:{port}{path}: {last}")


def plan_json(devenv: Callable[..., Result], spec: Path) -> dict:
    result = devenv("plan", "--json", str(spec))
    assert result.code == 0, result.err
    return dict(json.loads(result.out))


def kinds(plan: dict) -> list[str]:
    return [a["kind"] for a in plan["actions"]]


def test_env_lifecycle(devenv, docker_client, spec_dir, name) -> None:  # type: ignore[no-untyped-def]
    port = free_port()
    spec = spec_dir(name, WEB_SPEC.format(name=name, packages="busybox", port=port))
    site = spec.parent / "site"

    # create: builds, creates, serves the shared folder on 127.0.0.1 only
    assert devenv("plan", "--detailed-exitcode", str(spec)).code == 2
    created = devenv("apply", str(spec))
    assert created.code == 0, created.err
    assert site.is_dir(), "the missing shared folder is created"
    (site / "index.html").write_text("first\n")
    assert fetch(port) == "first\n"
    container = docker_client.containers.get(name)
    bindings = container.attrs["HostConfig"]["PortBindings"]["8000/tcp"]
    assert bindings == [{"HostIp": "127.0.0.1", "HostPort": str(port)}]
    first_id, first_image = container.id, container.image.id

    # no-op: same container, no build, detailed exit code 0
    again = devenv("apply", str(spec))
    assert again.code == 0 and "building" not in again.err
    assert docker_client.containers.get(name).id == first_id
    assert devenv("plan", "--detailed-exitcode", str(spec)).code == 0
    assert kinds(plan_json(devenv, spec)) == ["noop"]

    # host port change: recreate without build, same image
    new_port = free_port()
    spec.write_text(WEB_SPEC.format(name=name, packages="busybox", port=new_port))
    plan = plan_json(devenv, spec)
    assert plan["changes"] is True and kinds(plan) == ["recreate"]
    assert (
        f"ports: 127.0.0.1:{port}:8000 → 127.0.0.1:{new_port}:8000" in plan["actions"][0]["reasons"]
    )
    refused = devenv("apply", str(spec))  # no TTY and no --yes: nothing happens
    assert refused.code == 1 and "--yes" in refused.err
    assert docker_client.containers.get(name).id == first_id
    moved = devenv("apply", "--yes", str(spec))
    assert moved.code == 0, moved.err
    recreated = docker_client.containers.get(name)
    assert recreated.id != first_id and recreated.image.id == first_image
    assert fetch(new_port) == "first\n"

    # a package added: build + recreate, a new image
    spec.write_text(WEB_SPEC.format(name=name, packages="busybox, tree", port=new_port))
    assert kinds(plan_json(devenv, spec)) == ["build", "recreate"]
    assert devenv("apply", "--yes", str(spec)).code == 0
    rebuilt = docker_client.containers.get(name)
    assert rebuilt.image.id != first_image
    assert rebuilt.exec_run(["tree", "--version"]).exit_code == 0

    # stopped by hand → start
    rebuilt.stop(timeout=1)
    plan = plan_json(devenv, spec)
    (reason,) = plan["actions"][0]["reasons"]
    assert kinds(plan) == ["start"] and reason.startswith("state: exited (") and "stopped" in reason
    assert devenv("apply", str(spec)).code == 0
    assert docker_client.containers.get(name).status == "running"

    # removed by hand → create
    docker_client.containers.get(name).remove(force=True)
    assert kinds(plan_json(devenv, spec)) == ["create"]
    assert devenv("apply", str(spec)).code == 0
    assert fetch(new_port) == "first\n"

    # someone else's container under the same name: conflict, touched by nothing
    docker_client.containers.get(name).remove(force=True)
    stranger = docker_client.containers.run(
        "debian:bookworm", ["sleep", "300"], name=name, detach=True, labels={"purpose": "test"}
    )
    try:
        assert kinds(plan_json(devenv, spec)) == ["conflict"]
        assert devenv("plan", "--detailed-exitcode", str(spec)).code == 2
        refused = devenv("apply", "--yes", str(spec))
        assert refused.code == 1 and "did not create" in refused.err
        entered = devenv("shell", str(spec), "--", "true")  # not "run: devenv apply"
        assert entered.code == 1 and "did not create" in entered.err
        stranger.reload()
        assert stranger.status == "running" and stranger.name == name
    finally:
        stranger.remove(force=True)

    # destroy: container gone, shared folder and its files intact
    assert devenv("apply", str(spec)).code == 0
    gone = devenv("destroy", "--yes", str(spec))
    assert gone.code == 0, gone.err
    assert not docker_client.containers.list(all=True, filters={"name": f"^{name}$"})
    assert (site / "index.html").read_text() == "first\n"


def test_shell_runs_commands_as_the_user_and_passes_exit_codes(devenv, spec_dir, name) -> None:  # type: ignore[no-untyped-def]
    spec = spec_dir(name, f"name: {name}\nuser: dev\nworkdir: /tmp\n")
    assert devenv("apply", str(spec)).code == 0
    result = devenv(
        "shell", str(spec), "--", "sh", "-c", "id -un; pwd; cat; exit 7", stdin="piped\n"
    )
    assert result.code == 7
    assert result.out.split() == ["dev", "/tmp", "piped"]
    status = devenv("status", "--json", str(spec))
    (row,) = json.loads(status.out)
    assert row["state"] == "running" and row["in_sync"] is True
    assert devenv("stop", str(spec)).code == 0
    (row,) = json.loads(devenv("status", "--json", str(spec)).out)
    assert row["state"] == "exited" and row["in_sync"] is False
    stopped = devenv("shell", str(spec), "--", "true")
    assert stopped.code == 1 and "not running" in stopped.err
    assert devenv("start", str(spec)).code == 0
    assert devenv("destroy", "--yes", str(spec)).code == 0


def test_folder_apply_continues_past_a_bad_env(devenv, docker_client, spec_dir, name) -> None:  # type: ignore[no-untyped-def]
    good = spec_dir(f"{name}-good", f"name: {name}-good\n")
    spec_dir(
        f"{name}-bad", f"name: {name}-bad\nsshd: {{authorized_keys: [./missing.pub]}}\nuser: dev\n"
    )
    spec_dir(f"{name}-broken", "ports: [\n")
    result = devenv("apply", str(good.parent))
    assert result.code == 1
    assert f"{name}-bad" in result.err and "missing.pub" in result.err
    assert "broken.yaml:2:1" in result.err
    assert f"skipped invalid spec file(s): {good.parent / (name + '-broken.yaml')}" in result.err
    planned = devenv("plan", str(good.parent))
    assert f"devenv: {name}-bad: authorized key file" in planned.err  # the env named once
    as_json = devenv("plan", "--json", str(good.parent))
    errors = json.loads(as_json.out)["errors"]
    assert as_json.code == 1 and len(errors) == 2
    assert any("broken.yaml:2:1" in e for e in errors) and any("missing.pub" in e for e in errors)
    status = devenv("status", str(good.parent / f"{name}-bad.yaml"))
    assert f"  {name}-bad: authorized key file ./missing.pub" in status.out
    assert "(hint: create it" in status.out and "drifted" not in status.out
    assert docker_client.containers.get(f"{name}-good").status == "running"
    assert devenv("destroy", "--yes", str(good)).code == 0


def test_engine_assigned_port_shows_in_status(devenv, docker_client, spec_dir, name) -> None:  # type: ignore[no-untyped-def]
    spec = spec_dir(name, f"name: {name}\nports: [9000]\n")
    assert devenv("apply", str(spec)).code == 0
    (row,) = json.loads(devenv("status", "--json", str(spec)).out)
    (published,) = row["ports"]
    bind, host_port, container_port = published.split(":")
    live = docker_client.containers.get(name).attrs["NetworkSettings"]["Ports"]["9000/tcp"]
    assert (bind, container_port) == ("127.0.0.1", "9000")
    assert host_port == live[0]["HostPort"] and int(host_port) > 0
    assert devenv("plan", "--detailed-exitcode", str(spec)).code == 0
    assert devenv("destroy", "--yes", str(spec)).code == 0


def test_render_hash_names_the_tag_apply_builds(devenv, spec_dir, name) -> None:  # type: ignore[no-untyped-def]
    spec = spec_dir(name, f"name: {name}\n")
    rendered = devenv("render", "--hash", str(spec))
    assert rendered.code == 0 and rendered.err == ""
    (action,) = [a for a in plan_json(devenv, spec)["actions"] if a["kind"] == "create"]
    assert rendered.out.split()[1] == action["image"]


def test_start_and_restart_prove_the_box_and_run_its_start_hooks(devenv, spec_dir, name) -> None:  # type: ignore[no-untyped-def]
    """Regression: `devenv start` said "started" without waiting for the box or running the
    spec's start hooks, which run "after each start"."""
    spec = spec_dir(
        name,
        f"name: {name}\nhooks:\n  start: ['echo up >> /var/tmp/starts']\n",
    )
    assert devenv("apply", str(spec)).code == 0
    assert devenv("stop", str(spec)).code == 0
    started = devenv("start", str(spec))
    assert started.code == 0 and f"{name}: started" in started.out, started.err
    assert devenv("restart", str(spec)).code == 0
    count = devenv("shell", str(spec), "--", "wc", "-l", "/var/tmp/starts")
    assert count.out.split()[0] == "3"  # apply, start, restart
    assert devenv("destroy", "--yes", str(spec)).code == 0


def test_start_of_a_box_whose_command_dies_fails_with_its_evidence(devenv, spec_dir, name) -> None:  # type: ignore[no-untyped-def]
    spec = spec_dir(name, f"name: {name}\ncommand: [sh, -c, 'echo gone; exit 4']\n")
    assert devenv("apply", str(spec)).code == 1  # left for inspection
    devenv("stop", str(spec))
    started = devenv("start", str(spec))
    assert started.code == 1 and "exit" in started.err and "4" in started.err, started.err
    assert f"{name}: started" not in started.out
    assert devenv("destroy", "--yes", str(spec)).code == 0
