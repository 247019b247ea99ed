"""A hostile box on the real engine (issue 19): root in a running box plants links, FIFOs and
huge files in every place it can write that devenv reads or writes on this host: the box's
own SSH folder (once a read-write mount of devenv's state folder), the shared project folder
that holds the spec, its .env, lock and key file, and the box's own file system (which the
work guard reads). Then devenv's commands run: apply after a key change, restart, stop and
start, ssh-config, ssh, status, plan, export, destroy. Canary files outside the box's shares keep
their bytes and modes, nothing devenv keeps becomes a link, and no writable bind mount
exists that the spec did not ask for.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import stat
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tests.integration.conftest import Result, free_port

Canaries = dict[Path, tuple[str, int]]
SYSTEM_CANARIES = (Path("/etc/passwd"), Path("/etc/shadow"), Path("/etc/hostname"))


def fingerprints(paths: list[Path]) -> Canaries:
    """Each file's sha256 and mode (links not followed: a canary never becomes a link)."""
    found = {}
    for path in paths:
        info = path.lstat()
        digest = hashlib.sha256(path.read_bytes()).hexdigest() if stat.S_ISREG(info.st_mode) else ""
        found[path] = (digest, info.st_mode)
    return found


def key_pair(folder: Path) -> Path:
    for stale in folder.glob("me*"):
        stale.unlink()
    subprocess.run(
        ["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(folder / "me")], check=True
    )
    return folder / "me.pub"


def as_root_in(box: Any, script: str) -> None:
    """Run `script` as root in the box; it must succeed (the box can do all of this)."""
    done = box.exec_run(["sh", "-ec", script], user="0:0")
    assert done.exit_code == 0, done.output.decode(errors="replace")


def writable_binds(box: Any) -> set[str]:
    box.reload()
    return {m["Source"] for m in box.attrs["Mounts"] if m["Type"] == "bind" and m["RW"]}


def assert_nothing_devenv_keeps_is_a_link(state: Path) -> None:
    """Every file devenv keeps is a regular file or folder of root's, none open to others."""
    info = state.stat()
    assert stat.S_IMODE(info.st_mode) == 0o700
    for path in [state, *state.rglob("*")]:
        found = path.lstat()
        assert stat.S_ISREG(found.st_mode) or stat.S_ISDIR(found.st_mode), path
        assert found.st_nlink == 1 or stat.S_ISDIR(found.st_mode), path
        assert found.st_uid == os.geteuid() and not found.st_mode & 0o022, path


def answered(result: Result, args: tuple[str, ...]) -> None:
    """Done, or refused in a sentence or two: never a traceback (the fixture checks), a hang
    (its timeout) or a crash (exit 3)."""
    assert result.code in (0, 1), (args, result.code, result.err[-2000:])
    if result.code == 1:
        lines = [ln for ln in result.err.splitlines() if ln.strip()]
        assert lines and all(ln.isprintable() for ln in lines), (args, result)


@pytest.mark.skipif(not shutil.which("ssh-keygen"), reason="needs ssh-keygen")
def test_a_hostile_box_reaches_nothing_of_the_host(
    devenv: Callable[..., Result],
    devenv_env: dict[str, str],
    docker_client: Any,
    tmp_path: Path,
    name: str,
) -> None:
    state = tmp_path / "state"
    devenv_env["DEVENV_STATE_DIR"] = str(state)
    project = tmp_path / "project"
    (project / "keys").mkdir(parents=True)
    key_pair(project / "keys")
    spec = project / f"{name}.yaml"
    spec.write_text(
        f"name: {name}\n"
        f'ports: ["127.0.0.1:{free_port()}:22"]\n'
        "shared: ['.:/work']\n"  # the spec's own folder, writable: the box can plant there
        "user: dev\n"
        "sshd: {authorized_keys: [./keys/me.pub]}\n"
        "env: {TOKEN: '${DEVENV_HOSTILE_TOKEN:-none}'}\n"  # so the .env beside it is read
        "command: [sleep, infinity]\n"
    )
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "secret").write_text("root's secret\n")
    (outside / "public").write_text("world-readable\n")
    os.chmod(outside / "secret", 0o600)
    os.chmod(outside / "public", 0o644)

    assert devenv("apply", "--yes", str(spec)).code == 0
    box = docker_client.containers.get(name)
    assert writable_binds(box) == {str(project)}  # the SSH folder is copied in, not mounted
    host_key = state / "envs" / name / "ssh" / "ssh_host_ed25519_key"
    canaries = [outside / "secret", outside / "public", host_key, *SYSTEM_CANARIES]
    before = fingerprints(canaries)

    # ---- round 1: plants devenv must step around (it writes only through its own files)
    secret = outside / "secret"
    as_root_in(
        box,
        f"""
        cd /etc/devenv/ssh
        rm -f authorized_keys ssh_host_ed25519_key ssh_host_ed25519_key.pub
        ln -s {secret} authorized_keys; ln -s {secret} ssh_host_ed25519_key
        ln -s {secret} ssh_host_ed25519_key.pub; mkfifo known_hosts
        cd /work
        ln -s {secret} .{name}.lock.partial; ln -s {secret} envs.tar.partial
        ln -s {secret} {name}.lock.tmp; mkfifo pipe; truncate -s 20G huge.img
        mkfifo /root/fifo; ln -s /etc/shadow /root/link; truncate -s 20G /root/huge
        """,
    )
    new_key = key_pair(project / "keys").read_text()
    changed = devenv("apply", "--yes", "--force", str(spec))  # --force: the box's own changes
    assert changed.code == 0, changed.err
    box = docker_client.containers.get(name)
    assert box.exec_run(["cat", "/etc/devenv/ssh/authorized_keys"]).output.decode() == new_key
    assert writable_binds(box) == {str(project)}
    for verb in ("restart", "stop", "start"):
        assert devenv(verb, str(spec)).code == 0, verb
    config = devenv("ssh-config", str(spec))
    assert config.code == 0 and f"Host {name}\n" in config.out, config.err
    if shutil.which("ssh"):
        login = devenv("ssh", str(spec), "--", "true")
        assert login.code == 0, login.err
    assert devenv("status", str(spec)).code == 0
    assert devenv("plan", "--detailed-exitcode", str(spec)).code == 0
    # export: a bundle name the box made a link is refused; the images are saved to a file
    # with no name to swap (O_TMPFILE), the bundle to a new file renamed into place
    as_root_in(box, f"ln -s {secret} /work/envs.tar")
    refused = devenv("export", str(spec), "-o", str(project / "envs.tar"))
    assert refused.code == 1 and "is a symbolic link devenv did not make" in refused.err
    exported = devenv("export", str(spec), "-o", str(project / "bundle.tar"))
    assert exported.code == 0, exported.err
    assert stat.S_ISREG((project / "bundle.tar").lstat().st_mode)
    assert {p.name for p in project.glob(".*.tmp")} == set()  # no temporary left
    (project / "bundle.tar").unlink()
    assert fingerprints(canaries) == before
    assert_nothing_devenv_keeps_is_a_link(state)

    # ---- round 2: plants devenv must refuse (what it reads beside the spec)
    box = docker_client.containers.get(name)
    as_root_in(
        box,
        f"""
        cd /work
        mkfifo .env; ln -s {secret} {name}.lock; ln -sf /dev/zero keys/me.pub
        """,
    )
    for args in (
        ("plan", str(spec)),
        ("apply", "--yes", "--force", str(spec)),
        ("status", str(spec)),
        ("status",),
        ("ssh-config", str(spec)),
        ("restart", str(spec)),
    ):
        answered(devenv(*args, timeout=120), args)
    refused = devenv("plan", str(spec))
    assert refused.code == 1 and f"{project / '.env'}:1:1: is not a regular file" in refused.err
    (project / ".env").unlink()
    refused = devenv("plan", str(spec))
    assert refused.code == 1 and "is not a devenv lock file" in refused.err
    (project / f"{name}.lock").unlink()
    refused = devenv("plan", str(spec))
    assert refused.code == 1 and "keys/me.pub cannot be read (it is not a regular file" in (
        refused.err
    )
    assert writable_binds(docker_client.containers.get(name)) == {str(project)}

    assert devenv("destroy", "--yes", str(spec)).code == 0
    assert fingerprints(canaries) == before
    assert_nothing_devenv_keeps_is_a_link(state)
    assert (project / "huge.img").stat().st_blocks == 0  # never read, never copied
