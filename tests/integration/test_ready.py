"""Apply proves the box is up, or keeps the old one: each point provoked on the real engine."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import time

import pytest

from tests.integration.conftest import free_port, ssh_box, start_devenv

CRASH = 'command: [sh, -c, "echo crash-marker; exit 3"]\n'


@pytest.fixture(autouse=True)
def default_window(devenv_env: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> None:
    """The stably-up window users get (3 s): the subject of these tests."""
    devenv_env.pop("DEVENV_STABLE_SECONDS", None)
    monkeypatch.delenv("DEVENV_STABLE_SECONDS", raising=False)


def env_containers(docker_client, name: str) -> list[str]:  # type: ignore[no-untyped-def]
    found = docker_client.containers.list(all=True, filters={"label": f"io.devenv.env={name}"})
    return sorted(c.name for c in found)


def test_a_new_env_whose_command_dies_fails_with_its_output(devenv, spec_dir, name) -> None:  # type: ignore[no-untyped-def]
    spec = spec_dir(name, f"name: {name}\n{CRASH}")
    result = devenv("apply", str(spec))
    assert result.code == 1
    assert "its command exited with code 3" in result.err and "crash-marker" in result.err
    assert f"devenv logs {spec}" in result.err  # left for inspection

    rows = json.loads(devenv("status", "--json", str(spec)).out)
    assert rows[0]["in_sync"] is False and rows[0]["failing"] is True
    assert rows[0]["condition"].startswith("restarting")
    text = devenv("status", str(spec)).out
    assert "(failing)" in text and "in sync" not in text
    # a converged plan never calls a crash loop "no changes", and apply proves it again
    assert devenv("plan", "--detailed-exitcode", str(spec)).code == 2
    again = devenv("apply", str(spec))
    assert again.code == 1 and "did not stay up" in again.err and "✓" not in again.out


def test_a_replacement_that_dies_puts_the_old_box_back(
    devenv, docker_client, spec_dir, name
) -> None:  # type: ignore[no-untyped-def]
    spec = spec_dir(name, f"name: {name}\ncommand: [sleep, infinity]\n")
    assert devenv("apply", str(spec)).code == 0
    original = docker_client.containers.get(name).id

    spec.write_text(f"name: {name}\n{CRASH}")
    result = devenv("apply", "--yes", str(spec))
    assert result.code == 1, result.err
    assert "its command exited with code 3" in result.err and "crash-marker" in result.err
    assert "the old container runs again" in result.err
    box = docker_client.containers.get(name)
    assert box.id == original and box.status == "running"
    assert env_containers(docker_client, name) == [name]  # no *.devenv-new / *.devenv-old


def test_sshd_answers_the_moment_apply_returns(devenv, spec_dir, name, home) -> None:  # type: ignore[no-untyped-def]
    port = free_port()
    # the recipe of test_dev_box's SSH test: the same image, no second build
    spec = spec_dir(name, ssh_box(name, port, "apt: {packages: [busybox]}\n"))
    result = devenv("apply", str(spec))
    assert result.code == 0, result.err
    with socket.create_connection(("127.0.0.1", port), timeout=5) as conn:
        conn.settimeout(5)
        assert conn.recv(64).startswith(b"SSH-2.0-")


def test_a_ready_check_that_never_passes_fails_after_its_timeout(devenv, spec_dir, name) -> None:  # type: ignore[no-untyped-def]
    spec = spec_dir(
        name,
        f"name: {name}\ncommand: [sleep, infinity]\nready: {{port: 9, timeout: 2}}\n",
    )
    started = time.monotonic()
    result = devenv("apply", str(spec))
    assert result.code == 1
    assert "the ready check failed: port 9 listening in the box" in result.err
    assert time.monotonic() - started >= 2


def test_logs_show_and_follow_the_box_output(devenv, devenv_env, spec_dir, name) -> None:  # type: ignore[no-untyped-def]
    spec = spec_dir(
        name,
        f"name: {name}\ncommand: [sh, -c, 'echo first-line; while sleep 0.3; do echo tick; done']\n",
    )
    assert devenv("apply", str(spec)).code == 0
    shown = devenv("logs", str(spec))
    assert shown.code == 0 and shown.out.startswith("first-line\n")
    assert devenv("logs", "--tail", "1", str(spec)).out == "tick\n"

    follow = start_devenv(devenv_env, "logs", "-f", "--since", "1h", str(spec))
    try:
        assert follow.stdout is not None
        assert follow.stdout.readline() == "first-line\n"
        count = len(devenv("logs", str(spec)).out.splitlines())
        lines = [follow.stdout.readline() for _ in range(count + 2)]  # new output arrives too
        assert lines[-1] == "tick\n"
    finally:
        follow.terminate()
        follow.wait(timeout=10)

    missing = spec_dir(f"{name}-none", f"name: {name}-none\n")
    refused = devenv("logs", str(missing))
    assert refused.code == 1
    assert refused.err.startswith(f"devenv: {name}-none has no container")


def proof_seconds(devenv_env: dict[str, str], spec: str) -> float:
    """`apply` of `spec`, timing what a user watches: from "waiting for the box to be up"
    to the ✓ line."""
    argv = [sys.executable, "-m", "devenv", "apply", "--yes", spec]
    proc = subprocess.Popen(
        argv, env=devenv_env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    assert proc.stdout is not None
    seen: dict[str, float] = {}
    for line in proc.stdout:
        if "waiting for the box to be up" in line or line.startswith("✓"):
            seen.setdefault(
                line.split()[0] if line.startswith("✓") else "waiting", time.monotonic()
            )
    assert proc.wait(timeout=600) == 0
    return seen["✓"] - seen["waiting"]


def test_an_idle_box_is_up_once_its_start_up_is_done(  # type: ignore[no-untyped-def]
    devenv, devenv_env, docker_client, spec_dir, name
) -> None:
    """A box that only idles (no command) is proven up as soon as its start-up hands over to
    `sleep infinity`, sshd answering; a box with a command of its own runs the whole window."""
    idle = spec_dir(name, f"name: {name}\nuser: dev\n")
    busy = spec_dir(f"{name}-cmd", f"name: {name}-cmd\ncommand: [sleep, '600']\n")
    try:
        assert proof_seconds(devenv_env, str(idle)) < 2.0
        listed = docker_client.api.top(name)
        commands = [row[-1] for row in listed["Processes"]]
        assert "sleep infinity" in commands, commands
        assert devenv("plan", "--detailed-exitcode", str(idle)).code == 0
        assert proof_seconds(devenv_env, str(busy)) >= 2.5  # the window (from the start call)
    finally:
        devenv("destroy", "--yes", str(idle), str(busy))
