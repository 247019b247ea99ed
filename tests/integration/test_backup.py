"""After a crash: backup, lose everything (containers, the env's image, volumes, the state
folder), restore, apply; the volume's files and the box's SSH identity come back."""

from __future__ import annotations

import base64
import shutil
import stat
import uuid
from pathlib import Path

import pytest

from tests.integration.conftest import free_port, ssh, ssh_box, ssh_config

SUMS = (  # contents, and who owns what with which mode
    "cd /data && find . -type f -exec sha256sum {} + | sort && "
    "find . -exec stat -c '%U:%G %a %N' {} + | sort"
)


@pytest.fixture
def own_state(tmp_path: Path, devenv_env: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> Path:
    """A state folder of this test's own, since the test throws it away."""
    folder = tmp_path / "state"
    devenv_env["DEVENV_STATE_DIR"] = str(folder)
    monkeypatch.setenv("DEVENV_STATE_DIR", str(folder))
    return folder


def test_backup_restore_apply_brings_back_volume_and_identity(
    devenv, docker_client, spec_dir, name, home, own_state, tmp_path
) -> None:  # type: ignore[no-untyped-def]
    port, volume = free_port(), f"{name}-data"
    more = f"volumes: [{{name: {volume}, container: /data}}]\n"
    spec = spec_dir(name, ssh_box(name, port, more))
    assert devenv("apply", str(spec)).code == 0
    box = docker_client.containers.get(name)
    canary = f"CANARY-{uuid.uuid4().hex}"
    made = box.exec_run(
        [
            "sh",
            "-c",
            f"mkdir -p /data/sub && printf %s {canary} > /data/canary.txt && "
            "head -c 300000 /dev/urandom > /data/sub/random.bin && ln -s sub/random.bin /data/link && "
            "chown dev:dev /data/canary.txt",
        ]
    )
    assert made.exit_code == 0, made.output
    before = box.exec_run(["sh", "-c", SUMS]).output
    config = ssh_config(devenv, spec, home)
    assert ssh(config, name, "true").returncode == 0
    old_known = tmp_path / "old_known_hosts"  # what the user's ssh trusted before the crash
    shutil.copy(own_state / "known_hosts", old_known)
    config.write_text(config.read_text().replace(str(own_state / "known_hosts"), str(old_known)))
    host_key = own_state / "envs" / name / "ssh" / "ssh_host_ed25519_key"
    key_body = "".join(host_key.read_text().splitlines()[1:-1])

    backup = tmp_path / "envs.age"
    made_backup = devenv("backup", str(spec.parent), "-o", str(backup))
    assert made_backup.code == 0, made_backup.err
    assert f"volume {volume}" in made_backup.out and "SSH host key" in made_backup.out
    sealed = backup.read_bytes()
    assert sealed.startswith(b"age-encryption.org/v1\n")
    assert stat.S_IMODE(backup.stat().st_mode) == 0o600
    assert canary.encode() not in sealed and b"sub/random.bin" not in sealed
    assert key_body.encode() not in sealed and base64.b64decode(key_body)[:64] not in sealed
    assert box.reload() is None and box.status == "running"  # resumed after the read

    # the state folder is lost while the box still runs: plan says the identity is new
    shutil.rmtree(own_state)
    said = devenv("plan", str(spec))
    assert f"the SSH host key of {name} is new" in said.out + said.err, said.out + said.err

    # the crash: the container, the env's image, the volume are gone too
    image = box.image.id
    box.remove(force=True)
    docker_client.images.remove(image, force=True)
    docker_client.volumes.get(volume).remove()
    shutil.rmtree(own_state, ignore_errors=True)

    again = tmp_path / "again"
    restored = devenv("restore", str(backup), "--to", str(again))
    assert restored.code == 0, restored.err
    assert f"restored volume {volume}" in restored.out and (again / spec.name).is_file()
    applied = devenv("apply", str(again))
    assert applied.code == 0, applied.err
    assert "is new" not in applied.out + applied.err
    box = docker_client.containers.get(name)
    assert box.exec_run(["sh", "-c", SUMS]).output == before
    login = ssh(config, name, "cat /data/canary.txt")  # the old known_hosts, strict checking
    assert login.returncode == 0 and login.stdout == canary, login.stderr

    # a volume that holds data is not overwritten without --force, nor while a box uses it
    refused = devenv("restore", str(backup), "--to", str(again))
    assert refused.code == 1 and f"volume {volume} already holds data" in refused.err
    assert "--force" in refused.err
    busy = devenv("restore", "--force", str(backup), "--to", str(again))
    assert busy.code == 1 and "in use by" in busy.err, busy.err
    assert devenv("destroy", "--yes", str(again)).code == 0
    forced = devenv("restore", "--force", str(backup), "--to", str(again))
    assert forced.code == 0 and "(replaced)" in forced.out, forced.err
    assert "already there" in forced.out


def test_restore_refuses_a_stranger_key_and_a_damaged_file(
    devenv, spec_dir, name, home, own_state, tmp_path
) -> None:  # type: ignore[no-untyped-def]
    spec = spec_dir(name, f"name: {name}\n")
    backup = tmp_path / "envs.age"
    assert devenv("backup", str(spec), "-o", str(backup)).code == 0
    stranger = tmp_path / "stranger"
    import subprocess

    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(stranger)], check=True)
    wrong = devenv("restore", str(backup), "-i", str(stranger), "--to", str(tmp_path / "x"))
    assert wrong.code == 1 and "not encrypted to the identity" in wrong.err, wrong.err
    damaged = tmp_path / "damaged.age"
    damaged.write_bytes(backup.read_bytes()[:-40])
    broken = devenv("restore", str(damaged), "--to", str(tmp_path / "y"))
    assert broken.code == 1 and "cannot be decrypted" in broken.err, broken.err
    assert not (tmp_path / "x").exists() and not (tmp_path / "y").exists()
