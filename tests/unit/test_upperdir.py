"""The overlay2 upper-dir walk on hand-made layers: what it reports, and where it declines
(so the engine is asked instead)."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from devenv.engine.upperdir import ADD, DELETE, MODIFY, Unsupported, layer_changes, layer_dirs
from tests.prerequisites import need_root


@pytest.fixture
def as_root() -> None:
    need_root("whiteouts and trusted xattrs need root")


AS_ROOT = pytest.mark.usefixtures("as_root")


def _tree(root: Path, files: dict[str, str]) -> None:
    for rel, text in files.items():
        path = root / rel.lstrip("/")
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)


def _copy_dir_times(lower: Path, upper: Path, rel: str) -> None:
    """A copied-up directory keeps the lower one's attributes."""
    info = (lower / rel).stat()
    os.chmod(upper / rel, stat.S_IMODE(info.st_mode))
    os.utime(upper / rel, ns=(info.st_atime_ns, info.st_mtime_ns))


def _changes(upper: Path, lower: Path) -> set[tuple[str, int]]:
    found = layer_changes(str(upper), [str(lower)])
    assert found is not None
    return {(c["Path"], c["Kind"]) for c in found}


def test_added_and_modified_files_and_their_parents(tmp_path: Path) -> None:
    lower, upper = tmp_path / "lower", tmp_path / "upper"
    _tree(lower, {"/etc/app.conf": "a", "/etc/other": "o", "/usr/bin/tool": "t"})
    _tree(upper, {"/etc/app.conf": "changed", "/root/work/notes.txt": "mine"})
    _copy_dir_times(lower, upper, "etc")
    os.utime(upper / "etc/app.conf", (1, 1))
    assert _changes(upper, lower) == {
        ("/etc", MODIFY),  # holds a change
        ("/etc/app.conf", MODIFY),
        ("/root", ADD),
        ("/root/work", ADD),
        ("/root/work/notes.txt", ADD),
    }


def test_a_directory_only_copied_up_is_no_change(tmp_path: Path) -> None:
    lower, upper = tmp_path / "lower", tmp_path / "upper"
    _tree(lower, {"/usr/lib/x": "x"})
    (upper / "usr/lib").mkdir(parents=True)
    _copy_dir_times(lower, upper, "usr/lib")
    _copy_dir_times(lower, upper, "usr")
    assert _changes(upper, lower) == set()


@AS_ROOT
def test_whiteouts_and_opaque_directories_are_deletions(tmp_path: Path) -> None:
    lower, upper = tmp_path / "lower", tmp_path / "upper"
    _tree(lower, {"/etc/issue": "i", "/opt/old/a": "1", "/opt/old/b": "2"})
    (upper / "etc").mkdir(parents=True)
    _copy_dir_times(lower, upper, "etc")
    os.mknod(upper / "etc/issue", stat.S_IFCHR | 0o600, 0)
    _tree(upper, {"/opt/old/b": "2", "/opt/old/new": "n"})
    os.setxattr(upper / "opt/old", "trusted.overlay.opaque", b"y")
    for rel in ("opt", "opt/old"):
        _copy_dir_times(lower, upper, rel)
    (upper / "opt/old/b").touch()
    os.utime(upper / "opt/old/b", ns=((lower / "opt/old/b").stat().st_mtime_ns,) * 2)
    assert _changes(upper, lower) == {
        ("/etc", MODIFY),
        ("/etc/issue", DELETE),
        ("/opt", MODIFY),
        ("/opt/old", MODIFY),
        ("/opt/old/a", DELETE),  # hidden by the opaque directory
        ("/opt/old/new", ADD),
    }


@AS_ROOT
def test_a_redirected_entry_is_left_to_the_engine(tmp_path: Path) -> None:
    lower, upper = tmp_path / "lower", tmp_path / "upper"
    _tree(lower, {"/srv/a": "a"})
    (upper / "srv2").mkdir(parents=True)
    os.setxattr(upper / "srv2", "trusted.overlay.redirect", b"/srv")
    with pytest.raises(Unsupported):
        layer_changes(str(upper), [str(lower)])


def test_only_a_local_docker_overlay2_layer_is_read(tmp_path: Path) -> None:
    assert layer_changes(str(tmp_path / "elsewhere"), []) is None  # a path on another machine
    data = {"UpperDir": "/u", "LowerDir": "/l1:/l2"}
    podman = {"GraphDriver": {"Name": "overlay", "Data": data}}
    assert layer_dirs(podman) is None
    docker = {"GraphDriver": {"Name": "overlay2", "Data": data}}
    assert layer_dirs(docker) == (("/u", ["/l1", "/l2"]) if os.geteuid() == 0 else None)
    assert layer_dirs({}) is None
