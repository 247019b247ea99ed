"""What the host must have before a container is created: its host ports free, shared
folders present (made for the user), and the env's SSH keys in place."""

from __future__ import annotations

import os
import socket
from pathlib import Path

from devenv.converge.desired import DesiredEnv
from devenv.engine.observed import Observed
from devenv.errors import STATE_PATH, ConflictError, DevenvError, host_file_errors
from devenv.host import Host, sudo_user
from devenv.hostfiles import give_to_user, own_folder, read_bounded, write_file
from devenv.spec.hostpaths import host_path


def port_taken(bind: str, port: int, protocol: str) -> bool:
    kind = socket.SOCK_DGRAM if protocol == "udp" else socket.SOCK_STREAM
    family = socket.AF_INET6 if ":" in bind else socket.AF_INET
    with socket.socket(family, kind) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((bind, port))
        except OSError:
            return True
    return False


def check_ports(want: DesiredEnv, observed: Observed, local: bool = True) -> None:
    """Refuse, before changing anything, host ports that someone else already holds (on a
    remote engine only its containers are checked here; the engine refuses the rest)."""
    adopt = want.spec_file.spec.adopt or "-"
    own = [  # replaced or removed here (an adopted container too)
        c for c in observed.containers if c.env == want.name or c.id.startswith(adopt)
    ]
    mine = {(p.bind, p.host, p.protocol) for c in own for p in c.ports}
    for port in want.spec_file.spec.ports:
        if port.host is None or (port.bind, port.host, port.protocol) in mine:
            continue
        owner = next(
            (
                c
                for c in observed.containers
                if c.state == "running"
                and any(p.host == port.host and p.protocol == port.protocol for p in c.ports)
            ),
            None,
        )
        if owner is not None and owner.env != want.name:
            raise ConflictError(
                f"host port {port.bind}:{port.host} is already taken by container {owner.name!r}",
                env=want.name,
            )
        if local and port_taken(port.bind, port.host, port.protocol):
            raise ConflictError(
                f"host port {port.bind}:{port.host} is already taken by another process",
                env=want.name,
            )


def prepare_host(want: DesiredEnv, host: Host) -> None:
    """Shared paths exist (a missing one is made a folder unless `create: false`; an existing
    file is shared as that file), and the env's keys are in place in devenv's state folder."""
    spec_file = want.spec_file
    for shared in spec_file.spec.shared:
        path = host_path(spec_file, shared.host)
        if path.exists():
            continue
        if not shared.create:
            raise DevenvError(
                f"shared path {path} does not exist (create: false)",
                "create it, or drop `create: false` to let devenv make it a folder",
                env=want.name,
            )
        owner = want.config["user"]
        with host_file_errors("create the shared folder", path):
            _make_user_dirs(path, (owner["uid"], owner["gid"]) if owner else None)
    if spec_file.spec.sshd is not None:
        ssh_dir = host.env_dir(want.name) / "ssh"
        with host_file_errors("write the SSH keys to", ssh_dir, STATE_PATH):
            own_folder(ssh_dir)
            write_file(ssh_dir / "authorized_keys", want.keys)
            _host_key(ssh_dir)


# what sshd reads from SSH_DIR, and the mode each must have there (sshd refuses a host key
# others can read); the .pub is for people
SSH_FILES = (("authorized_keys", 0o644), ("ssh_host_ed25519_key", 0o600))
SSH_PUB = ("ssh_host_ed25519_key.pub", 0o644)
MAX_KEY_FILE = 1 << 20  # a key file is a few hundred bytes; authorized_keys may list many


def ssh_files(ssh_dir: Path) -> dict[str, tuple[bytes, int]]:
    """The env's key files in devenv's state folder, name → (content, mode), copied into the
    box before it first starts (never mounted: see desired.container_shape). The host key
    is copied every time, so the box keeps presenting the key devenv's known_hosts holds;
    one missing (no ssh-keygen here) is left for the box's entrypoint to make."""
    files = {}
    with host_file_errors("read the SSH keys from", ssh_dir, STATE_PATH):
        own_folder(ssh_dir)
        for name, mode in (*SSH_FILES, SSH_PUB):
            try:
                files[name] = (read_bounded(ssh_dir / name, MAX_KEY_FILE, own=True), mode)
            except FileNotFoundError:
                continue
    return files


def _make_user_dirs(path: Path, box_user: tuple[int, int] | None) -> None:
    """mkdir -p; when devenv runs as root, the new folders belong to the box's user
    (the sudo user's uid, or the uid the box maps to), so both sides can write."""
    missing = []
    probe = path
    while not probe.exists():
        missing.append(probe)
        probe = probe.parent
    path.mkdir(parents=True)
    owner = sudo_user() or box_user
    if owner and os.geteuid() == 0:
        for created in missing:
            os.chown(created, *owner, follow_symlinks=False)


def _host_key(ssh_dir: Path) -> None:
    """The env's SSH host key lives here, outside the image, so rebuilds keep it."""
    import shutil
    import subprocess

    key = ssh_dir / "ssh_host_ed25519_key"
    if os.path.lexists(key) or shutil.which("ssh-keygen") is None:
        return  # the container's entrypoint makes one on first start
    made = subprocess.run(
        ["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "devenv-host", "-f", str(key)],
        check=False,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
    )
    if made.returncode != 0:
        why = (made.stderr.strip().splitlines() or [f"exit {made.returncode}"])[-1]
        raise DevenvError(
            f"cannot make the SSH host key {key}: ssh-keygen said: {why}",
            f"check that {ssh_dir} is writable, {STATE_PATH}",
        )
    for made_file in (key, key.with_name(key.name + ".pub")):
        if os.path.lexists(made_file):
            give_to_user(made_file, ssh_dir)
