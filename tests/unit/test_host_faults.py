"""Host-side faults (a file in the way, permissions, a full or read-only disk) are one
sentence naming the path; literal keys are checked as sshd reads them; the last resort
writes a crash log and exits 3."""

from __future__ import annotations

import errno
import os
import stat
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from devenv.errors import STATE_PATH, DevenvError, HostFileError, host_file_errors
from devenv.spec.hostpaths import authorized_keys, shared_host_path
from devenv.spec.keys import is_literal_key, key_problem
from devenv.spec.loader import SpecFile

ROOT = Path(__file__).resolve().parents[2]
ED25519 = (
    "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAILvSSIsM7KnpKuSWHJLSr+2He2Frd6gHrAG0za/HDgtM me@laptop"
)
ECDSA = (
    "ecdsa-sha2-nistp256 AAAAE2VjZHNhLXNoYTItbmlzdHAyNTYAAAAIbmlzdHAyNTYAAABBBL4LFGTb"
    "zQ4uq6juii6JvHm0hvPYmTA8I3Q/PZTPJXIOaAEqkkAfXxTYtI3LJO+xEo/OUoHiIRJZstO91qMAgTY= x"
)


@pytest.mark.parametrize(
    ("code", "words"),
    [
        (errno.EACCES, "permission denied"),
        (errno.ENOSPC, "the disk holding it is full"),
        (errno.EROFS, "its file system is read-only"),
    ],
)
def test_each_host_fault_is_one_sentence_naming_the_path(code: int, words: str) -> None:
    error = HostFileError("write the build log", "/state/envs/box/build.log", OSError(code, "x"))
    assert error.message == f"cannot write the build log /state/envs/box/build.log: {words}"
    assert error.hint and "\n" not in error.message


def test_a_path_below_a_file_names_the_file(tmp_path: Path) -> None:
    (tmp_path / "blocker").write_text("")
    with pytest.raises(HostFileError) as caught, host_file_errors("write", tmp_path, STATE_PATH):
        (tmp_path / "blocker" / "sub").mkdir(parents=True)
    message = str(caught.value)
    assert f"{tmp_path / 'blocker'} is a file, not a folder" in message
    assert "DEVENV_STATE_DIR" in message


@pytest.mark.parametrize(
    ("line", "words"),
    [
        ("ssh-ed25519 AAAAbad", "not valid base64"),
        ("ssh-ed25519 AAAA", "ends part-way through a key"),
        (ED25519.replace("AAAAC3", "AAAAC4", 1), "but its key data is of type"),
        ("ssh-rsa " + ED25519.split()[1], "its key data is of type 'ssh-ed25519'"),
        ("ssh-dss " + ED25519.split()[1], "DSA key"),
        ("ssh-ed448 " + ED25519.split()[1], "OpenSSH does not accept"),
        ("ssh-ed25519", "no key data"),
    ],
)
def test_malformed_literal_keys_are_refused_at_their_entry(
    problems: Callable[[str], list[str]], line: str, words: str
) -> None:
    found = problems(f"user: dev\nsshd:\n  authorized_keys:\n    - ~/.ssh/id.pub\n    - {line}\n")
    (problem,) = found
    assert problem.startswith("5:7: sshd.authorized_keys[1]: authorized key") and words in problem


@pytest.mark.parametrize(
    "line",
    [ED25519, ECDSA, f'command="echo hi there",no-pty {ED25519}', f"{ED25519.split(' me')[0]}"],
)
def test_good_keys_and_option_prefixes_are_accepted(line: str) -> None:
    assert is_literal_key(line) and key_problem(line) is None


def test_paths_are_not_keys() -> None:
    assert not is_literal_key("~/.ssh/id_ed25519.pub")
    assert not is_literal_key("./keys/ssh-team.pub")
    assert not is_literal_key("my keys/id.pub")


def test_key_files_are_checked_at_plan_time(
    load: Callable[[str], SpecFile], tmp_path: Path
) -> None:
    (tmp_path / "me.pub").write_text(f"# mine\n{ED25519}\nssh-ed25519 AAAAbad laptop\n")
    spec_file = load("user: dev\nsshd: {authorized_keys: [./me.pub]}\n")
    with pytest.raises(DevenvError) as caught:
        authorized_keys(spec_file, tmp_path)
    assert f"{tmp_path / 'me.pub'}:3: this key has key data that is not valid base64" in str(
        caught.value
    )
    (tmp_path / "me.pub").write_text(f"# mine\n{ED25519}\n")
    assert authorized_keys(spec_file, tmp_path) == ED25519 + "\n"


def test_a_shared_path_below_a_file_is_refused_before_apply(
    load: Callable[[str], SpecFile], tmp_path: Path
) -> None:
    (tmp_path / "blocker").write_text("")
    spec_file = load("shared: ['./blocker/sub:/srv', './app.ini:/etc/app.ini:ro']\n")
    with pytest.raises(DevenvError) as caught:
        shared_host_path(spec_file, 0)
    assert f"{tmp_path / 'blocker'} is a file, so no folder can be made below it" in str(
        caught.value
    )
    (tmp_path / "app.ini").write_text("x=1\n")
    assert shared_host_path(spec_file, 1) == tmp_path / "app.ini"


def test_system_files_are_refused_as_folders_are(load: Callable[[str], SpecFile]) -> None:
    spec_file = load("shared: ['/etc/hostname:/etc/hostname:ro']\n")
    with pytest.raises(DevenvError, match="inside the system location /etc"):
        shared_host_path(spec_file, 0)


def test_an_unexpected_error_is_one_line_a_crash_log_and_exit_3(tmp_path: Path) -> None:
    spec = tmp_path / "box.yaml"
    spec.write_text("name: box\n")
    env = {**os.environ, "DEVENV_STATE_DIR": str(tmp_path / "state"), "DEVENV_TEST_FAULT": "crash"}
    result = subprocess.run(
        [sys.executable, "-m", "devenv", "plan", str(spec)],
        env=env,
        capture_output=True,
        text=True,
        cwd=ROOT,
        check=False,
    )
    assert result.returncode == 3 and "Traceback" not in result.stderr
    first, hint = result.stderr.strip().splitlines()
    assert first.startswith("devenv: unexpected error (RuntimeError: test fault")
    log = Path(first.rsplit(" ", 1)[1])
    assert log.parent == tmp_path / "state" / "crash"
    assert "Traceback" in log.read_text() and "crash_point" in log.read_text()
    assert hint.strip().startswith("hint:")


def test_the_crash_log_falls_back_to_the_temp_folder(tmp_path: Path) -> None:
    (tmp_path / "blocker").write_text("")
    spec = tmp_path / "box.yaml"
    spec.write_text("name: box\n")
    env = {
        **os.environ,
        "DEVENV_STATE_DIR": str(tmp_path / "blocker" / "state"),
        "DEVENV_TEST_FAULT": "crash",
        "TMPDIR": str(tmp_path / "tmp"),
    }
    (tmp_path / "tmp").mkdir()
    result = subprocess.run(
        [sys.executable, "-m", "devenv", "plan", str(spec)],
        env=env,
        capture_output=True,
        text=True,
        cwd=ROOT,
        check=False,
    )
    assert result.returncode == 3
    log = Path(result.stderr.splitlines()[0].rsplit(" ", 1)[1])
    assert log.parent.parent == tmp_path / "tmp" and "Traceback" in log.read_text()
    assert log.parent.name.startswith("devenv-crash-") and log.parent.name != "devenv-crash-"
    assert stat.S_IMODE(log.parent.stat().st_mode) == 0o700  # a folder no one else can use
    assert stat.S_IMODE(log.stat().st_mode) == 0o600


def _crash(tmp_path: Path, state: Path) -> tuple[subprocess.CompletedProcess[str], Path]:
    spec = tmp_path / "box.yaml"
    spec.write_text("name: box\n")
    (tmp_path / "tmp").mkdir(exist_ok=True)
    env = {
        **os.environ,
        "DEVENV_STATE_DIR": str(state),
        "DEVENV_TEST_FAULT": "crash",
        "TMPDIR": str(tmp_path / "tmp"),
    }
    result = subprocess.run(
        [sys.executable, "-m", "devenv", "plan", str(spec)],
        env=env,
        capture_output=True,
        text=True,
        cwd=ROOT,
        check=False,
    )
    return result, Path(result.stderr.splitlines()[0].rsplit(" ", 1)[1])


def test_a_crash_log_is_never_written_in_a_state_folder_others_can_write(tmp_path: Path) -> None:
    """Issue 19: a world-writable state folder is not the user's; links planted in it (and
    the old /tmp/devenv-crash fallback's predictable name) are never followed."""
    state = tmp_path / "state"
    (state / "crash").mkdir(parents=True)
    os.chmod(state, 0o777)
    canary = tmp_path / "canary"
    canary.write_text("root's file")
    for second in range(-2, 5):  # a planted link for every name the crash could take
        stamp = time.strftime("%Y%m%d-%H%M%S", time.localtime(time.time() + second))
        for pid in range(os.getpid(), os.getpid() + 50):
            (state / "crash" / f"{stamp}-{pid}.log").symlink_to(canary)
    result, log = _crash(tmp_path, state)
    assert result.returncode == 3 and canary.read_text() == "root's file"
    assert not log.is_relative_to(state) and log.parent.parent == tmp_path / "tmp"
    assert stat.S_IMODE(log.stat().st_mode) == 0o600 and "Traceback" in log.read_text()


def test_a_crash_log_in_the_state_folder_is_private(tmp_path: Path) -> None:
    result, log = _crash(tmp_path, tmp_path / "state")
    assert result.returncode == 3 and log.parent == tmp_path / "state" / "crash"
    assert stat.S_IMODE(log.stat().st_mode) == 0o600
    assert stat.S_IMODE((tmp_path / "state").stat().st_mode) == 0o700


def test_a_bundle_below_a_file_is_one_sentence_before_any_build(tmp_path: Path) -> None:
    (tmp_path / "blocker").write_text("")
    spec = tmp_path / "box.yaml"
    spec.write_text("name: box\n")
    out = tmp_path / "blocker" / "envs.tar"
    result = subprocess.run(
        [sys.executable, "-m", "devenv", "export", "-o", str(out), str(spec)],
        env={**os.environ, "DEVENV_STATE_DIR": str(tmp_path / "state")},
        capture_output=True,
        text=True,
        cwd=ROOT,
        check=False,
    )
    assert result.returncode == 1 and "Traceback" not in result.stderr
    first = result.stderr.splitlines()[0]
    assert (
        first
        == f"devenv: cannot write the bundle {out}: {tmp_path / 'blocker'} is a file, not a folder"
    )


@pytest.mark.parametrize(
    ("raised", "words"),
    [
        (OSError(errno.ENOSPC, "No space left on device"), "a file on this machine"),
        (PermissionError(errno.EACCES, "Permission denied", "/state/x.log"), "cannot use /state"),
        (ConnectionResetError(errno.ECONNRESET, "Connection reset"), "cannot reach the Docker"),
    ],
)
def test_only_transport_errors_say_the_engine_cannot_be_reached(
    raised: OSError, words: str
) -> None:
    """Regression: a full disk while writing the build log read "cannot reach the engine"."""
    from devenv.engine import engine_errors

    with pytest.raises(DevenvError) as caught, engine_errors("building devenv/box:1"):
        raise raised
    assert words in str(caught.value)
    if not isinstance(raised, ConnectionError):
        assert "Docker engine" not in str(caught.value)
