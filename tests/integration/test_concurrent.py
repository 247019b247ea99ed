"""A folder of envs is applied a few at once (DEVENV_JOBS): builds of different envs overlap
on the real engine, every box comes up, each env's output stays its own, and one failing
build stops none of the others."""

from __future__ import annotations

import signal
import time
from pathlib import Path

from tests.integration.conftest import Result, start_devenv, unique
from tests.integration.services import (  # noqa: F401  (fixtures, registered by name)
    AptProxy,
    apt_proxy_fixture,
)

PACKAGES = {"tr": "tree", "bc": "bc", "jq": "jq"}
RECORD = "date +%s.%N > /opt/built-from && sleep 10 && date +%s.%N > /opt/built-to"


def _write(folder: Path, name: str, package: str, mirror: str, run: bool) -> None:
    steps = f"run: [{RECORD!r}]\n" if run else ""
    (folder / f"{name}.yaml").write_text(
        f"name: {name}\nbase: debian:bookworm\n"
        f"apt:\n  mirror: {mirror}\n  packages: [{package}]\n{steps}"
    )


def _interval(docker_client, name: str) -> tuple[float, float]:  # type: ignore[no-untyped-def]
    box = docker_client.containers.get(name)
    said = box.exec_run(["cat", "/opt/built-from", "/opt/built-to"]).output.decode().split()
    return float(said[0]), float(said[1])


def _lines_of(result: Result, env: str) -> list[str]:
    return [line.strip() for line in result.err.splitlines() if line.strip().startswith(env)]


def test_a_folder_builds_at_once_and_a_failed_build_stops_no_other(  # type: ignore[no-untyped-def]
    devenv, docker_client, tmp_path: Path, apt_proxy: AptProxy
) -> None:
    folder = tmp_path / "envs"
    folder.mkdir()
    tag = unique("c")
    names = {f"{tag}-{key}": package for key, package in PACKAGES.items()}
    for name, package in names.items():
        _write(folder, name, package, apt_proxy.mirror, run=True)
    broken = f"{tag}-no"
    _write(folder, broken, "devenv-no-such-package", apt_proxy.mirror, run=False)
    try:
        applied = devenv("apply", "--yes", str(folder), timeout=1200)

        # one failure: the others are up, the exit code and the summary as ever
        assert applied.code == 1, applied.err
        for name, package in names.items():
            assert f"✓ {name}: built, created" in applied.out, applied.out + applied.err
            box = docker_client.containers.get(name)
            assert box.status == "running"
            assert box.exec_run(["dpkg", "-s", package]).exit_code == 0
        assert f"✗ {broken}: building {broken} failed at" in applied.err
        assert f"1 of {len(names) + 1} env(s) failed: {broken}" in applied.err
        assert not docker_client.containers.list(all=True, filters={"name": f"^{broken}$"})

        # the builds ran at once: each env's own build step was under way while another's was
        # (their apt steps take turns on apt's shared cache, so they need not start together)
        spans = [_interval(docker_client, name) for name in names]
        for start, end in spans:
            others = [s for s in spans if s != (start, end)]
            assert any(s < end and start < e for s, e in others), f"no overlap: {spans}"

        # every line of progress names its env; each env's own story reads in order
        for name in [*names, broken]:
            mine = _lines_of(applied, name)
            assert mine[0] == f"{name}: building devenv/{name}:" + mine[0].rsplit(":", 1)[1]
            assert any(line.startswith(f"{name}: Step ") for line in mine), mine
        for name in names:
            said = [line.split(": ", 1)[1] for line in _lines_of(applied, name)]
            steps = [s for s in said if not s.startswith("Step ")]
            assert steps == [
                said[0],
                "creating container",
                "waiting for the box to be up",
            ], said
    finally:
        for name in [*names, broken]:
            for box in docker_client.containers.list(all=True, filters={"name": f"^{name}$"}):
                box.remove(force=True)


def test_ctrl_c_stops_every_build_and_leaves_nothing_half_made(  # type: ignore[no-untyped-def]
    devenv_env, docker_client, tmp_path: Path
) -> None:
    folder = tmp_path / "envs"
    folder.mkdir()
    names = [unique("i") for _ in range(2)]
    for index, name in enumerate(names):
        (folder / f"{name}.yaml").write_text(
            f"name: {name}\nbase: debian:bookworm\nrun: ['echo {index} && sleep 120']\n"
        )
    proc = start_devenv(devenv_env, "apply", "--yes", str(folder))
    try:
        assert proc.stderr is not None
        seen, sleeping = "", set()
        deadline = time.monotonic() + 300
        while sleeping != set(names) and time.monotonic() < deadline:
            line = proc.stderr.readline()
            seen += line
            sleeping |= {
                n for n in names if line.strip().startswith(f"{n}: Step") and "sleep" in line
            }
            assert line or proc.poll() is None, seen
        assert sleeping == set(names), seen  # both builds are in their long step at once
        stopped_at = time.monotonic()
        proc.send_signal(signal.SIGINT)
        _out, err = proc.communicate(timeout=60)
        assert proc.returncode == 130, seen + err
        assert time.monotonic() - stopped_at < 30  # the builds were stopped, not waited out
        assert "Traceback" not in seen + err
        assert "interrupted" in err
        for name in names:
            assert not docker_client.containers.list(all=True, filters={"name": f"^{name}"})
            assert not docker_client.images.list(name=f"devenv/{name}")
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
