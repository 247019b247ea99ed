""".dockerignore as Docker reads it (moby/patternmatcher), so the build hash covers exactly
the files a `docker build` of the same context would send. Pure.

Rules: `#` starts a comment line; patterns are cleaned paths relative to the context root
(a leading `/` is dropped); `*` and `?` stop at `/`, `**` spans folders; `!` re-includes;
the last matching pattern wins; a pattern that matches a folder matches all inside it.
"""

from __future__ import annotations

import posixpath
import re
from dataclasses import dataclass
from functools import cached_property

ESCAPED = ".+()|{}$"


class PatternError(ValueError):
    """A .dockerignore line Docker itself would refuse (e.g. an unclosed `[`)."""


@dataclass(frozen=True)
class Pattern:
    text: str  # cleaned, without the leading `!`
    exclusion: bool

    @cached_property
    def _compiled(self) -> tuple[str, re.Pattern[str] | None]:
        return _compile(self.text)

    def match(self, path: str) -> bool:
        kind, regex = self._compiled
        if kind == "exact":
            return path == self.text
        if kind == "prefix":
            return path.startswith(self.text[:-2])
        if kind == "suffix":
            suffix = self.text[2:]
            return path.endswith(suffix) or (suffix.startswith("/") and path == suffix[1:])
        assert regex is not None
        return regex.fullmatch(path) is not None


def _compile(pattern: str) -> tuple[str, re.Pattern[str] | None]:  # noqa: C901 (a scanner)
    """Docker's translation of one pattern: a match kind and, for "regexp", the regex."""
    out, kind, i = "^", "exact", 0
    while i < len(pattern):
        ch = pattern[i]
        if ch == "*" and pattern[i + 1 : i + 2] == "*":
            start = i
            i += 2
            if pattern[i : i + 1] == "/":
                i += 1
            if i >= len(pattern):  # `**` at the end: everything below
                if kind == "exact":
                    kind = "prefix"
                else:
                    out, kind = out + ".*", "regexp"
            else:
                out, kind = out + "(.*/)?", "regexp"
            if start == 0:
                kind = "suffix"
            continue
        if ch == "*":
            out, kind = out + "[^/]*", "regexp"
        elif ch == "?":
            out, kind = out + "[^/]", "regexp"
        elif ch in ESCAPED:
            out += "\\" + ch
        elif ch == "\\":
            if i + 1 < len(pattern):
                i += 1
                out, kind = out + "\\" + pattern[i], "regexp"
            else:
                out += "\\\\"
        elif ch in "[]":
            out, kind = out + ch, "regexp"
        else:
            out += re.escape(ch) if ch == "^" else ch
        i += 1
    if kind != "regexp":
        return kind, None
    try:
        return kind, re.compile(out, re.DOTALL)
    except re.error as exc:
        raise PatternError(f"{pattern!r} is not a valid pattern ({exc})") from None


def parse(text: str) -> list[Pattern]:
    """The patterns of a .dockerignore file's text, in order."""
    patterns = []
    for raw in text.removeprefix("\ufeff").splitlines():
        if raw.startswith("#"):
            continue
        line = raw.strip()
        if not line:
            continue
        exclusion = line.startswith("!")
        if exclusion:
            line = line[1:].strip()
        if not line:
            raise PatternError("'!' alone is not a valid pattern (e.g. !keep.txt)")
        if line:
            line = posixpath.normpath(line)
            if len(line) > 1 and line.startswith("/"):
                line = line.lstrip("/") or "/"
        patterns.append(Pattern(line, exclusion))
    return patterns


def keep_build_files(patterns: list[Pattern], dockerfile: str) -> list[Pattern]:
    """As the docker CLI does: .dockerignore and the Dockerfile are always sent."""
    kept = list(patterns)
    for name in (".dockerignore", dockerfile):
        if excluded(kept, name):
            kept.append(Pattern(posixpath.normpath(name), True))
    return kept


def excluded(patterns: list[Pattern], path: str) -> bool:
    """True when `path` (relative, `/`-separated) is left out of the build context."""
    matched = False
    parent = posixpath.dirname(path)
    parents = parent.split("/") if parent else []
    for pattern in patterns:
        if pattern.exclusion != matched:  # only a pattern that could flip the verdict counts
            continue
        hit = pattern.match(path)
        if not hit:
            hit = any(pattern.match("/".join(parents[: i + 1])) for i in range(len(parents)))
        if hit:
            matched = not pattern.exclusion
    return matched


def may_reinclude(patterns: list[Pattern], folder: str) -> bool:
    """Whether the walk must look inside the excluded `folder`: as Docker, only when an
    exception names a path under it (`!node_modules/keep`); else the folder is skipped."""
    prefix = folder + "/"
    return any(p.exclusion and (p.text + "/").startswith(prefix) for p in patterns)
