"""Each spec's desired state as the answers from the memo need it, kept in devenv's state
folder with every input its loading read (devenv.reads) and devenv's code signature. An entry
is trusted only when its own checksum holds, it names the spec asked for (as the user named
it), the code is the same and every recorded read gives what it gave; anything else
(corrupt, foreign, stale) is ignored, never an error."""

from __future__ import annotations

import json
import os
import stat
from typing import Any, NamedTuple

from devenv.converge.memo import inputs
from devenv.converge.verdict import Wanted
from devenv.engine.observed import Observed
from devenv.errors import DevenvError
from devenv.host import state_dir
from devenv.hostfiles import InputRefused, own_folder, read_bounded, write_file
from devenv.reads import ABSENT, Read, digest

FORMAT = "devenv-desired/3"
MAX_ENTRY = 1 << 20


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
    except (ValueError, KeyError, TypeError, AttributeError, RecursionError):
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
    """The cached desired state of the spec at `spec` (resolved), if it still holds; never
    from a state folder that is not the user's own (write says so)."""
    path = entry_path(where or state_dir(), spec)
    try:
        own_folder(os.path.dirname(path))
        found = _parse(read_bounded(path, MAX_ENTRY, own=True).decode())
    except (OSError, UnicodeDecodeError, DevenvError):
        return None
    if found is None or found.spec != spec or found.code != inputs.code_signature():
        return None
    if not any(read == ("file", spec) for read in ((r.kind, r.key) for r in found.reads)):
        return None  # not worked out from the file it names (an entry copied beside another)
    return found if all(still(read) for read in found.reads) else None


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


MAX_INPUT = 16 << 20  # over any input's own limit: those refuse it, with a sentence


def still(read: Read) -> bool:
    """Whether `read` gives what it gave: the check made before an entry is trusted (files
    re-read as the loader reads them: a FIFO or a device planted there is "changed")."""
    import glob

    if read.kind == "file":
        try:
            data = read_bounded(read.key, MAX_INPUT)
        except FileNotFoundError:
            return read.seen == ABSENT
        except (OSError, InputRefused):
            return False
        return digest(data) == read.seen
    if read.kind == "environ":
        value = os.environ.get(read.key)
        return (ABSENT if value is None else digest(value.encode())) == read.seen
    if read.kind == "realpath":
        return os.path.realpath(read.key) == read.seen
    if read.kind == "glob":
        return digest("\0".join(sorted(glob.glob(read.key))).encode()) == read.seen
    if read.kind == "type":
        try:
            return str(stat.S_IFMT(os.stat(read.key).st_mode)) == read.seen
        except OSError:
            return False
    if read.kind == "uid":
        return f"{os.getuid()}:{os.getgid()}" == read.seen
    if read.kind == "home":
        return _home_of(int(read.key)) == read.seen
    return False


def _home_of(uid: int) -> str:
    """The home the account database gives `uid` now (ABSENT: no such account)."""
    import pwd

    try:
        return pwd.getpwuid(uid).pw_dir
    except KeyError:
        return ABSENT
