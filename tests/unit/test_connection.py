"""Which engine devenv talks to: the docker CLI's precedence, contexts, TLS, Podman sockets."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest

from devenv.engine.connection import Connection, context_names, reach_hint, resolve
from devenv.engine.observed import Observed, ObservedImage
from devenv.engine.server import Server, can_pause, rootless
from devenv.errors import DevenvError


def make_context(config: Path, name: str, host: str, tls: bool = False, skip: bool = False) -> None:
    digest = hashlib.sha256(name.encode()).hexdigest()
    meta = config / "contexts" / "meta" / digest
    meta.mkdir(parents=True)
    endpoint = {"Host": host, "SkipTLSVerify": skip}
    (meta / "meta.json").write_text(
        json.dumps({"Name": name, "Metadata": {}, "Endpoints": {"docker": endpoint}})
    )
    if tls:
        folder = config / "contexts" / "tls" / digest / "docker"
        folder.mkdir(parents=True)
        for kind in ("ca", "cert", "key"):
            (folder / f"{kind}.pem").write_text(kind)


@pytest.fixture
def config(tmp_path: Path) -> Path:
    folder = tmp_path / "docker-config"
    folder.mkdir()
    make_context(folder, "ctx", "unix:///ctx.sock")
    make_context(folder, "envctx", "unix:///envctx.sock")
    make_context(folder, "current", "ssh://me@far:2200")
    make_context(folder, "secure", "tcp://far:2376", tls=True)
    (folder / "config.json").write_text(json.dumps({"currentContext": "current"}))
    return folder


def nothing_answers(_path: str) -> bool:
    return False


def test_precedence_host_then_context_then_env_then_current(config: Path) -> None:
    env = {"DOCKER_CONFIG": str(config), "DOCKER_HOST": "tcp://h:1", "DOCKER_CONTEXT": "envctx"}
    assert resolve(env, host="unix:///flag.sock").url == "unix:///flag.sock"
    assert resolve(env, host="unix:///flag.sock").source == "--host"
    assert resolve(env, context="ctx").url == "unix:///ctx.sock"
    assert resolve(env, context="ctx").source == "context ctx"
    assert resolve(env).url == "tcp://h:1"
    assert resolve(env).source == "DOCKER_HOST"
    del env["DOCKER_HOST"]
    assert resolve(env).url == "unix:///envctx.sock"
    del env["DOCKER_CONTEXT"]
    assert resolve(env).url == "ssh://me@far:2200"
    assert resolve(env).source == "context current"


def test_default_context_falls_back_to_docker_host_then_socket(config: Path) -> None:
    env = {"DOCKER_CONFIG": str(config), "DOCKER_HOST": "tcp://h:1"}
    assert resolve(env, context="default").url == "tcp://h:1"
    env = {"DOCKER_CONFIG": str(config), "DOCKER_CONTEXT": "default"}
    found = resolve(env, answers=nothing_answers)
    assert (found.url, found.source) == ("unix:///var/run/docker.sock", "default socket")


def test_no_config_means_the_default_socket(tmp_path: Path) -> None:
    found = resolve({"HOME": str(tmp_path)}, answers=lambda p: p == "/var/run/docker.sock")
    assert found == Connection("unix:///var/run/docker.sock", "default socket")
    assert found.local


def test_podman_sockets_only_when_docker_does_not_answer(tmp_path: Path) -> None:
    env = {"HOME": str(tmp_path), "XDG_RUNTIME_DIR": "/run/user/1000"}
    rootful = resolve(env, answers=lambda p: p == "/run/podman/podman.sock")
    assert rootful.url == "unix:///run/podman/podman.sock"
    rootless_sock = "/run/user/1000/podman/podman.sock"
    found = resolve(env, answers=lambda p: p == rootless_sock)
    assert (found.url, found.source) == (f"unix://{rootless_sock}", "rootless Podman socket")
    both = resolve(env, answers=lambda p: True)
    assert both.url == "unix:///var/run/docker.sock"


def test_context_tls_material_and_skip_verify(config: Path) -> None:
    found = resolve({"DOCKER_CONFIG": str(config)}, context="secure")
    assert found.tls is not None and found.tls.verify
    assert found.tls.ca and found.tls.ca.endswith("/docker/ca.pem")
    assert found.tls.cert and found.tls.key
    assert not found.local and found.machine == "far"
    make_context(config, "lax", "tcp://far:2376", tls=True, skip=True)
    lax = resolve({"DOCKER_CONFIG": str(config)}, context="lax")
    assert lax.tls is not None and not lax.tls.verify


def test_env_tls_as_the_docker_cli_reads_it(tmp_path: Path) -> None:
    env = {
        "HOME": str(tmp_path),
        "DOCKER_HOST": "tcp://far:2376",
        "DOCKER_TLS_VERIFY": "1",
        "DOCKER_CERT_PATH": "/certs",
    }
    found = resolve(env)
    assert found.tls is not None
    assert (found.tls.ca, found.tls.cert, found.tls.key) == (
        "/certs/ca.pem",
        "/certs/cert.pem",
        "/certs/key.pem",
    )
    assert found.tls.verify
    env["DOCKER_TLS_VERIFY"] = ""
    del env["DOCKER_CERT_PATH"]
    assert resolve(env).tls is None


def test_current_context_in_home_docker_config(tmp_path: Path) -> None:
    config = tmp_path / ".docker"
    config.mkdir()
    make_context(config, "pod", "unix:///run/podman/podman.sock")
    (config / "config.json").write_text('{"currentContext": "pod"}')
    found = resolve({"HOME": str(tmp_path)}, answers=nothing_answers)
    assert (found.url, found.source, found.context) == (
        "unix:///run/podman/podman.sock",
        "context pod",
        "pod",
    )


def test_unknown_context_and_both_flags_are_one_sentence(config: Path) -> None:
    with pytest.raises(DevenvError) as missing:
        resolve({"DOCKER_CONFIG": str(config)}, context="nope")
    assert "docker context 'nope' does not exist" in missing.value.message
    assert "ctx" in missing.value.message and missing.value.hint
    with pytest.raises(DevenvError, match="both name an engine"):
        resolve({}, host="unix:///a", context="ctx")


def test_ssh_engine_is_remote_and_goes_through_openssh() -> None:
    found = Connection("ssh://me@far:2200", "DOCKER_HOST")
    assert not found.local and found.ssh_jump == "me@far:2200" and found.machine == "far"
    assert found.client_kwargs() == {"base_url": "ssh://me@far:2200", "use_ssh_client": True}
    assert "ssh me@far:2200 docker version" in reach_hint(found)
    assert Connection("tcp://127.0.0.1:2375", "DOCKER_HOST").local


def test_server_products_from_version() -> None:
    podman = Server.from_version(
        {"Components": [{"Name": "Podman Engine"}], "Version": "4.3.1", "ApiVersion": "1.41"}
    )
    assert podman.podman and str(podman) == "Podman 4.3.1"
    desktop = Server.from_version(
        {"Platform": {"Name": "Docker Desktop 4.30.0 (149282)"}, "Components": [{"Name": "Engine"}]}
    )
    assert desktop.desktop
    engine = Server.from_version({"Platform": {"Name": ""}, "Components": [{"Name": "Engine"}]})
    assert engine.product == "Docker Engine"
    assert rootless({"SecurityOptions": ["name=seccomp", "name=rootless"]})
    assert rootless({"Rootless": True}) and not rootless({"SecurityOptions": ["name=seccomp"]})


def test_a_snapshot_pauses_the_box_unless_the_engine_cannot() -> None:
    assert not can_pause({"Rootless": True, "CgroupVersion": "1"})  # Podman 4.3, cgroup v1
    assert not can_pause({"SecurityOptions": ["name=rootless"], "CgroupVersion": "1"})
    assert can_pause({"Rootless": True, "CgroupVersion": "2"})
    assert can_pause({"Rootless": False, "CgroupVersion": "1"})  # rootful Podman, dockerd
    assert can_pause({})  # an engine that does not say: as docker commit does


def test_podman_image_names_match_what_specs_say() -> None:
    base = ObservedImage("sha256:1", ("docker.io/library/debian:bookworm",), (), {})
    mine = ObservedImage("sha256:2", ("localhost/devenv/php:abc",), (), {})
    observed = Observed(images=(base, mine))
    assert observed.image("debian:bookworm") is base
    assert observed.image("devenv/php:abc") is mine
    assert observed.image("debian:trixie") is None


def test_a_planted_client_config_or_context_is_one_sentence_never_a_hang(
    config: Path, tmp_path: Path
) -> None:
    """~/.docker/config.json and the contexts' meta.json go through the bounded reader: a
    FIFO, /dev/zero or a huge file there is refused at once, never read to the end."""
    import os

    from devenv.images.credentials import load_config

    (config / "config.json").unlink()
    os.mkfifo(config / "config.json")
    env = {"DOCKER_CONFIG": str(config)}
    with pytest.raises(DevenvError, match="is not a regular file"):
        resolve(env, answers=nothing_answers)
    with pytest.raises(DevenvError, match=r"cannot read docker's config: .* not a regular file"):
        load_config(config / "config.json")
    (config / "config.json").unlink()
    (config / "config.json").symlink_to("/dev/zero")
    with pytest.raises(DevenvError, match="is not a regular file"):
        resolve(env, answers=nothing_answers)
    (config / "config.json").unlink()
    meta = config / "contexts" / "meta" / hashlib.sha256(b"ctx").hexdigest() / "meta.json"
    meta.unlink()
    with meta.open("wb") as huge:
        huge.truncate(2 << 20)
    with pytest.raises(DevenvError, match=r"docker context 'ctx' cannot be read: .* over 1 MiB"):
        resolve(env, context="ctx")
    assert "ctx" not in context_names(config) and "envctx" in context_names(config)
