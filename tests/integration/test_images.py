"""Images travel (issue 6), against real parts: Debian's docker-registry with htpasswd auth on
127.0.0.1, the docker CLI sharing devenv's login, and the real engine. Nothing is mocked.

`dv` runs the real CLI as a user would (a subprocess, no TTY), each test with its own docker
config folder.
"""

from __future__ import annotations

import base64
import io
import json
import os
import socket
import subprocess
import sys
import tarfile
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.integration.conftest import RUN_LABEL, Result, free_port
from tests.integration.services import (  # noqa: F401  (fixture, registered by name)
    AuthRegistry,
    auth_registry_fixture,
)

LABEL_KEY, LABEL_VALUE = RUN_LABEL.split("=", 1)
HELLO_SERVER = (
    "$s=IO::Socket::INET->new(LocalPort=>80,Listen=>5,ReuseAddr=>1) or die; "
    "while($c=$s->accept){print $c qq(hello\\n); close $c}"
)


# ---- fixtures and helpers --------------------------------------------------------------------


@pytest.fixture
def docker_config(tmp_path: Path) -> Path:
    """A private docker config folder: logins made here touch nobody else's."""
    folder = tmp_path / "docker-config"
    folder.mkdir()
    return folder


@pytest.fixture
def dv(devenv_env: dict[str, str], docker_config: Path) -> Callable[..., Result]:
    """The real CLI, in a subprocess without a TTY, with a private docker config."""
    env = {**devenv_env, "DOCKER_CONFIG": str(docker_config)}

    def run(*args: str, stdin: str | None = None, extra: dict[str, str] | None = None) -> Result:
        proc = subprocess.run(
            [sys.executable, "-m", "devenv", *args],
            env={**env, **(extra or {})},
            input=stdin,
            capture_output=True,
            text=True,
            timeout=600,
            stdin=None if stdin is not None else subprocess.DEVNULL,
        )
        assert "Traceback" not in proc.stderr, proc.stderr
        return Result(proc.returncode, proc.stdout, proc.stderr)

    return run


@pytest.fixture
def logged_in(dv: Callable[..., Result], auth_registry: AuthRegistry) -> AuthRegistry:
    reg = auth_registry
    done = dv("login", reg.address, "-u", reg.username, "--password-stdin", stdin=reg.password)
    assert done.code == 0, done.err
    return auth_registry


def registry_get(registry: AuthRegistry, path: str) -> dict:
    """The registry's HTTP API on 127.0.0.1, with basic auth and no proxy."""
    request = urllib.request.Request(f"http://{registry.address}{path}")
    token = base64.b64encode(f"{registry.username}:{registry.password}".encode()).decode()
    request.add_header("Authorization", f"Basic {token}")
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    with opener.open(request, timeout=10) as response:
        return dict(json.load(response))


def registry_tags(registry: AuthRegistry, repo: str) -> list[str]:
    try:
        return list(registry_get(registry, f"/v2/{repo}/tags/list").get("tags") or [])
    except urllib.error.HTTPError as exc:
        assert exc.code == 404, exc
        return []


def env_images(docker_client, env: str) -> list:  # type: ignore[no-untyped-def]
    return docker_client.images.list(filters={"label": [f"io.devenv.env={env}", RUN_LABEL]})


def one_tag(docker_client, env: str) -> str:  # type: ignore[no-untyped-def]
    (image,) = docker_client.images.list(name=f"devenv/{env}")
    (tag,) = [t for t in image.tags if t.startswith(f"devenv/{env}:")]
    return str(tag.split(":", 1)[1])


def error_lines(result: Result) -> list[str]:
    return [line for line in result.err.splitlines() if line.strip()]


def docker_cli(docker_config: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "DOCKER_CONFIG": str(docker_config)}
    return subprocess.run(
        ["docker", *args], env=env, capture_output=True, text=True, timeout=300, check=False
    )


def hello(port: int) -> str:
    deadline = time.monotonic() + 15
    while True:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=2) as conn:
                data = conn.recv(100).decode()
                if data:
                    return data
        except OSError:
            pass
        assert time.monotonic() < deadline, f"nothing answered on 127.0.0.1:{port}"
        time.sleep(0.2)


def served_spec(name: str, port: int) -> str:
    """A tiny env whose command answers 'hello' on its published port (perl is in minbase)."""
    return (
        f"name: {name}\n"
        f'ports: ["{port}:80"]\n'
        f"command: [perl, -MIO::Socket::INET, -e, {json.dumps(HELLO_SERVER)}]\n"
    )


@pytest.fixture
def cleanup_refs(docker_client) -> Iterator[list[str]]:  # type: ignore[no-untyped-def]
    """Names a test made outside devenv's own (by `docker pull`, `devenv tag`): removed after."""
    refs: list[str] = []
    yield refs
    for ref in refs:
        if docker_client.images.list(name=ref):
            docker_client.images.remove(ref, force=True)


# ---- login -----------------------------------------------------------------------------------


def test_a_wrong_password_is_one_sentence_and_stores_nothing(  # type: ignore[no-untyped-def]
    dv, auth_registry: AuthRegistry, docker_config: Path
) -> None:
    reg, wrong = auth_registry, "not-" + auth_registry.password
    result = dv("login", reg.address, "-u", reg.username, "--password-stdin", stdin=wrong + "\n")
    assert result.code == 1
    assert error_lines(result) == [
        f"devenv: login to {auth_registry.address} failed: wrong user name or password"
    ]
    assert wrong not in result.out + result.err
    assert not (docker_config / "config.json").exists()


def test_login_without_a_terminal_needs_password_stdin(dv, auth_registry: AuthRegistry) -> None:  # type: ignore[no-untyped-def]
    result = dv("login", auth_registry.address, "-u", auth_registry.username)
    assert result.code == 1
    (line,) = error_lines(result)
    assert "--password-stdin" in line and "no terminal" in line


def test_login_is_shared_with_the_docker_cli_and_push_tags_hash_and_latest(  # type: ignore[no-untyped-def]
    dv, docker_client, spec_dir, name, auth_registry: AuthRegistry, docker_config, cleanup_refs
) -> None:
    reg = auth_registry
    login = dv("login", reg.address, "-u", reg.username, "--password-stdin", stdin=reg.password)
    assert login.code == 0, login.err
    assert reg.password not in login.out + login.err
    config = json.loads((docker_config / "config.json").read_text())
    expected = base64.b64encode(f"{reg.username}:{reg.password}".encode()).decode()
    assert config["auths"][reg.address] == {"auth": expected}
    assert (docker_config / "config.json").stat().st_mode & 0o077 == 0

    # push an env never built: it is built first, then pushed under its hash and latest
    spec = spec_dir(name, f"name: {name}\n")
    pushed = dv("push", str(spec), "--to", f"{reg.address}/team")
    assert pushed.code == 0, pushed.err
    assert "never built here; building it first" in pushed.err
    short = one_tag(docker_client, name)
    for tag in (short, "latest"):
        assert f"{name}: pushed {reg.address}/team/{name}:{tag} (sha256:" in pushed.out
    assert f"team/{name}" in registry_get(reg, "/v2/_catalog")["repositories"]
    assert sorted(registry_tags(reg, f"team/{name}")) == sorted([short, "latest"])
    # the registry-named tags were only needed while pushing
    assert not docker_client.images.list(name=f"{reg.address}/team/{name}")

    listed = dv("images", "--json", str(spec))
    assert listed.code == 0, listed.err
    (row,) = json.loads(listed.out)
    assert row["env"] == name and row["build_hash"].startswith(short)
    repo = f"{reg.address}/team/{name}"
    assert row["pushed_to"] == [f"{repo}:{short}", f"{repo}:latest"]

    # the docker CLI pulls with the login devenv stored
    remote = f"{repo}:{short}"
    cleanup_refs.append(remote)
    pulled = docker_cli(docker_config, "pull", remote)
    assert pulled.returncode == 0, pulled.stderr
    local = docker_client.images.get(f"devenv/{name}:{short}")
    assert docker_client.images.get(remote).id == local.id
    docker_client.images.remove(remote)

    # logout forgets it for both
    out = dv("logout", reg.address)
    assert out.code == 0 and f"Logged out of {reg.address}" in out.out
    assert reg.address not in json.loads((docker_config / "config.json").read_text())["auths"]
    refused = docker_cli(docker_config, "pull", remote)
    assert refused.returncode != 0 and "no basic auth credentials" in refused.stderr


def test_push_without_a_login_is_one_clear_sentence(  # type: ignore[no-untyped-def]
    dv, spec_dir, name, auth_registry: AuthRegistry
) -> None:
    spec = spec_dir(name, f"name: {name}\n")
    result = dv("push", str(spec), "--to", f"{auth_registry.address}/team")
    assert result.code == 1
    lines = error_lines(result)
    assert lines[-2].startswith(f"devenv: pushing {auth_registry.address}/team/{name}:")
    assert "refused the credentials" in lines[-2]
    assert lines[-1] == f"  hint: run `devenv login {auth_registry.address}`"


# ---- build once, pull everywhere -------------------------------------------------------------


def test_build_once_pull_everywhere(  # type: ignore[no-untyped-def]
    dv, docker_client, spec_dir, name, logged_in: AuthRegistry
) -> None:
    reg = logged_in
    spec = spec_dir(
        name,
        f"""\
        name: {name}
        image_cache: {{registry: {reg.address}/cache, push: true}}
        """,
    )
    first = dv("apply", str(spec))
    assert first.code == 0, first.err
    assert "image cache: it is not there; building instead" in first.err
    assert "Step " in first.err
    short = one_tag(docker_client, name)
    assert sorted(registry_tags(reg, f"cache/{name}")) == sorted([short, "latest"])
    image_id = docker_client.containers.get(name).image.id

    # another machine, as far as this engine can tell: no container, no devenv image
    gone = dv("destroy", "--yes", "--images", str(spec))
    assert gone.code == 0, gone.err
    assert not env_images(docker_client, name)
    assert not docker_client.containers.list(all=True, filters={"name": f"^{name}$"})

    second = dv("apply", str(spec))
    assert second.code == 0, second.err
    assert "Step " not in second.err and "building" not in second.err, second.err
    assert f"pulled devenv/{name}:{short} from {reg.address}/cache" in second.err
    box = docker_client.containers.get(name)
    assert box.status == "running"
    assert box.image.id == image_id
    assert dv("plan", "--detailed-exitcode", str(spec)).code == 0


def test_an_unreachable_cache_is_said_and_apply_builds(  # type: ignore[no-untyped-def]
    dv, docker_client, spec_dir, name
) -> None:
    closed = free_port()
    spec = spec_dir(name, f"name: {name}\nimage_cache: 127.0.0.1:{closed}/cache\n")
    result = dv("apply", str(spec))
    assert result.code == 0, result.err
    assert f"cannot reach the registry 127.0.0.1:{closed}" in result.err
    assert docker_client.containers.get(name).status == "running"


# ---- bundles ---------------------------------------------------------------------------------


def test_export_then_import_elsewhere_builds_nothing_and_runs(  # type: ignore[no-untyped-def]
    dv, docker_client, spec_dir, name, tmp_path: Path
) -> None:
    port = free_port()
    spec = spec_dir(name, served_spec(name, port))
    applied = dv("apply", str(spec))
    assert applied.code == 0, applied.err
    assert hello(port) == "hello\n"
    image_id = docker_client.containers.get(name).image.id

    bundle = tmp_path / "bundle.tar"
    exported = dv("export", str(spec.parent), "-o", str(bundle))
    assert exported.code == 0, exported.err
    with tarfile.open(bundle) as tar:
        assert tar.getnames() == ["manifest.json", f"specs/{name}.yaml", "images.tar"]
        manifest = json.loads(tar.extractfile("manifest.json").read())  # type: ignore[union-attr]
    assert manifest["format"] == "devenv-bundle" and manifest["format_version"] == 1
    (entry,) = manifest["envs"]
    assert entry["name"] == name and entry["image_id"] == image_id

    assert dv("destroy", "--yes", "--images", str(spec)).code == 0
    assert not env_images(docker_client, name)

    target = tmp_path / "elsewhere"
    imported = dv("import", str(bundle), "--to", str(target))
    assert imported.code == 0, imported.err
    assert f"loaded devenv/{name}:" in imported.out
    assert (target / f"{name}.yaml").read_text() == spec.read_text()

    plan = json.loads(dv("plan", "--json", str(target)).out)
    assert [a["kind"] for a in plan["actions"]] == ["create"]
    again = dv("apply", str(target))
    assert again.code == 0, again.err
    assert "Step " not in again.err and "building" not in again.err, again.err
    box = docker_client.containers.get(name)
    assert box.status == "running" and box.image.id == image_id
    assert hello(port) == "hello\n"


def _tar_of(path: Path, members: dict[str, bytes]) -> Path:
    with tarfile.open(path, "w") as tar:
        for member, data in members.items():
            info = tarfile.TarInfo(member)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return path


def test_broken_bundles_are_refused_and_the_engine_is_left_alone(  # type: ignore[no-untyped-def]
    dv, docker_client, spec_dir, name, tmp_path: Path
) -> None:
    spec = spec_dir(name, f"name: {name}\n")
    good = tmp_path / "good.tar"
    assert dv("export", str(spec), "-o", str(good)).code == 0
    assert dv("destroy", "--yes", "--images", str(spec)).code == 0
    assert not env_images(docker_client, name)
    data = good.read_bytes()
    middle = len(data) // 2
    symlinked = tmp_path / "symlink.tar"
    with tarfile.open(symlinked, "w") as tar:
        info = tarfile.TarInfo("manifest.json")
        info.type, info.linkname = tarfile.SYMTYPE, "/etc/passwd"
        tar.addfile(info)
    cases = {
        "truncated": (data[:middle], "is truncated or corrupt"),
        "cut-short": (data[:3000], "is truncated"),
        "corrupt": (data[:middle] + b"\xff" * 64 + data[middle + 64 :], "does not match"),
        "not-a-tar": (os.urandom(4096), "not an uncompressed tar file"),
        "foreign": (_tar_of(tmp_path / "f.tar", {"etc/hosts": b"x"}).read_bytes(), "no manifest"),
        "traversal": (
            _tar_of(tmp_path / "t.tar", {"manifest.json": b"{}", "../../evil": b"x"}).read_bytes(),
            "leads outside the bundle",
        ),
        "symlink": (symlinked.read_bytes(), "is not a regular file"),
    }
    for case, (content, expected) in cases.items():
        broken = tmp_path / f"{case}.tar"
        broken.write_bytes(content)
        target = tmp_path / f"to-{case}"
        result = dv("import", str(broken), "--to", str(target))
        assert result.code == 1, (case, result.out)
        (line,) = error_lines(result)
        assert line.startswith(f"devenv: {broken}") and expected in line, (case, line)
        assert not env_images(docker_client, name), case
        assert not target.exists(), case


# ---- names: tag, images, prune ---------------------------------------------------------------


def test_tag_adds_a_name_and_plan_keeps_working(  # type: ignore[no-untyped-def]
    dv, docker_client, spec_dir, name, cleanup_refs
) -> None:
    spec = spec_dir(name, f"name: {name}\n")
    assert dv("apply", str(spec)).code == 0
    new = f"devenvtest-{name}/box:v1"
    cleanup_refs.append(new)
    tagged = dv("tag", str(spec), new)
    assert tagged.code == 0, tagged.err
    image = docker_client.images.get(new)
    assert f"devenv/{name}:{one_tag(docker_client, name)}" in image.tags
    assert dv("plan", "--detailed-exitcode", str(spec)).code == 0
    refused = dv("tag", str(spec), f"devenv/{name}:mine")
    assert refused.code == 1 and "devenv's own" in refused.err


def test_images_and_prune_keep_what_is_used(  # type: ignore[no-untyped-def]
    dv, docker_client, spec_dir, name, cleanup_refs
) -> None:
    running, unused, foreign_used = name, f"{name}-b", f"{name}-c"
    spec = spec_dir(running, f"name: {running}\n")
    assert dv("apply", str(spec)).code == 0
    old = one_tag(docker_client, running)
    spec.write_text(f'name: {running}\nrun: ["true"]\n')  # a new image for the same env
    assert dv("apply", "--yes", str(spec)).code == 0
    middle = [t for t in docker_client.containers.get(running).image.tags if "devenv/" in t]
    # the replaced box is kept (stopped) for one generation, and with it its image
    kept = dv("images", "--json", str(spec))
    in_use = {r["build_hash"][:12]: r["in_use_by"] for r in json.loads(kept.out)}
    assert in_use[old] == [f"{running}.devenv-previous"], in_use
    spec.write_text(f'name: {running}\nrun: ["true", "true"]\n')  # the next generation
    assert dv("apply", "--yes", str(spec)).code == 0
    assert middle and old not in middle[0]  # the kept box is now the middle one
    current = [
        t for t in docker_client.containers.get(running).image.tags if t.startswith("devenv/")
    ]

    b = spec_dir(unused, f"name: {unused}\n")
    assert dv("apply", str(b)).code == 0 and dv("destroy", "--yes", str(b)).code == 0
    other_name = f"devenvtest-{unused}/keep:v1"
    cleanup_refs.append(other_name)
    assert dv("tag", str(b), other_name).code == 0

    c = spec_dir(foreign_used, f"name: {foreign_used}\n")
    assert dv("apply", str(c)).code == 0 and dv("destroy", "--yes", str(c)).code == 0
    c_ref = f"devenv/{foreign_used}:{one_tag(docker_client, foreign_used)}"
    plain = docker_client.containers.create(
        c_ref, command=["true"], labels={LABEL_KEY: LABEL_VALUE}
    )

    box = docker_client.containers.get(running)
    snapshot_ref = f"devenv-snapshot/{running}:t1"
    box.commit(
        repository=f"devenv-snapshot/{running}",
        tag="t1",
        changes=[
            "LABEL io.devenv.managed=true",
            "LABEL io.devenv.kind=snapshot",
            f"LABEL io.devenv.env={running}",
            f"LABEL {LABEL_KEY}={LABEL_VALUE}",
        ],
    )

    listed = dv("images", "--json", str(spec), str(b))
    assert listed.code == 0, listed.err
    rows = {(r["env"], r["kind"], r["build_hash"][:12]): r for r in json.loads(listed.out)}
    live = rows[(running, "env", current[0].split(":")[1])]
    assert live["in_use_by"] == [running] and live["current"]
    assert rows[(running, "env", old)]["in_use_by"] == []
    assert rows[(unused, "env", one_tag(docker_client, unused))]["in_use_by"] == []
    table = dv("images")
    assert table.code == 0 and "BUILD HASH" in table.out and running in table.out

    asked = dv("prune")
    assert asked.code == 1 and "--yes" in asked.err
    assert docker_client.images.list(name=f"devenv/{running}:{old}"), "nothing removed unasked"

    pruned = dv("prune", "--yes")
    assert pruned.code == 0, pruned.err
    assert not docker_client.images.list(name=f"devenv/{running}:{old}"), pruned.out
    assert docker_client.containers.get(running).image.tags  # the running env's image stays
    assert docker_client.images.list(name=current[0])
    assert not docker_client.images.list(name=f"devenv/{unused}")
    assert docker_client.images.list(name=other_name), "the user's own name keeps the image"
    assert docker_client.images.list(name=c_ref), "in use by a container devenv did not make"
    assert docker_client.images.list(name=snapshot_ref), "snapshots need --snapshots"

    with_snapshots = dv("prune", "--yes", "--snapshots")
    assert with_snapshots.code == 0, with_snapshots.err
    assert not docker_client.images.list(name=snapshot_ref)
    assert docker_client.images.list(name=c_ref)
    plain.remove(force=True)
