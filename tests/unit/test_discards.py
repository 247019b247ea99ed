"""What blocks a recreate: files in a container's writable layer that nothing else keeps.

`discarded(diff, mount_points)` reads the engine's /containers/{id}/changes entries
(Kind 0 modified, 1 added, 2 deleted) and keeps only leaves that no noise rule, shared
folder or volume covers.
"""

from __future__ import annotations

import pytest

from devenv.converge.discards import describe, discarded
from devenv.converge.packaged import hand_made_work, new_package_lists

MODIFIED, ADDED, DELETED = 0, 1, 2


def diff(*entries: str | tuple[str, int]) -> list[dict[str, object]]:
    """Diff entries from paths (added) or (path, kind) pairs, as the engine lists them."""
    out: list[dict[str, object]] = []
    for entry in entries:
        path, kind = (entry, ADDED) if isinstance(entry, str) else entry
        out.append({"Path": path, "Kind": kind})
    return out


@pytest.mark.parametrize(
    "path",
    [
        "/tmp/build.log",
        "/var/tmp/x",
        "/run/sshd.pid",
        "/var/run/app.sock",
        "/var/cache/apt/pkgcache.bin",
        "/var/log/apt/history.log",
        "/var/lib/apt/lists/lock",
        "/root/.cache/pip/wheel",
        "/home/dev/.cache/pip/wheel",
        "/etc/devenv/ssh/ssh_host_ed25519_key",
    ],
)
def test_noise_trees_are_not_work(path: str) -> None:
    assert discarded(diff(path), []) == []


@pytest.mark.parametrize(
    "path",
    [
        "/etc/passwd",
        "/etc/passwd-",
        "/etc/group",
        "/etc/shadow",
        "/etc/gshadow-",
        "/etc/subuid",
        "/home/dev",
        "/root/.bash_history",
        "/home/dev/.bash_history",
        "/home/dev/.lesshst",
        "/root/.viminfo",
        "/.dockerenv",
        "/usr/sbin/docker-init",
    ],
)
def test_noise_files_are_not_work(path: str) -> None:
    assert discarded(diff((path, MODIFIED)), []) == []


@pytest.mark.parametrize(
    "path",
    [
        "/root/notes.txt",
        "/home/dev/notes.txt",  # /home/* is the home folder itself, not what is in it
        "/etc/hosts.allow",
        "/etc/passwd.bak",  # a noise file's name as a prefix is not the noise file
        "/tmpfile",  # a noise tree's name as a prefix is not the tree
        "/var/logs/app.log",
        "/usr/local/bin/tool",
    ],
)
def test_the_users_work_is_kept(path: str) -> None:
    assert discarded(diff(path), []) == [path]


@pytest.mark.parametrize(
    ("path", "kept"),
    [
        ("/home/dev/.cache/x", False),
        ("/home/a/b/.cache/x", True),  # '*' stands for one folder, never crosses '/'
        ("/home/dev/.bash_history", False),
        ("/home/dev/sub/.bash_history", True),
        ("/home/dev/.bashrc", False),  # modified: the chown at start
        ("/home/dev/sub/.bashrc", True),
    ],
)
def test_globs_match_one_path_segment(path: str, kept: bool) -> None:
    assert discarded(diff((path, MODIFIED)), []) == ([path] if kept else [])


def test_files_under_shared_folders_and_volumes_are_kept_by_their_mount() -> None:
    changes = diff("/var/www/index.php", "/var/lib/data/db.sqlite", "/var/wwwroot/x")
    assert discarded(changes, ["/var/www", "/var/lib/data"]) == ["/var/wwwroot/x"]


def test_mount_points_and_the_folders_made_to_hold_them_are_not_work() -> None:
    """The engine creates a mount point (and its missing parents) in the writable layer."""
    changes = diff("/srv", "/srv/app", "/srv/app/data", "/opt/empty")
    assert discarded(changes, ["/srv/app/data"]) == ["/opt/empty"]
    assert discarded(diff("/srv"), ["/srv/app/data"]) == []


@pytest.mark.parametrize("kind", [MODIFIED, ADDED])
def test_chowned_skeleton_files_count_only_when_added(kind: int) -> None:
    """At start the entrypoint chowns ~/.bashrc and friends (modified); an added one is work."""
    changes = diff(
        ("/home/dev/.bashrc", kind), ("/home/dev/.profile", kind), ("/home/dev/.bash_logout", kind)
    )
    expected = [] if kind == MODIFIED else sorted(e["Path"] for e in changes)  # type: ignore[type-var]
    assert discarded(changes, []) == expected


def test_the_workdir_handed_to_the_user_counts_only_for_what_is_in_it() -> None:
    """A remapped user is handed the box's own, empty workdir (its owner changes): that is no
    work; a file made in it, or the same change of another folder, still is."""
    assert discarded(diff(("/work/app", MODIFIED)), [], "/work/app") == []
    assert discarded(diff(("/work/app", MODIFIED)), [], "/") == ["/work/app"]
    assert discarded(diff(("/work/app", MODIFIED)), []) == ["/work/app"]
    made = diff(("/work/app", MODIFIED), ("/work/app/notes.txt", ADDED))
    assert discarded(made, [], "/work/app") == ["/work/app/notes.txt"]
    assert discarded(diff(("/work/app", ADDED)), [], "/work/app") == ["/work/app"]
    assert discarded(diff(("/work", MODIFIED)), [], "/work/app") == ["/work"]


def test_root_skeleton_files_are_not_chowned_so_they_count() -> None:
    assert discarded(diff(("/root/.bashrc", MODIFIED)), []) == ["/root/.bashrc"]


def test_only_leaves_count_not_the_folders_above_them() -> None:
    changes = diff(
        ("/etc", MODIFIED), "/etc/app", "/etc/app/app.conf", "/opt/tool", "/opt/tool/bin"
    )
    assert discarded(changes, []) == ["/etc/app/app.conf", "/opt/tool/bin"]


def test_a_folder_beside_a_longer_sibling_is_still_not_a_leaf() -> None:
    """'/srv-old' sorts between '/srv' and '/srv/app': /srv is a parent all the same."""
    assert discarded(diff("/srv", "/srv-old", "/srv/app"), []) == ["/srv-old", "/srv/app"]


def test_deleted_files_are_work_too() -> None:
    assert discarded(diff(("/etc/motd", DELETED)), []) == ["/etc/motd"]


def test_kind_missing_means_modified() -> None:
    assert discarded([{"Path": "/home/dev/.profile"}], []) == []


def test_nothing_changed_discards_nothing() -> None:
    assert discarded([], ["/var/www"]) == []


def test_result_is_sorted_whatever_the_engine_order() -> None:
    assert discarded(diff("/b", "/a/x", "/a"), []) == ["/a/x", "/b"]


@pytest.mark.parametrize(
    ("files", "text"),
    [
        (["/a"], "would discard 1 changed file: /a"),
        (["/a", "/b", "/c"], "would discard 3 changed files: /a, /b, /c"),
        (["/a", "/b", "/c", "/d", "/e"], "would discard 5 changed files: /a, /b, /c, … (2 more)"),
    ],
)
def test_describe_names_a_few_and_counts_the_rest(files: list[str], text: str) -> None:
    assert describe(files) == text


def test_podmans_etc_changed_alone_is_its_mount_points_not_work() -> None:
    assert discarded(diff(("/etc", MODIFIED)), []) == []
    assert discarded(diff(("/etc", MODIFIED), "/etc/motd"), []) == ["/etc/motd"]
    assert discarded(diff(("/etc", MODIFIED), ("/etc/issue", DELETED)), []) == ["/etc/issue"]


def test_derived_files_are_not_work() -> None:
    """Caches and links other files make again: compiled modules, ldconfig's cache, the
    certificate hash links; a certificate itself, and a file beside them, still count."""
    changes = diff(
        "/usr/lib/python3.11/__pycache__/os.cpython-311.pyc",
        "/srv/app/__pycache__/main.cpython-312.pyc",
        ("/etc/ld.so.cache", MODIFIED),
        "/etc/ssl/certs/002c0b4f.0",
        "/etc/ssl/certs/mine.pem",
        "/srv/app/main.py",
    )
    assert discarded(changes, []) == ["/etc/ssl/certs/mine.pem", "/srv/app/main.py"]


def test_a_hand_made_containers_packages_are_not_its_work() -> None:
    """Adopting a container: its packages' files (and dpkg's records) are installed again by
    the spec; what the image had and someone changed comes first."""
    changes = [
        {"Path": "/var/lib/dpkg/info/jq.list", "Kind": ADDED},
        {"Path": "/var/lib/dpkg/info/libjq1:amd64.list", "Kind": ADDED},
        {"Path": "/var/lib/dpkg/info/bash.list", "Kind": MODIFIED},  # upgraded: not new
        {"Path": "/var/lib/dpkg/info/sub/x.list", "Kind": ADDED},
        {"Path": "/var/lib/dpkg/status", "Kind": MODIFIED},
        {"Path": "/usr/bin/jq", "Kind": ADDED},
        {"Path": "/usr/lib/x86_64-linux-gnu/libjq.so.1", "Kind": ADDED},
        {"Path": "/etc/zz-added-by-hand", "Kind": ADDED},
        {"Path": "/etc/motd", "Kind": MODIFIED},
    ]
    assert new_package_lists(changes) == [
        "/var/lib/dpkg/info/jq.list",
        "/var/lib/dpkg/info/libjq1:amd64.list",
    ]
    owned = frozenset({"/usr/bin/jq", "/usr/lib/x86_64-linux-gnu/libjq.so.1"})
    assert hand_made_work(changes, discarded(changes, []), owned) == [
        "/etc/motd",
        "/etc/zz-added-by-hand",
    ]
