"""Issue 19: every place devenv writes on this machine goes through devenv.hostfiles, so a
link planted there (by a box sharing the folder, or by another local user) is refused, never
followed, and a state folder that is not the user's own is refused in one sentence."""

from __future__ import annotations

import io
import os
import stat
from pathlib import Path

import pytest

from devenv import hostfiles
from devenv.build.lockfile import Lock
from devenv.commands import lock as lock_command
from devenv.converge.memo import store
from devenv.converge.safety import one_apply_at_a_time
from devenv.converge.verdict import Wanted
from devenv.errors import DevenvError
from devenv.host import Host
from devenv.hostfiles import UnsafeFile
from devenv.images import bundle, pushlog


@pytest.fixture(autouse=True)
def _fresh_checks() -> None:
    hostfiles._OWN_FOLDERS.clear()


@pytest.fixture
def canary(tmp_path: Path) -> Path:
    """A file a planted link points at: root's, private; it must never change."""
    path = tmp_path / "canary"
    path.write_text("root's secret\n")
    os.chmod(path, 0o600)
    return path


def unchanged(canary: Path) -> bool:
    return canary.read_text() == "root's secret\n" and stat.S_IMODE(canary.stat().st_mode) == 0o600


@pytest.fixture
def open_state(tmp_path: Path) -> Path:
    """A state folder anyone can write (as /tmp itself, without the sticky bit)."""
    state = tmp_path / "state"
    state.mkdir()
    os.chmod(state, 0o777)
    return state


def host_at(state: Path) -> Host:
    return Host(uid=1000, gid=1000, home=state.parent, state_dir=state)


def test_apply_refuses_a_state_folder_others_can_write(open_state: Path) -> None:
    with (
        pytest.raises(UnsafeFile, match=f"devenv's state folder {open_state}/applying: "),
        one_apply_at_a_time(host_at(open_state), "box", lambda: None),
    ):
        pass
    assert not (open_state / "applying").exists()


def test_the_apply_turn_file_is_never_a_planted_link(tmp_path: Path, canary: Path) -> None:
    (tmp_path / "state" / "applying").mkdir(parents=True)
    (tmp_path / "state" / "applying" / "box").symlink_to(canary)
    with (
        pytest.raises(UnsafeFile, match="symbolic link"),
        one_apply_at_a_time(host_at(tmp_path / "state"), "box", lambda: None),
    ):
        pass
    assert unchanged(canary)


def test_the_cache_of_desired_states_is_not_trusted_in_a_folder_others_can_write(
    open_state: Path,
) -> None:
    assert store.read("/specs/box.yaml", str(open_state)) is None
    wanted = Wanted(
        name="box", spec="/specs/box.yaml", image="devenv/box:1", build_hash="b",
        config_hash="c", recorded={}, ports=(), mounts=(), networks=(),
        restart_policy="unless-stopped", base="debian:bookworm", base_present=True,
    )  # fmt: skip
    entry = store.Cached(
        spec="/specs/box.yaml", wanted=wanted, base="debian:bookworm", base_seen=None,
        user=None, workdir=None, engine="unix:///run/docker.sock", server="Docker",
    )  # fmt: skip
    with pytest.raises(UnsafeFile, match="can be written by other users"):
        store.write(entry, str(open_state))


def test_the_push_log_refuses_links_and_open_folders(
    tmp_path: Path, open_state: Path, canary: Path
) -> None:
    with pytest.raises(UnsafeFile):
        pushlog.record(open_state, "sha256:1", "r/x:1", "sha256:2")
    own = tmp_path / "own"
    own.mkdir()
    (own / pushlog.FILE_NAME).symlink_to(canary)
    with pytest.raises(UnsafeFile):
        pushlog.record(own, "sha256:1", "r/x:1", "sha256:2")
    assert pushlog.read(own) == [] and unchanged(canary)


@pytest.mark.parametrize("planted", ["box.lock", ".box.lock.partial"])
def test_a_lock_file_is_written_without_following_a_link_beside_the_spec(
    tmp_path: Path, canary: Path, planted: str
) -> None:
    """A box that shares the spec's folder can put links there; `devenv lock` must not
    write through them (the old partial file had a predictable name)."""
    (tmp_path / planted).symlink_to(canary)
    locked = lock_command.Locked(
        "box", tmp_path / "box.lock", Lock("debian:bookworm", "ref:x", (), {}), "pins\n", ()
    )
    if planted == "box.lock":
        with pytest.raises(UnsafeFile, match="symbolic link"):
            lock_command.write(locked)
    else:
        lock_command.write(locked)
        assert (tmp_path / "box.lock").read_text() == "pins\n"
    assert unchanged(canary)


def test_a_bundle_is_written_without_following_links(tmp_path: Path, canary: Path) -> None:
    images = io.BytesIO()
    (tmp_path / "envs.tar.partial").symlink_to(canary)  # the old predictable name
    bundle.write(tmp_path / "envs.tar", bundle.Contents(), images, "test")
    assert (tmp_path / "envs.tar").is_file() and unchanged(canary)
    (tmp_path / "other.tar").symlink_to(canary)
    with pytest.raises(UnsafeFile):
        bundle.write(tmp_path / "other.tar", bundle.Contents(), images, "test")
    assert unchanged(canary)


def test_a_bundled_key_file_that_is_a_fifo_is_one_sentence(tmp_path: Path) -> None:
    images = io.BytesIO()
    os.mkfifo(tmp_path / "me.pub")
    contents = bundle.Contents(files={"specs/me.pub": tmp_path / "me.pub"})
    with pytest.raises(DevenvError, match="not a regular file"):
        bundle.write(tmp_path / "envs.tar", contents, images, "test")
