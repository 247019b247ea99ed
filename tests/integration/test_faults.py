"""Never lose data, survive faults: each guarantee provoked for real on the engine."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.integration.conftest import free_port, start_devenv
from tests.integration.services import small_engine_fixture  # noqa: F401  (fixture)


def spec_text(name: str, port: int, step: int = 0, extra: str = "") -> str:
    return f"name: {name}\nports: ['{port}:8000']\nrun: ['true {step}']\n{extra}"


def env_containers(docker_client, name: str) -> list:  # type: ignore[no-untyped-def]
    """Every container of the env, leftovers included (found by devenv's env label)."""
    return docker_client.containers.list(all=True, filters={"label": f"io.devenv.env={name}"})


def start_apply(
    devenv_env: dict[str, str], spec: Path, pause_at: str, seconds: float = 30
) -> subprocess.Popen[str]:
    pause = {"DEVENV_PAUSE_AT": pause_at, "DEVENV_PAUSE_SECONDS": str(seconds)}
    return start_devenv(devenv_env, "apply", "--yes", str(spec), **pause)


def wait_for_line(proc: subprocess.Popen[str], text: str, timeout: float = 120) -> str:
    seen = ""
    deadline = time.monotonic() + timeout
    assert proc.stderr is not None
    while time.monotonic() < deadline:
        line = proc.stderr.readline()
        seen += line
        if text in line:
            return seen
        if not line and proc.poll() is not None:
            break
    raise AssertionError(f"never saw {text!r}; stderr so far:\n{seen}")


def test_failed_build_leaves_the_env_running(devenv, docker_client, spec_dir, name) -> None:  # type: ignore[no-untyped-def]
    port = free_port()
    spec = spec_dir(name, spec_text(name, port))
    assert devenv("apply", str(spec)).code == 0
    before = docker_client.containers.get(name).id
    spec.write_text(
        spec_text(name, port, extra="apt: {packages: [busybox]}\n").replace(
            "'true 0'", "'echo boom-output; exit 3'"
        )
    )
    failed = devenv("apply", "--yes", str(spec))
    assert failed.code == 1
    assert "failed at Step" in failed.err and "echo boom-output; exit 3" in failed.err
    assert "boom-output" in failed.err.split("last output:")[1]
    log = failed.err.split("full log: ")[1].split()[0]
    assert "boom-output" in Path(log).read_text()
    live = docker_client.containers.get(name)
    assert live.id == before and live.status == "running"
    assert len(env_containers(docker_client, name)) == 1
    assert devenv("destroy", "--yes", str(spec)).code == 0


def test_interrupted_applies_leave_old_or_new_running_and_converge(
    devenv, devenv_env, docker_client, spec_dir, name
) -> None:  # type: ignore[no-untyped-def]
    port = free_port()
    spec = spec_dir(name, spec_text(name, port))
    assert devenv("apply", str(spec)).code == 0
    cases = [
        ("build", signal.SIGINT),
        ("build", signal.SIGTERM),
        ("create", signal.SIGTERM),
        ("swap", signal.SIGINT),
    ]
    for step, (stage, sig) in enumerate(cases, start=1):
        old = docker_client.containers.get(name).id
        new_port = free_port()
        spec.write_text(spec_text(name, new_port, step))  # a build and a recreate
        # signals are held during create and swap, so those pauses run out: keep them short
        proc = start_apply(devenv_env, spec, stage, seconds=30 if stage == "build" else 3)
        wait_for_line(proc, f"paused at {stage}")
        proc.send_signal(sig)
        _, err = proc.communicate(timeout=120)
        assert proc.returncode != 0 and "Traceback" not in err, err
        # the box a finished swap replaced is kept, stopped, for `devenv rollback`: no stray
        containers = [
            c for c in env_containers(docker_client, name) if c.name != f"{name}.devenv-previous"
        ]
        assert [c.name for c in containers] == [name], (
            f"{stage}: strays {[c.name for c in containers]}"
        )
        (live,) = containers
        assert live.status == "running", stage
        if stage == "build":  # nothing had changed yet: the old env runs on
            assert live.id == old
            assert "devenv: interrupted" in err, err  # said, not a silent exit
        else:  # the swap was already under way: it finished first
            assert live.id != old
            assert "left consistent" in err
        converged = devenv("apply", "--yes", str(spec))
        assert converged.code == 0, converged.err
        assert devenv("plan", "--detailed-exitcode", str(spec)).code == 0
    assert devenv("destroy", "--yes", str(spec)).code == 0


def test_concurrent_applies_wait_for_each_other(devenv_env, docker_client, spec_dir, name) -> None:  # type: ignore[no-untyped-def]
    spec = spec_dir(name, spec_text(name, free_port()))
    first = start_apply(devenv_env, spec, "create", seconds=3)
    wait_for_line(first, "paused at create")
    second = start_apply(devenv_env, spec, "never")
    _, second_err = second.communicate(timeout=120)
    _, first_err = first.communicate(timeout=120)
    assert first.returncode == 0, first_err
    assert second.returncode == 0, second_err
    assert "waiting" in second_err
    assert [c.name for c in env_containers(docker_client, name)] == [name]
    subprocess.run(
        [sys.executable, "-m", "devenv", "destroy", "--yes", str(spec)],
        env=devenv_env,
        check=True,
        capture_output=True,
    )


def test_work_inside_the_container_is_not_silently_discarded(
    devenv, docker_client, spec_dir, name
) -> None:  # type: ignore[no-untyped-def]
    port = free_port()
    spec = spec_dir(name, spec_text(name, port, extra="user: dev\nshared: ['./code:/code']\n"))
    assert devenv("apply", str(spec)).code == 0
    box = docker_client.containers.get(name)
    assert (
        box.exec_run(
            [
                "sh",
                "-c",
                "echo tuned > /etc/tuned.conf; echo x > /code/in-shared; echo h >> /tmp/noise",
            ]
        ).exit_code
        == 0
    )
    spec.write_text(spec_text(name, free_port(), extra="user: dev\nshared: ['./code:/code']\n"))

    plan = json.loads(devenv("plan", "--json", str(spec)).out)
    (action,) = plan["actions"]
    assert action["kind"] == "recreate" and action["discards"] == ["/etc/tuned.conf"]
    assert "would discard 1 changed file: /etc/tuned.conf" in action["reasons"]

    refused = devenv("apply", "--yes", str(spec))
    assert refused.code == 1 and "--snapshot" in refused.err and "/etc/tuned.conf" in refused.err
    assert docker_client.containers.get(name).id == box.id

    kept = devenv("apply", "--yes", "--snapshot", str(spec))
    assert kept.code == 0, kept.err
    (snapshot,) = [s for s in json.loads(devenv("snapshots", "--json").out) if s["env"] == name]
    out = docker_client.containers.run(
        snapshot["ref"], ["cat", "/etc/tuned.conf"], entrypoint=[], remove=True
    )
    assert out == b"tuned\n"
    assert docker_client.containers.get(name).id != box.id
    assert (spec.parent / "code" / "in-shared").read_text() == "x\n"

    docker_client.containers.get(name).exec_run(["sh", "-c", "echo again > /etc/tuned.conf"])
    refused = devenv("destroy", "--yes", str(spec))
    assert refused.code == 1 and "/etc/tuned.conf" in refused.err
    assert docker_client.containers.get(name).status == "running"
    assert devenv("destroy", "--yes", "--force", str(spec)).code == 0
    docker_client.images.remove(snapshot["ref"])


def test_named_volumes_survive_recreate_and_destroy(devenv, docker_client, spec_dir, name) -> None:  # type: ignore[no-untyped-def]
    volume = f"{name}-data"
    extra = f"volumes: [{{name: {volume}, container: /data}}]\n"
    spec = spec_dir(name, spec_text(name, free_port(), extra=extra))
    assert devenv("apply", str(spec)).code == 0
    docker_client.containers.get(name).exec_run(["sh", "-c", "echo precious > /data/db"])
    spec.write_text(spec_text(name, free_port(), extra=extra))
    assert devenv("apply", "--yes", str(spec)).code == 0
    assert docker_client.containers.get(name).exec_run(["cat", "/data/db"]).output == b"precious\n"
    assert devenv("destroy", "--yes", str(spec)).code == 0
    assert docker_client.volumes.get(volume).name == volume
    assert devenv("apply", str(spec)).code == 0
    assert docker_client.containers.get(name).exec_run(["cat", "/data/db"]).output == b"precious\n"
    refused = devenv("destroy", "--volumes", str(spec))  # no TTY, no --yes
    assert refused.code == 1 and f"DELETE volume {volume}" in refused.err
    assert docker_client.volumes.get(volume)
    gone = devenv("destroy", "--volumes", "--yes", str(spec))
    assert gone.code == 0 and f"removed volume {volume}" in gone.out
    assert not docker_client.volumes.list(filters={"name": f"^{volume}$"})


def test_hand_made_drift_is_detected_and_repaired(devenv, docker_client, spec_dir, name) -> None:  # type: ignore[no-untyped-def]
    port = free_port()
    spec = spec_dir(name, spec_text(name, port))
    assert devenv("apply", str(spec)).code == 0

    def reasons() -> list[tuple[str, str]]:
        plan = json.loads(devenv("plan", "--json", str(spec)).out)
        return [(a["kind"], r) for a in plan["actions"] for r in a["reasons"]]

    def repaired() -> None:
        assert devenv("apply", "--yes", str(spec)).code == 0
        names = {c.name for c in env_containers(docker_client, name)}
        assert names - {f"{name}.devenv-previous"} == {name}  # the replaced box is kept
        assert devenv("plan", "--detailed-exitcode", str(spec)).code == 0

    docker_client.containers.get(name).rename(f"{name}-moved")
    assert ("remove", f"{name}-moved: a copy of this env renamed by hand") in reasons()
    assert ("create", "container missing (removed by hand?)") in reasons()
    repaired()

    tag = docker_client.containers.get(name).image.tags[0]
    docker_client.images.remove(tag, force=True)
    found = reasons()
    assert found[0] == ("build", f"image {tag} is missing (deleted by hand?)")
    assert found[1][0] == "recreate"
    repaired()

    live = docker_client.containers.get(name)
    labels, image = live.labels, live.image.tags[0]
    live.remove(force=True)
    other = free_port()
    docker_client.containers.run(
        image, name=name, labels=labels, detach=True, ports={"8000/tcp": ("127.0.0.1", other)}
    )
    assert (
        "recreate",
        f"ports (changed by hand): live 127.0.0.1:{other}:8000, spec 127.0.0.1:{port}:8000",
    ) in reasons()
    repaired()
    assert devenv("destroy", "--yes", str(spec)).code == 0


@pytest.mark.parametrize(
    ("docker_host", "words"),
    [
        ("unix:///nonexistent/docker.sock", "no engine socket there"),
        ("tcp://127.0.0.1:9", "connection refused"),
    ],
)
def test_unreachable_engine_is_one_sentence(
    devenv, devenv_env, spec_dir, name, docker_host, words
) -> None:  # type: ignore[no-untyped-def]
    spec = spec_dir(name, f"name: {name}\n")
    devenv_env["DOCKER_HOST"] = docker_host
    result = devenv("plan", str(spec))
    assert result.code == 1
    (line, hint) = result.err.strip().splitlines()
    assert (
        line.startswith("devenv: ") and "cannot reach the Docker engine" in line and words in line
    )
    assert hint.strip().startswith("hint:")


def test_mirror_that_does_not_answer_is_one_clear_failure(
    devenv, docker_client, spec_dir, name
) -> None:  # type: ignore[no-untyped-def]
    spec = spec_dir(
        name, f"name: {name}\napt: {{mirror: 'http://127.0.0.1:9/debian', packages: [busybox]}}\n"
    )
    result = devenv("apply", str(spec))
    assert result.code == 1, result.err
    assert "the apt mirror http://127.0.0.1:9/debian does not answer" in result.err, result.err
    assert not env_containers(docker_client, name)


def test_secure_defaults(devenv, docker_client, spec_dir, name) -> None:  # type: ignore[no-untyped-def]
    spec = spec_dir(name, f"name: {name}\nports: [{free_port()}]\n")
    assert devenv("apply", str(spec)).code == 0
    host_config = docker_client.containers.get(name).attrs["HostConfig"]
    assert host_config["Privileged"] is False and host_config["NetworkMode"] != "host"
    assert not any("docker.sock" in b for b in host_config.get("Binds") or [])
    assert all(b[0]["HostIp"] == "127.0.0.1" for b in host_config["PortBindings"].values())
    spec.write_text(f"name: {name}\ndocker_socket: true\n")
    plan = devenv("plan", str(spec))
    assert "root on this machine" in plan.out
    assert devenv("apply", "--yes", str(spec)).code == 0
    binds = docker_client.containers.get(name).attrs["HostConfig"]["Binds"]
    assert "/var/run/docker.sock:/var/run/docker.sock:rw" in binds
    assert devenv("destroy", "--yes", str(spec)).code == 0
    assert os.path.exists("/var/run/docker.sock")


def test_socket_without_permission_is_one_sentence(devenv_env, spec_dir, name, tmp_path) -> None:  # type: ignore[no-untyped-def]
    """A socket the user may not open: root would bypass the mode, so drop that power."""
    import socket as sockets

    path = tmp_path / "locked.sock"
    listener = sockets.socket(sockets.AF_UNIX)
    listener.bind(str(path))
    listener.listen()
    path.chmod(0)
    spec = spec_dir(name, f"name: {name}\n")
    drop = ["setpriv", "--bounding-set=-dac_override,-dac_read_search", "--inh-caps=-all"]
    try:
        result = subprocess.run(
            [*drop, sys.executable, "-m", "devenv", "plan", str(spec)],
            env={**devenv_env, "DOCKER_HOST": f"unix://{path}"},
            capture_output=True,
            text=True,
            timeout=60,
            stdin=subprocess.DEVNULL,
        )
    finally:
        listener.close()
    assert result.returncode == 1 and "Traceback" not in result.stderr
    assert (
        "cannot reach the Docker engine" in result.stderr and "permission denied" in result.stderr
    )


def test_a_full_disk_during_build_is_one_clear_failure(
    devenv, devenv_env, small_engine, spec_dir, name
) -> None:  # type: ignore[no-untyped-def]
    import docker

    devenv_env["DOCKER_HOST"] = small_engine
    spec = spec_dir(name, f"name: {name}\nrun: ['dd if=/dev/zero of=/big bs=1M count=1000']\n")
    result = devenv("apply", str(spec))
    assert result.code == 1
    assert "the engine's disk is full" in result.err and "No space left on device" in result.err
    small = docker.DockerClient(base_url=small_engine)
    assert not small.containers.list(all=True)
    assert not small.images.list(name=f"devenv/{name}")
