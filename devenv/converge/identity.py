"""A box's SSH identity, said when it changes. devenv keeps each env's host key in its state
folder; a box records the fingerprint of the key it was given in a label (L.HOST_KEY). When the
state folder no longer holds that key (a new machine, a lost folder), the next create would
present a new one and plain `ssh` would stop with "REMOTE HOST IDENTIFICATION HAS CHANGED":
the plan says so first, in one line, with what to do. What is read: the state folder's .pub,
the boxes' labels, and the user's ~/.ssh/known_hosts (entries devenv's ssh-config names)."""

from __future__ import annotations

import base64
import hashlib
from dataclasses import replace
from pathlib import Path

from devenv import labels as L
from devenv.converge.desired import DesiredEnv
from devenv.converge.plan import Plan
from devenv.engine.observed import Observed
from devenv.engine.shape import ContainerShape
from devenv.errors import DevenvError
from devenv.host import Host
from devenv.hostfiles import read_bounded

PUBLIC = "ssh_host_ed25519_key.pub"
MAX_KNOWN_HOSTS = 4 << 20


def fingerprint(public_line: bytes) -> str | None:
    """OpenSSH's `SHA256:…` fingerprint of a public key line, None when it is not one."""
    parts = public_line.split()
    try:
        blob = base64.b64decode(parts[1], validate=True)
    except (IndexError, ValueError):
        return None
    return "SHA256:" + base64.b64encode(hashlib.sha256(blob).digest()).decode().rstrip("=")


def with_host_key(shape: ContainerShape, files: dict[str, tuple[bytes, int]]) -> ContainerShape:
    """The shape, labelled with the fingerprint of the host key the box is given (if any)."""
    found = fingerprint(files[PUBLIC][0]) if PUBLIC in files else None
    return replace(shape, labels={**shape.labels, L.HOST_KEY: found}) if found else shape


def recorded(host: Host, env: str) -> str | None:
    """The fingerprint of the host key devenv keeps for `env`, None without one."""
    try:
        return fingerprint(read_bounded(host.env_dir(env) / "ssh" / PUBLIC, 1 << 16, own=True))
    except (OSError, DevenvError):
        return None


def identity_note(want: DesiredEnv, observed: Observed, host: Host) -> str | None:
    """One line when `want`'s box would come up with a host key other than the one it had."""
    name = want.name
    if want.spec_file.spec.sshd is None:
        return None
    mine = recorded(host, name)
    had = {c.labels.get(L.HOST_KEY) for c in observed.of_env(name) if c.owned} - {None}
    if had and mine not in had:
        where = "devenv's state folder has none for it" if mine is None else "it was replaced"
    elif mine is None and _known(host.home, name, want):
        where = "devenv's state folder has none for it, yet your known_hosts knows the box"
    else:
        return None
    return (
        f"the SSH host key of {name} is new ({where}): restore it from a backup "
        f"(devenv restore), or refresh known_hosts (ssh-keygen -R devenv-{name})"
    )


def _known(home: Path, name: str, want: DesiredEnv) -> bool:
    """Whether ~/.ssh/known_hosts names the box: its alias, or its published SSH port."""
    try:
        text = read_bounded(home / ".ssh" / "known_hosts", MAX_KNOWN_HOSTS).decode(errors="replace")
    except (OSError, DevenvError):
        return False
    ports = [p for p in want.spec_file.spec.ports if p.container == 22 and p.host]
    names = {f"devenv-{name}", *(f"[{p.bind}]:{p.host}" for p in ports)}
    names |= {f"[127.0.0.1]:{p.host}" for p in ports if p.bind in ("0.0.0.0", "")}
    return any(names & set(line.split(" ", 1)[0].split(",")) for line in text.splitlines())


def with_identity_notes(the_plan: Plan, notes: dict[str, str]) -> Plan:
    """The plan, each env whose SSH identity would change carrying the line that says so
    (`notes` by env, made by identity_note while the session loads: its reads are recorded)."""
    return Plan(
        tuple(
            replace(action, warnings=(*action.warnings, note))
            if (note := notes.get(action.env))
            else action
            for action in the_plan.actions
        )
    )
