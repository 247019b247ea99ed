"""The lock file's pure parts: format, diff of package lists, the check, pinned rendering."""

from __future__ import annotations

import shlex

import pytest

from devenv.build.lockfile import (
    Lock,
    added_packages,
    dump,
    machine_bound,
    mismatch,
    missing_pins,
    moved,
    parse,
    parse_dpkg_list,
    snapshot_mirror,
    snapshot_of,
    unserved_error,
)
from devenv.build.render import render
from devenv.errors import DevenvError
from devenv.spec.models import Spec

LOCK = Lock(
    base="debian:bookworm",
    base_identity="digest:sha256:" + "a" * 64,
    requested=("jq",),
    packages={"libjq1": "1.6-2.1+deb12u2", "jq": "1.6-2.1+deb12u2", "libonig5": "1:6.9.8-1"},
)


def test_dump_is_sorted_quoted_headed_and_reads_back() -> None:
    text = dump(LOCK, "php", "1.2.3")
    assert text.startswith("# Written by `devenv lock` (devenv 1.2.3) for env php")
    body = [line for line in text.splitlines() if line.startswith("  ")]
    assert body == [
        '  "jq": "1.6-2.1+deb12u2"',
        '  "libjq1": "1.6-2.1+deb12u2"',
        '  "libonig5": "1:6.9.8-1"',  # an epoch stays text, never a sexagesimal number
    ]
    assert parse(text, "php.lock") == LOCK
    assert parse(text, "php.lock").packages == LOCK.packages


def test_a_local_base_is_noted_as_not_fetchable_elsewhere() -> None:
    local = Lock("debian:bookworm", "id:sha256:" + "b" * 64, (), {})
    text = dump(local, "php", "1")
    assert "only this engine can rebuild it" in text
    assert parse(text, "php.lock") == local


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ("nonsense", "is not a devenv lock file"),
        ("format_version: 1\nrequested: []\n", "lacks its 'packages'"),
        (
            'format_version: 1\nbase: "d"\nbase_identity: "id:x"\nrequested: [jq]\npackages: {}\n',
            "requests jq but pins no version",
        ),
        (
            'format_version: 1\nbase: "d"\nbase_identity: "id:x"\nrequested: []\n'
            'packages: {"jq": "1; rm -rf /"}\n',
            "version '1; rm -rf /' is not valid",
        ),
    ],
)
def test_a_malformed_lock_is_one_sentence_naming_the_file(text: str, says: str) -> None:
    with pytest.raises(DevenvError) as caught:
        parse(text, "envs/php.lock")
    assert caught.value.message.startswith("envs/php.lock")
    assert says in caught.value.message
    assert "devenv lock --update" in (caught.value.hint or "")


def test_dpkg_list_and_what_the_image_adds() -> None:
    base = parse_dpkg_list("bash\t5.2.15-2+b2\tinstalled\nlibc6\t2.36-9+deb12u7\tinstalled\n")
    image = parse_dpkg_list(
        "bash\t5.2.15-2+b2\tinstalled\nlibc6\t2.36-9+deb12u9\tinstalled\n"
        "jq\t1.6-2.1\tinstalled\ngone\t1.0\tconfig-files\nbroken line\n"
    )
    assert added_packages(base, image) == {"jq": "1.6-2.1", "libc6": "2.36-9+deb12u9"}


def test_check_names_what_changed() -> None:
    assert mismatch(LOCK, "debian:bookworm", ["jq"]) is None
    assert mismatch(LOCK, "debian:bookworm", ["jq=1.6-2.1+deb12u2"]) is None
    assert mismatch(LOCK, "debian:bookworm", ["jq", "git"]) == "packages added: git"
    assert mismatch(LOCK, "debian:trixie", []) == (
        "base debian:bookworm → debian:trixie; packages removed: jq"
    )


def test_moved_lines_show_what_an_update_changes() -> None:
    new = Lock(
        LOCK.base,
        LOCK.base_identity,
        ("jq",),
        {"jq": "1.6-2.1+deb12u3", "libjq1": "1.6-2.1+deb12u3", "libnew": "2"},
    )
    assert moved(LOCK, new) == [
        "jq 1.6-2.1+deb12u2 → 1.6-2.1+deb12u3",
        "libjq1 1.6-2.1+deb12u2 → 1.6-2.1+deb12u3",
        "libnew + 2",
        "libonig5 - 1:6.9.8-1",
    ]
    assert moved(LOCK, LOCK) == []


def test_a_lock_renders_one_pinned_layer_and_enters_the_hash() -> None:
    spec = Spec(name="php", apt={"packages": ["jq"]})
    plain, pinned = render(spec), render(spec, lock=LOCK)
    assert plain.build_hash != pinned.build_hash
    lines = [line for line in pinned.dockerfile.splitlines() if "apt-get install" in line]
    assert len(lines) == 1
    assert "jq=1.6-2.1+deb12u2 libjq1=1.6-2.1+deb12u2 libonig5=1:6.9.8-1" in lines[0]
    assert "apt-get install -y --no-install-recommends jq " not in pinned.dockerfile
    edited = Lock(LOCK.base, LOCK.base_identity, ("jq",), {**LOCK.packages, "jq": "1.6-2.1"})
    assert render(spec, lock=edited).build_hash != pinned.build_hash


def test_pins_are_shell_quoted_words() -> None:
    spec = Spec(name="php", apt={"packages": ["jq"]})
    dockerfile = render(spec, lock=LOCK).dockerfile
    assert shlex.quote("libonig5=1:6.9.8-1") in dockerfile


def test_valid_until_is_relaxed_only_when_asked() -> None:
    relaxed = Spec(name="php", apt={"check_valid_until": False})
    assert 'Acquire::Check-Valid-Until \\"false\\";' in render(relaxed).dockerfile
    assert "Valid-Until" not in render(Spec(name="php")).dockerfile


def test_an_unserved_pin_is_one_sentence_with_the_ways_out() -> None:
    log = "Step 3/9 : RUN …devenv-lock-missing:…\ndevenv-lock-missing: jq=1.6-2.1+deb12u2 a=1\n"
    assert missing_pins(log) == ["jq=1.6-2.1+deb12u2", "a=1"]
    from pathlib import Path

    error = unserved_error("php", Path("envs/php.lock"), log)
    assert error is not None
    assert error.headline == (
        "php: the apt mirror no longer serves jq 1.6-2.1+deb12u2, a 1, pinned in envs/php.lock"
    )
    assert "snapshot.debian.org" in (error.hint or "") and "lock --update" in (error.hint or "")
    assert unserved_error("php", Path("x.lock"), "E: something else\n") is None


def test_lock_check_reads_the_lock_beside_each_spec(tmp_path) -> None:  # type: ignore[no-untyped-def]
    from devenv.commands.lock import check

    spec = tmp_path / "php.yaml"
    spec.write_text("apt:\n  packages: [jq]\n")
    assert check([str(spec)]) == (
        [],
        [f"php: {tmp_path / 'php.lock'} does not exist (run `devenv lock`)"],
    )
    (tmp_path / "php.lock").write_text(dump(LOCK, "php", "1"))
    assert check([str(spec)]) == ([f"php: {tmp_path / 'php.lock'} matches its spec"], [])
    spec.write_text("apt:\n  packages: [jq, git]\n")
    _fine, problems = check([str(spec)])
    assert problems == [
        f"php: {tmp_path / 'php.lock'} no longer matches its spec (packages added: git)"
    ]


MADE = Lock(
    base="devenv-base/debian:bookworm-0123456789ab",
    base_identity="recipe:" + "b" * 64,
    requested=("jq",),
    packages={"jq": "1.6-2.1+deb12u2"},
    base_packages={"libc6": "2.36-9+deb12u10", "base-files": "12.4+deb12u10"},
    snapshot="20250520T000000Z",
)


def test_a_made_base_keeps_its_packages_and_snapshot_through_the_file() -> None:
    assert parse(dump(MADE, "php", "1"), "php.lock") == MADE
    assert parse(dump(MADE, "php", "1"), "php.lock").base_packages == MADE.base_packages
    dockerfile = Lock("dockerfile:docker/Dockerfile", "dockerfile:" + "c" * 64, (), {})
    assert parse(dump(dockerfile, "df", "1"), "df.lock") == dockerfile
    with pytest.raises(DevenvError, match="snapshot 'yesterday' is not valid"):
        parse(dump(MADE, "php", "1").replace("20250520T000000Z", "yesterday"), "php.lock")


def test_the_snapshot_is_the_mirrors_else_the_last_locks_while_the_base_holds_the_same() -> None:
    snap = "http://snapshot.debian.org/archive/debian/20240101T000000Z/"
    assert snapshot_of(snap, MADE, MADE) == "20240101T000000Z"
    assert snapshot_of("http://deb.debian.org/debian", MADE, MADE) == "20250520T000000Z"
    moved_base = Lock(**{**MADE.__dict__, "base_packages": {"libc6": "2.36-9+deb12u11"}})
    assert snapshot_of("http://deb.debian.org/debian", MADE, moved_base, 0) == "19700101T000000Z"
    assert snapshot_mirror("http://127.0.0.1:3142/deb.debian.org/debian", "2025X") == (
        "http://snapshot.debian.org/archive/debian/2025X"
    )
    assert "in the base: libc6 2.36-9+deb12u10 → 2.36-9+deb12u11" in moved(MADE, moved_base)


def test_only_a_base_known_by_a_local_id_is_machine_bound() -> None:
    local = Lock("debian:bookworm", "id:sha256:" + "d" * 64, (), {})
    said = machine_bound(local)
    assert said and "bound to this machine" in said and "bootstrap: debian:bookworm" in said
    assert machine_bound(LOCK) is None and machine_bound(MADE) is None


def test_a_dockerfile_bases_changed_context_makes_the_lock_stale() -> None:
    lock = Lock("dockerfile:Dockerfile", "dockerfile:" + "c" * 64, (), {})
    assert mismatch(lock, "dockerfile:Dockerfile", [], "dockerfile:" + "c" * 64) is None
    assert mismatch(lock, "dockerfile:Dockerfile", [], "dockerfile:" + "e" * 64) == (
        "its Dockerfile or build context changed"
    )
