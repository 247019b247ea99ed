"""Bad input on the real engine: `plan` and `apply --yes` refuse every corpus case, with the
corpus's messages, exit 1 and no traceback, and change nothing on the engine.

"Nothing" is checked twice. A proxy in front of the engine socket logs every request devenv
makes, and only reads (GET, HEAD) are allowed. And `docker ps -a`, `images`, `volume ls` and
`network ls` are listed before and after (through the SDK): nothing of this run may appear,
vanish or change. The engine is shared with other test runs and people, so what they do in
the meantime (their resources carry their own run label, or none of our names) is left out.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import socket
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from devenv.converge.desired import folder_network
from devenv.reporting import visible
from tests.integration.conftest import RUN_LABEL, Result
from tests.unit.test_bad_input_corpus import (
    CASES,
    CORPUS,
    EXPECTED,
    GENERATED,
    GENERATED_FS,
    KEY_CASES,
    Case,
    entries,
    is_fs,
)

TEST_LABEL, RUN_ID = RUN_LABEL.split("=", 1)
REQUEST_RE = re.compile(rb"(GET|HEAD|POST|PUT|DELETE|PATCH|OPTIONS) (/\S*) HTTP/1\.[01]\r\n")
READS = {"GET", "HEAD"}
# a folder listing skips what is not a file
NOT_FILES = {"device-zero.yaml", "fifo.yaml", "special-dev-null.yaml", "special-socket.yaml"}
FS_NAMES = sorted(n for n, e in EXPECTED.items() if is_fs(e)) + [g.name for g in GENERATED_FS]

Snapshot = dict[str, set[tuple[str, ...]]]


class EngineRecorder:
    """A Unix-socket proxy in front of the engine that keeps what clients send, so a test
    knows exactly which calls devenv made, whatever else happens on the engine."""

    def __init__(self, upstream: str, listen: Path) -> None:
        self.upstream, self.listen = upstream, listen
        self._sent: list[bytearray] = []
        self._server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)

    def __enter__(self) -> EngineRecorder:
        self._server.bind(str(self.listen))
        self._server.listen(16)
        threading.Thread(target=self._accept, daemon=True).start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self._server.close()

    @property
    def requests(self) -> list[str]:
        """'METHOD /path' of every request seen so far, in order per connection."""
        return [
            f"{method.decode()} {path.decode()}"
            for sent in self._sent
            for method, path in REQUEST_RE.findall(bytes(sent))
        ]

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self._server.accept()
            except OSError:
                return  # closed
            engine = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            engine.connect(self.upstream)
            sent = bytearray()
            self._sent.append(sent)
            threading.Thread(target=self._pump, args=(client, engine, sent), daemon=True).start()
            threading.Thread(target=self._pump, args=(engine, client, None), daemon=True).start()

    @staticmethod
    def _pump(source: socket.socket, sink: socket.socket, keep: bytearray | None) -> None:
        try:
            while chunk := source.recv(65536):
                if keep is not None and len(keep) < 4 * 1024 * 1024:
                    keep += chunk  # kept before it is forwarded: logged before it is answered
                sink.sendall(chunk)
        except OSError:
            pass
        finally:
            for end in (source, sink):
                with contextlib.suppress(OSError):
                    end.shutdown(socket.SHUT_RDWR)
                end.close()


@pytest.fixture
def engine_calls(
    devenv_env: dict[str, str], tmp_path_factory: pytest.TempPathFactory
) -> Iterator[EngineRecorder | None]:
    """Routes the `devenv` fixture's runs through an EngineRecorder (None when the engine
    is not on a Unix socket: then only the snapshots speak)."""
    url = os.environ.get("DOCKER_HOST") or "unix:///var/run/docker.sock"
    if not url.startswith("unix://"):
        yield None
        return
    listen = tmp_path_factory.mktemp("engine") / "docker.sock"
    with EngineRecorder(url.removeprefix("unix://"), listen) as recorder:
        devenv_env["DOCKER_HOST"] = f"unix://{listen}"
        yield recorder


def snapshot(client: Any) -> Snapshot:
    """What `docker ps -a`, `images`, `volume ls` and `network ls` show, less what other test
    runs (another value of the test label) own."""

    def theirs(labels: dict[str, str] | None) -> bool:
        return (labels or {}).get(TEST_LABEL, RUN_ID) != RUN_ID

    def labels_of(labels: dict[str, str] | None) -> str:
        return ",".join(f"{k}={v}" for k, v in sorted((labels or {}).items()))

    return {
        "containers": {
            (c.id, c.name, c.status, labels_of(c.labels))
            for c in client.containers.list(all=True, sparse=False)
            if not theirs(c.labels)
        },
        "images": {
            (i.id, ",".join(sorted(i.tags)), labels_of(i.labels))
            for i in client.images.list(all=True)
            if not theirs(i.labels)
        },
        "volumes": {
            (v.name, labels_of(v.attrs.get("Labels")))
            for v in client.volumes.list()
            if not theirs(v.attrs.get("Labels"))
        },
        "networks": {
            (n.id, n.name, labels_of(n.attrs.get("Labels")))
            for n in client.networks.list()
            if not theirs(n.attrs.get("Labels"))
        },
    }


def changes(before: Snapshot, after: Snapshot, markers: list[str]) -> dict[str, set[Any]]:
    """What appeared, vanished or changed between two snapshots and could be this test's:
    it mentions this run's label, one of the test's folders, or one of its env names."""
    found: dict[str, set[Any]] = {}
    for kind in before:
        moved = before[kind] ^ after[kind]
        ours = {item for item in moved if any(m in " ".join(item) for m in markers)}
        if ours:
            found[kind] = ours
    return found


def markers_for(*folders: Path) -> list[str]:
    """Strings any resource made for specs in `folders` would carry."""
    names = [Path(name).stem for name in FS_NAMES]  # the envs that get as far as desire()
    return [
        RUN_ID,
        *(str(f) for f in folders),
        *(folder_network(f.resolve()) for f in folders),
        *names,
    ]


def assert_touched_nothing(
    recorder: EngineRecorder | None, before: Snapshot, after: Snapshot, markers: list[str]
) -> None:
    if recorder is not None:
        requests = recorder.requests
        assert requests, "the proxy saw no engine call at all: is DOCKER_HOST honoured?"
        writes = [r for r in requests if r.split(" ", 1)[0] not in READS]
        assert not writes, writes
    assert changes(before, after, markers) == {}


def assert_clean_failure(result: Result) -> str:
    """Exit 1 and no traceback; returns stdout and stderr together."""
    both = result.out + result.err
    assert "Traceback" not in both, both[-3000:]
    assert result.code == 1, (result.code, both[-3000:])
    return both


def build_folder(folder: Path) -> dict[str, str | list[str] | dict[str, str]]:
    """Every case in one folder: committed files copied, the others made; name → expected."""
    folder.mkdir()
    expected: dict[str, str | list[str] | dict[str, str]] = {}
    for name, want in EXPECTED.items():
        shutil.copy(CORPUS / name, folder / name)
        expected[name] = want
    for case in GENERATED + GENERATED_FS:
        if case.name not in NOT_FILES:
            expected[case.name] = case.make(folder / case.name)
    return expected


def assert_refused(output: str, spec: Path, message: str) -> None:
    """The one sentence that names the spec, the entry and the resolved path."""
    assert f"{spec.resolve()}: shared entry 1 (host " in output, output[-3000:]
    assert message in output, (message, output[-3000:])


def assert_located(output: str, path: Path, want: list[str]) -> None:
    for entry in want:
        where, message = re.fullmatch(r"(?:(\d+:\d+): )?(.*)", entry, re.S).groups()  # type: ignore[union-attr]
        position = re.escape(where) if where else r"\d+:\d+"
        shown = re.escape(visible(str(path)))  # a name's escape sequences shown as codes
        line = re.search(rf"^{shown}:{position}: (.*)$", output, re.M)
        assert line, (str(path), entry)
        assert message in line.group(1), (line.group(0)[:300], message)


def test_plan_and_apply_refuse_the_whole_corpus_and_touch_nothing(
    devenv: Callable[..., Result],
    docker_client: Any,
    engine_calls: EngineRecorder | None,
    tmp_path: Path,
) -> None:
    folder = tmp_path / "bad-corpus"
    expected = build_folder(folder)
    assert len(expected) >= 40
    markers = markers_for(folder)

    before = snapshot(docker_client)
    plan = assert_clean_failure(devenv("plan", str(folder)))
    apply = assert_clean_failure(devenv("apply", "--yes", str(folder)))
    after = snapshot(docker_client)

    assert_touched_nothing(engine_calls, before, after, markers)
    for output in (plan, apply):
        for name, want in expected.items():
            if isinstance(want, dict):
                assert_refused(output, folder / name, want["message"])
            else:
                assert_located(output, folder / name, entries(want))
    assert "failed" in apply  # every env that got as far as apply is reported as failed


@pytest.mark.parametrize("name", FS_NAMES)
def test_each_host_path_case_is_refused_by_plan_and_apply(
    devenv: Callable[..., Result],
    docker_client: Any,
    engine_calls: EngineRecorder | None,
    tmp_path: Path,
    name: str,
) -> None:
    generated = {g.name: g for g in GENERATED_FS}
    if name in generated:
        spec = tmp_path / name
        want = generated[name].make(spec)
    else:
        spec, want = CORPUS / name, EXPECTED[name]
    assert isinstance(want, dict)
    markers = markers_for(spec.parent)

    before = snapshot(docker_client)
    plan = assert_clean_failure(devenv("plan", str(spec)))
    apply = assert_clean_failure(devenv("apply", "--yes", str(spec)))
    after = snapshot(docker_client)

    assert_touched_nothing(engine_calls, before, after, markers)
    for output in (plan, apply):
        assert_refused(output, spec, want["message"])


@pytest.mark.parametrize("case", CASES + KEY_CASES, ids=[c.name for c in CASES + KEY_CASES])
def test_each_case_of_several_files_is_refused_by_plan_and_apply(
    devenv: Callable[..., Result],
    docker_client: Any,
    engine_calls: EngineRecorder | None,
    tmp_path: Path,
    case: Case,
) -> None:
    """The cases beside the spec (.env, lock, Dockerfile, .dockerignore, build context, key
    files): plan and apply say the one sentence validate or render said, and change nothing."""
    folder = tmp_path / case.name
    folder.mkdir()
    spec, words = case.make(folder)
    markers = [*markers_for(folder), str(folder)]

    before = snapshot(docker_client)
    outputs = [
        assert_clean_failure(devenv("plan", str(spec), timeout=60)),
        assert_clean_failure(devenv("apply", "--yes", str(spec), timeout=60)),
    ]
    after = snapshot(docker_client)

    assert_touched_nothing(engine_calls, before, after, markers)
    for output in outputs:
        said = [line for line in output.splitlines() if words in line]
        assert said, (words, output[-2000:])


def test_the_engines_data_root_is_refused_as_a_share(
    devenv: Callable[..., Result],
    docker_client: Any,
    engine_calls: EngineRecorder | None,
    spec_dir: Callable[..., Path],
    name: str,
) -> None:
    """Wherever the engine keeps its data (DockerRootDir, from its /info), plan and apply
    refuse to share it or a folder in it: a box writing there is root on this host."""
    root = Path(docker_client.info()["DockerRootDir"])
    for shared in (root, root / "volumes"):
        spec = spec_dir(name, f"name: {name}\nshared: [{{host: '{shared}', container: /srv}}]\n")
        markers = markers_for(spec.parent)
        before = snapshot(docker_client)
        for args in (("plan", str(spec)), ("apply", "--yes", str(spec))):
            output = assert_clean_failure(devenv(*args))
            assert f"resolves to {shared}, the container engine's own files ({root})" in output
        assert_touched_nothing(engine_calls, before, snapshot(docker_client), markers)
