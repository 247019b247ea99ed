"""Each spec's desired state as the fast path needs it, cached in devenv's state folder
under the digest of every input it was computed from (devenv.converge.memo.inputs). An entry is
trusted only when its own checksum holds, it names the spec asked for and that digest is
unchanged now; anything else (corrupt, foreign, stale) is ignored, never an error."""

from __future__ import annotations

import json
import os
from typing import Any, NamedTuple

from devenv.converge.memo import inputs
from devenv.converge.verdict import Wanted
from devenv.engine.observed import Observed
from devenv.host import state_dir

FORMAT = "devenv-desired/2"


class Inputs(NamedTuple):
    """What a spec reads besides itself, its `.env` and its lock (see inputs.digest)."""

    files: tuple[str, ...] = ()
    variables: tuple[str, ...] = ()
    key_globs: tuple[str, ...] = ()
    shared: tuple[str, ...] = ()

    def digest(self, spec: str) -> str:
        return inputs.digest(spec, self.files, self.variables, self.key_globs, self.shared)


class Cached(NamedTuple):
    """One env's desired state: what a converged container carries, and how to enter it."""

    spec: str  # the spec file, resolved
    wanted: Wanted  # what the verdict compares (devenv.converge.verdict)
    base: str  # the base's reference, and what the engine had under it (id, digests)
    base_seen: tuple[str, tuple[str, ...]] | None
    user: str | None
    workdir: str | None
    engine: str  # the connection's URL and the server, as "Docker Engine 20.10.24"
    server: str
    inputs: Inputs = Inputs()
    key: str = ""  # inputs' digest when this was written

    @property
    def name(self) -> str:
        return self.wanted.name

    @property
    def image(self) -> str:
        return self.wanted.image

    def to_json(self) -> str:
        body = {**self._asdict(), "inputs": self.inputs._asdict(), "wanted": self.wanted._asdict()}
        text = json.dumps(body, sort_keys=True, separators=(",", ":"))
        check = inputs.hexdigest(f"{FORMAT}\n{text}".encode())
        return json.dumps({"format": FORMAT, "check": check, "body": body}, sort_keys=True)


def holds_for(entry: Cached, observed: Observed) -> bool:
    """Whether the engine still has the base the entry was worked out against: a base pulled
    or built again changes the desired state (its image tag), so the entry no longer holds."""
    base = observed.image(entry.base)
    return (None if base is None else (base.id, tuple(base.digests))) == entry.base_seen


def folder(state_dir: str) -> str:
    return os.path.join(state_dir, "cache", "desired")


def entry_path(state_dir: str, spec: str) -> str:
    return os.path.join(folder(state_dir), inputs.hexdigest(spec.encode())[:32] + ".json")


def _parse(text: str) -> Cached | None:
    """The entry in `text` if it is one, intact, of this format; else None."""
    try:
        outer = json.loads(text)
        body = outer["body"]
        flat = json.dumps(body, sort_keys=True, separators=(",", ":"))
        if outer.get("format") != FORMAT:
            return None
        if inputs.hexdigest(f"{FORMAT}\n{flat}".encode()) != outer.get("check"):
            return None
        return _from_body(body)
    except (ValueError, KeyError, TypeError, AttributeError):
        return None


def _from_body(body: dict[str, Any]) -> Cached:
    seen = body["base_seen"]
    found = Inputs(**{k: tuple(v) for k, v in body["inputs"].items()})
    wanted = body["wanted"]
    lists = ("ports", "mounts", "networks")
    return Cached(
        **{
            **body,
            "wanted": Wanted(**{**wanted, **{k: tuple(wanted[k]) for k in lists}}),
            "base_seen": None if seen is None else (str(seen[0]), tuple(seen[1])),
            "inputs": found,
        }
    )


def read(spec: str, where: str | None = None) -> Cached | None:
    """The cached desired state of the spec at `spec` (resolved), if it still holds."""
    try:
        with open(entry_path(where or state_dir(), spec), encoding="utf-8") as handle:
            found = _parse(handle.read())
    except (OSError, UnicodeDecodeError):
        return None
    if found is None or found.spec != spec or found.inputs.digest(spec) != found.key:
        return None
    return found


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
