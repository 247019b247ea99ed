"""SSH into envs: ~/.ssh/config blocks, devenv's own known_hosts, and the ssh command line.

Host keys live in the env's state folder, outside the image, so a rebuilt box presents the
same key. Entries are keyed by HostKeyAlias `devenv-NAME`, not by port, so an
engine-assigned port that changes never looks like a changed host.
"""

from __future__ import annotations

import shlex
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

from devenv.engine.observed import ObservedContainer
from devenv.errors import STATE_PATH, DevenvError, host_file_errors
from devenv.host import Host
from devenv.hostfiles import own_folder, read_bounded, write_file
from devenv.spec.hostpaths import host_path
from devenv.spec.loader import SpecFile

SSH_PORT = 22
MAX_KEY = 64 << 10  # a host key is a few hundred bytes
MAX_KNOWN_HOSTS = 8 << 20


@dataclass(frozen=True)
class SshLogin:
    env: str
    host: str
    port: int
    user: str
    known_hosts: Path
    identity: Path | None
    jump: str | None = None  # ProxyJump through a remote engine's machine

    @property
    def alias(self) -> str:
        return f"devenv-{self.env}"

    def options(self) -> list[str]:
        opts = [
            "-p",
            str(self.port),
            "-o",
            f"HostKeyAlias={self.alias}",
            "-o",
            f"UserKnownHostsFile={self.known_hosts}",
            "-o",
            "StrictHostKeyChecking=yes",
        ]
        if self.identity:
            opts += ["-i", str(self.identity), "-o", "IdentitiesOnly=yes"]
        if self.jump:
            opts += ["-o", f"ProxyJump={self.jump}"]
        return opts

    def argv(self, command: list[str], tty: bool) -> list[str]:
        """ssh joins its arguments into one remote shell line; quote them so each arrives whole."""
        remote = [shlex.join(command)] if command else []
        login = ["-t"] if tty and not command else []
        return ["ssh", *login, *self.options(), f"{self.user}@{self.host}", *remote]

    def config_block(self) -> str:
        lines = [
            f"Host {self.env}",
            f"  HostName {self.host}",
            f"  Port {self.port}",
            f"  User {self.user}",
            f"  HostKeyAlias {self.alias}",
            f"  UserKnownHostsFile {self.known_hosts}",
            "  StrictHostKeyChecking yes",
        ]
        if self.identity:
            lines += [f"  IdentityFile {self.identity}", "  IdentitiesOnly yes"]
        if self.jump:
            lines.append(f"  ProxyJump {self.jump}")
        return "\n".join(lines) + "\n"


def ssh_login(
    spec_file: SpecFile, live: ObservedContainer | None, host: Host, jump: str | None = None
) -> SshLogin:
    """How to log in to the env; `jump` is a remote engine's machine, the published port's
    address being one on that machine."""
    spec = spec_file.spec
    if spec.sshd is None or spec.user is None:
        raise DevenvError(f"{spec.name} has no sshd", "add `sshd: true` and a `user` to its spec")
    if live is None or not live.owned or live.state != "running":
        raise DevenvError(
            f"{spec.name} is not running", f"run: devenv apply {spec_file.path} (or devenv start)"
        )
    published = [p for p in live.ports if p.container == SSH_PORT and p.protocol == "tcp"]
    if not published:
        raise DevenvError(
            "sshd's port 22 is not published",
            'add "2222:22" (or just 22) to its ports',
            env=spec.name,
        )
    address = published[0].bind
    if address in ("0.0.0.0", "::", ""):
        address = "127.0.0.1"
    record_host_key(host, spec.name)
    return SshLogin(
        spec.name,
        address,
        published[0].host,
        spec.user.name,
        known_hosts(host),
        _identity(spec_file),
        jump,
    )


def known_hosts(host: Host) -> Path:
    return host.state_dir / "known_hosts"


def record_host_key(host: Host, env: str) -> None:
    """Write the env's host key into devenv's known_hosts, replacing an older line for it."""
    private = host.env_dir(env) / "ssh" / "ssh_host_ed25519_key"
    key = _public_key(private)
    if key is None:
        raise DevenvError(
            f"its SSH host key is missing from {private.parent}",
            "the box makes one when it starts: run devenv restart, then try again",
            env=env,
        )
    path = known_hosts(host)
    alias = f"devenv-{env}"
    with host_file_errors("write devenv's known_hosts", path, STATE_PATH):
        own_folder(path.parent)
        try:
            text = read_bounded(path, MAX_KNOWN_HOSTS, own=True).decode(errors="replace")
        except FileNotFoundError:
            text = ""
        lines = [ln for ln in text.splitlines() if ln.split(" ", 1)[0] != alias]
        write_file(path, "\n".join([*lines, f"{alias} {key}"]) + "\n")


def _public_key(private: Path) -> str | None:
    """'TYPE BASE64' of the host key: from its .pub, or derived from the private key. Both
    live in devenv's own folder: a link or a special file there is refused, never read."""
    public = private.with_name(private.name + ".pub")
    with host_file_errors("read the host key", public, STATE_PATH):
        own_folder(private.parent)
        try:
            return " ".join(read_bounded(public, MAX_KEY, own=True).decode().split()[:2])
        except FileNotFoundError:
            pass
        except UnicodeDecodeError:
            return None
        try:
            read_bounded(private, MAX_KEY, own=True)  # there, and a plain file of ours
        except FileNotFoundError:
            return None
    if not shutil.which("ssh-keygen"):
        return None
    derived = subprocess.run(
        ["ssh-keygen", "-y", "-f", str(private)], capture_output=True, text=True, check=False
    )
    if derived.returncode != 0 or not derived.stdout.strip():
        return None
    with host_file_errors("write the host key", public, STATE_PATH):
        write_file(public, derived.stdout, 0o644)
    return " ".join(derived.stdout.split()[:2])


def _identity(spec_file: SpecFile) -> Path | None:
    """The private key beside the first authorized key file, when there is one."""
    assert spec_file.spec.sshd is not None
    for entry in spec_file.spec.sshd.authorized_keys:
        if entry.endswith(".pub"):
            private = host_path(spec_file, entry[: -len(".pub")])
            if private.is_file():
                return private
    return None
