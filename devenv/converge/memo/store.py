"""Each spec's desired state as the fast path needs it, cached in devenv's state folder
under the digest of every input it was computed from (devenv.converge.memo.inputs). An entry is
trusted only when its own checksum holds, it names the spec asked for and that digest is
unchanged now; anything else (corrupt, foreign, stale) is ignored, never an error."""

from __future__ import annotations

import json
import os
from typing import Any, NamedTuple

from devenv.converge.memo import inputs
from devenv.errors import DevenvError
from devenv.host import state_dir
from devenv.hostfiles import InputRefused, own_folder, read_bounded, write_file

FORMAT = "devenv-desired/1"
MAX_ENTRY = 1 << 20


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
    name: str
    image: str  # the tag apply builds
    build_hash: str
    config_hash: str
    ports: tuple[str, ...]  # BIND:HOST:CONTAINER[/PROTO], HOST empty when the engine picks
    mounts: tuple[str, ...]  # as observed.mount_key shows them
    base: str  # the base's reference, and what the engine had under it (id, digests)
    base_seen: tuple[str, tuple[str, ...]] | None
    user: str | None
    workdir: str | None
    engine: str  # the connection's URL and the server, as "Docker Engine 20.10.24"
    server: str
    inputs: Inputs = Inputs()
    key: str = ""  # inputs' digest when this was written

    def to_json(self) -> str:
        body = {**self._asdict(), "inputs": self.inputs._asdict()}
        text = json.dumps(body, sort_keys=True, separators=(",", ":"))
        check = inputs.hexdigest(f"{FORMAT}\n{text}".encode())
        return json.dumps({"format": FORMAT, "check": check, "body": body}, sort_keys=True)


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
    except (ValueError, KeyError, TypeError, AttributeError, RecursionError):
        return None


def _from_body(body: dict[str, Any]) -> Cached:
    seen = body["base_seen"]
    found = Inputs(**{k: tuple(v) for k, v in body["inputs"].items()})
    return Cached(
        **{
            **body,
            "ports": tuple(body["ports"]),
            "mounts": tuple(body["mounts"]),
            "base_seen": None if seen is None else (str(seen[0]), tuple(seen[1])),
            "inputs": found,
        }
    )


def read(spec: str, where: str | None = None) -> Cached | None:
    """The cached desired state of the spec at `spec` (resolved), if it still holds; never
    from a state folder that is not the user's own (write says so)."""
    path = entry_path(where or state_dir(), spec)
    try:
        own_folder(os.path.dirname(path))
        found = _parse(read_bounded(path, MAX_ENTRY, own=True).decode())
    except (OSError, UnicodeDecodeError, DevenvError):
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
        own_folder(os.path.dirname(path))  # a state folder not the user's: a sentence
        if read_bounded(path, MAX_ENTRY, own=True).decode() == text:
            return
    except (OSError, UnicodeDecodeError, InputRefused):
        pass
    try:
        write_file(path, text)
    except (OSError, InputRefused):
        return


def forget(spec: str, where: str | None = None) -> None:
    """Drop the entry of `spec` (its desired state could not be computed)."""
    try:
        os.remove(entry_path(where or state_dir(), spec))
    except OSError:
        return
