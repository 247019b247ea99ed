"""age encryption for backups, through pyrage (the age reference design's Rust crate): never
crypto of devenv's own. Data is streamed through a pipe between the tar side and the cipher,
so nothing in clear ever reaches the disk; a private key is only ever held in memory.

Recipients are SSH public keys (ssh-ed25519, ssh-rsa) or age keys (age1…); identities are
unencrypted OpenSSH private keys or age identity files (AGE-SECRET-KEY-1…)."""

from __future__ import annotations

import contextlib
import os
import threading
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import IO, Any, cast

from devenv.errors import DevenvError, host_file_errors
from devenv.hostfiles import read_bounded

MAX_KEY_FILE = 1 << 20
SSH_KINDS = ("ssh-ed25519", "ssh-rsa")


def _pyrage() -> Any:
    try:
        import pyrage
    except ImportError:  # pragma: no cover - a dependency of devenv's
        raise DevenvError(
            "backups need the pyrage library, which is not installed",
            "reinstall devenv (pip install devenv) so its dependencies come with it",
        ) from None
    return pyrage


def recipients(given: Sequence[str], home: Path) -> list[Any]:
    """Each -r: a key line, or a file of them; none given: the user's ~/.ssh/id_*.pub."""
    lines: list[tuple[str, str]] = []  # (line, where it came from)
    if not given:
        found = sorted((home / ".ssh").glob("id_*.pub"))
        if not found:
            raise DevenvError(
                f"no recipient for the backup: {home / '.ssh'} holds no id_*.pub",
                "name one with -r (an SSH public key, an age key, or a file of them)",
            )
        given = [str(p) for p in found]
    for item in given:
        if item.startswith(("age1", *SSH_KINDS)):
            lines.append((item, "-r"))
            continue
        with host_file_errors("read the recipient file", Path(item)):
            text = read_bounded(item, MAX_KEY_FILE).decode(errors="replace")
        lines += [(ln.strip(), item) for ln in text.splitlines() if ln.strip()[:1] not in ("", "#")]
    return [_recipient(line, where) for line, where in lines]


def _recipient(line: str, where: str) -> Any:
    pyrage = _pyrage()
    try:
        if line.startswith("age1"):
            return pyrage.x25519.Recipient.from_str(line.split()[0])
        return pyrage.ssh.Recipient.from_str(" ".join(line.split()[:2]))
    except pyrage.RecipientError:
        shown = line[:40] + ("…" if len(line) > 40 else "")
        raise DevenvError(
            f"{where}: {shown!r} is not a recipient age can encrypt to",
            "give an ssh-ed25519 or ssh-rsa public key, or an age1… key",
        ) from None


def identities(given: Sequence[str], home: Path) -> list[Any]:
    """Each -i: an OpenSSH private key or an age identity file; none: ~/.ssh/id_ed25519,
    id_rsa (those that exist)."""
    paths = [Path(p) for p in given] or [
        p for p in (home / ".ssh" / "id_ed25519", home / ".ssh" / "id_rsa") if p.exists()
    ]
    if not paths:
        raise DevenvError(
            f"no identity to decrypt the backup with: no {home / '.ssh'}/id_ed25519 or id_rsa",
            "name the private key it was made for with -i",
        )
    found = []
    for path in paths:
        with host_file_errors("read the identity", path):
            data = read_bounded(path, MAX_KEY_FILE)
        found += _identities(data, path)
    return found


def _identities(data: bytes, path: Path) -> list[Any]:
    pyrage = _pyrage()
    text = data.decode(errors="replace")
    try:
        if "AGE-SECRET-KEY-1" in text:
            keys = [ln.strip() for ln in text.splitlines() if ln.startswith("AGE-SECRET-KEY-1")]
            return [pyrage.x25519.Identity.from_str(k) for k in keys]
        return [pyrage.ssh.Identity.from_buffer(data)]
    except pyrage.IdentityError as exc:
        hint = (
            "age cannot use a passphrase-protected key: decrypt a copy with "
            "`ssh-keygen -p -f COPY` in a private folder, and pass it with -i"
            if "ENCRYPTED" in text or "encrypted" in str(exc).lower()
            else "give the OpenSSH private key (or age identity) the backup was made for"
        )
        raise DevenvError(f"{path} is not a private key age can use", hint) from None


def encrypt_to(out: IO[bytes], keys: list[Any], produce: Callable[[IO[bytes]], None]) -> None:
    """Run `produce(writer)` in a thread; what it writes is encrypted to `out` as it comes."""
    pyrage = _pyrage()
    with _piped(produce) as reader:
        try:
            pyrage.encrypt_io(reader, out, keys)
        except pyrage.EncryptError as exc:
            raise DevenvError(f"age could not encrypt the backup: {exc}") from None


@contextlib.contextmanager
def decrypted(source: IO[bytes], keys: list[Any], where: str) -> Iterator[IO[bytes]]:
    """The clear stream of `source`, read as it is decrypted (never written anywhere).
    A wrong key or a damaged file fails where it is met: read everything before acting."""
    pyrage = _pyrage()
    read_fd, write_fd = os.pipe()
    failure: list[BaseException] = []

    def work() -> None:
        with open(write_fd, "wb") as writer:
            try:
                pyrage.decrypt_io(source, writer, keys)
            except BaseException as exc:  # handed to the reading side
                failure.append(exc)

    thread = threading.Thread(target=work, daemon=True)
    thread.start()
    try:
        with open(read_fd, "rb") as reader:  # closed first: a writer still going stops
            yield cast(IO[bytes], _Checked(reader, failure, thread, where))
    finally:
        thread.join()


class _Checked:
    """A reader over the decrypting pipe that turns the cipher's failure into a sentence."""

    def __init__(
        self, reader: IO[bytes], failure: list[BaseException], thread: threading.Thread, where: str
    ) -> None:
        self.reader, self.failure, self.thread, self.where = reader, failure, thread, where

    def read(self, size: int = -1) -> bytes:
        data = self.reader.read(size)
        if not data:  # the end: the cipher has said whether the whole file was good
            self.thread.join()
        if self.failure:
            raise _decrypt_error(self.failure[0], self.where)
        return data


def _decrypt_error(exc: BaseException, where: str) -> DevenvError:
    if isinstance(exc, BrokenPipeError):
        return DevenvError(f"reading {where} stopped early")
    text = str(exc)
    if "No matching keys" in text or "no matching" in text.lower():
        return DevenvError(
            f"{where} was not encrypted to the identity given",
            "pass the private key matching one of the backup's recipients with -i",
        )
    return DevenvError(
        f"{where} cannot be decrypted ({text or type(exc).__name__})",
        "it is damaged, truncated or not an age file; use another copy of the backup",
    )


@contextlib.contextmanager
def _piped(produce: Callable[[IO[bytes]], None]) -> Iterator[IO[bytes]]:
    read_fd, write_fd = os.pipe()
    failure: list[BaseException] = []

    def work() -> None:
        try:
            with open(write_fd, "wb") as writer:
                produce(writer)
        except BaseException as exc:  # re-raised by the caller's side below
            failure.append(exc)

    thread = threading.Thread(target=work, daemon=True)
    thread.start()
    try:
        with open(read_fd, "rb") as reader:
            yield reader
    finally:
        thread.join()
        if failure and not isinstance(failure[0], BrokenPipeError):
            raise failure[0]
