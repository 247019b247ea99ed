"""What every cached desired state also depends on besides what its spec's loading read
(devenv.reads records that): devenv's own code and templates, and the libraries that shape
a desired state (Pydantic, PyYAML, Jinja2). An upgrade or an edit of any makes every entry
stale. Found without importing those libraries: the answers from the memo must not."""

from __future__ import annotations

import functools
import os
from importlib.util import find_spec

from devenv.reads import digest

PACKAGE = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
TEMPLATES = os.path.join(os.path.dirname(PACKAGE), "templates")
LIBRARIES = ("pydantic", "pydantic_core", "yaml", "jinja2")


@functools.cache
def code_signature() -> str:
    """devenv's code and templates, and the libraries' installed files (their top module's
    path, size and modification time; a new version rewrites them): one digest."""
    entries = []
    for top in (PACKAGE, TEMPLATES):
        for folder, dirs, files in os.walk(top):
            dirs[:] = sorted(d for d in dirs if d != "__pycache__")
            for name in sorted(files):
                if not name.endswith((".pyc", ".pyo")):
                    entries.append(_stat_line(os.path.join(folder, name)))
    for library in LIBRARIES:
        found = find_spec(library)
        origin = found.origin if found is not None else None
        entries.append(_stat_line(origin) if origin else f"{library}\0missing")
    return digest("\n".join(entries).encode())


def _stat_line(path: str) -> str:
    try:
        info = os.stat(path)
    except OSError:
        return f"{path}\0gone"
    return f"{path}\0{info.st_size}\0{info.st_mtime_ns}"
