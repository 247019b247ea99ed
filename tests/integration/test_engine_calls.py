"""A converged plan's engine calls: a constant few (version, two listings, images; /info
once when a spec shares a folder) and one inspect per devenv box asked, for the state no
listing shows (restart count and policy): never one call per field, nothing more per env."""

from __future__ import annotations

from pathlib import Path

import docker

from devenv.converge.session import open_session


def count_calls(monkeypatch, paths: list[str]) -> list[str]:  # type: ignore[no-untyped-def]
    calls: list[str] = []
    original = docker.APIClient.send

    def counting(self, request, **kwargs):  # type: ignore[no-untyped-def]
        calls.append(f"{request.method} {request.path_url}")
        return original(self, request, **kwargs)

    monkeypatch.setattr(docker.APIClient, "send", counting)
    session = open_session(paths)
    assert not session.plan().has_changes, session.plan().to_json()
    monkeypatch.setattr(docker.APIClient, "send", original)
    return calls


def converged_counts(devenv, monkeypatch, specs: list[Path]) -> tuple[list[str], list[str]]:  # type: ignore[no-untyped-def]
    """The calls of a converged plan of one spec and of the folder of them, after an apply."""
    folder = str(specs[0].parent)
    applied = devenv("apply", folder)
    assert applied.code == 0, applied.err
    try:
        return count_calls(monkeypatch, [str(specs[0])]), count_calls(monkeypatch, [folder])
    finally:
        assert devenv("destroy", "--yes", folder).code == 0


def inspects(calls: list[str]) -> list[str]:
    return [c for c in calls if c.startswith("GET") and c.split("?")[0].endswith("/json")
            and "/containers/" in c and not c.split("?")[0].endswith("/containers/json")]  # fmt: skip


def test_noop_plan_calls_do_not_grow_with_envs(devenv, spec_dir, name, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    specs = [
        spec_dir(f"{name}-{i}", f"name: {name}-{i}\nports: [{8000 + i}]\nenv: {{N: '{i}'}}\n")
        for i in range(10)
    ]
    one, ten = converged_counts(devenv, monkeypatch, specs)
    assert len(one) == 5 and len(ten) == 14, (one, ten)  # 4 + one inspect per box
    assert len(inspects(ten)) == 10 and len(set(inspects(ten))) == 10  # one per box, none twice


def test_shares_cost_one_call_for_the_engine_s_data_root(
    devenv, spec_dir, name, monkeypatch
) -> None:  # type: ignore[no-untyped-def]
    """A spec that shares a folder costs one /info more, however many envs share: no share
    may reach the engine's data root (devenv.spec.shares), and only the engine knows where
    it is today. Asked once per command, so it is a constant, never a per-env cost."""
    specs = [
        spec_dir(f"{name}-{i}", f"name: {name}-{i}\nshared: ['./src-{i}:/src']\n")
        for i in range(10)
    ]
    for i in range(10):
        (specs[0].parent / f"src-{i}").mkdir()
    one, ten = converged_counts(devenv, monkeypatch, specs)
    asked_info = [c for c in ten if c.split("?")[0].endswith("/info")]
    assert len(one) == 6 and len(ten) == 15, (one, ten)  # the 5 and 14 above, and /info
    assert len(asked_info) == 1 and len(inspects(ten)) == 10, ten
