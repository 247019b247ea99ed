"""Integration tests run against a real Docker engine.

Every resource the tests make carries a per-run label (through DEVENV_LABELS) and is
removed at the end, and every service a fixture starts is stopped: the session ends by
checking that no service process it started is still running. With CI set, an engine that
does not answer fails the run: these tests never skip silently there.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import subprocess
import sys
import textwrap
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.integration import processes
from tests.prerequisites import skip_or_fail

ROOT = Path(__file__).resolve().parents[2]
BASE_IMAGE = "debian:bookworm"
RUN_LABEL = f"io.devenv.test={uuid.uuid4().hex[:12]}"
STABLE_SECONDS = "1"  # the stably-up window for boxes whose subject is not the window


def _engine_answers() -> str | None:
    """None if the engine answers, else why not."""
    try:
        import docker

        docker.from_env(timeout=10).ping()
    except Exception as exc:
        return f"no Docker engine: {exc}"
    return None


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    here = Path(__file__).parent
    for item in items:
        if here in Path(str(item.fspath)).parents:
            item.add_marker(pytest.mark.integration)


@pytest.fixture(scope="session", autouse=True)
def nothing_left_running() -> Iterator[None]:
    """Set up before any other session fixture, so checked after each has stopped what it
    started: no service process (podman, sshd, socat, a registry…) this session started
    is left running on the host."""
    before = processes.running()
    yield
    left = processes.services_started_since(before)
    assert not left, "the session left these running:\n" + processes.format_processes(left)


@pytest.fixture(scope="session")
def docker_client():  # type: ignore[no-untyped-def]
    problem = _engine_answers()
    if problem:
        skip_or_fail(problem)
    import docker

    client = docker.from_env(timeout=300)
    if not client.images.list(name=BASE_IMAGE):
        subprocess.run(["bash", str(ROOT / "scripts" / "base-image"), BASE_IMAGE], check=True)
    yield client
    _clean(client)


def _clean(client) -> None:  # type: ignore[no-untyped-def]
    """Remove everything this run made, found by its label only."""
    label = {"label": RUN_LABEL}
    for container in client.containers.list(all=True, filters=label):
        container.remove(force=True, v=False)
    for _ in range(3):  # a base image goes only once the images built on it are gone
        for image in client.images.list(filters=label):
            for tag in image.tags or [image.id]:
                with contextlib.suppress(Exception):
                    client.images.remove(tag, force=True)
    for volume in client.volumes.list(filters=label):
        volume.remove(force=True)
    for network in client.networks.list(filters=label):
        network.remove()


@pytest.fixture(scope="session")
def state_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("devenv-state")


@pytest.fixture
def devenv_env(state_dir: Path, docker_client, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:  # type: ignore[no-untyped-def]
    """The environment every devenv run in a test gets: test label, private state folder."""
    env = {**os.environ, "DEVENV_LABELS": RUN_LABEL, "DEVENV_STATE_DIR": str(state_dir)}
    env.pop("DOCKER_HOST", None) if not os.environ.get("DOCKER_HOST") else None
    # boxes here run `sleep infinity` or die at once: 1 s proves them as well as the default
    # 3 s; the tests of the window itself (test_truth, test_ready) run with the default
    env["DEVENV_STABLE_SECONDS"] = STABLE_SECONDS
    monkeypatch.setenv("DEVENV_LABELS", RUN_LABEL)
    monkeypatch.setenv("DEVENV_STATE_DIR", str(state_dir))
    monkeypatch.setenv("DEVENV_STABLE_SECONDS", STABLE_SECONDS)
    return env


@dataclass
class Result:
    code: int
    out: str
    err: str


@pytest.fixture
def devenv(devenv_env: dict[str, str]) -> Callable[..., Result]:
    """Run the real CLI in a subprocess, as a user would (no TTY)."""

    def run(*args: str, stdin: str | None = None, timeout: int = 600) -> Result:
        proc = subprocess.run(
            [sys.executable, "-m", "devenv", *args],
            env=devenv_env,
            input=stdin,
            capture_output=True,
            text=True,
            timeout=timeout,
            stdin=None if stdin is not None else subprocess.DEVNULL,
        )
        assert "Traceback" not in proc.stderr, proc.stderr
        return Result(proc.returncode, proc.stdout, proc.stderr)

    return run


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture
def spec_dir(tmp_path: Path) -> Callable[..., Path]:
    """Write a spec file (dedented) into a fresh folder; returns its path."""
    folder = tmp_path / "envs"
    folder.mkdir()

    def write(name: str, text: str) -> Path:
        path = folder / f"{name}.yaml"
        path.write_text(textwrap.dedent(text))
        return path

    return write


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


@pytest.fixture
def name() -> Iterator[str]:
    yield unique("t")


@contextlib.contextmanager
def interpreter_open_to_others() -> Iterator[None]:
    """Let other local users run this interpreter (it may live under /root, 0700): the
    folders on its way get o+x for the block, and their modes back after."""
    prefix = Path(sys.base_prefix).resolve()
    modes = {folder: folder.stat().st_mode & 0o7777 for folder in [prefix, *prefix.parents]}
    closed = {folder: mode for folder, mode in modes.items() if not mode & 0o001}
    for folder, mode in closed.items():
        folder.chmod(mode | 0o001)
    try:
        yield
    finally:
        for folder, mode in closed.items():
            folder.chmod(mode)


def start_devenv(devenv_env: dict[str, str], *args: str, **extra_env: str) -> subprocess.Popen[str]:
    """The real CLI started in the background (no TTY), for a test that watches it run or
    interrupts it; its stdout and stderr are pipes."""
    return subprocess.Popen(
        [sys.executable, "-m", "devenv", *args],
        env={**devenv_env, **extra_env},
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


# ---- SSH into a box, as a user would ---------------------------------------------------------
def ssh_box(name: str, port: int, more: str = "") -> str:
    """A spec whose box `dev` logs into over SSH with ~/.ssh/id_ed25519 (see `home`), on
    127.0.0.1:`port`; with `more` (dedented YAML lines) appended."""
    return (
        f'name: {name}\nports: ["{port}:22"]\n'
        "sshd: {authorized_keys: [~/.ssh/id_ed25519.pub]}\nuser: dev\n" + textwrap.dedent(more)
    )


@pytest.fixture
def home(tmp_path: Path, devenv_env: dict[str, str]) -> Path:
    """A home folder with an SSH key pair, used as $HOME by devenv (so ~ expands into it)."""
    folder = tmp_path / "home"
    (folder / ".ssh").mkdir(parents=True)
    subprocess.run(
        ["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(folder / ".ssh" / "id_ed25519")],
        check=True,
    )
    devenv_env["HOME"] = str(folder)
    return folder


def ssh_config(devenv: Callable[..., Result], spec: Path, home: Path) -> Path:
    """`devenv ssh-config`'s blocks as the user's ~/ssh_config: plain ssh then checks the
    box's host key against devenv's known_hosts, strictly."""
    block = devenv("ssh-config", str(spec))
    assert block.code == 0, block.err
    config = home / "ssh_config"
    config.write_text(block.out)
    return config


def ssh(
    config: Path, host: str, *command: str, extra: tuple[str, ...] = (), stdin: str | None = None
) -> subprocess.CompletedProcess[str]:
    """Plain ssh through `config` (no password, no prompt), as a script would log in."""
    options = ["-F", str(config), "-o", "BatchMode=yes", "-o", "ConnectTimeout=5", *extra]
    return subprocess.run(
        ["ssh", *options, host, *command],
        input=stdin,
        capture_output=True,
        text=True,
        timeout=60,
        stdin=None if stdin is not None else subprocess.DEVNULL,
    )


RECORDER = ROOT / "tests" / "fixtures" / "roundtrip" / "recorder"


def recorder_spec(spec_dir: Callable[..., Path], name: str, more: str = "") -> Path:
    """A spec on the recorder image (its ENTRYPOINT writes its arguments and its user to
    /tmp/entry-args and /tmp/entry-user) with `entrypoint: image`, `command: [-m, "it's
    two"]` and `user: dev`, plus `more` (dedented YAML lines); the recorder's Dockerfile is
    copied beside it."""
    head = (
        f"name: {name}\nbase: {{dockerfile: ./recorder/Dockerfile, context: ./recorder}}\n"
        'entrypoint: image\ncommand: [-m, "it\'s two"]\nuser: dev\n'
    )
    spec = spec_dir(name, head + textwrap.dedent(more))
    shutil.copytree(RECORDER, spec.parent / "recorder")
    return spec
