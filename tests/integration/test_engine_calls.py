"""A converged plan costs a constant number of engine calls, whatever the number of envs."""

from __future__ import annotations

import time

import docker

from devenv.converge.session import open_session


def count_calls(monkeypatch, paths: list[str]) -> int:  # type: ignore[no-untyped-def]
    calls: list[str] = []
    original = docker.APIClient.send

    def counting(self, request, **kwargs):  # type: ignore[no-untyped-def]
        calls.append(f"{request.method} {request.path_url}")
        return original(self, request, **kwargs)

    monkeypatch.setattr(docker.APIClient, "send", counting)
    session = open_session(paths)
    assert not session.plan().has_changes, session.plan().to_json()
    monkeypatch.setattr(docker.APIClient, "send", original)
    return len(calls)


def test_noop_plan_calls_do_not_grow_with_envs(devenv, spec_dir, name, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    specs = [
        spec_dir(f"{name}-{i}", f"name: {name}-{i}\nports: [{8000 + i}]\nenv: {{N: '{i}'}}\n")
        for i in range(10)
    ]
    folder = str(specs[0].parent)
    applied = devenv("apply", folder)
    assert applied.code == 0, applied.err
    time.sleep(1.1)  # a box started less than a second ago is inspected once (crash-loop check)
    one = count_calls(monkeypatch, [str(specs[0])])
    ten = count_calls(monkeypatch, [folder])
    assert one == ten, (one, ten)
    assert one <= 4  # version, owned containers, named containers, images
    assert devenv("destroy", "--yes", folder).code == 0
