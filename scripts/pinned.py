"""Is devenv already installed here as scripts/setup would install it? Exit 0 if so, 1 if
not (why on stderr), 2 if it cannot tell. Setup runs pip only when it is not (a satisfied
`pip install -e` still takes seconds to rebuild the editable wheel), and checks again after.

`python scripts/pinned.py [EXTRA…]` checks that devenv is installed editable from this
checkout, with the dependencies pyproject.toml lists now, and that every package it needs (for
those extras, transitively) is installed at the version requirements/ci.txt pins. It reads
only metadata, never the network. It uses pip's vendored packaging and tomli, so it needs
nothing pip does not bring; should pip move them, it cannot tell, and setup runs pip.
"""

from __future__ import annotations

import json
import sys
from importlib import metadata
from pathlib import Path

try:
    from pip._vendor.packaging.requirements import Requirement
    from pip._vendor.packaging.utils import canonicalize_name
    from pip._vendor.packaging.version import Version

    try:
        import tomllib
    except ImportError:  # Python 3.10
        from pip._vendor import tomli as tomllib
except ImportError as exc:  # no pip, or pip moved its vendored packages: cannot tell
    print(f"scripts/pinned.py: cannot tell ({exc})", file=sys.stderr)
    sys.exit(2)

ROOT = Path(__file__).resolve().parents[1]
PINS = ROOT / "requirements" / "ci.txt"


def main(extras: list[str]) -> str | None:
    """None when satisfied, else why not."""
    try:
        dist = metadata.distribution("devenv")
    except metadata.PackageNotFoundError:
        return "devenv is not installed"
    link = json.loads(dist.read_text("direct_url.json") or "{}")
    if link.get("url") != ROOT.as_uri() or not link.get("dir_info", {}).get("editable"):
        return f"devenv is installed from {link.get('url', 'an index')}, not {ROOT} (editable)"
    if _written() != {_key(r) for r in dist.requires or []}:
        return "pyproject.toml's dependencies changed since devenv was installed"
    return _unpinned(dist.requires or [], extras, _pins())


def _key(text: str) -> tuple[str, str, str]:
    req = Requirement(text)
    return canonicalize_name(req.name), ",".join(sorted(req.extras)), str(req.specifier)


def _written() -> set[tuple[str, str, str]]:
    """pyproject.toml's dependencies and optional ones, as _key()s."""
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    groups = [project["dependencies"], *project.get("optional-dependencies", {}).values()]
    return {_key(r) for group in groups for r in group}


def _pins() -> dict[str, Version]:
    """The versions requirements/ci.txt pins for this Python and platform."""
    pins: dict[str, Version] = {}
    for line in PINS.read_text().splitlines():
        if line.strip() and not line.lstrip().startswith("#"):
            pin = Requirement(line)
            if pin.marker is None or pin.marker.evaluate():
                (spec,) = pin.specifier
                pins[canonicalize_name(pin.name)] = Version(spec.version)
    return pins


def _unpinned(requires: list[str], extras: list[str], pins: dict[str, Version]) -> str | None:
    """The first package of the requirements' closure not installed at its pinned version."""
    todo = [(r, e) for r in requires for e in ["", *extras]]
    seen: set[tuple[str, str]] = set()
    while todo:
        text, extra = todo.pop()
        req = Requirement(text)
        if (req.marker and not req.marker.evaluate({"extra": extra})) or (text, extra) in seen:
            continue
        seen.add((text, extra))
        try:
            version = Version(metadata.version(req.name))
        except metadata.PackageNotFoundError:
            return f"{req.name} is not installed"
        pinned = pins.get(canonicalize_name(req.name))
        if pinned is None:
            return f"{req.name} is needed but not pinned"
        if version != pinned:
            return f"{req.name} {version} is installed, {pinned} is pinned"
        todo += [(r, e) for r in metadata.requires(req.name) or [] for e in ["", *req.extras]]
    return None


if __name__ == "__main__":
    try:
        why = main(sys.argv[1:])
    except Exception as exc:  # the check is only a shortcut: when in doubt, install
        print(f"scripts/pinned.py: cannot tell ({type(exc).__name__}: {exc})", file=sys.stderr)
        sys.exit(2)
    if why:
        print(f"scripts/pinned.py: {why}", file=sys.stderr)
    sys.exit(1 if why else 0)
