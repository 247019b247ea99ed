"""Lock files: what a spec's packages resolved to, pinned beside it. Pure: no engine.

A lock (`php.lock` beside `php.yaml`) names the base by its identity (see
render.base_identity) and every Debian package the built image adds to its base, with
its exact version. A base devenv makes (bootstrapped, or built from the user's Dockerfile)
also has what it holds pinned (`base_packages`), and a bootstrapped one the archive day it
was locked against (`snapshot`), so another machine can tell whether it made the same base. It is YAML, sorted, with every value quoted (a Debian version such as
`1:2.30` would otherwise read as a number), so it diffs well in review.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path

from devenv.build.aptlog import log_lines
from devenv.errors import DevenvError, SpecError
from devenv.hostfiles import InputRefused, read_text_bounded

SUFFIX = ".lock"
FORMAT_VERSION = 1
MAX_LOCK = 4 << 20
NAME_RE = re.compile(r"[a-z0-9][a-z0-9+.-]+(:[a-z0-9-]+)?")  # with an optional :arch
VERSION_RE = re.compile(r"[A-Za-z0-9.+~:-]+")
IDENTITY_RE = re.compile(r"(digest|recipe|id|dockerfile):[A-Za-z0-9:]+|ref:[A-Za-z0-9._/:@-]+")
SNAPSHOT_RE = re.compile(r"[0-9]{8}T[0-9]{6}Z")
MISSING_MARK = "devenv-lock-missing:"
LOCAL_NOTE = "a local image ID: no registry serves this base, so only this engine can rebuild it"


@dataclass(frozen=True)
class Lock:
    """The base's identity, the spec's own package names, and every added package's version."""

    base: str  # the base as the spec names it, e.g. debian:bookworm
    base_identity: str  # digest:…, recipe:…, id:… (see render.base_identity)
    requested: tuple[str, ...]  # the spec's package names (no versions), sorted
    packages: dict[str, str] = field(hash=False)  # name → exact version
    base_packages: dict[str, str] = field(default_factory=dict, hash=False)  # a made base's
    snapshot: str | None = None  # a bootstrapped base: the archive day, 20250520T000000Z

    def pins(self) -> list[str]:
        """`name=version` for each locked package, sorted: what apt installs."""
        return [f"{name}={self.packages[name]}" for name in sorted(self.packages)]


def lock_path(spec_path: Path) -> Path:
    """php.yaml → php.lock, beside it."""
    return spec_path.with_suffix(SUFFIX)


def requested_names(packages: list[str]) -> tuple[str, ...]:
    """The spec's packages without any `=version`, sorted and unique."""
    return tuple(sorted({p.split("=", 1)[0] for p in packages}))


def dump(lock: Lock, env: str, version: str) -> str:
    """The lock file's text: a header, then sorted, quoted YAML."""
    q = json.dumps
    lines = [
        f"# Written by `devenv lock` (devenv {version}) for env {env}: edit the spec, not this.",
        "# apply installs exactly these versions on exactly this base; refresh with",
        "# `devenv lock --update`, check with `devenv lock --check`.",
        f"format_version: {FORMAT_VERSION}",
        f"base: {q(lock.base)}",
        f"base_identity: {q(lock.base_identity)}",
    ]
    if lock.base_identity.startswith("id:"):
        lines.append(f"# base_identity is {LOCAL_NOTE}")
    if lock.snapshot:
        lines.append(f"snapshot: {q(lock.snapshot)}")
    lines.append("requested: [" + ", ".join(q(n) for n in lock.requested) + "]")
    lines += _mapping("packages", lock.packages)
    if lock.base_packages:
        lines.append("# what the base devenv makes holds: checked when it is made again")
        lines += _mapping("base_packages", lock.base_packages)
    return "\n".join(lines) + "\n"


def machine_bound(lock: Lock) -> str | None:
    """One line when the lock pins a base only this machine has (a local image ID), with
    how to make it travel; None when another machine can make or fetch the same base."""
    if not lock.base_identity.startswith("id:"):
        return None
    suite = lock.base if re.fullmatch(r"(debian|ubuntu):[a-z]+", lock.base) else "debian:SUITE"
    return (
        f"the base {lock.base} is known only by its local image ID, so this lock is bound "
        f"to this machine; to make it travel, bootstrap the base "
        f"(base: {{bootstrap: {suite}, mirror: URL}}) or pull it from a registry, "
        "whose digest the lock then pins"
    )


def _mapping(key: str, versions: dict[str, str]) -> list[str]:
    lines = [f"{key}:" + ("" if versions else " {}")]
    return lines + [f"  {json.dumps(n)}: {json.dumps(versions[n])}" for n in sorted(versions)]


def _text(value: object, pattern: re.Pattern[str], what: str, where: str) -> str:
    if not isinstance(value, str) or not pattern.fullmatch(value):
        raise DevenvError(
            f"{where}: {what} {value!r} is not valid",
            "rewrite the lock with `devenv lock --update`",
        )
    return value


def parse(text: str, where: str) -> Lock:
    """A lock from its text; any malformed part is one DevenvError naming the file (read
    within the spec's bounds: a lock nested 10,000 deep is a sentence, not a crash)."""
    from devenv.spec.loader import read_yaml

    hint = "rewrite it with `devenv lock --update`"
    try:
        data = read_yaml(text, where)
    except SpecError as exc:
        raise DevenvError(f"{exc.problems[0]}", hint) from None
    if not isinstance(data, dict) or data.get("format_version") != FORMAT_VERSION:
        raise DevenvError(f"{where} is not a devenv lock file of format {FORMAT_VERSION}", hint)
    packages, requested = data.get("packages"), data.get("requested")
    if not isinstance(packages, dict) or not isinstance(requested, list):
        raise DevenvError(f"{where} lacks its 'packages' mapping or 'requested' list", hint)
    pins = _versions(packages, where)
    made = data.get("base_packages", {})
    if not isinstance(made, dict):
        raise DevenvError(f"{where}: 'base_packages' is not a mapping", hint)
    snapshot = data.get("snapshot")
    if snapshot is not None:
        snapshot = _text(snapshot, SNAPSHOT_RE, "snapshot", where)
    wanted = tuple(sorted(_text(n, NAME_RE, "package name", where) for n in requested))
    unpinned = [n for n in wanted if n not in pins]
    if unpinned:
        raise DevenvError(f"{where} requests {', '.join(unpinned)} but pins no version", hint)
    base = _text(data.get("base"), re.compile(r"[A-Za-z0-9._/:@-]+"), "base", where)
    identity = _text(data.get("base_identity"), IDENTITY_RE, "base_identity", where)
    return Lock(base, identity, wanted, pins, _versions(made, where), snapshot)


def _versions(found: dict[object, object], where: str) -> dict[str, str]:
    return {
        _text(name, NAME_RE, "package name", where): _text(v, VERSION_RE, "version", where)
        for name, v in found.items()
    }


def read(spec_path: Path) -> Lock | None:
    """The lock beside `spec_path`, or None when there is none."""
    path = lock_path(spec_path)
    try:
        text = read_text_bounded(path, MAX_LOCK)
    except FileNotFoundError:
        return None
    except InputRefused as exc:
        raise DevenvError(exc.message, "rewrite it with `devenv lock --update`") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise DevenvError(f"{path} cannot be read ({exc})") from None
    return parse(text, str(path))


def added_packages(base: dict[str, str], image: dict[str, str]) -> dict[str, str]:
    """What the image adds to its base: packages the base lacks or has at another version."""
    return {name: v for name, v in sorted(image.items()) if base.get(name) != v}


def parse_dpkg_list(text: str) -> dict[str, str]:
    """`dpkg-query -W -f '${Package}\\t${Version}[\\t${db:Status-Status}]\\n'` output →
    name → version, for installed packages (not those removed with their config kept)."""
    found = {}
    for line in text.splitlines():
        parts = [part.strip() for part in line.split("\t")]
        installed = len(parts) == 2 or (len(parts) > 2 and parts[2] == "installed")
        if len(parts) >= 2 and parts[0] and parts[1] and installed:
            found[parts[0]] = parts[1]
    return found


def mismatch(lock: Lock, base: str, packages: list[str], context: str | None = None) -> str | None:
    """Why the lock no longer fits the spec (its base or package list changed, or, given a
    Dockerfile base's `context` identity, its Dockerfile or context), or None."""
    wanted = requested_names(packages)
    added = sorted(set(wanted) - set(lock.requested))
    removed = sorted(set(lock.requested) - set(wanted))
    why = []
    if lock.base != base:
        why.append(f"base {lock.base} → {base}")
    elif context and lock.base_identity != context:
        why.append("its Dockerfile or build context changed")
    if added:
        why.append(f"packages added: {', '.join(added)}")
    if removed:
        why.append(f"packages removed: {', '.join(removed)}")
    return "; ".join(why) or None


def snapshot_of(mirror: str, old: Lock | None, new: Lock, now: float | None = None) -> str:
    """The archive moment a bootstrapped base is pinned to: the snapshot archive's in its
    mirror URL; else the previous lock's, while the base holds the same; else now (UTC)."""
    import time

    found = re.search(r"/([0-9]{8}T[0-9]{6}Z)(/|$)", mirror)
    if found:
        return found.group(1)
    if old is not None and old.snapshot and old.base_packages == new.base_packages:
        return old.snapshot
    return time.strftime("%Y%m%dT%H%M%SZ", time.gmtime(now))


def snapshot_mirror(mirror: str, snapshot: str) -> str:
    """The Debian snapshot archive of that moment, for the archive `mirror` names
    (…/debian-security → debian-security, …/ubuntu has none: snapshot.ubuntu.com)."""
    archive = mirror.rstrip("/").rsplit("/", 1)[-1]
    if archive == "ubuntu":
        return f"https://snapshot.ubuntu.com/ubuntu/{snapshot}"
    name = archive if archive.startswith("debian") else "debian"
    return f"http://snapshot.debian.org/archive/{name}/{snapshot}"


def snapshot_epoch(snapshot: str) -> int:
    """20250520T000000Z → seconds since 1970 (SOURCE_DATE_EPOCH for mmdebstrap)."""
    import calendar
    import time

    return calendar.timegm(time.strptime(snapshot, "%Y%m%dT%H%M%SZ"))


def other_base_error(
    lock: Lock, where: Path, made: dict[str, str], mirror: str
) -> DevenvError | None:
    """A bootstrapped base that holds other packages than the lock pins for it, said in one
    sentence with the archive of the day it was locked; None when it holds the same."""
    differ = _moved_versions(lock.base_packages, made, "")
    if not lock.base_packages or not differ:
        return None
    day = snapshot_mirror(mirror, lock.snapshot) if lock.snapshot else None
    return DevenvError(
        f"bootstrapping {lock.base} from {mirror} made another base than the one pinned in "
        f"{where} ({len(differ)} packages differ, e.g. {differ[0]})",
        (
            f"bootstrap from the archive of the day it was locked (base.mirror: {day}), "
            if day
            else ""
        )
        + "or run `devenv lock --update` to pin the base this mirror makes now",
    )


def moved(old: Lock | None, new: Lock) -> list[str]:
    """What an update changes, one line each: `jq 1.6-2.1+deb12u2 → 1.6-2.1+deb12u3`."""
    before = old.packages if old else {}
    lines = []
    if old is not None and old.base_identity != new.base_identity:
        lines.append(f"base {old.base_identity} → {new.base_identity}")
    lines += _moved_versions(before, new.packages, "")
    if old is not None and old.base_packages:
        lines += _moved_versions(old.base_packages, new.base_packages, "in the base: ")
    return lines


def _moved_versions(before: dict[str, str], after: dict[str, str], prefix: str) -> list[str]:
    lines = []
    for name in sorted(set(before) | set(after)):
        was, now = before.get(name), after.get(name)
        if was == now:
            continue
        if was is None:
            lines.append(f"{prefix}{name} + {now}")
        elif now is None:
            lines.append(f"{prefix}{name} - {was}")
        else:
            lines.append(f"{prefix}{name} {was} → {now}")
    return lines


def pinned_install_script(lock: Lock, clean: bool = True) -> str:
    """One layer: refresh the lists, name every pinned version the mirror lacks (on one
    line apply can find), else install exactly those versions; `clean` drops the lists
    (not when they live in a build cache that outlasts the layer)."""
    import shlex

    words = " ".join(shlex.quote(pin) for pin in lock.pins())
    return (
        "apt-get update; missing=; "
        f"for p in {words}; do "
        # apt-cache show exits 0 for an unknown version, printing nothing
        'apt-cache show "$p" 2>/dev/null | grep -q "^Version: " || missing="$missing $p"; done; '
        f'if [ -n "$missing" ]; then echo "{MISSING_MARK}$missing"; exit 100; fi; '
        f"apt-get install -y --no-install-recommends --allow-downgrades {words}"
        + ("; rm -rf /var/lib/apt/lists/*" if clean else "")
    )


def missing_pins(build_log: str) -> list[str]:
    """The `name=version` pins a failed pinned install reported missing, from its log."""
    for line in log_lines(build_log):
        if line.startswith(MISSING_MARK):
            return line[len(MISSING_MARK) :].split()
    return []


def unserved_error(env: str, where: Path, build_log: str) -> DevenvError | None:
    """One sentence naming the pinned versions the mirror no longer serves, with the ways
    out; None when the build failed for another reason."""
    missing = missing_pins(build_log)
    if not missing:
        return None
    listed = ", ".join(pin.replace("=", " ", 1) for pin in missing)
    return DevenvError(
        f"the apt mirror no longer serves {listed}, pinned in {where}",
        "set apt.mirror to the Debian snapshot archive of the day it was locked (e.g. "
        "http://snapshot.debian.org/archive/debian/20250520T000000Z) with "
        "apt.check_valid_until: false, or run `devenv lock --update` to pin what it serves now",
        env=env,
    )
