"""The bad-input corpus (issue 5): every malformed or hostile spec is refused clearly.

`tests/corpus/bad/` holds the committed cases and `tests/corpus/expected.json` what each must
say: `"LINE:COL: message"` (a list when a file has several problems), or for a host path
that is only refused once it is resolved, `{"where": "apply", "message": sentence}`. Cases
that are big, binary, pipes or symlinks are made at test time into tmp_path (GENERATED and
GENERATED_FS below), so the repository stays small and holds no link to / or to the socket.

Each case runs `python -m devenv validate FILE` in a subprocess, as a user would: exit 1,
exactly the expected `FILE:LINE:COL: …` lines on stderr, no traceback, nothing unprintable.
"""

from __future__ import annotations

import contextlib
import gzip
import json
import os
import re
import socket
import subprocess
import time
import tracemalloc
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from devenv.converge.desired import container_config
from devenv.errors import DevenvError, SpecError
from devenv.host import Host
from devenv.reporting import visible
from devenv.spec.hostpaths import authorized_keys
from devenv.spec.loader import MAX_BYTES, load_all, load_file
from tests.conftest import run_cli

ROOT = Path(__file__).resolve().parents[2]
CORPUS = ROOT / "tests" / "corpus" / "bad"
EXPECTED: dict[str, str | list[str] | dict[str, str]] = json.loads(
    (ROOT / "tests" / "corpus" / "expected.json").read_text()
)
BOMB = "YAML expands to too many nodes (an alias bomb?); refusing"
BINARY = "is not allowed in YAML (is this a binary file?)"
NOT_REGULAR = "1:1: is not a regular file (a device, pipe or socket?); refusing"
LONGEST_LINE = 1000  # an error quoting a megabyte value must not print a megabyte


@dataclass(frozen=True)
class Generated:
    """A case made at test time: `make(path)` writes it and returns the expected entry."""

    name: str
    make: Callable[[Path], str | list[str] | dict[str, str]]


def _bytes(data: bytes, expected: str) -> Callable[[Path], str]:
    def make(path: Path) -> str:
        path.write_bytes(data)
        return expected

    return make


def _over_1_mib(path: Path) -> str:
    data = b"name: php\nbase: debian:bookworm\n" + b"# " + b"x" * 78 + b"\n"
    data *= MAX_BYTES // len(data) + 1
    path.write_bytes(data)
    return f"1:1: file is {len(data)} bytes; specs are limited to 1 MiB"


def _long_name(path: Path) -> str:
    path.write_text("name: " + "a" * 900_000 + "\nbase: debian:bookworm\n")
    return "1:7: name: 'aaaa"


def _many_packages(path: Path) -> str:
    lines = ["name: php", "apt:", "  packages:"] + [f"    - pkg{i}" for i in range(25_000)]
    path.write_text("\n".join(lines) + "\n")
    assert path.stat().st_size < MAX_BYTES
    return f"20000:7: {BOMB}"  # where the node budget runs out


def _long_uid(path: Path) -> str:
    path.write_text("name: php\nuser:\n  name: dev\n  uid: " + "1" * 5000 + "\n")
    return "4:8: '" + "1" * 40 + "…' cannot be read as a YAML int; quote it to keep it as text"


def _billion_laughs(path: Path) -> str:
    text = 'name: php\nl0: &l0 ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]\n'
    for i in range(1, 10):
        text += f"l{i}: &l{i} [" + ", ".join([f"*l{i - 1}"] * 9) + "]\n"
    path.write_text(text)
    return f"2:66: {BOMB}"  # inside the anchor the aliases repeat


def _merge_bomb(path: Path) -> str:
    text = "name: php\nm0: &m0 {" + ", ".join(f"k{i}: {i}" for i in range(10)) + "}\n"
    for i in range(1, 9):
        text += f"m{i}: &m{i} {{<<: [" + ", ".join([f"*m{i - 1}"] * 10) + "]}\n"
    path.write_text(text)
    return f"6:5: {BOMB}"


def _text_bomb(path: Path) -> str:
    step = "echo " + "x" * 50_000
    path.write_text(f'name: php\nrun: [&step "{step}", ' + ", ".join(["*step"] * 19_000) + "]\n")
    return "2:7: YAML expands to over 4 MiB of text (an alias bomb?); refusing"


def _self_alias(path: Path) -> str:
    path.write_text("name: php\nrun: &steps [echo, *steps]\n")
    return f"2:14: {BOMB}"


def _deep(path: Path) -> str:
    path.write_text("name: php\nrun: " + "[" * 600 + "]" * 600 + "\n")
    return "YAML is nested too deeply; refusing"  # where depends on Python's recursion limit


def _device(path: Path) -> str:
    path.symlink_to("/dev/zero")  # read whole, it never ends
    return NOT_REGULAR


def _fifo(path: Path) -> str:
    os.mkfifo(path)  # opened for reading, it waits for a writer forever
    return NOT_REGULAR


KERNEL = "1:1: is a file of the kernel (under /proc or /sys), not one on disk; refusing"
STEM = "is not a valid env name (docker names the image and the container by it"


def _linked_to(target: str, expected: str) -> Callable[[Path], str]:
    def make(path: Path) -> str:
        path.symlink_to(target)
        return expected

    return make


def _socket_spec(path: Path) -> str:
    with socket.socket(socket.AF_UNIX) as server:
        server.bind(str(path))  # the file stays a socket once closed
    return NOT_REGULAR


def _loop(text: str, where: str) -> Callable[[Path], str]:
    """A spec naming ./STEM-a (`{a}` in `text`), a link to ./STEM-b, a link back to it."""

    def make(path: Path) -> str:
        a, b = path.parent / f"{path.stem}-a", path.parent / f"{path.stem}-b"
        a.symlink_to(b)
        b.symlink_to(a)
        path.write_text(text.format(a=a.name))
        return f"{where}: './{a.name}' is a loop of symbolic links"

    return make


ELF = b"\x7fELF\x02\x01\x01\x00" + b"\x00" * 8 + b"\x02\x00\x3e\x00\x01\x00\x00\x00"
GENERATED = [
    Generated("big-over-1mib.yaml", _over_1_mib),
    Generated("big-long-name.yaml", _long_name),
    Generated("big-many-packages.yaml", _many_packages),
    Generated("big-long-uid.yaml", _long_uid),
    Generated(
        "binary-nul.yaml",
        _bytes(b"name: php\nbase: debian:bookworm\x00\n", f"2:22: character 0x0000 {BINARY}"),
    ),
    Generated("binary-elf.yaml", _bytes(ELF, f"1:1: character 0x007f {BINARY}")),
    Generated(
        "binary-gzip.yaml",
        _bytes(gzip.compress(b"name: php\n", mtime=0), "1:2: file is not UTF-8 text"),
    ),
    Generated(
        "binary-utf16.yaml", _bytes("name: php\n".encode("utf-16"), "1:1: file is not UTF-8 text")
    ),
    Generated(
        "binary-latin1.yaml",
        _bytes(
            "name: php\nenv:\n  CITY: München\n".encode("latin-1"), "3:10: file is not UTF-8 text"
        ),
    ),
    Generated("alias-billion-laughs.yaml", _billion_laughs),
    Generated("alias-merge-bomb.yaml", _merge_bomb),
    Generated("alias-text-bomb.yaml", _text_bomb),
    Generated("alias-self-reference.yaml", _self_alias),
    Generated("deep-nesting.yaml", _deep),
    Generated("device-zero.yaml", _device),
    Generated("fifo.yaml", _fifo),
    Generated("special-proc.yaml", _linked_to("/proc/self/status", KERNEL)),
    Generated("special-dev-null.yaml", _linked_to("/dev/null", NOT_REGULAR)),
    Generated("special-socket.yaml", _socket_spec),
    Generated("loop-shared.yaml", _loop("shared:\n  - ./{a}:/srv\n", "2:5: shared[0].host")),
    Generated(
        "loop-dockerfile.yaml",
        _loop("base: {{dockerfile: ./{a}}}\n", "1:20: base.dockerfile"),
    ),
    Generated("x-end-.yaml", _bytes(b"base: debian:bookworm\n", f"1:1: file name 'x-end-' {STEM}")),
    Generated("x..y.yaml", _bytes(b"base: debian:bookworm\n", f"1:1: file name 'x..y' {STEM}")),
    Generated(
        "esc-\x1b]0;pwned\x07-name.yaml",
        _bytes(b"name: php\nports: [0]\n", "2:9: ports[0].container: 0 is out of range"),
    ),
    Generated(
        "bidi-\u202egnp.yaml",
        _bytes(b"name: php\nports: [0]\n", "2:9: ports[0].container: 0 is out of range"),
    ),
]


def _linked(link: str, target: str, shared: str, message: str) -> Callable[[Path], dict[str, str]]:
    """A spec sharing `link`, a symlink beside it to `target`."""

    def make(path: Path) -> dict[str, str]:
        (path.parent / link).symlink_to(target)
        path.write_text(f"shared:\n  - {shared}\n")
        return {"where": "apply", "message": message}

    return make


def _chain(path: Path) -> dict[str, str]:
    (path.parent / "chain-b").symlink_to("/var/run")
    (path.parent / "chain-a").symlink_to("chain-b")
    path.write_text("shared:\n  - {host: ./chain-a, container: /srv/run}\n")
    return {"where": "apply", "message": "resolves to /run, a folder holding the Docker socket"}


SOCKET = "a socket: a way into a host service (the Docker socket is root on this host)"


def _special_share(path: Path, kind: str, message: str) -> dict[str, str]:
    """A spec sharing ./STEM.shared, made a socket by a hard link (`ln /run/docker.sock`
    passed the old guard) or a link, a named pipe, or a hard-linked file."""
    shared, other = path.parent / f"{path.stem}.shared", path.parent / f"{path.stem}.other"
    if kind == "pipe":
        os.mkfifo(shared)
    elif kind == "hard-file":
        other.write_text("x=1\n")
        os.link(other, shared)
    else:
        with socket.socket(socket.AF_UNIX) as server:
            server.bind(str(other))
        (os.link if kind == "socket-hard" else os.symlink)(other, shared)
    path.write_text(f"shared:\n  - ./{shared.name}:/var/run/docker.sock\n")
    return {"where": "apply", "message": message}


REFUSED = "devenv refuses to share it"
GENERATED_FS = [
    Generated(
        "fs-link-root.yaml",
        _linked(
            "root-link",
            "/",
            "./root-link:/host",
            f"shared entry 1 (host './root-link') resolves to /, the host's root folder; {REFUSED}",
        ),
    ),
    Generated(
        "fs-link-etc.yaml",
        _linked(
            "config",
            "/etc",
            "{host: ./config, container: /srv/config, readonly: true}",
            f"shared entry 1 (host './config') resolves to /etc, a system location; {REFUSED}",
        ),
    ),
    Generated(
        "fs-link-docker-sock.yaml",
        _linked(
            "docker.sock",
            "/var/run/docker.sock",
            "./docker.sock:/var/run/docker.sock",
            f"the Docker socket, which gives root on this host; {REFUSED}",
        ),
    ),
    Generated(
        "fs-link-parent.yaml",
        _linked(
            "outside",
            "/",
            "./outside/boot:/boot-copy",
            f"(host './outside/boot') resolves to /boot, a system location; {REFUSED}",
        ),
    ),
    Generated("fs-link-chain.yaml", _chain),
    Generated("fs-socket-hard-link.yaml", lambda p: _special_share(p, "socket-hard", SOCKET)),
    Generated("fs-socket-link.yaml", lambda p: _special_share(p, "socket-link", SOCKET)),
    Generated("fs-named-pipe.yaml", lambda p: _special_share(p, "pipe", "a named pipe")),
    Generated(
        "fs-hard-linked-file.yaml", lambda p: _special_share(p, "hard-file", "a hard-linked file")
    ),
]


@dataclass(frozen=True)
class Case:
    """A case of several files, made in a folder of its own: `make(folder)` writes them and
    returns the spec to give `command` and words its one sentence must hold."""

    name: str
    command: str  # "validate" or "render": neither needs an engine
    make: Callable[[Path], tuple[Path, str]]


def _with(spec: str, others: dict[str, Callable[[Path], object]], words: str) -> Callable[..., Any]:
    """A case: box.yaml holding `spec`, and each other file made by its maker."""

    def make(folder: Path) -> tuple[Path, str]:
        (folder / "box.yaml").write_text(spec)
        for name, maker in others.items():
            (folder / name).parent.mkdir(parents=True, exist_ok=True)
            maker(folder / name)
        return folder / "box.yaml", words

    return make


def _text(text: str) -> Callable[[Path], object]:
    return lambda path: path.write_text(text)


def _sparse(size: int) -> Callable[[Path], object]:
    def make(path: Path) -> None:
        with path.open("wb") as handle:
            handle.truncate(size)

    return make


FIFO: Callable[[Path], object] = os.mkfifo
ZERO = lambda path: path.symlink_to("/dev/zero")  # noqa: E731
PROC = lambda path: path.symlink_to("/proc/self/environ")  # noqa: E731
DOTENV_SPEC = "env: {TOKEN: '${DEVENV_CORPUS_UNSET}'}\n"
LOCKED = "name: box\nbase: debian:bookworm\napt: {packages: [git]}\n"
DOCKERFILE = "name: box\nbase: {dockerfile: ./Dockerfile}\n"
FROM = _text("FROM debian:bookworm\n")
NOT_REGULAR_WORDS = "is not a regular file (a device, pipe or socket?); refusing"
DEEP_LOCK = "format_version: 1\npackages: " + "[" * 10_000 + "]" * 10_000 + "\n"
LAUGHS = "a: &a [x, x, x, x, x, x, x, x, x]\n" + "".join(
    f"{chr(98 + i)}: &{chr(98 + i)} [" + ", ".join([f"*{chr(97 + i)}"] * 9) + "]\n"
    for i in range(9)
)
KEYED = "name: box\nuser: dev\nsshd: {authorized_keys: [./me.pub]}\n"
CASES = [
    Case("dotenv-fifo", "validate", _with(DOTENV_SPEC, {".env": FIFO}, f".env:1:1: {NOT_REGULAR_WORDS}")),
    Case("dotenv-dev-zero", "validate", _with(DOTENV_SPEC, {".env": ZERO}, f".env:1:1: {NOT_REGULAR_WORDS}")),
    Case("dotenv-proc", "validate", _with(DOTENV_SPEC, {".env": PROC}, ".env:1:1: is a file of the kernel")),
    Case("dotenv-huge", "validate", _with(DOTENV_SPEC, {".env": _sparse(2 << 20)}, ".env:1:1: is 2097152 bytes, over 1 MiB")),
    Case("dotenv-not-text", "validate", _with(DOTENV_SPEC, {".env": lambda p: p.write_bytes(b"A=\xff\xfe\n")}, ".env:1:1: cannot read: not UTF-8 text")),
    Case("lock-deep", "render", _with(LOCKED, {"box.lock": _text(DEEP_LOCK)}, "YAML is nested too deeply; refusing")),
    Case("lock-fifo", "render", _with(LOCKED, {"box.lock": FIFO}, "box.lock is not a regular file")),
    Case("lock-dev-zero", "render", _with(LOCKED, {"box.lock": ZERO}, "box.lock is not a regular file")),
    Case("lock-proc", "render", _with(LOCKED, {"box.lock": PROC}, "box.lock is a file of the kernel")),
    Case("lock-huge", "render", _with(LOCKED, {"box.lock": _sparse(5 << 20)}, "box.lock is 5242880 bytes, over 4 MiB")),
    Case("lock-laughs", "render", _with(LOCKED, {"box.lock": _text(LAUGHS)}, "(an alias bomb?)")),
    Case("lock-python-tag", "render", _with(LOCKED, {"box.lock": _text("a: !!python/object/apply:os.system [id]\n")}, "YAML tag '!!python/object/apply:os.system' is not allowed")),
    Case("lock-list", "render", _with(LOCKED, {"box.lock": _text("- a\n- b\n")}, "is not a devenv lock file of format 1")),
    Case("lock-bad-version", "render", _with(LOCKED, {"box.lock": _text("format_version: 1\nbase: debian:bookworm\nbase_identity: 'ref:debian:bookworm'\nrequested: [git]\npackages: {git: '1; rm -rf /'}\n")}, "version '1; rm -rf /' is not valid")),
    Case("dockerfile-20-gib", "render", _with(DOCKERFILE, {"Dockerfile": _sparse(20 << 30)}, "its Dockerfile is 21474836480 bytes, over 1 MiB")),
    Case("dockerfile-fifo", "validate", _with(DOCKERFILE, {"Dockerfile": FIFO}, "base.dockerfile: './Dockerfile' is not a file")),
    Case("dockerfile-in-etc", "render", _with("name: box\nbase: {dockerfile: /etc/hostname, context: .}\n", {}, "its Dockerfile /etc/hostname is inside the system location /etc")),
    Case("dockerfile-elsewhere", "render", _with(DOCKERFILE, {"../elsewhere/Dockerfile": FROM, "Dockerfile": lambda p: p.symlink_to(p.parent.parent / "elsewhere" / "Dockerfile")}, "(the Dockerfile's folder) is outside")),
    Case("dockerignore-backtracking", "render", _with("name: box\nbase: {dockerfile: ./Dockerfile, target: nosuch}\n", {"Dockerfile": FROM, ".dockerignore": _text("a/" + "**/" * 22 + "b\n"), "a/x/y/z/w/v/u/t/s/r/q/p/o/n/m/l/k/j/i/h/g/f/c": _text("")}, "base.target 'nosuch' is not a stage")),
    Case("dockerignore-fifo", "render", _with(DOCKERFILE, {"Dockerfile": FROM, ".dockerignore": FIFO}, ".dockerignore is not a regular file")),
    Case("dockerignore-dev-zero", "render", _with(DOCKERFILE, {"Dockerfile": FROM, ".dockerignore": ZERO}, ".dockerignore is not a regular file")),
    Case("dockerignore-huge", "render", _with(DOCKERFILE, {"Dockerfile": FROM, ".dockerignore": _sparse(2 << 20)}, ".dockerignore is 2097152 bytes, over 1 MiB")),
    Case("dockerignore-unclosed", "render", _with(DOCKERFILE, {"Dockerfile": FROM, ".dockerignore": _text("src/[ab\n")}, "is not a valid pattern")),
    Case("context-etc", "render", _with("name: box\nbase: {dockerfile: ./Dockerfile, context: /etc}\n", {"Dockerfile": FROM}, "its build context is /etc, a system location")),
    Case("context-root", "render", _with("name: box\nbase: {dockerfile: ./Dockerfile, context: '" + "../" * 40 + "'}\n", {"Dockerfile": FROM}, "its build context is /, the host's root folder")),
    Case("context-proc", "render", _with("name: box\nbase: {dockerfile: ./Dockerfile, context: /proc}\n", {"Dockerfile": FROM}, "its build context is /proc, a system location")),
    Case("context-var-lib", "render", _with("name: box\nbase: {dockerfile: ./Dockerfile, context: /var/lib}\n", {"Dockerfile": FROM}, "a folder holding the container engine's own files")),
    Case("context-home", "render", _with("name: box\nbase: {dockerfile: ./Dockerfile, context: '~'}\n", {"Dockerfile": FROM}, "a home or a folder of secrets")),
]  # fmt: skip
KEY_CASES = [
    Case("key-fifo", "keys", _with(KEYED, {"me.pub": FIFO}, "(it is not a regular file")),
    Case("key-dev-zero", "keys", _with(KEYED, {"me.pub": ZERO}, "(it is not a regular file")),
    Case("key-proc", "keys", _with(KEYED, {"me.pub": PROC}, "(it is a file of the kernel")),
    Case("key-huge", "keys", _with(KEYED, {"me.pub": _sparse(2 << 20)}, "(it is 2097152 bytes, over 1 MiB)")),
    Case("key-folder", "keys", _with(KEYED, {"me.pub": lambda p: p.mkdir()}, "(it is a folder, not a file)")),
    Case("key-private", "keys", _with(KEYED, {"me.pub": _text("-----BEGIN OPENSSH PRIVATE KEY-----\n")}, "is a private key")),
]  # fmt: skip
SECONDS = 10  # a case answers at once: no hang, no 69 s of hashing


def entries(expected: str | list[str] | dict[str, str]) -> list[str]:
    """The expected 'LINE:COL: message' entries of a validation case."""
    assert not isinstance(expected, dict)
    return [expected] if isinstance(expected, str) else list(expected)


def is_fs(expected: object) -> bool:
    return isinstance(expected, dict) and expected.get("where") == "apply"


devenv = run_cli


def assert_located(result: subprocess.CompletedProcess[str], shown: str, want: list[str]) -> None:
    """Exit 1, no traceback, and stderr is exactly one `shown:LINE:COL: …` line per entry."""
    assert "Traceback" not in result.stderr + result.stdout, result.stderr[-3000:]
    assert result.returncode == 1, (result.returncode, result.stderr[:2000])
    lines = result.stderr.splitlines()
    assert len(lines) == len(want), lines
    for line, entry in zip(lines, want, strict=True):
        where, message = re.fullmatch(r"(?:(\d+:\d+): )?(.*)", entry, re.S).groups()  # type: ignore[union-attr]
        position = re.escape(where) if where else r"\d+:\d+"  # none given: it varies
        found = re.match(rf"{re.escape(shown)}:{position}: ", line)
        assert found, (line[:300], shown, where)
        assert message in line[found.end() :], (line[:300], message)
        assert line.isprintable(), f"raw control characters reach the terminal: {line!r}"
        assert len(line) < LONGEST_LINE, line[:300]


def test_the_corpus_is_big_enough_and_fully_described() -> None:
    committed = sorted(p.name for p in CORPUS.iterdir())
    assert committed == sorted(EXPECTED), "every corpus file needs an expected.json entry"
    assert len(committed) >= 40
    assert all(p.stat().st_size < 4096 for p in CORPUS.iterdir()), "big cases are generated"
    assert not [p for p in CORPUS.iterdir() if p.is_symlink()], "links are made at test time"
    assert not {g.name for g in GENERATED + GENERATED_FS} & set(committed)
    total = len(committed) + len(GENERATED + GENERATED_FS) + len(CASES + KEY_CASES)
    assert total >= 150, f"issue 19 asks for 150 hostile inputs, the corpus has {total}"


@pytest.fixture(scope="module")
def validated(
    tmp_path_factory: pytest.TempPathFactory,
) -> dict[str, tuple[str, list[str], subprocess.CompletedProcess[str]]]:
    """Every validation case, committed and generated, run at once (a few in parallel):
    name → (the path as given, the expected entries, the result)."""
    folder = tmp_path_factory.mktemp("generated")
    cases = {
        name: (os.path.relpath(CORPUS / name, ROOT), entries(expected))
        for name, expected in EXPECTED.items()
        if not is_fs(expected)
    }
    for case in GENERATED:
        cases[case.name] = (str(folder / case.name), entries(case.make(folder / case.name)))
    with ThreadPoolExecutor(max_workers=(os.cpu_count() or 2) + 1) as pool:
        runs = {name: pool.submit(devenv, "validate", shown) for name, (shown, _) in cases.items()}
        return {
            name: (visible(cases[name][0]), cases[name][1], run.result())
            for name, run in runs.items()
        }


@pytest.mark.parametrize(
    "name",
    sorted(n for n, e in EXPECTED.items() if not is_fs(e)) + [g.name for g in GENERATED],
)
def test_each_case_is_one_located_error(
    validated: dict[str, tuple[str, list[str], subprocess.CompletedProcess[str]]], name: str
) -> None:
    shown, want, result = validated[name]
    assert_located(result, shown, want)


ALIAS_BOMBS = [g for g in GENERATED if g.name.startswith("alias-")]
BOMB_BYTES = 32 * 2**20  # peak allocation; expanded, each bomb would need gigabytes
BOMB_SECONDS = 20  # under tracemalloc, on a busy machine (a few seconds); expanded, hours


class Unbounded(BaseException):
    """Raised into a load that is still running when its time is up (no `except` in devenv
    takes a BaseException)."""


@contextlib.contextmanager
def bounded(seconds: float, more_bytes: int) -> Iterator[None]:
    """Stop a load that expands a bomb after `seconds` (Unbounded) or once the process has
    grown by `more_bytes` (MemoryError), rather than let it run for hours or call the OOM
    killer. Where a limit cannot be set (not Linux), that one is not."""
    try:
        import resource
        import signal
    except ImportError:
        yield
        return

    def stop(*_: object) -> None:
        raise Unbounded(f"still loading after {seconds} s")

    handler = signal.signal(signal.SIGALRM, stop)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    limits = resource.getrlimit(resource.RLIMIT_AS)
    with contextlib.suppress(OSError, ValueError, AttributeError):
        status = Path("/proc/self/status").read_text()
        size = re.search(r"^VmSize:\s+(\d+) kB", status, re.M)
        cap = int(size.group(1)) * 1024 + more_bytes  # type: ignore[union-attr]
        if limits[1] != resource.RLIM_INFINITY:
            cap = min(cap, limits[1])
        resource.setrlimit(resource.RLIMIT_AS, (cap, limits[1]))
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, handler)
        resource.setrlimit(resource.RLIMIT_AS, limits)


@pytest.mark.parametrize("case", ALIAS_BOMBS, ids=[g.name for g in ALIAS_BOMBS])
def test_alias_bombs_are_refused_in_bounded_memory_and_time(
    tmp_path: Path, case: Generated
) -> None:
    """The defence by its effect, whatever the YAML library does with aliases and merges: the
    loader refuses the file with one located sentence, without expanding it."""
    path = tmp_path / case.name
    case.make(path)
    tracemalloc.start()
    started = time.perf_counter()
    try:
        with bounded(BOMB_SECONDS, 1 << 30), pytest.raises(SpecError) as info:
            load_file(path)
        elapsed = time.perf_counter() - started
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < BOMB_BYTES, f"{peak / 2**20:.1f} MiB"
    assert elapsed < BOMB_SECONDS, f"{elapsed:.1f} s"
    (problem,) = info.value.problems
    assert problem.path == str(path)
    assert 1 <= problem.line <= len(path.read_text().splitlines()) and problem.col >= 1
    assert problem.message.isprintable() and len(problem.message) < LONGEST_LINE
    assert problem.message.endswith("; refusing"), problem.message


def refusal(path: Path) -> str:
    """The sentence plan and apply give for the spec at `path`, from the same code path."""
    (spec_file,) = load_all([path])
    with pytest.raises(DevenvError) as info:
        container_config(spec_file, Host.current(), "")
    return str(info.value)


@pytest.mark.parametrize("name", sorted(n for n, e in EXPECTED.items() if is_fs(e)))
def test_each_committed_host_path_case_is_refused_before_the_engine(name: str) -> None:
    expected = EXPECTED[name]
    assert isinstance(expected, dict)
    sentence = refusal(CORPUS / name)
    assert sentence.startswith(f"{CORPUS / name}: shared entry 1 (host "), sentence
    assert expected["message"] in sentence, sentence


@pytest.mark.parametrize("case", GENERATED_FS, ids=[g.name for g in GENERATED_FS])
def test_each_symlinked_host_path_is_refused_before_the_engine(
    tmp_path: Path, case: Generated
) -> None:
    path = tmp_path / case.name
    expected = case.make(path)
    assert isinstance(expected, dict)
    sentence = refusal(path)
    assert sentence.startswith(f"{path.resolve()}: shared entry 1 (host "), sentence
    assert expected["message"] in sentence, sentence


@pytest.mark.parametrize(
    "host", ["./src", "./linked", "~/projects/php", "/usrdata", "/etcetera", "/var/www"]
)
def test_ordinary_host_paths_are_shared(tmp_path: Path, host: str) -> None:
    """The rules refuse system locations only: look-alike names and links to folders pass."""
    (tmp_path / "real").mkdir()
    (tmp_path / "linked").symlink_to(tmp_path / "real")
    path = tmp_path / "box.yaml"
    path.write_text(f"shared:\n  - {{host: '{host}', container: /srv}}\n")
    (spec_file,) = load_all([path])
    (entry,) = container_config(spec_file, Host.current(), "")["shared"]
    assert entry.endswith(":/srv:rw")


def _timed(command: str, spec: Path) -> tuple[subprocess.CompletedProcess[str], float]:
    started = time.monotonic()
    result = devenv(command, spec)
    return result, time.monotonic() - started


@pytest.fixture(scope="module")
def answered(
    tmp_path_factory: pytest.TempPathFactory,
) -> dict[str, tuple[str, subprocess.CompletedProcess[str], float]]:
    """Every case of several files, each in its own folder, run at once (a few in parallel):
    name → (the words its sentence must hold, the result, the seconds it took)."""
    made = {}
    for case in CASES:
        folder = tmp_path_factory.mktemp(case.name)
        made[case.name] = (case.command, *case.make(folder))
    with ThreadPoolExecutor(max_workers=(os.cpu_count() or 2) + 1) as pool:
        runs = {
            name: pool.submit(_timed, command, spec) for name, (command, spec, _) in made.items()
        }
        return {name: (made[name][2], *run.result()) for name, run in runs.items()}


@pytest.mark.parametrize("name", [c.name for c in CASES])
def test_each_input_beside_a_spec_is_one_sentence_at_once(
    answered: dict[str, tuple[str, subprocess.CompletedProcess[str], float]], name: str
) -> None:
    """.env, lock, Dockerfile, .dockerignore and build context: FIFOs, devices, /proc files,
    huge and deep files and system folders are refused by validate or render (no engine):
    exit 1, one sentence (and its hint), within seconds, no traceback."""
    words, result, seconds = answered[name]
    assert "Traceback" not in result.stderr + result.stdout, result.stderr[-3000:]
    assert result.returncode == 1, (result.returncode, result.stderr[:2000])
    lines = result.stderr.splitlines()
    assert 1 <= len(lines) <= 2 and (len(lines) == 1 or lines[1].startswith("  hint: ")), lines
    assert words in lines[0], (lines[0][:300], words)
    assert all(line.isprintable() and len(line) < LONGEST_LINE for line in lines), lines
    assert seconds < SECONDS, f"{name} took {seconds:.1f} s"


@pytest.mark.parametrize("case", KEY_CASES, ids=[c.name for c in KEY_CASES])
def test_each_key_file_is_one_sentence_at_once(tmp_path: Path, case: Case) -> None:
    """Key files are read by plan and apply (desire): the same sentence, before the engine."""
    spec, words = case.make(tmp_path)
    (spec_file,) = load_all([spec])
    started = time.monotonic()
    with pytest.raises(DevenvError) as refused:
        authorized_keys(spec_file, tmp_path)
    assert time.monotonic() - started < SECONDS
    assert words in refused.value.message and "\n" not in refused.value.message
