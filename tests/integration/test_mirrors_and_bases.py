"""Mirrors and base images (issue 4), against real parts: an apt proxy, an image registry,
and mmdebstrap. Nothing is mocked; every service listens on 127.0.0.1 only."""

from __future__ import annotations

import io
import re
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from devenv.build.lockfile import lock_path, parse
from devenv.build.render import base_ref
from devenv.spec.models import Base
from tests.integration.conftest import RUN_LABEL, Result, free_port
from tests.integration.services import (  # noqa: F401  (fixtures, registered by name)
    AptProxy,
    Registry,
    apt_proxy_fixture,
    registry_fixture,
)

LABEL_KEY, LABEL_VALUE = RUN_LABEL.split("=", 1)


def image_names(docker_client, env: str) -> list[str]:  # type: ignore[no-untyped-def]
    return [t for image in docker_client.images.list(name=f"devenv/{env}") for t in image.tags]


def assert_nothing_created(docker_client, env: str) -> None:  # type: ignore[no-untyped-def]
    assert not docker_client.containers.list(all=True, filters={"name": f"^{env}$"})
    assert not image_names(docker_client, env)


def error_line(result: Result) -> str:
    """The failure as the user reads it: the line marking the env as failed, with its hint
    (which may follow on an indented line of its own)."""
    lines = result.err.splitlines()
    (start,) = [i for i, line in enumerate(lines) if line.startswith("✗ ")]
    hint = [line.strip() for line in lines[start + 1 : start + 2] if line.startswith("  hint:")]
    return " ".join([lines[start], *hint])


def built_on(box, base) -> bool:  # type: ignore[no-untyped-def]
    """The box's image starts with `base`'s layers (whichever builder made it: BuildKit's
    images name no parent image in their history)."""
    under = base.attrs["RootFS"]["Layers"]
    return bool(under) and box.image.attrs["RootFS"]["Layers"][: len(under)] == under


def remove_env(docker_client, env: str) -> None:  # type: ignore[no-untyped-def]
    """Free the box now; its images carry the run's label and go at the session's end."""
    docker_client.containers.get(env).remove(force=True, v=False)


# ---- apt mirror through a real proxy ---------------------------------------------------------


def test_apt_mirror_serves_the_build_and_the_box(  # type: ignore[no-untyped-def]
    devenv, docker_client, spec_dir, name, apt_proxy: AptProxy
) -> None:
    spec = spec_dir(
        name,
        f"""\
        name: {name}
        base: debian:bookworm
        apt:
          mirror: {apt_proxy.mirror}
          packages: [hello]
        """,
    )
    applied = devenv("apply", str(spec))
    # the mirror is on the host's loopback: only a host-network build can reach it
    assert applied.code == 0, applied.err
    box = docker_client.containers.get(name)
    assert box.status == "running"
    greeting = box.exec_run(["hello"])
    assert greeting.exit_code == 0 and greeting.output.decode().strip() == "Hello, world!"

    # proof it came through the mirror: the proxy served hello's .deb
    deadline = time.monotonic() + 10
    while not re.search(r"/pool/main/h/hello/hello_[^|\s]+\.deb", apt_proxy.served()):
        assert time.monotonic() < deadline, (
            f"hello's .deb is not in {apt_proxy.log}:\n" + (apt_proxy.served()[-3000:])
        )
        time.sleep(0.25)

    # the running box uses the mirror too; security keeps its own host
    sources = box.exec_run(["cat", "/etc/apt/sources.list"]).output.decode()
    archive = [line for line in sources.splitlines() if "security" not in line and line.strip()]
    assert archive and all(f" {apt_proxy.mirror} " in line for line in archive), sources

    assert devenv("plan", "--detailed-exitcode", str(spec)).code == 0
    remove_env(docker_client, name)


# ---- registry mirror -------------------------------------------------------------------------


@pytest.fixture
def pushed_base(docker_client, registry: Registry) -> Iterator[str]:  # type: ignore[no-untyped-def]
    """A base only the registry has: debian:bookworm (plus the run's label), pushed under a
    name that does not exist locally, then untagged here. Yields the plain name."""
    plain = f"devenvtest-base-{uuid.uuid4().hex[:12]}:v1"
    remote = f"{registry.address}/{plain}"
    repo, tag = remote.rsplit(":", 1)
    docker_client.images.build(
        fileobj=io.BytesIO(b"FROM debian:bookworm\n"),
        tag=remote,
        labels={LABEL_KEY: LABEL_VALUE},
        rm=True,
    )
    try:
        for event in docker_client.api.push(repo, tag=tag, stream=True, decode=True):
            assert "error" not in event, event
        docker_client.images.remove(remote)
        assert not docker_client.images.list(name=plain.split(":")[0])
        assert not docker_client.images.list(name=repo)
        yield plain
    finally:
        for ref in (remote, plain):
            if docker_client.images.list(name=ref):
                docker_client.images.remove(ref, force=True)


def test_registry_mirror_pulls_the_base_and_converges(  # type: ignore[no-untyped-def]
    devenv, docker_client, spec_dir, name, registry: Registry, pushed_base: str
) -> None:
    spec = spec_dir(
        name,
        f"""\
        name: {name}
        base: {{image: {pushed_base}, registry_mirror: {registry.address}}}
        """,
    )
    applied = devenv("apply", str(spec))
    assert applied.code == 0, applied.err
    assert f"pulling {pushed_base} through {registry.address}" in applied.err

    # pulled through the mirror and tagged with the plain name the Dockerfile starts FROM
    base = docker_client.images.get(pushed_base)
    repo = f"{registry.address}/{pushed_base.split(':')[0]}"
    assert any(d.startswith(f"{repo}@sha256:") for d in base.attrs["RepoDigests"])
    box = docker_client.containers.get(name)
    assert box.status == "running" and built_on(box, base)

    # converged: the base is now named by its registry digest, and that is stable
    assert devenv("plan", "--detailed-exitcode", str(spec)).code == 0
    again = devenv("apply", str(spec))
    assert again.code == 0 and "pulling" not in again.err and "building" not in again.err

    # the base's tag deleted by hand: fetched again through the mirror, nothing rebuilt,
    # and the container (already running that very image) is left alone
    docker_client.images.remove(pushed_base)
    assert devenv("plan", "--detailed-exitcode", str(spec)).code == 2
    refetched = devenv("apply", "--yes", str(spec))
    assert refetched.code == 0 and "building" not in refetched.err, refetched.err
    assert docker_client.containers.get(name).id == box.id
    assert devenv("plan", "--detailed-exitcode", str(spec)).code == 0
    remove_env(docker_client, name)


def test_a_base_in_no_registry_is_one_clear_error(  # type: ignore[no-untyped-def]
    devenv, docker_client, spec_dir, name, registry: Registry
) -> None:
    missing = f"devenvtest-missing-{uuid.uuid4().hex[:12]}:v1"
    spec = spec_dir(
        name,
        f"""\
        name: {name}
        base: {{image: {missing}, registry_mirror: {registry.address}}}
        """,
    )
    failed = devenv("apply", str(spec))
    assert failed.code == 1
    line = error_line(failed)
    assert line.count(name) == 1 and missing in line and registry.address in line, failed.err
    assert f"push it to {registry.address}" in line and "bootstrap" in line, line  # the hint
    assert_nothing_created(docker_client, name)
    assert not docker_client.images.list(name=missing.split(":")[0])


# ---- offline bootstrap -----------------------------------------------------------------------


def test_bootstrap_builds_the_base_offline_once(  # type: ignore[no-untyped-def]
    devenv, docker_client, spec_dir, name, apt_proxy: AptProxy
) -> None:
    """A recipe no one on this machine has made (the proxy's port is this run's; the `apt`
    variant is not the other tests' minbase), so the first apply must bootstrap it."""
    mirror = apt_proxy.mirror
    spec = spec_dir(
        name,
        f"""\
        name: {name}
        base: {{bootstrap: "debian:bookworm", mirror: "{mirror}", variant: apt}}
        """,
    )
    tag = base_ref(Base(bootstrap="debian:bookworm", mirror=mirror, variant="apt"))
    assert re.fullmatch(r"devenv-base/debian:bookworm-[0-9a-f]{12}", tag)
    for leftover in docker_client.images.list(name=tag):  # an earlier test run's, if any
        if "io.devenv.test" in (leftover.labels or {}):
            docker_client.images.remove(tag, force=True)
    assert not docker_client.images.list(name=tag), (
        f"{tag} exists already; cannot prove a bootstrap"
    )

    applied = devenv("apply", str(spec))
    assert applied.code == 0, applied.err
    assert "bootstrapping debian:bookworm" in applied.err
    base = docker_client.images.get(tag)
    labels = base.labels or {}
    assert labels.get("io.devenv.managed") == "true" and labels.get("io.devenv.kind") == "base"
    assert labels.get(LABEL_KEY) == LABEL_VALUE and labels.get("io.devenv.recipe")
    box = docker_client.containers.get(name)
    assert box.status == "running" and built_on(box, base)
    release = box.exec_run(["cat", "/etc/os-release"]).output.decode()
    assert "bookworm" in release

    again = devenv("apply", str(spec))
    assert again.code == 0, again.err
    assert "bootstrapping" not in again.err and "building" not in again.err
    assert docker_client.images.get(tag).id == base.id
    assert devenv("plan", "--detailed-exitcode", str(spec)).code == 0
    remove_env(docker_client, name)


def test_bootstrap_without_mmdebstrap_names_it_and_the_fix(  # type: ignore[no-untyped-def]
    devenv, devenv_env, docker_client, spec_dir, name, tmp_path: Path
) -> None:
    # a recipe no one has bootstrapped, so the base is not cached and mmdebstrap is needed
    spec = spec_dir(
        name,
        f"""\
        name: {name}
        base: {{bootstrap: "debian:trixie", mirror: "http://127.0.0.1:9/nowhere/debian"}}
        """,
    )
    empty = tmp_path / "bin"
    empty.mkdir()
    devenv_env["PATH"] = str(empty)  # this test's devenv runs only: no mmdebstrap on PATH
    failed = devenv("apply", str(spec))
    assert failed.code == 1
    line = error_line(failed)
    assert "mmdebstrap" in line and "apt-get install mmdebstrap" in line, failed.err
    assert_nothing_created(docker_client, name)
    recipe = Base(bootstrap="debian:trixie", mirror="http://127.0.0.1:9/nowhere/debian")
    assert not docker_client.images.list(name=base_ref(recipe))


def test_a_mirror_that_does_not_answer_is_named_as_such(  # type: ignore[no-untyped-def]
    devenv, docker_client, spec_dir, name, apt_proxy: AptProxy
) -> None:
    """Issue 20: a locked spec whose mirror is down says the mirror does not answer, not
    that it no longer serves the pinned versions; so does an update of its lock."""
    spec = spec_dir(
        name,
        f"""\
        name: {name}
        base: debian:bookworm
        apt:
          mirror: {apt_proxy.mirror}
          packages: [hello]
        """,
    )
    locked = devenv("lock", str(spec))
    assert locked.code == 0, locked.err
    dead = f"http://127.0.0.1:{free_port()}/{apt_proxy.upstream}"  # nothing listens there
    spec.write_text(spec.read_text().replace(apt_proxy.mirror, dead))

    failed = devenv("apply", str(spec))
    assert failed.code == 1
    line = error_line(failed)
    assert f"the apt mirror {dead} does not answer (" in line, failed.err
    assert "Connection refused" in line and "hint: check that it is up" in line, line
    assert "no longer serves" not in failed.err and "Traceback" not in failed.err
    assert not docker_client.containers.list(all=True, filters={"name": f"^{name}$"})

    update = devenv("lock", "--update", str(spec))
    assert update.code == 1
    assert f"✗ {name}: the apt mirror {dead} does not answer (" in update.err, update.err


def test_a_bootstrapped_base_on_a_loopback_mirror_builds_locks_and_comes_back_the_same(  # type: ignore[no-untyped-def]
    devenv, docker_client, spec_dir, name, apt_proxy: AptProxy
) -> None:
    """Issue 20: the base's own sources (on 127.0.0.1) are reached as apt.mirror's are,
    without repeating the URL; the lock pins the recipe, a snapshot and what the base holds,
    so bootstrapping it again is checked against the lock."""
    spec = spec_dir(name, apt_proxy.bootstrapped_spec(name))
    tag = base_ref(Base(bootstrap="debian:bookworm", mirror=apt_proxy.mirror))
    assert not docker_client.images.list(name=tag)  # the recipe names a port of this run
    planned = devenv("plan", str(spec))
    assert f"bootstrapped base debian:bookworm ({tag}) is not built yet" in planned.out
    assert "is not on this engine yet" not in planned.out

    applied = devenv("apply", str(spec))
    assert applied.code == 0, applied.err
    assert docker_client.containers.get(name).exec_run(["hello"]).exit_code == 0

    locked = devenv("lock", str(spec))
    assert locked.code == 0, locked.err
    assert "bound to this machine" not in locked.out
    lock_file = lock_path(spec)
    lock = parse(lock_file.read_text(), str(lock_file))
    assert lock.base == tag and lock.base_identity.startswith("recipe:")
    assert lock.snapshot and re.fullmatch(r"\d{8}T\d{6}Z", lock.snapshot)
    assert "hello" in lock.packages and "libc6" in lock.base_packages

    # a new machine: no box, no images; the base is bootstrapped again and holds the same
    assert devenv("destroy", "--images", "--yes", str(spec)).code == 0
    docker_client.images.remove(tag)
    again = devenv("apply", str(spec))
    assert again.code == 0, again.err
    assert "bootstrapping debian:bookworm" in again.err

    # the mirror now serves another base than the one locked: said, with the snapshot's day
    text = lock_file.read_text()
    libc = lock.base_packages["libc6"]
    lock_file.write_text(text.replace(f'"libc6": "{libc}"', '"libc6": "2.0-devenvtest"'))
    assert devenv("destroy", "--images", "--yes", str(spec)).code == 0
    docker_client.images.remove(tag)
    other = devenv("apply", str(spec))
    assert other.code == 1
    line = error_line(other)
    assert "made another base than the one pinned in" in line, other.err
    assert f"libc6 2.0-devenvtest → {libc}" in line
    assert f"http://snapshot.debian.org/archive/debian/{lock.snapshot}" in line
    assert not docker_client.images.list(name=tag)  # not left to be built on
