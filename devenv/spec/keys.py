"""Public key lines as OpenSSH reads them: which entries are keys rather than file paths,
and why sshd would ignore a key (checked at validation for literal keys, at plan time for
key files), so a login never fails without a word."""

from __future__ import annotations

import base64
import binascii
import re

# What OpenSSH's sshd accepts in authorized_keys (DSA is refused by current releases).
KEY_TYPES = (
    "ssh-ed25519",
    "ecdsa-sha2-nistp256",
    "ecdsa-sha2-nistp384",
    "ecdsa-sha2-nistp521",
    "ssh-rsa",
    "sk-ssh-ed25519@openssh.com",
    "sk-ecdsa-sha2-nistp256@openssh.com",
)
TYPE_LIKE_RE = re.compile(r"(ssh-|ecdsa-|sk-)[A-Za-z0-9@.-]*")


def _first_field(line: str) -> tuple[str, str]:
    """(the first field, the rest): the field ends at the first blank outside double quotes,
    as sshd reads an options field such as `command="echo hi" ssh-ed25519 …`."""
    quoted = False
    escaped = False
    for i, char in enumerate(line):
        if escaped:
            escaped = False
        elif char == "\\" and quoted:
            escaped = True
        elif char == '"':
            quoted = not quoted
        elif char in " \t" and not quoted:
            return line[:i], line[i:].lstrip(" \t")
    return line, ""


def split_key_line(line: str) -> tuple[str, str, str, str] | None:
    """(options, type, base64 data, comment) of a key line, or None if it is no key line."""
    line = line.strip()
    first, rest = _first_field(line)
    options = ""
    if not TYPE_LIKE_RE.fullmatch(first):
        second = rest.split(None, 1)[0] if rest.split() else ""
        if not TYPE_LIKE_RE.fullmatch(second):
            return None
        options, line = first, rest
    words = line.split(None, 2)
    return options, words[0], words[1] if len(words) > 1 else "", words[2] if len(words) > 2 else ""


def is_literal_key(entry: str) -> bool:
    """True when an authorized_keys entry is a key (options allowed), not a key file's path."""
    return split_key_line(entry) is not None


def key_problem(line: str) -> str | None:
    """Why sshd would not accept the key `line`, or None when it would."""
    parts = split_key_line(line)
    if parts is None:
        return "is not a public key line (TYPE BASE64 [COMMENT])"
    _options, kind, data, _comment = parts
    if kind not in KEY_TYPES:
        if kind == "ssh-dss":
            return "is a DSA key (ssh-dss), which OpenSSH no longer accepts; use ssh-ed25519"
        return f"has the key type {kind!r}, which OpenSSH does not accept ({', '.join(KEY_TYPES)})"
    if not data:
        return f"has no key data after {kind}"
    try:
        blob = base64.b64decode(data, validate=True)
    except (binascii.Error, ValueError):
        return "has key data that is not valid base64 (cut or mistyped?)"
    fields = _fields(blob)
    if not fields:
        return "has key data that ends part-way through a key (cut?)"
    if fields[0] != kind.encode():
        shown = fields[0].decode("ascii", "replace")
        return f"says {kind} but its key data is of type {shown!r} (type and data mixed up?)"
    return None


def _fields(blob: bytes) -> list[bytes]:
    """The length-prefixed strings a key blob is made of; [] unless they fill it exactly."""
    fields = []
    at = 0
    while at < len(blob):
        size = int.from_bytes(blob[at : at + 4], "big")
        if at + 4 + size > len(blob):
            return []
        fields.append(blob[at + 4 : at + 4 + size])
        at += 4 + size
    return fields if len(fields) >= 2 and fields[0] else []
