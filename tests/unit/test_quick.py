# ruff: noqa: F811  (pytest fixtures shared from test_plan are parameters here)
"""The fast path (devenv.answers): it may say "no changes" only where the full plan says the
same, its cache is trusted only while every input is unchanged, and it reads only the
command lines it knows. No engine: observed state as in test_plan, from summaries."""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from devenv import labels as L
from devenv import reads
from devenv.answers.argv import Request, parse
from devenv.converge import verdict
from devenv.converge.desired import DesiredEnv, desire
from devenv.converge.memo import inputs
from devenv.converge.memo import store as cache
from devenv.converge.memo.record import cached
from devenv.converge.plan import plan
from devenv.engine.connection import Connection
from devenv.engine.observed import Observed
from devenv.engine.server import Server
from devenv.host import Host
from tests.unit.test_plan import (  # noqa: F401 (fixtures)
    BASE_SUMMARY,
    BASIC,
    container_summary,
    host,
    image_summary,
    observe,
    want,
)

SERVER = Server("Docker Engine", "20.10.24", "1.41")
SOCKET = Connection("unix:///var/run/docker.sock", "default socket")


def entry_of(
    want_env: DesiredEnv, observed: Observed, host_: Host, recorded: reads.Recorded | None = None
) -> cache.Cached:
    found = cached(want_env, observed, recorded or reads.Recorded([]), SOCKET, SERVER)
    assert found is not None
    return found


def recorded_entry(spec: Path, host_: Host, observed: Observed) -> cache.Cached:
    """The entry the full path keeps for the spec at `spec`: loaded and worked out while
    recording, as devenv.converge.session does."""
    from devenv.spec.loader import load_all

    with reads.recording() as recorded:
        Host.current()  # read as the session reads it (the fixture's host stands in for it)
        (spec_file,) = load_all([spec])
        with reads.for_spec(spec_file.named):
            want_env = desire(spec_file, observed, host_)
    return entry_of(want_env, observed, host_, recorded)


def _mutations(want_env: DesiredEnv) -> dict[str, Observed]:
    """The converged engine, and ways it can differ from it, one at a time."""
    image = image_summary(want_env)
    base = dict(BASE_SUMMARY)

    def with_container(**edits: Any) -> Observed:
        summary = {**container_summary(want_env), **edits}
        return observe(summary, images=[base, image])

    moved = [{**p, "PublicPort": p["PublicPort"] + 1} for p in container_summary(want_env)["Ports"]]
    labels = dict(want_env.labels)
    return {
        "converged": with_container(),
        "stopped": with_container(State="exited", Ports=[]),
        "port moved by hand": with_container(Ports=moved),
        "mount gone": with_container(Mounts=[]),
        "build hash": with_container(Labels={**labels, L.BUILD_HASH: "0" * 64}),
        "config hash": with_container(Labels={**labels, L.CONFIG_HASH: "0" * 64}),
        "other spec": with_container(Labels={**labels, L.SPEC: "/elsewhere/box.yaml"}),
        "not devenv's": with_container(Labels={}),
        "other image": with_container(ImageID="sha256:" + "f" * 64),
        "image gone": observe(container_summary(want_env), images=[base]),
        "base re-pulled": observe(
            container_summary(want_env), images=[{**base, "Id": "sha256:" + "a" * 64}, image]
        ),
        "leftover": observe(
            container_summary(want_env),
            container_summary(want_env, name=f"{want_env.name}.devenv-old", container_id="d" * 64),
            images=[base, image],
        ),
        "gone": observe(images=[base, image]),
        "restarted, up again": inspected(with_container(), RestartCount=2),
        "restarting": inspected(with_container(), State={"Status": "restarting", "ExitCode": 3}),
        "dead": inspected(with_container(), State={"Status": "dead", "ExitCode": 137}),
        "paused": inspected(with_container(State="paused"), State={"Status": "paused"}),
        "restart policy": inspected(with_container(), HostConfig={"RestartPolicy": {"Name": "no"}}),
        "shared folder gone": missing(with_container(), "/gone/src"),
    }


def inspected(observed: Observed, **raw: Any) -> Observed:
    """`observed` with its one container as its inspect shows it (run state, policy)."""
    found = {"State": {"Status": "running", "Running": True}, "RestartCount": 0}
    found["HostConfig"] = {"RestartPolicy": {"Name": "unless-stopped"}}
    live = observed.containers[0].inspected({**found, **raw}, last_exit=3)
    return observed._replace(containers=(live,))


def missing(observed: Observed, source: str) -> Observed:
    live = observed.containers[0]._replace(missing=(source,))
    return observed._replace(containers=(live,))


def test_the_fast_verdict_never_says_converged_where_the_plan_does_not(
    want: Callable[..., DesiredEnv],
    host: Host,
) -> None:
    original = want(BASIC)
    entry = entry_of(original, observe(), host)
    fast = {}
    for what, observed in _mutations(original).items():
        # the full path works the desired state out again from what it sees (a new base…)
        fresh = desire(original.spec_file, observed, host)
        kinds = [a.kind for a in plan([fresh], observed).actions]
        holds = cache.holds_for(entry, observed)
        fast[what] = holds and verdict.converged(entry.wanted, observed) is not None
        assert not fast[what] or kinds == ["noop"], (what, kinds)
    # and it is not useless: the converged engine is recognised without the full path
    assert [what for what, yes in fast.items() if yes] == ["converged"]


def test_prune_would_remove_an_env_whose_spec_left_the_folder(
    want: Callable[..., DesiredEnv],
) -> None:
    original = want(BASIC)
    observed = observe(container_summary(original), images=[BASE_SUMMARY])
    folder = str(original.spec_file.folder)
    assert verdict.orphans(observed, ["other"], [folder])  # the plan's own rule
    assert not verdict.orphans(observed, [original.name], [folder])
    assert not verdict.orphans(observed, ["other"], ["/another/folder"])


# ---- the cache -----------------------------------------------------------------------------


@pytest.fixture
def stored(
    want: Callable[..., DesiredEnv],
    host: Host,
    tmp_path: Path,
) -> tuple[cache.Cached, str]:
    entry = recorded_entry(Path(want(BASIC).spec_file.path), host, observe())
    where = str(tmp_path / "state")
    cache.write(entry, where)
    return entry, where


def test_a_written_entry_reads_back_while_nothing_changed(stored: tuple[cache.Cached, str]) -> None:
    entry, where = stored
    assert cache.read(entry.spec, where) == entry


def _sealed(body: dict[str, Any], version: str = cache.FORMAT) -> str:
    """An entry file around `body` whose checksum holds, as cache.write seals one: what is
    wrong with it is only what a test put in."""
    flat = json.dumps(body, sort_keys=True, separators=(",", ":"))
    check = reads.digest(f"{version}\n{flat}".encode())
    return json.dumps({"format": version, "check": check, "body": body}, sort_keys=True)


def _body(text: str, **changes: Any) -> dict[str, Any]:
    body: dict[str, Any] = {**json.loads(text)["body"], **changes}
    return {k: v for k, v in body.items() if v is not DROP}


DROP = object()


def _for_another_spec(text: str, entry: cache.Cached) -> str:
    """A true entry of another spec file (same text, beside this one), checksum and all."""
    other = str(Path(entry.spec).with_name("other.yaml"))
    Path(other).write_text(Path(entry.spec).read_text())
    return entry._replace(spec=other).to_json()


def _checksum_mismatch(text: str) -> str:
    outer = json.loads(text)
    outer["body"]["build_hash"] = "0" * 64  # the body changed, its check did not
    return json.dumps(outer, sort_keys=True)


DAMAGE: dict[str, Callable[[str, cache.Cached], str | bytes]] = {
    "truncated JSON": lambda text, _: text[: len(text) // 2],
    "not JSON": lambda text, _: "not json at all",
    "not UTF-8": lambda text, _: text.encode()[:40] + b"\xff\xfe" + text.encode()[40:],
    "checksum mismatch": lambda text, _: _checksum_mismatch(text),
    "no checksum": lambda text, _: json.dumps({"format": cache.FORMAT, "body": _body(text)}),
    "older format version": lambda text, _: _sealed(_body(text), "devenv-desired/0"),
    "newer format version": lambda text, _: _sealed(_body(text), "devenv-desired/9"),
    "format field alone changed": lambda text, _: text.replace(cache.FORMAT, "devenv-desired/0"),
    "another spec's entry": _for_another_spec,
    "a body naming another spec": lambda text, e: _sealed(_body(text, spec=e.spec + ".other")),
    "a stale read": lambda text, _: _sealed(
        _body(
            text, reads=[[k, key, "0" * 64] for k, key, _seen in json.loads(text)["body"]["reads"]]
        )
    ),
    "a field missing": lambda text, _: _sealed(_body(text, wanted=DROP)),
    "a field of the wrong type": lambda text, _: _sealed(_body(text, reads=8080)),
    "an empty body": lambda text, _: _sealed({}),
}


def test_an_entry_sealed_again_unchanged_is_trusted(stored: tuple[cache.Cached, str]) -> None:
    """The control for the damage below: sealing a body again gives the very file written,
    which is trusted; so each damaged entry differs from a trusted one by its damage only."""
    entry, where = stored
    text = Path(cache.entry_path(where, entry.spec)).read_text()
    assert _sealed(_body(text)) == text == entry.to_json()
    assert cache.read(entry.spec, where) == entry


@pytest.mark.parametrize("kind", list(DAMAGE))
def test_a_damaged_entry_is_not_trusted(
    stored: tuple[cache.Cached, str], kind: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Only the entry file is damaged (the spec and every other input as when it was
    written): the cache gives no answer, and the fast path declines before asking the
    engine anything, leaving the command to the full path."""
    from devenv.answers import converged

    entry, where = stored
    path = Path(cache.entry_path(where, entry.spec))
    spec_before = Path(entry.spec).read_bytes()
    damaged = DAMAGE[kind](path.read_text(), entry)
    assert damaged not in (path.read_text(), path.read_bytes())
    path.write_bytes(damaged if isinstance(damaged, bytes) else damaged.encode())
    assert Path(entry.spec).read_bytes() == spec_before
    assert cache.read(entry.spec, where) is None
    asked: list[list[cache.Cached]] = []
    monkeypatch.setattr(converged, "engine_for", lambda found: asked.append(found))
    monkeypatch.setattr(cache, "state_dir", lambda: where)  # not the variable: an input
    assert entry.reads and all(cache.still(r) for r in entry.reads)  # only the entry changed
    assert converged.plan_or_apply(Request("plan", (entry.spec,))) is None
    assert converged.status(Request("status", (entry.spec,))) is None
    assert asked == []  # declined on the entry, not for want of an engine


def test_an_intact_entry_goes_on_to_the_engine(
    stored: tuple[cache.Cached, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The other side of the test above: the same request with the entry intact gets past
    the cache and asks for the engine it was written for."""
    from devenv.answers import converged

    entry, where = stored
    asked: list[list[cache.Cached]] = []
    monkeypatch.setattr(converged, "engine_for", lambda found: asked.append(found))
    monkeypatch.setattr(cache, "state_dir", lambda: where)  # not the variable: an input
    monkeypatch.setattr(converged.show, "plain_terminal", lambda stream: False)
    assert converged.plan_or_apply(Request("plan", (entry.spec,))) is None
    assert converged.status(Request("status", (entry.spec,))) is None
    assert asked == [[entry], [entry]]


def test_an_unwritable_state_folder_is_harmless(
    stored: tuple[cache.Cached, str], tmp_path: Path
) -> None:
    entry, _ = stored
    blocked = tmp_path / "blocked"
    blocked.write_text("a file where the folder should be")
    cache.write(entry, str(blocked))  # no error: the next command takes the full path
    assert cache.read(entry.spec, str(blocked)) is None


# ---- every kind of input -------------------------------------------------------------------

KEYED = """\
    base: debian:bookworm
    ports: ["8080:80"]
    shared: ["./src:/var/www"]
    env: {TOKEN: "${TOKEN}"}
    user: {name: dev}
    sshd: {authorized_keys: [./keys/me.pub]}
"""
KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAILvSSIsM7KnpKuSWHJLSr+2He2Frd6gHrAG0za/HDgtM me@laptop"


def _edits(spec: Path) -> dict[str, Callable[[], object]]:
    folder = spec.parent
    return {
        "spec": lambda: spec.write_text(spec.read_text() + "workdir: /srv\n"),
        ".env": lambda: (folder / ".env").write_text("TOKEN=other\n"),
        "lock": lambda: spec.with_suffix(".lock").write_text("{}"),
        "key file": lambda: (folder / "keys" / "me.pub").write_text(KEY.replace("me@", "you@")),
        "variable": lambda: os.environ.__setitem__("TOKEN", "from-the-shell"),
        "labels setting": lambda: os.environ.__setitem__("DEVENV_LABELS", "team=a"),
        "sudo user": lambda: os.environ.__setitem__("SUDO_UID", "4242"),
        "shared path moved": lambda: (
            (folder / "src").rename(folder / "src-real"),
            (folder / "src").symlink_to(folder / "src-real"),
        ),
    }


@pytest.mark.parametrize("kind", list(_edits(Path("/x/box.yaml"))))
def test_every_kind_of_input_invalidates_the_entry(
    kind: str,
    write_spec: Callable[..., Path],
    host: Host,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    for name in ("TOKEN", "DEVENV_LABELS", "SUDO_UID"):
        monkeypatch.delenv(name, raising=False)
    spec = write_spec(KEYED)
    (spec.parent / ".env").write_text("TOKEN=one\n")
    (spec.parent / "keys").mkdir()
    (spec.parent / "keys" / "me.pub").write_text(KEY)
    (spec.parent / "src").mkdir()

    entry = recorded_entry(spec, host, observe())
    where = str(host.state_dir)
    cache.write(entry, where)
    assert cache.read(entry.spec, where) == entry
    _edits(spec)[kind]()
    assert cache.read(entry.spec, where) is None, kind


def test_a_linked_spec_is_keyed_by_its_link_and_watches_the_env_file_beside_it(
    tmp_path: Path, host: Host, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The loader reads the `.env` beside the path as named (the link's folder), and a spec
    without `name:` is named after the link: the memo records both as read."""
    monkeypatch.delenv("TOKEN", raising=False)
    real, links = tmp_path / "real", tmp_path / "links"
    real.mkdir()
    links.mkdir()
    (real / "box.yaml").write_text('base: debian:bookworm\nenv: {TOKEN: "${TOKEN}"}\n')
    (links / ".env").write_text("TOKEN=one\n")
    (links / "php.yaml").symlink_to(real / "box.yaml")
    entry = recorded_entry(links / "php.yaml", host, observe())
    assert entry.spec == str(links / "php.yaml") and entry.name == "php"
    where = str(host.state_dir)
    cache.write(entry, where)
    assert cache.read(str(links / "php.yaml"), where) == entry
    assert cache.read(str(real / "box.yaml"), where) is None  # another name, another entry
    (links / ".env").write_text("TOKEN=two\n")
    assert cache.read(str(links / "php.yaml"), where) is None
    (links / ".env").write_text("TOKEN=one\n")
    assert cache.read(str(links / "php.yaml"), where) == entry
    (links / "php.yaml").rename(links / "web.yaml")  # renamed: the old entry answers nothing
    assert cache.read(str(links / "web.yaml"), where) is None


def test_default_keys_are_watched_as_a_glob(
    write_spec: Callable[..., Path], tmp_path: Path
) -> None:

    spec = write_spec("base: debian:bookworm\nuser: {name: dev}\nsshd: {authorized_keys: []}\n")
    (tmp_path / ".ssh").mkdir()
    (tmp_path / ".ssh" / "id_ed25519.pub").write_text(KEY)
    host_ = Host(1000, 1000, tmp_path, tmp_path / "state")
    entry = recorded_entry(spec, host_, observe())
    assert ("glob", f"{tmp_path}/.ssh/id_*.pub") in {(r.kind, r.key) for r in entry.reads}
    cache.write(entry, str(host_.state_dir))
    assert cache.read(entry.spec, str(host_.state_dir)) == entry
    (tmp_path / ".ssh" / "id_rsa.pub").write_text(KEY.replace("me@", "two@"))
    assert cache.read(entry.spec, str(host_.state_dir)) is None


def test_devenv_code_changes_invalidate_every_entry(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "pkg").mkdir()
    (tmp_path / "pkg" / "plan.py").write_text("x = 1\n")
    monkeypatch.setattr(inputs, "PACKAGE", str(tmp_path / "pkg"))
    inputs.code_signature.cache_clear()
    before = inputs.code_signature()
    (tmp_path / "pkg" / "plan.py").write_text("x = 22\n")
    inputs.code_signature.cache_clear()
    assert inputs.code_signature() != before
    inputs.code_signature.cache_clear()


def test_a_dockerfile_base_is_left_to_the_full_path(
    write_spec: Callable[..., Path],
    host: Host,
) -> None:
    from devenv.build.context import resolve
    from devenv.spec.loader import load_all

    spec = write_spec("base: {dockerfile: ./Dockerfile}\n")
    (spec.parent / "Dockerfile").write_text("FROM debian:bookworm\n")
    (spec_file,) = load_all([spec])
    assert resolve(spec_file) is not None
    found = cached(
        desire(spec_file, observe(), host), observe(), reads.Recorded([]), SOCKET, SERVER
    )
    assert found is None


# ---- command lines -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("argv", "request_"),
    [
        (["plan", "envs/"], Request("plan", ("envs/",))),
        (
            ["plan", "--detailed-exitcode", "a.yaml", "--json", "b.yaml"],
            Request("plan", ("a.yaml", "b.yaml"), frozenset({"--detailed-exitcode", "--json"})),
        ),
        (["apply", "-y", "envs"], Request("apply", ("envs",), frozenset({"-y"}))),
        (["shell", "box.yaml", "--", "true"], Request("shell", ("box.yaml",), words=("true",))),
        (["shell", "box.yaml"], Request("shell", ("box.yaml",))),
        (["plan"], None),
        (["plan", "--help", "envs"], None),
        (["apply", "--wait-timeout", "5", "envs"], None),
        (["--host", "tcp://x:2376", "plan", "envs"], None),
        (["status"], Request("status", ())),
        (["status", "--all"], None),
        (["shell", "box.yaml", "true"], None),
        ([], None),
    ],
)
def test_only_known_command_lines_take_the_fast_path(
    argv: list[str], request_: Request | None
) -> None:
    assert parse(argv) == request_


# ---- what it prints --------------------------------------------------------------------------


@pytest.mark.parametrize("colour", [True, False])
def test_it_prints_a_converged_plan_and_apply_as_rich_does(
    colour: bool,
    want: Callable[..., DesiredEnv],
    host: Host,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import io

    from rich.console import Console

    from devenv.answers import show
    from devenv.cli import ui
    from devenv.converge.plan import Action, Plan
    from devenv.reporting import Outcome

    original = want(BASIC)
    observed = observe(container_summary(original), images=[BASE_SUMMARY, image_summary(original)])
    live = observed.named(original.name)
    assert live is not None
    envs = [(entry_of(original, observed, host), live)] * 2
    drawn = io.StringIO()
    console = Console(file=drawn, force_terminal=colour, highlight=False, soft_wrap=True)
    monkeypatch.setattr(ui, "out", console)
    ui.print_plan(Plan(tuple(Action("noop", e.name, (), c.id, e.image) for e, c in envs)))
    ui.print_outcomes([Outcome(e.name, True, "no changes") for e, _ in envs])
    assert show.plan_text(envs, colour) + show.outcomes_text(envs, colour) == drawn.getvalue()
    plan_json = Plan(tuple(Action("noop", e.name, (), c.id, e.image) for e, c in envs)).to_json()
    assert show.plan_json(envs) == plan_json + "\n"


def test_the_fast_path_loads_nothing_heavy() -> None:
    """Its whole point: a converged command never pays for these imports."""
    import subprocess
    import sys

    probe = (
        "import sys, devenv.cli.entry, devenv.answers.run, devenv.converge.memo.record,"
        " devenv.answers.converged, devenv.answers.shell;"
        "print(sorted({m.split('.')[0] for m in sys.modules}))"
    )
    loaded = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True
    ).stdout
    for heavy in ("pydantic", "yaml", "docker", "jinja2", "typer", "rich", "requests"):
        assert f"'{heavy}'" not in loaded, heavy
