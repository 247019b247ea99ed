"""A devenv manifest of one kind (a bundle's, a backup's): JSON whose `format` names the kind
and whose `format_version` this devenv must read. Written and read here once, so every
file devenv carries between machines refuses the same faults in the same sentences; each
format keeps only what its entries hold and how they are checked."""

from __future__ import annotations

import contextlib
import json
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from typing import Any

from devenv.errors import DevenvError

MEMBER = "manifest.json"


@dataclass(frozen=True)
class Kind:
    format: str  # the `format` field: devenv-bundle, devenv-backup
    noun: str  # how a sentence names the file: bundle, backup
    verb: str  # what its user does with it: import, restore
    version: int = 1


def to_text(kind: Kind, created: str, version: str, envs: Any, files: Any, skipped: Any) -> str:
    """The manifest's JSON: the kind's format and version first, then when and by which
    devenv it was written, its envs and files (dataclasses) and what it left out."""
    data = {
        "format": kind.format,
        "format_version": kind.version,
        "created": created,
        "devenv_version": version,
        "envs": [asdict(e) for e in envs],
        "files": [asdict(f) for f in files],
        "skipped": list(skipped),
    }
    return json.dumps(data, indent=2) + "\n"


def read(text: str | bytes, where: str, kind: Kind) -> dict[str, Any]:
    """The manifest as a dict, once it is JSON of this kind and version; one sentence for
    each fault otherwise."""
    try:
        data = json.loads(text)
    except (ValueError, RecursionError):
        raise DevenvError(f"{where} is not a devenv {kind.noun} ({MEMBER} is not JSON)") from None
    if not isinstance(data, dict) or data.get("format") != kind.format:
        raise DevenvError(f"{where} is not a devenv {kind.noun} (its manifest is another format)")
    version = data.get("format_version")
    if version != kind.version:
        raise DevenvError(
            f"{where} is {kind.noun} format {version!r}; this devenv reads format {kind.version}",
            f"{kind.verb} it with the devenv version that wrote it"
            if isinstance(version, int)
            else None,
        )
    return data


@contextlib.contextmanager
def entries(where: str) -> Iterator[None]:
    """Around building a format's records from the manifest's fields: a missing or
    mistyped field is a malformed manifest, never a traceback."""
    try:
        yield
    except (KeyError, TypeError, ValueError):
        raise DevenvError(f"{where} has a malformed {MEMBER}") from None
