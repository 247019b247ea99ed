"""The host paths a spec names, as this machine sees them: shared folders (judged in
devenv.spec.shares, re-exported here) and the public key files sshd is given. Reads only."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from devenv import reads
from devenv.errors import DevenvError
from devenv.hostfiles import InputRefused, read_text_bounded
from devenv.spec.keys import is_literal_key, key_problem
from devenv.spec.shares import host_path as host_path
from devenv.spec.shares import shared_host_path as shared_host_path

if TYPE_CHECKING:
    from devenv.spec.loader import SpecFile

MAX_KEY_FILE = 1 << 20  # a public key is a line; a file of a team's keys is a few KiB


def authorized_keys(spec_file: SpecFile, home: Path) -> str:
    """The public keys the box accepts, from files or literal lines; a clear error if none."""
    sshd = spec_file.spec.sshd
    if sshd is None:
        return ""
    entries = list(sshd.authorized_keys)
    if not entries:
        entries = reads.glob(str(home / ".ssh" / "id_*.pub"))
        if not entries:
            raise DevenvError(
                "sshd is enabled but no public key was given and none was found in ~/.ssh",
                "create one with `ssh-keygen -t ed25519`, or list keys in sshd.authorized_keys",
                env=spec_file.spec.name,
            )
    lines: list[str] = []
    for entry in entries:
        if is_literal_key(entry):
            lines.append(entry)  # checked when the spec was validated
            continue
        lines.extend(_key_file_lines(spec_file, entry))
    return "\n".join(lines) + "\n"


def _key_file_lines(spec_file: SpecFile, entry: str) -> list[str]:
    """The key lines of a public key file, each checked as sshd would read it."""
    path = host_path(spec_file, entry)
    try:
        text = read_text_bounded(path, MAX_KEY_FILE)
    except (OSError, UnicodeDecodeError, InputRefused) as exc:
        why: str | None = "it is not text"
        if isinstance(exc, InputRefused):
            why = f"it {exc.reason}"
        elif isinstance(exc, OSError):
            why = exc.strerror
        raise DevenvError(
            f"authorized key file {entry} cannot be read ({why or exc})",
            "create it with `ssh-keygen -t ed25519`, or give the key itself",
            env=spec_file.spec.name,
        ) from None
    if "PRIVATE KEY" in text:
        raise DevenvError(
            f"{entry} is a private key; list the .pub file instead", env=spec_file.spec.name
        )
    lines = []
    for number, raw in enumerate(text.splitlines(), 1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        problem = key_problem(line)
        if problem:
            raise DevenvError(
                f"{path}:{number}: this key {problem}",
                "copy the .pub file again (ssh-keygen -y -f PRIVATE_KEY prints it)",
                env=spec_file.spec.name,
            )
        lines.append(line)
    return lines
