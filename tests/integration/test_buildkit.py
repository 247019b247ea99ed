"""Builds on the real engine: through BuildKit where a docker CLI can, apt's caches reused
from one build to the next; through the engine's classic builder where no docker CLI is."""

from __future__ import annotations

import io
import re
import sys
from pathlib import Path

import pytest

from devenv.engine.buildkit import find_cli
from devenv.labels import BUILD_HASH, ENV, MANAGED
from tests.integration.conftest import BASE_IMAGE, RUN_LABEL
from tests.prerequisites import skip_or_fail


def build_log(state_dir: Path, name: str) -> str:
    return (state_dir / "envs" / name / "build.log").read_text()


def spec_text(name: str, packages: list[str], base: str = BASE_IMAGE) -> str:
    return f"name: {name}\nbase: {base}\napt: {{packages: [{', '.join(packages)}]}}\n"


@pytest.fixture
def fresh_base(docker_client, name) -> str:  # type: ignore[no-untyped-def]
    """The base with this test's mark in its config: no layer an earlier run left in
    BuildKit's cache (which outlives images) matches this test's builds."""
    tag = f"devenv-test-base/{name}:1"
    dockerfile = f"FROM {BASE_IMAGE}\nENV DEVENV_TEST_RUN={name}\nLABEL {RUN_LABEL}\n"
    docker_client.images.build(fileobj=io.BytesIO(dockerfile.encode()), tag=tag, rm=True)
    return tag


@pytest.fixture
def with_buildkit() -> None:
    if find_cli() is None:
        why = "no docker CLI on PATH builds with BuildKit (docker.io < 23, or buildx)"
        skip_or_fail(why)


def downloaded(log: str, package: str) -> bool:
    """apt fetched `package`'s deb in this build (`Get:N URL SUITE/main ARCH NAME ARCH VER`)."""
    return re.search(rf"Get:\d+ \S+ \S+ \S+ {re.escape(package)} ", log) is not None


def test_one_more_package_reuses_the_layers_and_apts_cache(
    devenv, docker_client, spec_dir, name, state_dir, with_buildkit, fresh_base
) -> None:  # type: ignore[no-untyped-def]
    spec = spec_dir(name, spec_text(name, ["tree", "bc"], fresh_base))
    assert devenv("apply", "--yes", str(spec)).code == 0
    assert build_log(state_dir, name).startswith("#1 ")  # BuildKit's plain progress
    spec.write_text(spec_text(name, ["tree", "bc", "jq"], fresh_base))
    assert devenv("apply", "--yes", str(spec)).code == 0
    log = build_log(state_dir, name)
    # the earlier packages' layers came from the cache: apt never ran for them
    assert "Unpacking tree" not in log and "Unpacking bc" not in log and "Unpacking jq" in log
    # a new layer chain (jq first) installs all three, from the debs kept in apt's cache
    spec.write_text(spec_text(name, ["jq", "tree", "bc"], fresh_base))
    assert devenv("apply", "--yes", str(spec)).code == 0
    log = build_log(state_dir, name)
    assert all(f"Unpacking {p} " in log for p in ("jq", "tree", "bc")), log
    assert not any(downloaded(log, p) for p in ("jq", "tree", "bc")), log
    box = docker_client.containers.get(name)
    assert box.exec_run(["jq", "--version"]).exit_code == 0
    labels = docker_client.images.get(box.image.id).labels
    assert labels[MANAGED] == "true" and labels[ENV] == name and labels[BUILD_HASH]
    assert devenv("destroy", "--yes", str(spec)).code == 0


def test_without_a_docker_cli_the_engine_builds_the_same_recipe(
    devenv, devenv_env, docker_client, spec_dir, name, state_dir, fresh_base
) -> None:  # type: ignore[no-untyped-def]
    spec = spec_dir(name, spec_text(name, ["tree"], fresh_base))
    path = devenv_env["PATH"]
    devenv_env["PATH"] = str(Path(sys.executable).parent)  # no docker here
    assert devenv("apply", "--yes", str(spec)).code == 0
    log = build_log(state_dir, name)
    assert log.startswith("Step 1/") and "--mount" not in log  # the classic builder's output
    box = docker_client.containers.get(name)
    assert box.exec_run(["tree", "--version"]).exit_code == 0
    labels = docker_client.images.get(box.image.id).labels
    assert labels[MANAGED] == "true" and labels[ENV] == name
    devenv_env["PATH"] = path
    plan = devenv("plan", "--detailed-exitcode", str(spec))
    assert plan.code == 0, plan.out  # the same build hash: with BuildKit back, nothing to build
    assert devenv("destroy", "--yes", str(spec)).code == 0
