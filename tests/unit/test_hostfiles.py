"""The one door for files on this machine (issue 19): bounded reads of regular files only,
writes that never follow a link, and state folders that are the user's own."""

from __future__ import annotations

import os
import stat
import threading
import time
from pathlib import Path

import pytest

from devenv import hostfiles
from devenv.hostfiles import (
    InputRefused,
    UnsafeFile,
    create_file,
    open_own,
    own_folder,
    read_bounded,
    write_file,
)

NOBODY = 65534
as_root = pytest.mark.skipif(os.geteuid() != 0, reason="chown to another user needs root")


@pytest.fixture(autouse=True)
def _fresh_checks() -> None:
    hostfiles._OWN_FOLDERS.clear()


# ---- reads -----------------------------------------------------------------------------------


def test_a_regular_file_is_read_whole(tmp_path: Path) -> None:
    (tmp_path / "f").write_bytes(b"x" * 100)
    assert read_bounded(tmp_path / "f", 100) == b"x" * 100


@pytest.mark.parametrize(
    ("make", "kind"),
    [
        (lambda p: os.mkfifo(p), "special"),
        (lambda p: p.symlink_to("/dev/zero"), "special"),
        (lambda p: p.symlink_to("/proc/self/status"), "kernel"),
        (lambda p: p.symlink_to("/sys/kernel/mm/transparent_hugepage/enabled"), "kernel"),
        (lambda p: p.mkdir(), "folder"),
        (lambda p: p.write_bytes(b"x" * 101), "big"),
    ],
    ids=["fifo", "dev-zero", "proc", "sys", "folder", "big"],
)
def test_anything_but_a_small_regular_file_is_refused_at_once(
    tmp_path: Path, make: object, kind: str
) -> None:
    path = tmp_path / "input"
    make(path)  # type: ignore[operator]
    if not os.path.exists(path):
        pytest.skip("not on this kernel")
    started = time.monotonic()
    with pytest.raises(InputRefused) as refused:
        read_bounded(path, 100)
    assert refused.value.kind == kind and time.monotonic() - started < 1
    assert str(path) in refused.value.message and "\n" not in refused.value.message


def test_a_missing_file_is_the_os_error(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError):
        read_bounded(tmp_path / "nothing", 10)


def test_an_own_file_that_is_a_link_is_refused_not_followed(tmp_path: Path) -> None:
    (tmp_path / "secret").write_text("root's")
    (tmp_path / "key").symlink_to(tmp_path / "secret")
    with pytest.raises(UnsafeFile, match="symbolic link devenv did not make"):
        read_bounded(tmp_path / "key", 100, own=True)
    os.link(tmp_path / "secret", tmp_path / "hard")
    with pytest.raises(UnsafeFile, match="hard-linked"):
        read_bounded(tmp_path / "hard", 100, own=True)


# ---- writes ----------------------------------------------------------------------------------


def test_a_write_replaces_the_file_whole_with_its_mode(tmp_path: Path) -> None:
    target = tmp_path / "known_hosts"
    target.write_text("old")
    os.chmod(target, 0o666)
    write_file(target, "new\n", 0o600)
    assert target.read_text() == "new\n"
    assert stat.S_IMODE(target.stat().st_mode) == 0o600
    assert [p.name for p in tmp_path.iterdir()] == ["known_hosts"]  # no temporary left


@pytest.mark.parametrize("how", ["symlink", "hardlink", "fifo", "folder"])
def test_a_planted_target_is_refused_and_what_it_points_at_is_untouched(
    tmp_path: Path, how: str
) -> None:
    canary = tmp_path / "canary"
    canary.write_text("precious")
    os.chmod(canary, 0o600)
    target = tmp_path / "authorized_keys"
    {
        "symlink": lambda: target.symlink_to(canary),
        "hardlink": lambda: os.link(canary, target),
        "fifo": lambda: os.mkfifo(target),
        "folder": lambda: target.mkdir(),
    }[how]()
    with pytest.raises(UnsafeFile) as refused:
        write_file(target, "ssh-ed25519 AAAA evil\n", 0o644)
    assert str(target) in refused.value.message and refused.value.hint
    assert canary.read_text() == "precious"
    assert stat.S_IMODE(canary.stat().st_mode) == 0o600
    assert sorted(p.name for p in tmp_path.iterdir()) == ["authorized_keys", "canary"]


@as_root
def test_another_users_file_is_not_written_over(tmp_path: Path) -> None:
    target = tmp_path / "lock"
    target.write_text("theirs")
    os.chown(target, NOBODY, NOBODY)
    with pytest.raises(UnsafeFile, match="belongs to another user"):
        write_file(target, "mine")
    os.chown(tmp_path, NOBODY, NOBODY)  # in their own folder it is theirs to have: kept
    write_file(target, "mine")
    assert target.stat().st_uid == NOBODY  # root replacing it keeps its owner


def test_a_log_is_created_anew_never_through_a_link(tmp_path: Path) -> None:
    canary = tmp_path / "canary"
    canary.write_text("precious")
    (tmp_path / "build.log").symlink_to(canary)
    with pytest.raises(UnsafeFile):
        create_file(tmp_path / "build.log")
    (tmp_path / "build.log").unlink()
    with create_file(tmp_path / "build.log") as log:
        log.write("step 1\n")
    assert (tmp_path / "build.log").read_text() == "step 1\n"
    assert stat.S_IMODE((tmp_path / "build.log").stat().st_mode) == 0o600


def test_an_append_or_turn_file_refuses_links(tmp_path: Path) -> None:
    canary = tmp_path / "canary"
    canary.write_text("precious")
    (tmp_path / "pushes.jsonl").symlink_to(canary)
    with pytest.raises(UnsafeFile):
        open_own(tmp_path / "pushes.jsonl", append=True)
    os.link(canary, tmp_path / "turn")
    with pytest.raises(UnsafeFile):
        open_own(tmp_path / "turn")
    assert canary.read_text() == "precious"
    with open_own(tmp_path / "fresh", append=True) as log:
        log.write("line\n")
    assert stat.S_IMODE((tmp_path / "fresh").stat().st_mode) == 0o600


def test_a_fifo_as_turn_file_does_not_hang(tmp_path: Path) -> None:
    os.mkfifo(tmp_path / "turn")
    done = threading.Event()

    def attempt() -> None:
        with pytest.raises(UnsafeFile):
            open_own(tmp_path / "turn")
        done.set()

    threading.Thread(target=attempt, daemon=True).start()
    assert done.wait(5)


# ---- the user's own folders ------------------------------------------------------------------


def test_a_missing_state_folder_is_made_private(tmp_path: Path) -> None:
    state = tmp_path / "home" / ".local" / "state" / "devenv"
    own_folder(state)
    assert stat.S_IMODE(state.stat().st_mode) == 0o700
    assert stat.S_IMODE(state.parent.stat().st_mode) == 0o700


def test_an_older_open_state_folder_is_closed(tmp_path: Path) -> None:
    state = tmp_path / "state"
    state.mkdir(mode=0o755)
    os.chmod(state, 0o755)
    own_folder(state)
    assert stat.S_IMODE(state.stat().st_mode) == 0o700


def test_a_read_only_state_folder_is_closed_without_gaining_write(tmp_path: Path) -> None:
    """0555: others lose their bits; the owner gains none (devenv does not widen anything)."""
    state = tmp_path / "state"
    state.mkdir()
    os.chmod(state, 0o555)
    try:
        own_folder(state)
        assert stat.S_IMODE(state.stat().st_mode) == 0o500
    finally:
        os.chmod(state, 0o700)


@pytest.mark.parametrize("mode", [0o777, 0o1777, 0o757])
def test_a_state_folder_others_can_write_is_refused(tmp_path: Path, mode: int) -> None:
    state = tmp_path / "state"
    state.mkdir()
    os.chmod(state, mode)
    with pytest.raises(UnsafeFile) as refused:
        own_folder(state)
    assert refused.value.message.startswith(f"devenv's state folder {state}: {state} can be")
    assert f"mode {mode:04o}" in refused.value.message
    assert "DEVENV_STATE_DIR" in str(refused.value.hint)


def test_a_folder_on_the_way_others_can_write_is_refused_unless_sticky(tmp_path: Path) -> None:
    shared = tmp_path / "shared"
    shared.mkdir()
    os.chmod(shared, 0o777)
    with pytest.raises(UnsafeFile, match=f"{shared} can be written by other users"):
        own_folder(shared / "mine" / "devenv")
    assert not (shared / "mine").exists()  # nothing made inside it
    os.chmod(shared, 0o1777)  # as /tmp: others cannot rename what is mine
    own_folder(shared / "mine" / "devenv")


def test_a_link_into_an_open_folder_is_refused(tmp_path: Path) -> None:
    shared = tmp_path / "shared"
    (shared / "state").mkdir(parents=True)
    os.chmod(shared, 0o777)
    (tmp_path / "state").symlink_to(shared / "state")
    with pytest.raises(UnsafeFile) as refused:
        own_folder(tmp_path / "state")
    assert f"(through a symbolic link, {shared / 'state'})" in refused.value.message


@as_root
def test_a_state_folder_another_user_owns_is_refused(tmp_path: Path) -> None:
    state = tmp_path / "state"
    state.mkdir(mode=0o700)
    os.chown(state, NOBODY, NOBODY)
    with pytest.raises(UnsafeFile, match=f"{state} belongs to another user \\(uid {NOBODY}\\)"):
        own_folder(state)
