"""Shares are judged by what they are (issue 19): links and hard links followed, sockets,
devices and the engine's own files refused, the user's secrets read-only with a warning."""

from __future__ import annotations

import os
import socket
import stat
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from devenv.converge.desired import desire
from devenv.converge.plan import env_warnings
from devenv.engine.observed import Observed
from devenv.errors import DevenvError
from devenv.host import Host
from devenv.spec.loader import SpecFile
from devenv.spec.shares import shared_host_path


def refused(spec_file: SpecFile, home: Path | None = None) -> str:
    with pytest.raises(DevenvError) as caught:
        shared_host_path(spec_file, 0, home)
    assert "\n" not in caught.value.message and caught.value.hint
    return caught.value.message


@pytest.fixture
def unix_socket(tmp_path: Path) -> Iterator[Path]:
    path = tmp_path / "service.sock"
    server = socket.socket(socket.AF_UNIX)
    server.bind(str(path))
    yield path
    server.close()


def test_a_hard_link_to_a_socket_is_a_socket(
    load: Callable[[str], SpecFile], tmp_path: Path, unix_socket: Path
) -> None:
    """`ln /run/docker.sock ./dsock` passed the old guard, which looked at names only."""
    os.link(unix_socket, tmp_path / "dsock")
    spec_file = load("shared: ['./dsock:/var/run/docker.sock']\n")
    assert "is a socket" not in refused(spec_file)  # worded as what it is:
    assert "a socket: a way into a host service" in refused(spec_file)
    allowed = load("docker_socket: true\nshared: ['./dsock:/var/run/other.sock']\n")
    assert shared_host_path(allowed, 0) == tmp_path / "dsock"


def test_a_link_to_a_socket_anywhere_is_refused(
    load: Callable[[str], SpecFile], tmp_path: Path, unix_socket: Path
) -> None:
    (tmp_path / "linked").symlink_to(unix_socket)
    assert "a socket" in refused(load("shared: ['./linked:/srv/x.sock']\n"))


def test_a_named_pipe_and_a_device_are_refused(
    load: Callable[[str], SpecFile], tmp_path: Path
) -> None:
    os.mkfifo(tmp_path / "pipe")
    assert "a named pipe" in refused(load("shared: ['./pipe:/srv/pipe']\n"))
    if os.geteuid() == 0:
        os.mknod(tmp_path / "null", stat.S_IFCHR | 0o666, os.makedev(1, 3))
        assert "a device" in refused(load("shared: ['./null:/srv/null']\n"))


def test_a_hard_linked_file_may_be_a_system_file_by_another_name(
    load: Callable[[str], SpecFile], tmp_path: Path
) -> None:
    (tmp_path / "a.ini").write_text("x=1\n")
    os.link(tmp_path / "a.ini", tmp_path / "b.ini")
    assert "a hard-linked file (2 names" in refused(load("shared: ['./b.ini:/etc/app.ini:ro']\n"))


@pytest.mark.parametrize(
    ("host", "words"),
    [
        ("/var/lib/docker", "the container engine's own files (/var/lib/docker)"),
        ("/var/lib/docker/volumes", "the container engine's own files (/var/lib/docker)"),
        ("/var/lib/containerd", "the container engine's own files (/var/lib/containerd)"),
        ("/run/containerd", "the container engine's own files (/run/containerd)"),
        ("/var/lib/containers/storage", "own files (/var/lib/containers)"),
        ("/var/lib", "a folder holding the container engine's own files"),
        ("/var", "a folder holding the "),
        ("/proc/1/root", "inside the system location /proc"),
        ("/proc/self/cwd", "inside the system location /proc"),
        ("/sys/fs/cgroup", "inside the system location /sys"),
        ("/dev/shm", "inside the system location /dev"),
    ],
)
def test_the_engines_own_files_and_the_kernels_are_refused(
    load: Callable[[str], SpecFile], host: str, words: str
) -> None:
    message = refused(load(f"shared: [{{host: '{host}', container: /srv, readonly: true}}]\n"))
    assert words in message and message.endswith("devenv refuses to share it")


def test_the_engines_data_root_wherever_it_is_is_refused_at_plan(
    load: Callable[[str], SpecFile], tmp_path: Path
) -> None:
    """A data root moved off /var/lib/docker (daemon.json's data-root): the plan knows it from
    the engine's /info (Host.engine_paths) and refuses it, a folder in it or one holding it."""
    root = tmp_path / "srv" / "docker"
    (root / "volumes").mkdir(parents=True)
    host = Host(1000, 1000, tmp_path / "home", tmp_path / "state", (str(root),))
    for shared, words in (
        (root, f"the container engine's own files ({root})"),
        (root / "volumes", f"the container engine's own files ({root})"),
        (tmp_path / "srv", f"a folder holding the container engine's own files {root}"),
    ):
        spec_file = load(f"shared: ['{shared}:/srv']\n")
        assert shared_host_path(spec_file, 0)  # validate does not know the engine
        with pytest.raises(DevenvError, match="devenv refuses to share it") as caught:
            desire(spec_file, Observed(), host)
        assert words in caught.value.message
    assert desire(load(f"shared: ['{tmp_path / 'home'}:/h']\n"), Observed(), host)


def test_a_data_root_in_the_home_leaves_the_home_shareable(
    load: Callable[[str], SpecFile], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A rootless engine's data root is in the home: the home may still be shared."""
    home = tmp_path / "home"
    root = home / ".local" / "share" / "docker"
    root.mkdir(parents=True)
    monkeypatch.setenv("HOME", str(home))
    spec_file = load(f"shared: ['{home}:/h']\n")
    assert shared_host_path(spec_file, 0, home, (str(root),)) == home
    load_root = load(f"shared: ['{root}:/r']\n")
    with pytest.raises(DevenvError, match="own files"):
        shared_host_path(load_root, 0, home, (str(root),))


def test_a_bind_mount_of_etc_is_etc(load: Callable[[str], SpecFile], tmp_path: Path) -> None:
    (tmp_path / "conf").mkdir()
    mounted = subprocess.run(["mount", "--bind", "/etc", str(tmp_path / "conf")], check=False)
    if mounted.returncode != 0:
        pytest.skip("no bind mounts here")
    try:
        assert "/etc under another name" in refused(load("shared: ['./conf:/srv:ro']\n"))
    finally:
        subprocess.run(["umount", str(tmp_path / "conf")], check=True)


# ---- the user's secrets ------------------------------------------------------------------------


@pytest.fixture
def home(tmp_path: Path) -> Path:
    home = tmp_path / "home" / "ann"
    (home / ".ssh").mkdir(parents=True)
    (home / ".aws").mkdir()
    (home / "project").mkdir()
    return home


@pytest.mark.parametrize("secret", [".ssh", ".aws", ".ssh/config"])
def test_secrets_are_shared_read_only_only(
    load: Callable[[str], SpecFile], home: Path, secret: str
) -> None:
    message = refused(load(f"shared: ['{home / secret}:/home/dev/{secret}']\n"), home)
    assert f"secrets ({home / secret.split('/')[0]})" in message
    assert "read-only only" in message
    spec_file = load(f"shared: ['{home / secret}:/home/dev/{secret}:ro']\n")
    assert shared_host_path(spec_file, 0, home) == home / secret


def test_a_home_holding_secrets_is_shared_read_only_only(
    load: Callable[[str], SpecFile], home: Path
) -> None:
    message = refused(load(f"shared: ['{home}:/home/dev']\n"), home)
    assert f"a folder holding secrets ({home / '.ssh'})" in message
    assert shared_host_path(load(f"shared: ['{home / 'project'}:/src']\n"), 0, home)


def test_another_homes_secrets_are_secrets_too(load: Callable[[str], SpecFile]) -> None:
    assert "secrets (/root/.ssh)" in refused(load("shared: ['/root/.ssh:/keys']\n"), Path("/x"))


def test_a_project_folder_named_like_a_secret_is_a_project_folder(
    load: Callable[[str], SpecFile], tmp_path: Path
) -> None:
    (tmp_path / ".docker").mkdir()
    assert shared_host_path(load("shared: ['./.docker:/srv']\n"), 0, tmp_path / "home")


def test_a_secret_shared_read_only_is_a_plan_warning(
    load: Callable[[str], SpecFile], home: Path
) -> None:
    spec_file = load(f"shared: ['{home / '.ssh'}:/home/dev/.ssh:ro']\n")
    host = Host(uid=1000, gid=1000, home=home, state_dir=home / "state")
    want = desire(spec_file, Observed(), host)
    assert f"shares {home / '.ssh'} read-only: the box can read the secrets in it" in (
        env_warnings(want)
    )


# ---- located at validation ---------------------------------------------------------------------


def test_a_symlink_loop_and_an_unknown_user_are_located(
    problems: Callable[[str], list[str]], tmp_path: Path
) -> None:
    (tmp_path / "loop").symlink_to(tmp_path / "loop")
    assert problems("shared:\n  - ./loop:/srv\n") == [
        "2:5: shared[0].host: './loop' is a loop of symbolic links: point it at a real folder "
        "or file"
    ]
    assert problems("shared:\n  - ~nosuchuser/x:/srv\n") == [
        "2:5: shared[0].host: '~nosuchuser/x' names no user 'nosuchuser' on this machine: "
        "write ~/… for your own home"
    ]
