"""Hooks: validated like any spec value, kept out of the build and the config hash, and run
by apply in the box once it is up (create hooks once per container, start hooks after each
start), against the fake engine of test_apply."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from devenv.converge.desired import DesiredEnv
from devenv.converge.plan import plan
from devenv.host import Host
from devenv.reporting import Outcome
from tests.unit.test_apply import (
    CHANGED,
    CRASHED,
    NEW_ID,
    ROLLBACK,
    SPEC,
    FakeEngine,
    host,  # noqa: F401 (a fixture)
    run,
    want,  # noqa: F401 (a fixture)
)
from tests.unit.test_plan import BASE_SUMMARY, CONTAINER_ID, converged, image_summary, observe

HOOKS = """\
    user: dev
    workdir: /work
    hooks:
      create: ["echo made > $HOME/made", [touch, /tmp/created]]
      start: make serve
"""
SH = "/bin/sh"


def hook_calls(engine: FakeEngine) -> list[tuple[Any, ...]]:
    return [c[1:] for c in engine.calls if c[0] == "exec_lines"]


# ---- the spec ---------------------------------------------------------------------------------


def test_hooks_take_strings_lists_and_one_command(load: Callable[[str], Any]) -> None:
    spec = load(SPEC + HOOKS).spec
    assert spec.hooks.create == ["echo made > $HOME/made", ["touch", "/tmp/created"]]
    assert spec.hooks.start == ["make serve"]  # `$` stays for the shell


@pytest.mark.parametrize(
    ("entry", "message"),
    [
        ('"   "', "a hook is empty"),
        ("[]", "a hook's word list is empty"),
        ('"echo \\x1b[31m"', "a hook contains a control character"),
        ("{run: ls}", "a hook is a command string or a list of words"),
    ],
)
def test_bad_hooks_fail_at_their_line(
    problems: Callable[[str], list[str]], entry: str, message: str
) -> None:
    found = problems(f"hooks:\n  create:\n    - ls\n    - {entry}\n")
    assert len(found) == 1 and found[0].startswith("4:7: hooks.create[1]: " + message)


def test_hooks_change_neither_the_build_nor_the_config(
    want: Callable[..., DesiredEnv],  # noqa: F811
) -> None:
    plain, hooked = want(SPEC), want(SPEC + "    hooks: {create: [make], start: [make serve]}\n")
    assert hooked.rendered.build_hash == plain.rendered.build_hash
    assert hooked.config_hash == plain.config_hash
    assert [a.kind for a in plan([hooked], converged(plain)).actions] == ["noop"]


# ---- apply --------------------------------------------------------------------------------------


def test_create_runs_create_then_start_hooks_as_the_user_once_up(
    want: Callable[..., DesiredEnv],  # noqa: F811
    host: Host,  # noqa: F811
) -> None:
    box = want(SPEC + HOOKS)
    engine = FakeEngine(observe(images=[BASE_SUMMARY, image_summary(box)]))
    (outcome,) = run(engine, host, [box])
    assert outcome == Outcome("box", True, "created")
    assert hook_calls(engine) == [
        (NEW_ID, (SH, "-c", "echo made > $HOME/made"), "dev", "/work"),
        (NEW_ID, ("touch", "/tmp/created"), "dev", "/work"),
        (NEW_ID, (SH, "-c", "make serve"), "dev", "/work"),
    ]
    calls = [c[0] for c in engine.calls]
    assert calls.index("exec_lines") > max(i for i, c in enumerate(calls) if c == "state")


def test_a_start_runs_only_the_start_hooks(
    want: Callable[..., DesiredEnv],  # noqa: F811
    host: Host,  # noqa: F811
) -> None:
    box = want(SPEC + HOOKS)
    engine = FakeEngine(converged(box, state="exited"))
    (outcome,) = run(engine, host, [box])
    assert outcome.ok and outcome.message == "started"
    assert hook_calls(engine) == [(CONTAINER_ID, (SH, "-c", "make serve"), "dev", "/work")]


def test_a_converged_box_runs_no_hook(
    want: Callable[..., DesiredEnv],  # noqa: F811
    host: Host,  # noqa: F811
) -> None:
    box = want(SPEC + HOOKS)
    engine = FakeEngine(converged(box))
    assert run(engine, host, [box]) == [Outcome("box", True, "no changes")]
    assert hook_calls(engine) == []


def test_a_failing_hook_of_a_replacement_rolls_back_with_its_output(
    want: Callable[..., DesiredEnv],  # noqa: F811
    host: Host,  # noqa: F811
) -> None:
    engine = FakeEngine(converged(want(SPEC + HOOKS)))
    engine.exit_codes[("touch", "/tmp/created")] = 7
    (outcome,) = run(engine, host, [want(CHANGED + HOOKS)])
    assert not outcome.ok
    assert outcome.message.startswith("the create hook `touch /tmp/created` exited with code 7")
    assert "ran /tmp/created" in outcome.message  # its last output
    assert "the old container runs again" in outcome.message
    assert engine.mutations()[-3:] == ROLLBACK
    assert ("remove", CONTAINER_ID) not in engine.mutations()
    assert len(hook_calls(engine)) == 2  # the start hook never ran


def test_a_failing_hook_of_a_new_env_leaves_it_for_inspection(
    want: Callable[..., DesiredEnv],  # noqa: F811
    host: Host,  # noqa: F811
) -> None:
    box = want(SPEC + HOOKS)
    engine = FakeEngine(observe(images=[BASE_SUMMARY, image_summary(box)]))
    engine.exit_codes[(SH, "-c", "make serve")] = 2
    (outcome,) = run(engine, host, [box])
    assert not outcome.ok and "the start hook `make serve` exited with code 2" in outcome.message
    assert "devenv shell" in outcome.message and "devenv destroy" in outcome.message
    assert engine.mutations() == [("create", "box"), ("start", NEW_ID)]  # nothing removed


def test_no_hook_runs_when_the_box_is_not_up(
    want: Callable[..., DesiredEnv],  # noqa: F811
    host: Host,  # noqa: F811
) -> None:
    box = want(SPEC + HOOKS)
    engine = FakeEngine(observe(images=[BASE_SUMMARY, image_summary(box)]))
    engine.states[NEW_ID] = CRASHED
    (outcome,) = run(engine, host, [box])
    assert not outcome.ok and hook_calls(engine) == []
