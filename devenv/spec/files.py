"""Which spec files a command names: light (no YAML, no Pydantic), so the fast path finds
them exactly as the loader does."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from devenv.errors import DevenvError
from devenv.host import expand_home

SPEC_SUFFIXES = (".yaml", ".yml")


def discover(paths: Iterable[str | Path]) -> list[Path]:
    """Spec files named by the user: files as given, directories by their *.yaml/*.yml."""
    found: list[Path] = []
    for raw in paths:
        path = Path(expand_home(str(raw)))
        if path.is_dir():
            specs = sorted(p for p in path.iterdir() if p.suffix in SPEC_SUFFIXES and p.is_file())
            if not specs:
                raise DevenvError(f"{raw}: no *.yaml or *.yml spec files in this folder")
            found.extend(specs)
        elif path.exists():
            found.append(path)
        else:
            raise DevenvError(f"{raw}: no such file or folder")
    unique: dict[Path, Path] = {}
    for path in found:
        unique.setdefault(path.resolve(), path)
    return list(unique.values())
