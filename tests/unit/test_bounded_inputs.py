"""Every input has a bound and an answer (issue 19): spec, .env, lock, key files, Dockerfile
and .dockerignore are read as regular files of a bounded size, nesting is bounded, and a
build context stays in the project: one sentence each, at once, never a hang or a crash."""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from devenv.build import context as buildcontext
from devenv.build.lockfile import read as read_lock
from devenv.errors import DevenvError, SpecError
from devenv.spec.hostpaths import authorized_keys
from devenv.spec.loader import SpecFile, load_file

SPECIAL: dict[str, Callable[[Path], None]] = {
    "fifo": lambda p: os.mkfifo(p),
    "dev-zero": lambda p: p.symlink_to("/dev/zero"),
    "proc": lambda p: p.symlink_to("/proc/self/environ"),
}


@pytest.fixture
def quick() -> Iterator[None]:
    started = time.monotonic()
    yield
    assert time.monotonic() - started < 3, "an input took seconds to refuse"


@pytest.mark.parametrize("kind", sorted(SPECIAL))
def test_a_dotenv_that_is_no_regular_file_is_one_located_error(
    tmp_path: Path, kind: str, quick: None
) -> None:
    SPECIAL[kind](tmp_path / ".env")
    spec = tmp_path / "box.yaml"
    spec.write_text("env: {TOKEN: '${TOKEN}'}\n")
    os.environ.pop("TOKEN", None)
    with pytest.raises(SpecError) as caught:
        load_file(spec)
    (problem,) = caught.value.problems
    assert (problem.path, problem.line, problem.col) == (str(tmp_path / ".env"), 1, 1)
    assert "refusing" in problem.message


@pytest.mark.parametrize("kind", sorted(SPECIAL))
def test_a_key_file_that_is_no_regular_file_is_one_sentence(
    load: Callable[[str], SpecFile], tmp_path: Path, kind: str, quick: None
) -> None:
    SPECIAL[kind](tmp_path / "me.pub")
    spec_file = load("user: dev\nsshd: {authorized_keys: [./me.pub]}\n")
    with pytest.raises(DevenvError, match=r"authorized key file \./me\.pub cannot be read \(it "):
        authorized_keys(spec_file, tmp_path)


@pytest.mark.parametrize("kind", sorted(SPECIAL))
def test_a_lock_that_is_no_regular_file_is_one_sentence(
    tmp_path: Path, kind: str, quick: None
) -> None:
    SPECIAL[kind](tmp_path / "box.lock")
    with pytest.raises(DevenvError, match="refusing to read it"):
        read_lock(tmp_path / "box.yaml")


def test_a_lock_nested_ten_thousand_deep_is_one_sentence(tmp_path: Path, quick: None) -> None:
    (tmp_path / "box.lock").write_text("packages: " + "[" * 10_000 + "]" * 10_000 + "\n")
    with pytest.raises(DevenvError) as caught:
        read_lock(tmp_path / "box.yaml")
    assert caught.value.message.startswith(f"{tmp_path / 'box.lock'}:1:")
    assert "\n" not in caught.value.message


def dockerfile_spec(tmp_path: Path, base: str) -> SpecFile:
    spec = tmp_path / "box.yaml"
    spec.write_text(f"base: {base}\n")
    return load_file(spec)


def test_a_huge_dockerfile_is_refused_before_it_is_hashed(tmp_path: Path, quick: None) -> None:
    """A 20 GiB Dockerfile was hashed for 69 s before the size limit refused it."""
    with (tmp_path / "Dockerfile").open("wb") as sparse:
        sparse.truncate(20 << 30)
    spec_file = dockerfile_spec(tmp_path, "{dockerfile: Dockerfile}")
    with pytest.raises(DevenvError, match=r"its Dockerfile is 21474836480 bytes, over 1 MiB"):
        buildcontext.resolve(spec_file)


def test_a_huge_file_in_the_context_is_refused_before_it_is_hashed(
    tmp_path: Path, quick: None
) -> None:
    (tmp_path / "Dockerfile").write_text("FROM debian:bookworm\n")
    with (tmp_path / "data.bin").open("wb") as sparse:
        sparse.truncate(3 << 30)
    spec_file = dockerfile_spec(tmp_path, "{dockerfile: Dockerfile}")
    with pytest.raises(DevenvError, match="holds more than 50000 files or 2 GiB"):
        buildcontext.resolve(spec_file)


@pytest.mark.parametrize("kind", sorted(SPECIAL))
def test_a_dockerignore_that_is_no_regular_file_is_one_sentence(
    tmp_path: Path, kind: str, quick: None
) -> None:
    (tmp_path / "Dockerfile").write_text("FROM debian:bookworm\n")
    SPECIAL[kind](tmp_path / ".dockerignore")
    spec_file = dockerfile_spec(tmp_path, "{dockerfile: Dockerfile}")
    with pytest.raises(DevenvError, match=r"\.dockerignore .*refusing to read it"):
        buildcontext.resolve(spec_file)


@pytest.mark.parametrize(
    ("context", "words"),
    [
        ("/etc", "its build context is /etc, a system location"),
        ("../../../../../../../../../../..", "its build context is /, the host's root folder"),
        ("/var/lib/docker", "the container engine's own files"),
    ],
)
def test_a_build_context_is_never_a_system_folder(tmp_path: Path, context: str, words: str) -> None:
    (tmp_path / "Dockerfile").write_text("FROM debian:bookworm\n")
    if not Path(context if context.startswith("/") else tmp_path / context).is_dir():
        pytest.skip(f"no {context} here")
    spec_file = dockerfile_spec(tmp_path, f"{{dockerfile: Dockerfile, context: '{context}'}}")
    with pytest.raises(DevenvError, match=words):
        buildcontext.resolve(spec_file)


def test_a_dockerfile_elsewhere_sends_its_folder_only_when_the_spec_names_it(
    tmp_path: Path,
) -> None:
    (tmp_path / "other").mkdir()
    (tmp_path / "other" / "Dockerfile").write_text("FROM debian:bookworm\n")
    (tmp_path / "envs").mkdir()
    (tmp_path / "envs" / "Dockerfile").symlink_to(tmp_path / "other" / "Dockerfile")
    spec_file = dockerfile_spec(tmp_path / "envs", "{dockerfile: Dockerfile}")
    with pytest.raises(
        DevenvError, match=r"(?s)is outside .*name the folder to send with base\.context"
    ):
        buildcontext.resolve(spec_file)
    named = dockerfile_spec(tmp_path / "envs", "{dockerfile: Dockerfile, context: ../other}")
    assert buildcontext.resolve(named).folder == tmp_path / "other"
