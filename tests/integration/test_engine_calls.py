"""A converged plan's engine calls: a constant few (version, two listings, images) and one
inspect per devenv box asked, for the state no listing shows (restart count and policy):
never one call per field, and nothing more per env."""

from __future__ import annotations

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


def test_noop_plan_calls_do_not_grow_with_envs(devenv, spec_dir, name, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    specs = [
        spec_dir(f"{name}-{i}", f"name: {name}-{i}\nports: [{8000 + i}]\nenv: {{N: '{i}'}}\n")
        for i in range(10)
    ]
    folder = str(specs[0].parent)
    applied = devenv("apply", folder)
    assert applied.code == 0, applied.err
    one = count_calls(monkeypatch, [str(specs[0])])
    ten = count_calls(monkeypatch, [folder])
    inspects = [c for c in ten if c.startswith("GET") and c.split("?")[0].endswith("/json")
                and "/containers/" in c and not c.split("?")[0].endswith("/containers/json")]  # fmt: skip
    assert len(one) == 5 and len(ten) == 14, (one, ten)  # 4 + one inspect per box
    assert len(inspects) == 10 and len(set(inspects)) == 10  # one per box, none twice
    assert devenv("destroy", "--yes", folder).code == 0
