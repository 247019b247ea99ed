"""Every engine people use, one end-to-end box each: Docker over ssh:// and over TLS (tcp://,
client certificates, and a context carrying them), Podman rootful (through a docker context)
and Podman rootless (as a non-root user); and `devenv doctor` on each.

The engines come up through scripts/podman-up, scripts/ssh-engine (idempotent) and the
tls_engine fixture (socat in front of the local engine's socket)."""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import pwd
import shutil
import subprocess
import sys
import tempfile
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path

import docker.errors
import docker.types
import pytest

from devenv.build.lockfile import lock_path, parse
from devenv.build.render import base_ref
from devenv.converge.desired import folder_network
from devenv.engine.networks import choose_subnet, pools
from devenv.spec.models import Base
from tests.integration import processes
from tests.integration.conftest import (
    ROOT,
    RUN_LABEL,
    Result,
    free_port,
    interpreter_open_to_others,
    unique,
)
from tests.integration.services import (  # noqa: F401 (fixtures)
    AptProxy,
    Registry,
    apt_proxy_fixture,
    registry_fixture,
)
from tests.integration.tls_engine import TlsEngine, tls_engine_fixture  # noqa: F401 (fixture)
from tests.prerequisites import need_root, skip_or_fail

ROOTFUL = "unix:///run/podman/podman.sock"
ROOTLESS_USER = "devenv-rootless"
SSH_ALIAS = "devenv-remote"
SSH_PORT = 2201
ROOT_SSH = Path(pwd.getpwuid(0).pw_dir) / ".ssh"
SSH_FILES = ("config", "known_hosts", "known_hosts.old")  # what scripts/ssh-engine edits
BOX = """\
name: {name}
base: debian:bookworm
ports: ["{port}:22"]
sshd: {{authorized_keys: [{key}]}}
user: dev
shared: ["./work:/work"]
"""


def _script(*argv: str) -> str:
    proc = subprocess.run(
        ["bash", *argv], cwd=ROOT, capture_output=True, text=True, timeout=900, check=False
    )
    if proc.returncode != 0:
        skip_or_fail(f"{argv[0]} failed: {proc.stderr.strip()[-800:]}")
    return proc.stdout


@pytest.fixture(scope="session")
def podman(docker_client) -> Iterator[None]:  # type: ignore[no-untyped-def]
    """Rootful and rootless Podman services; what this run made on them goes at the end, and
    so do the services (and the rootless user's processes) if this run started them."""
    need_root("the engine matrix sets up services as root")
    before = processes.running()
    rootful_was_up = processes.answering(ROOTFUL.removeprefix("unix://"))
    try:
        _script("scripts/podman-up", ROOTLESS_USER)
        yield
    finally:
        for url in (ROOTFUL, _rootless_url()):
            with contextlib.suppress(Exception):
                _clean_engine(url)
        # the rootful service only if it is a process this run started: a command line alone
        # may also be another's (the same socket path in another mount namespace)
        service = f"podman system service --time=0 {ROOTFUL}"
        started = [] if rootful_was_up else sorted(set(processes.find(service)) - before)
        # the rootless user exists for these tests: what of it this run started goes, whatever
        # it is (the service, its pause process, conmon, slirp4netns…)
        started += sorted(_processes_of(ROOTLESS_USER) - before)
        processes.stop_all(started + _orphan_monitors(before))


def _orphan_monitors(before: set[processes.Process]) -> list[processes.Process]:
    """The rootful conmon processes this run started whose container is gone: an exec
    session's monitor outlives its container by minutes (--exit-delay)."""
    import docker

    try:
        listed = docker.APIClient(base_url=ROOTFUL, timeout=60).containers(all=True)
    except Exception:  # no rootful engine left to ask: every monitor is an orphan
        listed = []
    live = {raw["Id"] for raw in listed}
    new = [p for p in processes.running() - before if p.program == "conmon" and p.uid == 0]
    return [p for p in new if p.command.split(" -c ", 1)[-1].split(" ", 1)[0] not in live]


def _rootless_url() -> str:
    try:
        uid = pwd.getpwnam(ROOTLESS_USER).pw_uid
    except KeyError:  # podman-up stopped before making the user
        return "unix:///nowhere.sock"
    return f"unix:///tmp/podman-run-{uid}/podman/podman.sock"


def _processes_of(user: str) -> set[processes.Process]:
    try:
        uid = pwd.getpwnam(user).pw_uid
    except KeyError:
        return set()
    return {p for p in processes.running() if p.uid == uid}


def _clean_engine(url: str) -> None:
    import docker

    api = docker.APIClient(base_url=url, timeout=120)
    for raw in api.containers(all=True, filters={"label": RUN_LABEL}):
        api.remove_container(raw["Id"], force=True)
    for raw in api.images(filters={"label": RUN_LABEL}):
        with contextlib.suppress(Exception):
            api.remove_image(raw["Id"], force=True)
    for raw in api.networks(filters={"label": RUN_LABEL}):
        with contextlib.suppress(Exception):
            api.remove_network(raw["Id"])


@pytest.fixture(scope="session")
def ssh_engine(docker_client) -> Iterator[str]:  # type: ignore[no-untyped-def]
    """The local engine over ssh:// through an sshd on 127.0.0.1:SSH_PORT (scripts/ssh-engine).
    An sshd this run started is stopped at the end, and root's ssh files are put back."""
    need_root("the ssh engine is set up as root")
    was_up = processes.listening(SSH_PORT)
    folder = Path(f"/tmp/ssh-engine-{SSH_PORT}")
    with _as_found(*(ROOT_SSH / name for name in SSH_FILES), ROOT_SSH, folder):
        try:
            _script("scripts/ssh-engine", str(SSH_PORT), SSH_ALIAS)
            yield f"ssh://{SSH_ALIAS}"
        finally:
            pid_file = folder / "sshd.pid"
            pid = None if was_up or not pid_file.exists() else int(pid_file.read_text())
            sshd = [p for p in processes.running() if p.pid == pid and p.program == "sshd"]
            processes.stop_all(sshd)


@contextlib.contextmanager
def _as_found(*paths: Path) -> Iterator[None]:
    """Put these files back as they were on the way out; those (and folders) that were absent
    are removed, in the order given."""
    saved = {path: path.read_bytes() if path.is_file() else None for path in paths}
    absent = [path for path in paths if not path.exists()]
    try:
        yield
    finally:
        for path, content in saved.items():
            if content is not None:
                path.write_bytes(content)
            elif path in absent and path.is_dir():
                shutil.rmtree(path, ignore_errors=True)
            elif path in absent:
                path.unlink(missing_ok=True)


def _keypair(folder: Path) -> Path:
    (folder / ".ssh").mkdir(parents=True, exist_ok=True)
    key = folder / ".ssh" / "id_ed25519"
    if not key.exists():
        subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(key)], check=True)
    return key


def box_spec(folder: Path, name: str) -> Path:
    spec = folder / f"{name}.yaml"
    spec.write_text(BOX.format(name=name, port=free_port(), key=f"{_keypair(folder)}.pub"))
    return spec


def walk_the_box(
    devenv: Callable[..., Result],
    spec: Path,
    engine_word: str,
    before_destroy: Callable[[], None] = lambda: None,
) -> tuple[Path, Result]:
    """apply (sshd, port, shared folder) → ssh login → shell touch → status → converged plan
    → (`before_destroy`) → destroy; returns the file made in the shared folder and the
    first plan."""
    first = devenv("plan", str(spec))
    assert first.code == 0, first.err
    assert engine_word in first.err, first.err
    applied = devenv("apply", "--yes", str(spec))
    assert applied.code == 0, applied.out + applied.err
    login = devenv("ssh", str(spec), "--", "id", "-un")
    assert login.code == 0 and login.out.strip() == "dev", login.err
    touched = devenv("shell", str(spec), "--", "touch", "/work/made-inside")
    assert touched.code == 0, touched.err
    made = spec.parent / "work" / "made-inside"
    assert made.is_file()
    status = devenv("status", "--json", str(spec))
    (row,) = json.loads(status.out)
    assert row["state"] == "running" and row["in_sync"] is True, row
    assert devenv("plan", "--detailed-exitcode", str(spec)).code == 0
    before_destroy()
    gone = devenv("destroy", "--yes", str(spec))
    assert gone.code == 0 and f"{spec.stem}: removed" in gone.out, gone.err
    assert made.is_file()  # shared folders are never touched
    return made, first


def test_docker_over_ssh(devenv, devenv_env, ssh_engine, tmp_path) -> None:  # type: ignore[no-untyped-def]
    devenv_env["DOCKER_HOST"] = ssh_engine
    devenv_env["HOME"] = str(tmp_path)
    made, plan = walk_the_box(devenv, box_spec(tmp_path, unique("ssh")), "(DOCKER_HOST)")
    assert f"shared {tmp_path / 'work'} → /work: the engine runs on {SSH_ALIAS}" in plan.out
    assert made.stat().st_uid == 1000  # devenv runs as root here: its box user is uid 1000


def test_a_remote_box_gets_its_ssh_keys_copied_in_not_mounted(  # type: ignore[no-untyped-def]
    devenv, devenv_env, ssh_engine, docker_client, state_dir, tmp_path
) -> None:
    """ssh:// is another machine to devenv: devenv's state folder is not there to mount, so
    the keys are copied into the box, root-owned, and the host key survives a recreate."""
    devenv_env["DOCKER_HOST"] = ssh_engine
    devenv_env["HOME"] = str(tmp_path)
    spec = box_spec(tmp_path, unique("keys"))
    host_key = state_dir / "envs" / spec.stem / "ssh" / "ssh_host_ed25519_key"

    def in_the_box() -> None:
        box = docker_client.containers.get(spec.stem)
        mounts = box.attrs["Mounts"]
        assert not any(m["Destination"] == "/etc/devenv/ssh" for m in mounts), mounts
        assert not any(str(state_dir) in (m.get("Source") or "") for m in mounts), mounts
        listed = box.exec_run(
            ["stat", "-c", "%n %a %U:%G", "authorized_keys", "ssh_host_ed25519_key"],
            workdir="/etc/devenv/ssh",
        )
        assert listed.output.decode().split("\n")[:2] == [
            "authorized_keys 644 root:root",
            "ssh_host_ed25519_key 600 root:root",
        ], listed.output
        copied = box.exec_run(["cat", "/etc/devenv/ssh/ssh_host_ed25519_key"]).output
        assert copied == host_key.read_bytes()
        spec.write_text(spec.read_text() + "env: {AGAIN: '1'}\n")  # recreates the box
        again = devenv("apply", "--yes", str(spec))
        assert again.code == 0 and "recreated" in again.out, again.out + again.err
        # StrictHostKeyChecking=yes against devenv's known_hosts: the same host key
        login = devenv("ssh", str(spec), "--", "id", "-un")
        assert login.code == 0 and login.out.strip() == "dev", login.err
        assert docker_client.containers.get(spec.stem).id != box.id
        assert devenv("plan", "--detailed-exitcode", str(spec)).code == 0

    walk_the_box(devenv, spec, "(DOCKER_HOST)", before_destroy=in_the_box)


def test_ssh_config_jumps_through_the_engine_host(devenv, devenv_env, ssh_engine, tmp_path) -> None:  # type: ignore[no-untyped-def]
    devenv_env["DOCKER_HOST"] = ssh_engine
    devenv_env["HOME"] = str(tmp_path)
    spec = box_spec(tmp_path, unique("jump"))
    assert devenv("apply", "--yes", str(spec)).code == 0
    block = devenv("ssh-config", str(spec))
    assert f"  ProxyJump {SSH_ALIAS}\n" in block.out, block.out
    # -F replaces ~/.ssh/config, for the jump too: add the engine host's block the user has
    config = tmp_path / "ssh_config"
    root_config = Path(pwd.getpwuid(0).pw_dir) / ".ssh" / "config"
    config.write_text(block.out + "\n" + root_config.read_text())
    login = subprocess.run(
        ["ssh", "-F", str(config), "-o", "BatchMode=yes", spec.stem, "id", "-un"],
        capture_output=True,
        text=True,
        timeout=60,
        stdin=subprocess.DEVNULL,
    )
    assert login.returncode == 0 and login.stdout.strip() == "dev", login.stderr
    assert devenv("destroy", "--yes", str(spec)).code == 0


def test_docker_over_tls_and_a_context_with_its_certificates(
    devenv, devenv_env, tls_engine: TlsEngine, tmp_path
) -> None:  # type: ignore[no-untyped-def]
    certs = tls_engine.certs
    devenv_env["DOCKER_CONFIG"] = str(tmp_path / "docker-config")  # no current context here
    tls_env = {
        "DOCKER_HOST": tls_engine.url,
        "DOCKER_TLS_VERIFY": "1",
        "DOCKER_CERT_PATH": str(certs),
    }
    devenv_env.update(tls_env)
    name = unique("tls")
    spec = tmp_path / f"{name}.yaml"
    spec.write_text(f'name: {name}\nbase: debian:bookworm\nports: ["{free_port()}:8000"]\n')
    status = devenv("status")
    assert status.code == 0 and f"at {tls_engine.url} (DOCKER_HOST)" in status.err, status.err
    applied = devenv("apply", "--yes", str(spec))
    assert applied.code == 0 and f"✓ {name}: built, created" in applied.out, applied.err
    assert devenv("plan", "--detailed-exitcode", str(spec)).code == 0
    assert devenv("shell", str(spec), "--", "true").code == 0  # docker CLI given the TLS flags
    # the same engine through a context that carries the TLS material, as docker writes it
    material = f"ca={certs}/ca.pem,cert={certs}/cert.pem,key={certs}/key.pem"
    subprocess.run(
        ["docker", "context", "create", "tlsctx", "--docker", f"host={tls_engine.url},{material}"],
        env={**os.environ, "DOCKER_CONFIG": devenv_env["DOCKER_CONFIG"]},
        check=True,
        capture_output=True,
    )
    for variable in tls_env:
        del devenv_env[variable]
    status = devenv("--context", "tlsctx", "status", "--json", str(spec))
    assert "(context tlsctx)" in status.err, status.err
    (row,) = json.loads(status.out)
    assert row["state"] == "running" and row["in_sync"] is True, row
    assert devenv("--context", "tlsctx", "shell", str(spec), "--", "true").code == 0
    gone = devenv("--context", "tlsctx", "destroy", "--yes", str(spec))
    assert gone.code == 0 and f"{name}: removed" in gone.out, gone.err


def test_a_client_certificate_the_engine_never_signed_is_one_sentence(
    devenv, devenv_env, tls_engine: TlsEngine
) -> None:  # type: ignore[no-untyped-def]
    devenv_env["DOCKER_HOST"] = tls_engine.url
    devenv_env["DOCKER_TLS_VERIFY"] = "1"
    devenv_env["DOCKER_CERT_PATH"] = str(tls_engine.stranger)
    refused = devenv("status")
    assert refused.code == 1
    said, hint = refused.err.splitlines()
    # TLS 1.3: the alert that names the reason, or (under load) the hang-up before it
    assert said.startswith(
        f"devenv: connecting: cannot reach the Docker engine at {tls_engine.url} (DOCKER_HOST)"
        " (TLS: the engine "
    ) and said.endswith("does not trust the client certificate)"), refused.err
    assert hint == (
        f"  hint: check the address and the TLS files in {tls_engine.stranger}: ca.pem (the"
        " engine's CA), cert.pem and key.pem (a client pair that CA signed)"
    ), refused.err


def _context(config_dir: Path, name: str, host: str) -> None:
    digest = hashlib.sha256(name.encode()).hexdigest()
    meta = config_dir / "contexts" / "meta" / digest
    meta.mkdir(parents=True)
    endpoint = {"Host": host, "SkipTLSVerify": False}
    (meta / "meta.json").write_text(
        json.dumps({"Name": name, "Metadata": {}, "Endpoints": {"docker": endpoint}})
    )


def _registry_digest(registry: Registry, repo: str, tag: str) -> str:
    """The digest the registry itself serves for repo:tag, through its HTTP API."""
    accept = ", ".join(
        f"application/vnd.{kind}+json"
        for kind in ("docker.distribution.manifest.v2", "oci.image.manifest.v1")
    )
    request = urllib.request.Request(
        f"http://{registry.address}/v2/{repo}/manifests/{tag}",
        method="HEAD",
        headers={"Accept": accept},
    )
    with urllib.request.urlopen(request, timeout=30) as response:
        return str(response.headers["Docker-Content-Digest"])


def podman_image_commands(
    devenv: Callable[..., Result], spec: Path, registry: Registry, bundle: Path, engine: str
) -> None:
    """logs, images, push, the work guard and a snapshot, export: on the walked box, whose
    engine answers at `engine` (the docker CLI reaches it there, as root)."""
    name = spec.stem
    (row,) = json.loads(devenv("images", "--json", str(spec)).out)
    assert row["tags"] == [f"devenv/{name}:{row['build_hash'][:12]}"] and row["in_use_by"] == [name]
    pushed = devenv("push", str(spec), "--to", f"{registry.address}/pod")
    assert pushed.code == 0, pushed.err  # plain HTTP on 127.0.0.1, as dockerd allows
    assert f"{name}: pushed {registry.address}/pod/{name}:latest (sha256:" in pushed.out
    digest = pushed.out.split(f"/pod/{name}:latest (")[1].split(")")[0]
    assert _registry_digest(registry, f"pod/{name}", "latest") == digest  # it is there
    said = "echo tuned > /etc/tuned.conf; echo said-by-pid-1 > /proc/1/fd/1"  # the box's output
    docker = ["docker", "--host", engine]
    subprocess.run([*docker, "exec", "-u", "0", name, "sh", "-c", said], check=True)
    assert devenv("logs", str(spec)).out == "said-by-pid-1\n"
    spec.write_text(spec.read_text().replace('ports: ["', f'ports: ["{free_port()}:8000", "'))
    refused = devenv("apply", "--yes", str(spec))
    assert refused.code == 1 and "/etc/tuned.conf" in refused.err, refused.err
    assert devenv("apply", "--yes", "--snapshot", str(spec)).code == 0
    snapshots = json.loads(devenv("snapshots", "--json").out)
    (kept,) = [s["ref"] for s in snapshots if s["env"] == name]
    held = subprocess.run(
        [*docker, "run", "--rm", "--entrypoint", "cat", kept, "/etc/tuned.conf"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert held.stdout == "tuned\n", held.stderr  # the snapshot holds the changed file
    exported = devenv("export", str(spec), "-o", str(bundle))
    assert exported.code == 0 and f"wrote {bundle}: {name} (" in exported.out, exported.err


def bundle_round_trip(devenv: Callable[..., Result], spec: Path, bundle: Path) -> None:
    """The bundle back onto the same engine: its image gone, then loaded without a build."""
    elsewhere = spec.parent / "elsewhere"
    assert (
        f"removed image devenv/{spec.stem}:"
        in devenv("destroy", "--yes", "--images", str(spec)).out
    )
    imported = devenv("import", str(bundle), "--to", str(elsewhere))
    assert imported.code == 0 and f"loaded devenv/{spec.stem}:" in imported.out, imported.err
    rows = json.loads(devenv("images", "--json", str(elsewhere / spec.name)).out)
    (row,) = [r for r in rows if r["kind"] == "env"]  # beside the snapshot
    assert f"devenv/{spec.stem}:{row['build_hash'][:12]}" in row["tags"], rows
    plan = devenv("plan", str(elsewhere / spec.name))
    assert f"+ {spec.stem}: create" in plan.out and "build" not in plan.out, plan.out


def test_podman_rootful_through_a_context(devenv, devenv_env, podman, registry, tmp_path) -> None:  # type: ignore[no-untyped-def]
    config = tmp_path / "docker-config"
    _context(config, "pod", ROOTFUL)
    devenv_env["DOCKER_CONFIG"] = str(config)
    devenv_env["DOCKER_CONTEXT"] = "pod"
    devenv_env["DOCKER_HOST"] = "unix:///nowhere.sock"  # DOCKER_HOST beats DOCKER_CONTEXT…
    assert devenv("status").code == 1
    del devenv_env["DOCKER_HOST"]
    devenv_env["HOME"] = str(tmp_path)
    spec, bundle = box_spec(tmp_path, unique("pod")), tmp_path / "bundle.tar"
    made, _ = walk_the_box(
        devenv,
        spec,
        "Podman",
        lambda: podman_image_commands(devenv, spec, registry, bundle, ROOTFUL),
    )
    assert made.stat().st_uid == 1000
    bundle_round_trip(devenv, spec, bundle)
    # …and --context beats DOCKER_HOST, as in docker
    devenv_env["DOCKER_HOST"] = "unix:///nowhere.sock"
    status = devenv("--context", "pod", "status")
    assert status.code == 0 and "Podman" in status.err and "(context pod)" in status.err


@pytest.fixture(scope="session")
def rootless_run(podman) -> Iterator[Callable[..., Result]]:  # type: ignore[no-untyped-def]
    """Run devenv as the rootless test user, with its own runtime dir and state. The
    interpreter's folders are opened to it for the session and closed again after."""
    user = pwd.getpwnam(ROOTLESS_USER)
    runtime = f"/tmp/podman-run-{user.pw_uid}"

    def run(*args: str, home: Path) -> Result:
        env = {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "HOME": str(home),
            "XDG_RUNTIME_DIR": runtime,
            "DEVENV_LABELS": RUN_LABEL,
            "DEVENV_STATE_DIR": str(home / "state"),
            "PYTHONPATH": str(ROOT),
        }
        proc = subprocess.run(
            [
                "runuser",
                "-u",
                ROOTLESS_USER,
                "--",
                "env",
                "-i",
                *(f"{k}={v}" for k, v in env.items()),
                sys.executable,
                "-m",
                "devenv",
                *args,
            ],
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=900,
            stdin=subprocess.DEVNULL,
        )
        assert "Traceback" not in proc.stderr, proc.stderr
        return Result(proc.returncode, proc.stdout, proc.stderr)

    with interpreter_open_to_others():
        yield run


def _folder_whose_first_subnet_is_a_docker_bridge(docker_client):  # type: ignore[no-untyped-def]
    """A new folder, and a Docker bridge (this run's) on the subnet devenv picks first for its
    network; a folder whose first choice some other network here holds already is passed
    over (the folder's name picks the subnet). Returns the folder, the subnet, the bridge."""
    for _ in range(20):
        folder = Path(tempfile.mkdtemp(prefix="devenv-rootless-"))
        first_choice = choose_subnet([], pools(), folder_network(folder))
        assert first_choice is not None
        pool = docker.types.IPAMPool(subnet=first_choice)
        try:
            bridge = docker_client.networks.create(
                unique("clash"),
                ipam=docker.types.IPAMConfig(pool_configs=[pool]),
                labels={RUN_LABEL.split("=")[0]: RUN_LABEL.split("=", 1)[-1]},
            )
        except docker.errors.APIError:  # "Pool overlaps with other one": another folder
            shutil.rmtree(folder, ignore_errors=True)
            continue
        return folder, first_choice, bridge
    pytest.fail("20 folders' first subnets were all taken on this engine")


def test_podman_rootless_through_every_command(rootless_run, registry, docker_client) -> None:  # type: ignore[no-untyped-def]
    """The rootless user's box through every command: the lifecycle, then logs, images, push,
    a snapshot and a bundle's export and import, all against the user's own socket. The
    subnet devenv would pick for the folder's network is already a Docker bridge on this
    host, which rootless Podman refuses and its own list does not show: devenv takes another."""
    user = pwd.getpwnam(ROOTLESS_USER)
    folder, first_choice, bridge = _folder_whose_first_subnet_is_a_docker_bridge(docker_client)
    try:
        subprocess.run(
            ["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(folder / "key")], check=True
        )
        shutil.chown(folder, user.pw_uid, user.pw_gid)
        for item in folder.iterdir():
            shutil.chown(item, user.pw_uid, user.pw_gid)

        def devenv(*args: str) -> Result:
            return rootless_run(*args, home=folder)

        name = unique("rl")
        spec = folder / f"{name}.yaml"
        spec.write_text(BOX.format(name=name, port=free_port(), key=folder / "key.pub"))
        shutil.chown(spec, user.pw_uid, user.pw_gid)
        bundle = folder / "bundle.tar"
        engine = f"unix:///tmp/podman-run-{user.pw_uid}/podman/podman.sock"
        made, _ = walk_the_box(
            devenv,
            spec,
            "(rootless Podman socket)",
            lambda: (
                _not_on(first_choice, folder_network(folder), user.pw_uid),
                podman_image_commands(devenv, spec, registry, bundle, engine),
            ),
        )
        # keep-id: the box's user is the host user, numerically
        assert (made.stat().st_uid, made.stat().st_gid) == (user.pw_uid, user.pw_gid)
        bundle_round_trip(devenv, spec, bundle)
    finally:
        bridge.remove()
        shutil.rmtree(folder, ignore_errors=True)


def _not_on(subnet: str, network: str, uid: int) -> None:
    """The rootless user's `network` exists on a subnet other than `subnet`."""
    found = subprocess.run(
        [
            "runuser",
            "-u",
            ROOTLESS_USER,
            "--",
            "env",
            f"XDG_RUNTIME_DIR=/tmp/podman-run-{uid}",
            "podman",
            "network",
            "inspect",
            "--format",
            "{{range .Subnets}}{{.Subnet}} {{end}}",
            network,
        ],
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
        cwd="/",
    ).stdout.split()
    assert found and subnet not in found, found


def test_doctor_on_docker_podman_and_no_engine(devenv, devenv_env, podman) -> None:  # type: ignore[no-untyped-def]
    devenv_env.pop("DOCKER_HOST", None)
    docker = devenv("doctor", "--json")
    engine = json.loads(docker.out)[0]
    assert engine["ok"] and engine["message"].startswith("Docker Engine "), docker.out
    devenv_env["DOCKER_HOST"] = ROOTFUL
    found = devenv("doctor")
    assert found.out.startswith("ok  engine: Podman "), found.out
    assert "rootful" in found.out.splitlines()[0]
    devenv_env["DOCKER_HOST"] = "unix:///nowhere/engine.sock"
    none = devenv("doctor")
    assert none.code == 1
    assert none.out.startswith(
        "FIX engine: no engine answers at unix:///nowhere/engine.sock (DOCKER_HOST)"
    ), none.out


def test_a_lock_made_on_docker_rebuilds_the_same_box_on_podman(  # type: ignore[no-untyped-def]
    devenv, devenv_env, podman, apt_proxy: AptProxy, spec_dir, name
) -> None:
    """Issue 20: a lock travels. Locked on Docker, the spec is applied on a second engine
    (rootful Podman, as a new machine would): the base is bootstrapped there again, checked
    against the lock, and the box holds every package at the version pinned."""
    import docker as docker_sdk

    spec = spec_dir(name, apt_proxy.bootstrapped_spec(name))
    devenv_env.pop("DOCKER_HOST", None)
    applied = devenv("apply", "--yes", str(spec))
    assert applied.code == 0, applied.err
    locked = devenv("lock", str(spec))
    assert locked.code == 0, locked.err
    lock = parse(lock_path(spec).read_text(), str(lock_path(spec)))
    assert lock.snapshot and "hello" in lock.packages and "libc6" in lock.base_packages
    assert devenv("destroy", "--yes", "--images", str(spec)).code == 0

    devenv_env["DOCKER_HOST"] = ROOTFUL
    pod = docker_sdk.APIClient(base_url=ROOTFUL, timeout=120)
    tag = base_ref(Base(bootstrap="debian:bookworm", mirror=apt_proxy.mirror))
    assert not pod.images(name=tag)  # the recipe names a port of this run: a new machine
    try:
        there = devenv("apply", "--yes", str(spec))
        assert there.code == 0, there.err
        assert "bootstrapping debian:bookworm" in there.err
        assert [c["Names"] for c in pod.containers(filters={"name": f"^{name}$"})] == [[f"/{name}"]]
        listed = devenv(
            "shell", str(spec), "--", "dpkg-query", "-W", "-f", "${Package}=${Version}\n"
        )
        assert listed.code == 0, listed.err
        held = dict(line.split("=", 1) for line in listed.out.split())
        pinned = {**lock.base_packages, **lock.packages}
        assert {pkg: held.get(pkg) for pkg in pinned} == pinned
        assert devenv("lock", "--check", str(spec)).code == 0
        assert devenv("plan", "--detailed-exitcode", str(spec)).code == 0
    finally:
        devenv("destroy", "--yes", "--images", str(spec))
        with contextlib.suppress(Exception):
            pod.remove_image(tag, force=True)
