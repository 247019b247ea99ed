"""devenv's word about a box, on the real engine: a box that fails late is never "in sync"
(sampled over time, on both paths, with the failing command's exit code); a late-failing
replacement leaves the working box one command away; hand changes are seen and repaired."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tests.integration.conftest import RUN_LABEL, Result


@pytest.fixture(autouse=True)
def default_window(devenv_env: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> None:
    """The stably-up window users get (3 s): the subject of these tests."""
    devenv_env.pop("DEVENV_STABLE_SECONDS", None)
    monkeypatch.delenv("DEVENV_STABLE_SECONDS", raising=False)


def late(seconds: int, code: int = 3) -> str:
    return f'command: [sh, -c, "sleep {seconds}; echo late-marker; exit {code}"]\n'


@pytest.fixture
def both_paths(devenv_env: dict[str, str]) -> Callable[[bool], None]:
    """Switch the devenv fixture's runs between the memo's path and the full path."""

    def switch(fast: bool) -> None:
        if fast:
            devenv_env.pop("DEVENV_NO_FAST_PATH", None)
        else:
            devenv_env["DEVENV_NO_FAST_PATH"] = "1"

    return switch


def started_at(docker_client: Any, name: str) -> float:
    """When the box's command started (wall clock), as the engine recorded it."""
    from datetime import datetime

    raw = docker_client.containers.get(name).attrs["State"]["StartedAt"]
    return datetime.fromisoformat(raw[:26].rstrip("Z") + "+00:00").timestamp()


def watch_after_crash(
    devenv: Callable[..., Result],
    both_paths: Callable[[bool], None],
    spec: Path,
    crash_at: float,
    until: float,
) -> list[dict[str, Any]]:
    """Sample status (alternating paths) from `crash_at` to `until` (wall-clock times):
    every sample once the box has crashed must say failing, never in sync."""
    seen, fast = [], True
    while time.time() < until:
        if time.time() < crash_at:
            time.sleep(min(0.5, crash_at - time.time()))
            continue
        both_paths(fast)
        result = devenv("status", "--json", str(spec))
        assert result.code == 0, result.err
        (row,) = json.loads(result.out)
        seen.append(row)
        assert row["in_sync"] is not True and row["failing"] is True, row
        assert "in sync" not in row["condition"]
        plan = devenv("plan", "--detailed-exitcode", str(spec))
        assert plan.code == 2 and "restart" in plan.out, (plan.out, plan.err)
        fast = not fast
    both_paths(True)
    return seen


def test_a_box_that_dies_two_seconds_in_is_not_up(devenv, spec_dir, name) -> None:  # type: ignore[no-untyped-def]
    """Inside the stably-up window: apply itself sees it, with the exit code and output."""
    spec = spec_dir(name, f"name: {name}\n{late(2)}")
    result = devenv("apply", str(spec))
    assert result.code == 1, result.out
    assert "✓" not in result.out and "late-marker" in result.err
    assert "exited with code 3" in result.err or "exit 3" in result.err


@pytest.mark.parametrize("delay", [8, 30])
def test_a_box_that_dies_late_is_failing_at_every_moment(  # type: ignore[no-untyped-def]
    devenv, both_paths, docker_client, spec_dir, name, delay: int
) -> None:
    spec = spec_dir(name, f"name: {name}\n{late(delay)}")
    applied = devenv("apply", str(spec))
    assert applied.code == 0, applied.err  # up for the stably-up window: apply says so
    started = started_at(docker_client, name)
    seen = watch_after_crash(devenv, both_paths, spec, started + delay + 1, started + delay + 14)
    assert len(seen) >= 4
    assert {row["exit_code"] for row in seen} == {3}, seen  # in every phase of the loop
    again = devenv("apply", str(spec))
    assert again.code in (0, 1)  # restarted: up again for the window, or caught dying
    assert devenv("status", "--json", str(spec)).code == 0


def test_a_late_failing_replacement_leaves_the_working_box_one_command_away(  # type: ignore[no-untyped-def]
    devenv, both_paths, docker_client, spec_dir, name
) -> None:
    spec = spec_dir(name, f"name: {name}\ncommand: [sleep, infinity]\n")
    assert devenv("apply", str(spec)).code == 0
    working = docker_client.containers.get(name)
    canary = "echo canary-$RANDOM-$RANDOM > /root/canary && sha256sum /root/canary"
    checksum = working.exec_run(["sh", "-c", canary]).output.decode().split()[0]

    spec.write_text(f"name: {name}\n{late(8, code=1)}")
    replaced = devenv("apply", "--yes", "--force", str(spec))
    assert replaced.code == 0, replaced.err
    started = started_at(docker_client, name)
    seen = watch_after_crash(devenv, both_paths, spec, started + 9, started + 40)
    assert seen and {row["exit_code"] for row in seen} == {1}
    text = devenv("status", str(spec)).out
    assert f"devenv rollback {spec}" in text, text
    assert docker_client.containers.get(f"{name}.devenv-previous").id == working.id

    back = devenv("rollback", str(spec))
    assert back.code == 0, back.err
    box = docker_client.containers.get(name)
    assert box.id == working.id and box.status == "running"
    again = box.exec_run(["sha256sum", "/root/canary"]).output.decode().split()[0]
    assert again == checksum  # its files came back with it
    # the failed one is kept in turn; the spec still asks for it, so the plan says recreate
    assert docker_client.containers.get(f"{name}.devenv-previous").status == "exited"
    plan = devenv("plan", "--detailed-exitcode", str(spec))
    assert plan.code == 2 and "recreate" in plan.out


def test_rollback_without_a_previous_box_says_so(devenv, spec_dir, name) -> None:  # type: ignore[no-untyped-def]
    spec = spec_dir(name, f"name: {name}\ncommand: [sleep, infinity]\n")
    assert devenv("apply", str(spec)).code == 0
    refused = devenv("rollback", str(spec))
    assert refused.code == 1
    assert refused.err.startswith(f"devenv: {name} has no previous box to go back to")


def repaired(
    devenv: Callable[..., Result], both_paths: Callable[[bool], None], spec: Path, reason: str
) -> None:
    """The quartet: plan shows the hand change (on both paths) → apply repairs it → plan
    shows none."""
    for fast in (True, False):
        both_paths(fast)
        plan = devenv("plan", "--detailed-exitcode", str(spec))
        assert plan.code == 2 and reason in plan.out, (plan.out, plan.err)
    both_paths(True)
    applied = devenv("apply", str(spec))
    assert applied.code == 0 and "✓" in applied.out, applied.err
    assert devenv("plan", "--detailed-exitcode", str(spec)).code == 0


def test_hand_changes_are_seen_and_repaired_in_place(  # type: ignore[no-untyped-def]
    devenv, both_paths, docker_client, spec_dir, name
) -> None:
    other = docker_client.networks.create(
        f"{name}-other", labels={RUN_LABEL.split("=")[0]: RUN_LABEL.split("=")[1]}
    )
    spec = spec_dir(
        name,
        f"name: {name}\ncommand: [sleep, infinity]\nshared: [./src:/src]\n"
        f"networks: {{join: [{other.name}]}}\n",
    )
    assert devenv("apply", str(spec)).code == 0
    box = docker_client.containers.get(name)
    first = box.id

    box.update(restart_policy={"Name": "no"})
    repaired(devenv, both_paths, spec, "restart policy (changed by hand): no → unless-stopped")
    box.reload()
    assert box.attrs["HostConfig"]["RestartPolicy"]["Name"] == "unless-stopped"

    folder_net = next(n for n in box.attrs["NetworkSettings"]["Networks"] if n != other.name)
    docker_client.networks.get(folder_net).disconnect(box)
    repaired(devenv, both_paths, spec, f"networks (changed by hand): not on {folder_net}")
    box.reload()
    assert folder_net in box.attrs["NetworkSettings"]["Networks"]

    box.pause()
    repaired(devenv, both_paths, spec, "paused (by hand)")
    box.reload()
    assert box.status == "running"

    source = spec.parent / "src"
    for child in source.iterdir():
        child.unlink()
    source.rmdir()
    repaired(devenv, both_paths, spec, f"shared folder gone from the host: {source}")
    assert source.is_dir()
    box.exec_run(["sh", "-c", "echo from-the-box > /src/seen"])
    assert (source / "seen").read_text() == "from-the-box\n"  # the mount sees the new folder
    assert docker_client.containers.get(name).id == first  # all in place: no recreate
