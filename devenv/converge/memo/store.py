"""Each spec's desired state as the answers from the memo need it, kept in devenv's state
folder with every input its loading read (devenv.reads) and devenv's code signature. An entry
is trusted only when its own checksum holds, it names the spec asked for (as the user named
it), the code is the same and every recorded read gives what it gave; anything else
(corrupt, foreign, stale) is ignored, never an error."""

from __future__ import annotations

import json
import os
from typing import Any, NamedTuple

from devenv.converge.memo import inputs
from devenv.converge.verdict import Wanted
from devenv.engine.observed import Observed
from devenv.host import state_dir
from devenv.reads import Read, digest, still

FORMAT = "devenv-desired/3"


class Cached(NamedTuple):
    """One env's desired state: what a converged container carries, and how to enter it."""

    spec: str  # the spec file as the user named it (absolute, links not followed): the key
    wanted: Wanted  # what the verdict compares (devenv.converge.verdict)
    base: str  # the base's reference, and what the engine had under it (id, digests)
    base_seen: tuple[str, tuple[str, ...]] | None
    user: str | None
    workdir: str | None
    engine: str  # the connection's URL and the server, as "Docker Engine 20.10.24"
    server: str
    reads: tuple[Read, ...] = ()  # every input its loading read (devenv.reads)
    code: str = ""  # devenv's code and libraries when this was written (inputs.code_signature)

    @property
    def name(self) -> str:
        return self.wanted.name

    @property
    def image(self) -> str:
        return self.wanted.image

    def to_json(self) -> str:
        body = {**self._asdict(), "reads": [list(r) for r in self.reads]}
        body["wanted"] = self.wanted._asdict()
        text = json.dumps(body, sort_keys=True, separators=(",", ":"))
        check = digest(f"{FORMAT}\n{text}".encode())
        return json.dumps({"format": FORMAT, "check": check, "body": body}, sort_keys=True)


def holds_for(entry: Cached, observed: Observed) -> bool:
    """Whether the engine still has the base the entry was worked out against: a base pulled
    or built again changes the desired state (its image tag), so the entry no longer holds."""
    base = observed.image(entry.base)
    return (None if base is None else (base.id, tuple(base.digests))) == entry.base_seen


def folder(state_dir: str) -> str:
    return os.path.join(state_dir, "cache", "desired")


def entry_path(state_dir: str, spec: str) -> str:
    return os.path.join(folder(state_dir), digest(spec.encode())[:32] + ".json")


def _parse(text: str) -> Cached | None:
    """The entry in `text` if it is one, intact, of this format; else None."""
    try:
        outer = json.loads(text)
        body = outer["body"]
        flat = json.dumps(body, sort_keys=True, separators=(",", ":"))
        if outer.get("format") != FORMAT:
            return None
        if digest(f"{FORMAT}\n{flat}".encode()) != outer.get("check"):
            return None
        return _from_body(body)
    except (ValueError, KeyError, TypeError, AttributeError):
        return None


def _from_body(body: dict[str, Any]) -> Cached:
    seen = body["base_seen"]
    wanted = body["wanted"]
    lists = ("ports", "mounts", "networks")
    return Cached(
        **{
            **body,
            "wanted": Wanted(**{**wanted, **{k: tuple(wanted[k]) for k in lists}}),
            "base_seen": None if seen is None else (str(seen[0]), tuple(seen[1])),
            "reads": tuple(Read(*(str(x) for x in r)) for r in body["reads"]),
        }
    )


def read(spec: str, where: str | None = None) -> Cached | None:
    """The cached desired state of the spec at `spec` (resolved), if it still holds."""
    try:
        with open(entry_path(where or state_dir(), spec), encoding="utf-8") as handle:
            found = _parse(handle.read())
    except (OSError, UnicodeDecodeError):
        return None
    if found is None or found.spec != spec or found.code != inputs.code_signature():
        return None
    return found if all(still(read) for read in found.reads) else None


def write(entry: Cached, where: str | None = None) -> None:
    """Store `entry` (atomically; unchanged bytes are not rewritten). Failing to write is
    harmless: the next command takes the full path."""
    path = entry_path(where or state_dir(), entry.spec)
    text = entry.to_json()
    try:
        with open(path, encoding="utf-8") as handle:
            if handle.read() == text:
                return
    except (OSError, UnicodeDecodeError):
        pass
    try:
        os.makedirs(os.path.dirname(path), exist_ok=True)
        partial = f"{path}.{os.getpid()}.tmp"
        with open(partial, "w", encoding="utf-8") as handle:
            handle.write(text)
        os.replace(partial, path)
    except OSError:
        return


def forget(spec: str, where: str | None = None) -> None:
    """Drop the entry of `spec` (its desired state could not be computed)."""
    try:
        os.remove(entry_path(where or state_dir(), spec))
    except OSError:
        return
