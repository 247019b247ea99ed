"""The image cache's decisions, the image listing and prune's choices, without an engine:
a fake engine records calls, and listings are the engine's summary dicts."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from devenv import labels as L
from devenv.commands.images import normalise_ref
from devenv.converge import image_cache
from devenv.converge.desired import DesiredEnv, desire
from devenv.engine.observed import Observed
from devenv.errors import DevenvError, RegistryError
from devenv.host import Host
from devenv.images import pushlog
from devenv.images.listing import human_size, prune_plan, rows
from devenv.spec.loader import SpecFile


class Recorder:
    def __init__(self) -> None:
        self.steps: list[str] = []

    def step(self, env: str, message: str) -> None:
        self.steps.append(message)

    def build_line(self, env: str, line: str) -> None: ...

    def output_line(self, env: str, line: str) -> None: ...

    def waiting(self, env: str) -> None: ...


class FakeEngine:
    """Just the calls the image cache makes; `missing`/`fail` shape the registry's answers."""

    def __init__(self, build_hash: str = "", fail: RegistryError | None = None) -> None:
        self.build_hash, self.fail = build_hash, fail
        self.calls: list[tuple[str, ...]] = []

    def pull_from_registry(self, ref: str, on_event: Callable[[dict[str, Any]], None]) -> str:
        self.calls.append(("pull", ref))
        if self.fail:
            raise self.fail
        on_event({"id": "abc", "status": "Pull complete"})
        return "sha256:img"

    def push_to_registry(self, ref: str, on_event: Callable[[dict[str, Any]], None]) -> str:
        self.calls.append(("push", ref))
        if self.fail:
            raise self.fail
        return "sha256:digest"

    def inspect_image(self, ref: str) -> dict[str, Any]:
        return {"Id": "sha256:img", "Config": {"Labels": {L.BUILD_HASH: self.build_hash}}}

    def tag(self, source: str, ref: str) -> None:
        self.calls.append(("tag", source, ref))

    def remove_image(self, ref: str) -> None:
        self.calls.append(("untag", ref))


@pytest.fixture
def host(tmp_path: Path) -> Host:
    return Host(1000, 1000, tmp_path, tmp_path / "state")


@pytest.fixture
def want(load: Callable[[str], SpecFile], host: Host) -> Callable[[str], DesiredEnv]:
    def make(cache: str) -> DesiredEnv:
        return desire(load(f"name: box\n{cache}"), Observed(), host)

    return make


def test_the_spec_takes_a_short_and_a_long_form(load: Callable[[str], SpecFile]) -> None:
    short = load("image_cache: reg.example.com:5000/team/\n").spec.image_cache
    assert short is not None and (short.registry, short.push) == (
        "reg.example.com:5000/team",
        False,
    )
    long = load("image_cache: {registry: reg.example.com/team, push: true}\n").spec.image_cache
    assert long is not None and long.push is True


def test_a_cached_image_is_pulled_and_named_like_a_build(want, host: Host) -> None:  # type: ignore[no-untyped-def]
    box = want("image_cache: reg:5000/team\n")
    engine, reporter = FakeEngine(build_hash=box.rendered.build_hash), Recorder()
    assert image_cache.pull_cached(engine, box, reporter) is True  # type: ignore[arg-type]
    remote = f"reg:5000/team/box:{box.rendered.short_hash}"
    assert engine.calls == [("pull", remote), ("tag", remote, box.image), ("untag", remote)]
    assert reporter.steps[-1] == f"pulled {box.image} from reg:5000/team"


def test_no_cache_no_pull(want) -> None:  # type: ignore[no-untyped-def]
    engine = FakeEngine()
    assert image_cache.pull_cached(engine, want(""), Recorder()) is False  # type: ignore[arg-type]
    assert engine.calls == []


@pytest.mark.parametrize(
    ("failure", "said"),
    [
        (RegistryError("x", "missing"), "image cache: it is not there; building instead"),
        (
            RegistryError("pulling r: cannot reach the registry r", "unreachable"),
            "image cache: pulling r: cannot reach the registry r; building instead",
        ),
    ],
)
def test_a_cache_miss_or_failure_means_build(want, failure: RegistryError, said: str) -> None:  # type: ignore[no-untyped-def]
    reporter = Recorder()
    engine = FakeEngine(fail=failure)
    assert image_cache.pull_cached(engine, want("image_cache: r/t\n"), reporter) is False  # type: ignore[arg-type]
    assert reporter.steps[-1] == said


def test_an_image_of_another_build_is_not_trusted(want) -> None:  # type: ignore[no-untyped-def]
    reporter, engine = Recorder(), FakeEngine(build_hash="someone-else")
    box = want("image_cache: r/t\n")
    assert image_cache.pull_cached(engine, box, reporter) is False  # type: ignore[arg-type]
    assert ("tag", f"r/t/box:{box.rendered.short_hash}", box.image) not in engine.calls
    assert "is another build" in reporter.steps[-1]


def test_push_after_build_only_when_asked(want, host: Host, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    engine = FakeEngine()
    image_cache.push_built(engine, want("image_cache: r/t\n"), Recorder(), host)  # type: ignore[arg-type]
    assert engine.calls == []
    monkeypatch.setenv("DEVENV_PUSH", "1")
    box = want("image_cache: r/t\n")
    image_cache.push_built(engine, box, Recorder(), host)  # type: ignore[arg-type]
    pushed = [c[1] for c in engine.calls if c[0] == "push"]
    assert pushed == [f"r/t/box:{box.rendered.short_hash}", "r/t/box:latest"]
    untagged = [c[1] for c in engine.calls if c[0] == "untag"]
    assert untagged == pushed, "registry-named tags exist only while pushing"
    assert pushlog.by_image(pushlog.read(host.state_dir)) == {"sha256:img": pushed}


def test_a_failed_push_after_a_build_is_a_warning(want, host: Host) -> None:  # type: ignore[no-untyped-def]
    reporter = Recorder()
    engine = FakeEngine(fail=RegistryError("pushing r/t/box: r refused", "auth", "run login"))
    image_cache.push_built(
        engine, want("image_cache: {registry: r/t, push: true}\n"), reporter, host
    )  # type: ignore[arg-type]
    assert reporter.steps[-1] == (
        "warning: not pushed to the image cache: pushing r/t/box: r refused (run login)"
    )


def test_the_push_log_skips_garbage(host: Host) -> None:
    pushlog.record(host.state_dir, "sha256:a", "r/x:1", "sha256:d")
    with (host.state_dir / pushlog.FILE_NAME).open("a") as handle:
        handle.write("not json\n")
    pushlog.record(host.state_dir, "sha256:a", "r/x:1", "sha256:d")
    assert pushlog.by_image(pushlog.read(host.state_dir)) == {"sha256:a": ["r/x:1"]}


# ---- images and prune ----------------------------------------------------------------------


def image(
    id_: str, tags: list[str], env: str = "a", build: str = "h1", kind: str = "env"
) -> dict[str, Any]:
    labels = {L.MANAGED: "true", L.ENV: env, L.BUILD_HASH: build, L.KIND: kind}
    return {"Id": id_, "RepoTags": tags, "Labels": labels, "Size": 5_000_000, "Created": 0}


def container(name: str, image_id: str, env: str | None = None, build: str = "") -> dict:
    labels = {L.MANAGED: "true", L.ENV: env, L.BUILD_HASH: build} if env else {}
    return {"Names": [f"/{name}"], "ImageID": image_id, "Labels": labels}


def test_rows_say_who_uses_what() -> None:
    found = rows(
        [image("sha256:1", ["devenv/a:h1"]), image("sha256:2", ["<none>:<none>"], build="h0")],
        [container("a", "sha256:1", "a", "h1"), container("other", "sha256:9")],
        {"sha256:1": ["r/t/a:h1"]},
    )
    by_id = {r.id: r for r in found}
    assert by_id["sha256:1"].in_use_by == ("a",) and by_id["sha256:1"].current
    assert by_id["sha256:1"].pushed_to == ("r/t/a:h1",)
    assert by_id["sha256:2"].tags == () and not by_id["sha256:2"].current
    assert by_id["sha256:1"].to_dict()["created"] == "1970-01-01T00:00:00Z"


def test_prune_spares_used_current_bases_and_snapshots() -> None:
    found = rows(
        [
            image("sha256:used", ["devenv/a:h1"]),
            image("sha256:current", ["devenv/b:h2"], env="b", build="h2"),
            image("sha256:old", ["devenv/b:h1"], env="b", build="h1"),
            image("sha256:dangling", []),
            image("sha256:shared", ["devenv/c:h1", "team/c:v1"], env="c"),
            image("sha256:base", ["devenv-base/debian:bookworm-x"], kind="base"),
            image("sha256:snap", ["devenv-snapshot/a:t1"], kind="snapshot"),
            image("sha256:used-snap", ["devenv-snapshot/a:t0"], kind="snapshot"),
        ],
        [
            container("plain", "sha256:used"),
            container("b", "sha256:elsewhere", "b", "h2"),
            container("from-snap", "sha256:used-snap"),
        ],
        {},
    )
    chosen = {r.image.id: (r.refs, r.keeps) for r in prune_plan(found)}
    assert chosen == {
        "sha256:old": (("devenv/b:h1",), ()),
        "sha256:dangling": (("sha256:dangling",), ()),
        "sha256:shared": (("devenv/c:h1",), ("team/c:v1",)),
    }
    with_snapshots = {r.image.id for r in prune_plan(found, snapshots=True)}
    assert with_snapshots == {*chosen, "sha256:snap"}


def test_new_names_are_checked() -> None:
    assert normalise_ref("team/php") == "team/php:latest"
    assert normalise_ref("127.0.0.1:5000/team/php:v1") == "127.0.0.1:5000/team/php:v1"
    for bad in ("devenv/php:v1", "devenv-snapshot/x", "Not Valid", "team/php@sha256:" + "0" * 64):
        with pytest.raises(DevenvError):
            normalise_ref(bad)


def test_human_sizes() -> None:
    assert [human_size(n) for n in (12, 5_000_000, 2_500_000_000)] == ["12 B", "5.0 MB", "2.5 GB"]
