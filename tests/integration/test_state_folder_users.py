"""The state folder is the user's own (issue 19), tried as a second local user made for this
test (useradd, in the docker group: root-equivalent, as devenv's users are) and as root.

devenv runs as that user through `runuser -u`, with a clean environment: its own HOME, the
checkout on PYTHONPATH, the test label. Nothing here builds or creates a container: `plan`
reads the engine and writes the state folder, which is what is under test.
"""

from __future__ import annotations

import os
import pwd
import shutil
import stat
import subprocess
import sys
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.integration.conftest import (
    ROOT,
    RUN_LABEL,
    Result,
    free_port,
    interpreter_open_to_others,
)

pytestmark = pytest.mark.skipif(
    os.geteuid() != 0 or not shutil.which("useradd") or not shutil.which("runuser"),
    reason="making a second local user needs root, useradd and runuser",
)


class User:
    def __init__(self, name: str) -> None:
        entry = pwd.getpwnam(name)
        self.name, self.uid, self.home = name, entry.pw_uid, Path(entry.pw_dir)

    def devenv(self, *args: str, **environ: str) -> Result:
        """The real CLI as this user, in their home, with a clean environment."""
        env = {
            "HOME": str(self.home),
            "PATH": os.environ["PATH"],
            "PYTHONPATH": str(ROOT),
            "DEVENV_LABELS": RUN_LABEL,
            **environ,
        }
        settings = [f"{key}={value}" for key, value in env.items()]
        command = [sys.executable, "-m", "devenv", *args]
        proc = subprocess.run(
            ["runuser", "-u", self.name, "--", "env", "-i", *settings, *command],
            cwd=self.home,
            capture_output=True,
            text=True,
            timeout=300,
            stdin=subprocess.DEVNULL,
            check=False,
        )
        assert "Traceback" not in proc.stderr, proc.stderr
        return Result(proc.returncode, proc.stdout, proc.stderr)

    def make(self, path: Path, mode: int = 0o755) -> Path:
        """A folder (and its missing parents under their home) that belongs to this user."""
        path.mkdir(parents=True, exist_ok=True)
        os.chown(path, self.uid, self.uid)
        os.chmod(path, mode)
        return path


@pytest.fixture(scope="module")
def user(docker_client) -> Iterator[User]:  # type: ignore[no-untyped-def]
    name = f"devenv-{uuid.uuid4().hex[:8]}"
    subprocess.run(
        ["useradd", "--create-home", "--user-group", "--groups", "docker", name], check=True
    )
    try:
        found = User(name)
        os.chmod(found.home, 0o755)  # as Debian makes homes; the test reads it as root
        with interpreter_open_to_others():
            yield found
    finally:
        subprocess.run(["userdel", "--remove", name], check=False, capture_output=True)


@pytest.fixture
def open_tmp() -> Iterator[Path]:
    """A folder in /tmp the second user can reach (pytest's tmp_path is root's, 0700)."""
    folder = Path(tempfile.mkdtemp(prefix="devenv-users-"))
    os.chmod(folder, 0o755)
    yield folder
    shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture
def spec(user: User) -> Path:
    """A spec in a project folder of the user's, sharing a folder of theirs."""
    project = user.make(user.home / f"project-{uuid.uuid4().hex[:6]}")
    user.make(project / "src")
    path = project / "box.yaml"
    path.write_text(f"name: {project.name}\nshared: ['./src:/src']\n")
    os.chown(path, user.uid, user.uid)
    return path


def one_sentence(result: Result, words: str) -> str:
    assert result.code == 1, (result.code, result.err)
    lines = result.err.strip().splitlines()
    assert len(lines) == 2 and lines[1].startswith("  hint: "), lines
    assert words in lines[0], lines[0]
    return lines[0]


def test_the_state_folder_is_made_0700_for_its_user(user: User, spec: Path) -> None:
    result = user.devenv("plan", str(spec))
    assert result.code == 0, result.err
    state = user.home / ".local" / "state" / "devenv"
    for folder in (state, state / "cache", state / "cache" / "desired"):
        info = folder.stat()
        assert (info.st_uid, stat.S_IMODE(info.st_mode)) == (user.uid, 0o700), folder
    (entry,) = (state / "cache" / "desired").iterdir()
    assert entry.stat().st_uid == user.uid and stat.S_IMODE(entry.stat().st_mode) == 0o600


@pytest.mark.parametrize("mode", [0o777, 0o770, 0o1777])
def test_a_state_folder_others_can_write_is_refused(
    user: User, spec: Path, open_tmp: Path, mode: int
) -> None:
    state = user.make(open_tmp / "open", mode)
    os.chown(state, user.uid, 100)  # a group of others (users), not the user's own group
    line = one_sentence(
        user.devenv("plan", str(spec), DEVENV_STATE_DIR=str(state)),
        f"devenv's state folder {state}: {state} can be written by other users",
    )
    assert f"(mode {mode:04o})" in line
    assert list(state.iterdir()) == []  # nothing written there


def test_a_state_folder_another_user_owns_is_refused(
    user: User, spec: Path, open_tmp: Path
) -> None:
    state = open_tmp / "roots"
    state.mkdir(mode=0o755)
    one_sentence(
        user.devenv("plan", str(spec), DEVENV_STATE_DIR=str(state)),
        f"devenv's state folder {state}: {state} belongs to another user (uid 0)",
    )


def test_a_link_into_a_folder_others_can_write_is_refused(
    user: User, spec: Path, open_tmp: Path
) -> None:
    shared = user.make(open_tmp / "shared", 0o777)  # not sticky: anyone may swap its entries
    user.make(shared / "state", 0o700)
    link = user.home / f"state-link-{uuid.uuid4().hex[:6]}"
    link.symlink_to(shared / "state")
    os.chown(link, user.uid, user.uid, follow_symlinks=False)
    one_sentence(
        user.devenv("plan", str(spec), DEVENV_STATE_DIR=str(link)),
        f"(through a symbolic link, {shared / 'state'}): {shared} can be written by other users",
    )


def test_root_refuses_a_state_folder_a_user_owns(
    user: User, spec: Path, devenv_env: dict[str, str]
) -> None:
    """Root pointed at a folder another user owns (who could plant links in it) refuses."""
    theirs = user.make(user.home / "their-state", 0o700)
    env = {**devenv_env, "DEVENV_STATE_DIR": str(theirs)}
    env.pop("SUDO_UID", None)
    proc = subprocess.run(
        [sys.executable, "-m", "devenv", "plan", str(spec)],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    result = Result(proc.returncode, proc.stdout, proc.stderr)
    line = one_sentence(result, f"devenv's state folder {theirs}")
    assert f"belongs to another user (uid {user.uid})" in line
    assert list(theirs.iterdir()) == []


def test_a_crash_log_goes_to_a_private_folder_never_a_foreign_one(
    user: User, spec: Path, open_tmp: Path
) -> None:
    state = user.make(open_tmp / "open-state", 0o777)
    result = user.devenv("plan", str(spec), DEVENV_STATE_DIR=str(state), DEVENV_TEST_FAULT="crash")
    assert result.code == 3, result.err
    log = Path(result.err.splitlines()[0].rsplit(" ", 1)[1])
    assert not log.is_relative_to(state) and log.parent.name.startswith("devenv-crash-")
    for path, mode in ((log, 0o600), (log.parent, 0o700)):
        info = path.stat()
        assert (info.st_uid, stat.S_IMODE(info.st_mode)) == (user.uid, mode), path
    shutil.rmtree(log.parent)


@pytest.mark.parametrize(("below", "mode"), [("", 0o700), ("/inside", 0o700), ("", 0o755)])
def test_a_user_cannot_share_what_they_cannot_use(
    user: User, open_tmp: Path, below: str, mode: int
) -> None:
    """The engine mounts as root: a docker-group user must not reach root's files by it
    (a root-only folder, a path below one, a folder they may read but not write)."""
    project = user.make(user.home / f"sharing-{uuid.uuid4().hex[:6]}")
    private = open_tmp / "root-only"
    (private / "inside").mkdir(parents=True)
    os.chmod(private, mode)
    spec = project / "box.yaml"
    readonly = ":ro" if mode == 0o700 else ""
    spec.write_text(f"name: {project.name}\nshared: ['{private}{below}:/srv{readonly}']\n")
    os.chown(spec, user.uid, user.uid)
    verb = "read" if readonly else "write"
    one_sentence(user.devenv("validate", str(spec)), f"a path you cannot {verb} yourself")


def as_sudo(user: User, *args: str) -> Result:
    """The real CLI as `sudo devenv` run by `user` gives it: root, SUDO_* naming the user,
    HOME root's, their folder as the working one."""
    env = {
        "HOME": "/root",
        "PATH": os.environ["PATH"],
        "PYTHONPATH": str(ROOT),
        "DEVENV_LABELS": RUN_LABEL,
        "SUDO_UID": str(user.uid),
        "SUDO_GID": str(pwd.getpwnam(user.name).pw_gid),
        "SUDO_USER": user.name,
    }
    proc = subprocess.run(
        [sys.executable, "-m", "devenv", *args],
        env=env,
        cwd=user.home,
        capture_output=True,
        text=True,
        timeout=600,
        stdin=subprocess.DEVNULL,
        check=False,
    )
    assert "Traceback" not in proc.stderr, proc.stderr
    return Result(proc.returncode, proc.stdout, proc.stderr)


@pytest.mark.skipif(not shutil.which("ssh-keygen"), reason="needs ssh-keygen")
def test_under_sudo_devenv_acts_for_the_user_who_ran_it(user: User) -> None:
    """The user applies; `sudo devenv` then sees the same env (no changes), in the same
    state folder and apply turn, and what it makes there is the user's, not root's."""
    project = user.make(user.home / f"sudo-{uuid.uuid4().hex[:6]}")
    name = project.name
    ssh = user.make(user.home / ".ssh", 0o700)
    if not (ssh / "id_ed25519.pub").exists():
        key = ["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(ssh / "id_ed25519")]
        subprocess.run(["runuser", "-u", user.name, "--", *key], check=True)
    spec = project / "box.yaml"
    spec.write_text(
        f"name: {name}\nuser: dev\nshared: ['~/{name}-data:/data']\n"
        f"ports: ['127.0.0.1:{free_port()}:22']\n"
        "sshd: {}\ncommand: [sleep, infinity]\n"  # its key: the user's ~/.ssh/id_*.pub
    )
    os.chown(spec, user.uid, user.uid)
    try:
        applied = user.devenv("apply", "--yes", str(spec))
        assert applied.code == 0, applied.err
        planned = as_sudo(user, "plan", "--detailed-exitcode", str(spec))
        assert planned.code == 0, planned.out + planned.err
        again = as_sudo(user, "apply", "--yes", str(spec))
        assert again.code == 0, again.err
        assert as_sudo(user, "ssh-config", str(spec)).code == 0
        assert user.devenv("plan", "--detailed-exitcode", str(spec)).code == 0
        state = user.home / ".local" / "state" / "devenv"
        assert (state / "envs" / name / "ssh" / "authorized_keys").is_file()
        roots = [p for p in [state, *state.rglob("*")] if p.lstat().st_uid != user.uid]
        assert roots == [], roots
        assert (user.home / f"{name}-data").stat().st_uid == user.uid
        assert not Path("/root/.local/state/devenv/envs", name).exists()
    finally:
        user.devenv("destroy", "--yes", str(spec))
