"""Host-side faults on the real engine: each is one sentence for its env, and the other env of
the same folder converges; single-file shares; one name from two spec files; the crash log."""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.integration.conftest import Result, unique


def env_folder(tmp_path: Path, **specs: str) -> Path:
    """A folder of spec files, name → text."""
    folder = tmp_path / "envs"
    folder.mkdir(exist_ok=True)
    for env, text in specs.items():
        (folder / f"{env}.yaml").write_text(text)
    return folder


def one_failure(result: Result, env: str) -> str:
    """The failed env's line: exactly one, naming it, with no traceback anywhere."""
    assert result.code == 1, result.err
    assert "Traceback" not in result.err + result.out
    lines = [ln for ln in result.err.splitlines() if ln.startswith(f"✗ {env}: ")]
    assert len(lines) == 1, result.err
    return lines[0]


def test_a_shared_folder_below_a_file_fails_its_env_only(devenv, docker_client, tmp_path) -> None:  # type: ignore[no-untyped-def]
    """Regression: a NotADirectoryError traceback, and the other envs never reached."""
    bad, good = unique("blocked"), unique("fine")
    folder = env_folder(
        tmp_path,
        **{bad: f"name: {bad}\nshared: ['./blocker/sub:/srv']\n", good: f"name: {good}\n"},
    )
    (folder / "blocker").write_text("a file, not a folder\n")
    assert devenv("validate", str(folder)).code == 1  # caught first by validate, then plan
    result = devenv("apply", str(folder))
    line = one_failure(result, bad)
    assert f"{folder / 'blocker'} is a file, so no folder can be made below it" in line
    assert docker_client.containers.get(good).status == "running"
    assert not docker_client.containers.list(all=True, filters={"name": bad})


def run_cli(env: dict[str, str], *args: str, prefix: tuple[str, ...] = ()) -> Result:
    proc = subprocess.run(
        [*prefix, sys.executable, "-m", "devenv", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
        stdin=subprocess.DEVNULL,
    )
    return Result(proc.returncode, proc.stdout, proc.stderr)


# root ignores file modes; without these capabilities it obeys them as a user would
DROP_DAC = ("setpriv", "--bounding-set=-dac_override,-dac_read_search", "--inh-caps=-all")


@pytest.mark.parametrize("fault", ["file-in-the-way", "permission-denied"])
def test_an_unwritable_state_folder_fails_its_env_only(
    devenv_env, docker_client, tmp_path, fault
) -> None:  # type: ignore[no-untyped-def]
    bad, good = unique("nostate"), unique("fine")
    state = tmp_path / "state"
    (state / "envs").mkdir(parents=True)
    env = {**devenv_env, "DEVENV_STATE_DIR": str(state)}
    step = uuid.uuid4().hex  # a fresh build: it writes its log in the state folder
    folder = env_folder(
        tmp_path, **{bad: f"name: {bad}\nrun: ['true {step}']\n", good: f"name: {good}\n"}
    )
    prefix: tuple[str, ...] = ()
    if fault == "file-in-the-way":
        (state / "envs" / bad).write_text("")
        words = f"cannot write the build log {state / 'envs' / bad / 'build.log'}"
    else:  # another user's folder: devenv takes back a folder of its own (0700), not theirs
        (state / "envs" / bad).mkdir(mode=0o555)
        os.chown(state / "envs" / bad, 65534, 65534)
        prefix, words = DROP_DAC, f"devenv's state folder {state / 'envs' / bad}"
    result = run_cli(env, "apply", str(folder), prefix=prefix)
    line = one_failure(result, bad)
    assert words in line, line
    assert "Docker engine" not in result.err
    assert "DEVENV_STATE_DIR" in result.err
    assert docker_client.containers.get(good).status == "running"


def test_single_files_are_shared_read_only_and_read_write(
    devenv, docker_client, tmp_path, name
) -> None:  # type: ignore[no-untyped-def]
    folder = env_folder(
        tmp_path,
        **{
            name: f"name: {name}\nshared:\n  - ./app.ini:/etc/app.ini:ro\n"
            "  - ./notes.txt:/srv/notes.txt\n"
            "  - {host: ./absent, container: /absent, create: false}\n"
        },
    )
    (folder / "app.ini").write_text("level=1\n")
    (folder / "notes.txt").write_text("from the host\n")
    missing = devenv("apply", str(folder))
    assert f"shared path {folder / 'absent'} does not exist (create: false)" in missing.err
    assert not (folder / "absent").exists()
    spec = folder / f"{name}.yaml"
    spec.write_text(spec.read_text().replace("create: false", "create: true"))
    assert devenv("apply", str(folder)).code == 0
    assert (folder / "absent").is_dir()
    box = docker_client.containers.get(name)
    assert box.exec_run(["cat", "/etc/app.ini"]).output == b"level=1\n"
    with (folder / "app.ini").open("w") as handle:  # edited in place, as `>` does
        handle.write("level=2\n")
    assert box.exec_run(["cat", "/etc/app.ini"]).output == b"level=2\n"
    refused = box.exec_run(["sh", "-c", "echo from-box >> /etc/app.ini"])
    assert refused.exit_code != 0 and b"Read-only file system" in refused.output
    assert box.exec_run(["sh", "-c", "echo from the box >> /srv/notes.txt"]).exit_code == 0
    assert (folder / "notes.txt").read_text() == "from the host\nfrom the box\n"
    assert devenv("plan", "--detailed-exitcode", str(folder)).code == 0


def test_one_name_from_two_spec_files_is_a_conflict_until_takeover(
    devenv, docker_client, tmp_path, name
) -> None:  # type: ignore[no-untyped-def]
    """Regression: a second folder's spec of the same name silently replaced the first box."""
    first, second = tmp_path / "one" / f"{name}.yaml", tmp_path / "two" / f"{name}.yaml"
    for spec in (first, second):
        spec.parent.mkdir()
        spec.write_text(f"name: {name}\n")
    assert devenv("apply", str(first)).code == 0
    before = docker_client.containers.get(name).id
    refused = devenv("apply", "--yes", str(second))
    assert refused.code == 1
    assert str(first) in refused.err and str(second) in refused.err and "--takeover" in refused.err
    box = docker_client.containers.get(name)
    assert box.id == before and box.labels["io.devenv.spec"] == str(first)
    taken = devenv("apply", "--yes", "--takeover", str(second))
    assert taken.code == 0, taken.err
    box = docker_client.containers.get(name)
    assert box.id != before and box.labels["io.devenv.spec"] == str(second)
    assert box.status == "running"
    assert devenv("plan", "--detailed-exitcode", str(second)).code == 0
    assert devenv("apply", str(first)).code == 1  # now the first folder is the other one
    found = docker_client.containers.list(all=True, filters={"name": name})
    assert sorted(c.name for c in found) == [name, f"{name}.devenv-previous"]  # replaced: kept


def test_an_unexpected_error_leaves_a_crash_log_and_exits_3(
    devenv: Callable[..., Result], devenv_env: dict[str, str], state_dir: Path, tmp_path: Path
) -> None:
    folder = env_folder(tmp_path, box="name: box\n")
    devenv_env["DEVENV_TEST_FAULT"] = "crash"
    result = devenv("apply", str(folder))  # the fixture asserts: no traceback on screen
    assert result.code == 3
    first = result.err.strip().splitlines()[0]
    assert first.startswith("devenv: unexpected error (RuntimeError: test fault")
    log = Path(first.rsplit(" ", 1)[1])
    assert log.parent == state_dir / "crash"
    assert "Traceback (most recent call last)" in log.read_text()
