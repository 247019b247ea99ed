"""One answer to "is it converged": the answers from the memo and the full path, side by side
over generated situations on the real engine (edits to every input the loading reads, linked
and renamed specs, `.env` beside the link and beside its target, hand changes on the engine,
crash loops at several timings). In each, both paths must give the same exit code, stdout and
stderr for plan, plan --json, status and status --json (apply too where nothing is to do)."""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

from tests.integration.conftest import RUN_LABEL, Result, free_port

READS = (
    ("plan", "--detailed-exitcode"),
    ("plan", "--json"),
    ("status",),
    ("status", "--json"),
)


def run(devenv_env: dict[str, str], fast: bool, *args: str) -> Result:
    env = dict(devenv_env)
    if not fast:
        env["DEVENV_NO_FAST_PATH"] = "1"
    proc = subprocess.run(
        [sys.executable, "-m", "devenv", *args],
        env=env, capture_output=True, text=True, timeout=300, stdin=subprocess.DEVNULL,
    )  # fmt: skip
    assert "Traceback" not in proc.stderr, proc.stderr
    return Result(proc.returncode, proc.stdout, proc.stderr)


def same_answers(devenv_env: dict[str, str], spec: Path, what: str) -> list[int]:
    """Both paths, every read-only command: identical; the plans' exit codes."""
    codes = []
    with ThreadPoolExecutor(2) as pool:  # read-only commands: the two paths side by side
        for args in READS:
            pair = [pool.submit(run, devenv_env, fast, *args, str(spec)) for fast in (True, False)]
            memo, full = (future.result() for future in pair)
            assert (memo.code, memo.out, memo.err) == (full.code, full.out, full.err), (what, args)
            codes.append(full.code)
    return codes


class Box:
    """One applied env and the means to change it, on disk and on the engine."""

    def __init__(self, folder: Path, name: str, env: dict[str, str], client: Any) -> None:
        self.folder, self.name, self.env, self.client = folder, name, env, client
        self.spec = folder / f"{name}.yaml"
        self.port = free_port()

    def write(self, extra: str = "", greeting: str = "${GREETING}") -> None:
        self.spec.write_text(
            f"base: debian:bookworm\nports: ['127.0.0.1:{self.port}:80']\n"
            f"shared: ['./work:/work']\nenv: {{GREETING: '{greeting}'}}\n"
            f"command: [sleep, infinity]\n{extra}"
        )

    def apply(self) -> None:
        """Back to converged (not what is under test: a short stably-up window will do)."""
        env = {**self.env, "DEVENV_STABLE_SECONDS": "0.5"}
        result = run(env, False, "apply", "--yes", "--force", str(self.spec))
        assert result.code == 0, result.err

    def container(self) -> Any:
        return self.client.containers.get(self.name)


def _input_edits(box: Box) -> Iterator[tuple[str, Callable[[], Any]]]:
    """(what, change) for every input the loading reads; each is undone by re-writing."""
    folder, env = box.folder, box.env
    yield "converged", lambda: None
    yield "spec value edited", lambda: box.write(greeting="literal")
    yield "spec comment only", lambda: box.spec.write_text(box.spec.read_text() + "# note\n")
    yield (
        "spec: port edited",
        lambda: box.spec.write_text(box.spec.read_text().replace(str(box.port), str(box.port + 1))),
    )
    yield "spec: workdir added", lambda: box.write("workdir: /work\n")
    yield ".env value changed", lambda: (folder / ".env").write_text("GREETING=other\n")
    yield ".env removed", lambda: (folder / ".env").unlink()
    yield (
        ".env holds an unrelated change",
        lambda: (folder / ".env").write_text("GREETING=hello\nUNUSED=1\n"),
    )
    yield "variable exported", lambda: env.__setitem__("GREETING", "from-the-shell")
    yield "variable exported, same value", lambda: env.__setitem__("GREETING", "hello")
    yield "labels setting", lambda: env.__setitem__("DEVENV_LABELS", RUN_LABEL + ",team=a")
    yield "sudo user", lambda: env.__setitem__("SUDO_UID", "4242")
    yield (
        "state folder elsewhere",
        lambda: env.__setitem__("DEVENV_STATE_DIR", str(folder.parent / "other-state")),
    )
    yield (
        "shared folder made a link",
        lambda: (
            (folder / "work").rename(folder / "work-real"),
            (folder / "work").symlink_to(folder / "work-real"),
        ),
    )
    yield "shared folder deleted", lambda: shutil.rmtree(folder / "work")
    yield "lock file added (garbage)", lambda: box.spec.with_suffix(".lock").write_text("{")
    yield "spec made unreadable yaml", lambda: box.spec.write_text("base: [\n")
    yield "spec: hooks added", lambda: box.write("hooks: {start: ['true']}\n")
    yield "spec: package added", lambda: box.write("apt: {packages: [jq]}\n")
    yield "spec: user added", lambda: box.write("user: dev\n")
    yield (
        "spec: volume added",
        lambda: box.write(f"volumes: [{{name: {box.name}-v, container: /v}}]\n"),
    )
    yield "spec: ready check added", lambda: box.write("ready: {command: ['true']}\n")
    yield "spec: name given", lambda: box.write(f"name: {box.name}-named\n")
    yield "spec touched, same bytes", lambda: os.utime(box.spec)
    yield ".env: a comment added", lambda: (folder / ".env").write_text("GREETING=hello\n# note\n")
    yield (
        ".env made a link to the same text",
        lambda: (
            (folder / ".env-real").write_text("GREETING=hello\n"),
            (folder / ".env").unlink(),
            (folder / ".env").symlink_to(folder / ".env-real"),
        ),
    )


def _engine_changes(box: Box) -> Iterator[tuple[str, Callable[[], Any]]]:
    """(what, change) made by hand on the engine."""
    yield "stopped", lambda: box.container().stop(timeout=1)
    yield "paused", lambda: box.container().pause()
    yield "restart policy", lambda: box.container().update(restart_policy={"Name": "no"})
    yield (
        "network off",
        lambda: [
            box.client.networks.get(n).disconnect(box.container())
            for n in box.container().attrs["NetworkSettings"]["Networks"]
        ],
    )
    yield "killed", lambda: box.container().kill()
    yield "removed", lambda: box.container().remove(force=True)
    yield "renamed", lambda: box.container().rename(f"{box.name}-moved")
    yield "renamed to a leftover", lambda: box.container().rename(f"{box.name}.devenv-old")
    yield "restarted", lambda: box.container().restart(timeout=1)
    yield (
        "stopped, then started",
        lambda: (box.container().stop(timeout=1), box.container().start()),
    )
    yield "cpu shares set", lambda: box.container().update(cpu_shares=512)
    yield "a file written in the box", lambda: box.container().exec_run(["touch", "/root/note"])
    yield "a process left running", lambda: box.container().exec_run(["sleep", "300"], detach=True)
    yield (
        "image tag removed",
        lambda: box.client.images.remove(box.container().attrs["Config"]["Image"], force=True),
    )


def _restore(box: Box, saved: dict[str, str]) -> None:
    """Back to the converged env: inputs as they were, the box applied again."""
    box.env.clear()
    box.env.update(saved)
    for leftover in (f"{box.name}-moved", f"{box.name}.devenv-old"):
        with contextlib.suppress(Exception):  # there was none
            box.client.containers.get(leftover).remove(force=True)
    with contextlib.suppress(Exception):  # it was not paused
        box.container().unpause()
    link = box.folder / "work"
    if link.is_symlink():
        link.unlink()
        (box.folder / "work-real").rename(link)
    link.mkdir(exist_ok=True)
    box.spec.with_suffix(".lock").unlink(missing_ok=True)
    if (box.folder / ".env").is_symlink():
        (box.folder / ".env").unlink()
    (box.folder / ".env").write_text("GREETING=hello\n")
    box.write()
    box.apply()
    box.container().exec_run(["rm", "-f", "/root/note"])


@pytest.fixture
def box(devenv_env: dict[str, str], docker_client: Any, tmp_path: Path, name: str) -> Box:
    folder = tmp_path / "envs"
    (folder / "work").mkdir(parents=True)
    (folder / ".env").write_text("GREETING=hello\n")
    made = Box(folder, name, devenv_env, docker_client)
    made.write()
    made.apply()
    return made


def test_both_paths_give_one_answer_in_every_situation(box: Box) -> None:
    saved = dict(box.env)
    situations = [*_input_edits(box), *_engine_changes(box)]
    seen: dict[str, list[int]] = {}
    for what, change in situations:
        change()
        seen[what] = same_answers(box.env, box.spec, what)
        if what == "converged":
            for args in (("apply",), ("apply", "--json")):
                memo = run(box.env, True, *args, str(box.spec))
                full = run(box.env, False, *args, str(box.spec))
                assert (memo.code, memo.out, memo.err) == (full.code, full.out, full.err)
        _restore(box, saved)
    assert seen["converged"][0] == 0
    changed = [w for w, codes in seen.items() if codes[0] == 2]
    for what in ("spec value edited", ".env value changed", "variable exported", "stopped",
                 "paused", "restart policy", "network off", "removed", "killed"):  # fmt: skip
        assert what in changed, (what, seen[what])
    assert len(situations) >= 40


def test_linked_and_renamed_specs_give_one_answer(
    devenv_env: dict[str, str], docker_client: Any, tmp_path: Path, name: str
) -> None:
    """A spec reached through a link: its `.env` is read beside the link, it is named after
    the link; editing the `.env` beside the link or renaming the link changes the answer,
    editing one beside the target does not."""
    real, links = tmp_path / "real", tmp_path / "links"
    real.mkdir()
    links.mkdir()
    (real / "box.yaml").write_text(
        "base: debian:bookworm\nenv: {GREETING: '${GREETING}'}\ncommand: [sleep, infinity]\n"
    )
    (links / ".env").write_text("GREETING=hello\n")
    (real / ".env").write_text("GREETING=target\n")
    link = links / f"{name}.yaml"
    link.symlink_to(real / "box.yaml")
    assert run(devenv_env, False, "apply", "--yes", str(link)).code == 0
    assert same_answers(devenv_env, link, "linked, converged")[0] == 0
    (real / ".env").write_text("GREETING=target-2\n")
    assert same_answers(devenv_env, link, ".env beside the target")[0] == 0
    (links / ".env").write_text("GREETING=changed\n")
    assert same_answers(devenv_env, link, ".env beside the link")[0] == 2
    (links / ".env").write_text("GREETING=hello\n")
    assert same_answers(devenv_env, link, ".env put back")[0] == 0
    moved = links / f"{name}-2.yaml"
    link.rename(moved)
    renamed = same_answers(devenv_env, moved, "link renamed")
    assert renamed[0] == 2  # another env name: a new env to create
    moved.rename(link)
    assert same_answers(devenv_env, link, "link named back")[0] == 0


@pytest.mark.parametrize("dies_after", [1, 4])
def test_crash_loops_give_one_answer_at_every_moment(
    devenv_env: dict[str, str], docker_client: Any, spec_dir: Any, name: str, dies_after: int
) -> None:
    """Sampled through the loop; a pair of runs is compared when the box did not move between
    them (its restart count, state and start time the same before and after the pair)."""
    spec = spec_dir(name, f"name: {name}\ncommand: [sh, -c, 'sleep {dies_after}; exit 3']\n")
    run(devenv_env, False, "apply", str(spec))  # may be caught dying within the window

    def moment() -> tuple[Any, ...]:
        attrs = docker_client.containers.get(name).attrs
        state = attrs["State"]
        return attrs["RestartCount"], state["Status"], state["StartedAt"]

    end, compared, asked = time.monotonic() + 25, 0, 0
    while time.monotonic() < end:
        args = (("plan", "--detailed-exitcode"), ("status", "--json"))[asked % 2]
        asked += 1
        before = moment()
        memo = run(devenv_env, True, *args, str(spec))
        full = run(devenv_env, False, *args, str(spec))
        if moment() != before:
            continue  # it died or came back between the runs: no one moment to compare
        assert (memo.code, memo.out, memo.err) == (full.code, full.out, full.err), (before, args)
        if args[0] == "plan" and (before[0] or before[1] != "running"):
            assert full.code == 2, "a box that has restarted is never converged"
        compared += 1
    assert compared >= 3, (compared, asked)
