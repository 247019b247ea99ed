""".dockerignore as Docker reads it (moby/patternmatcher), so the build hash covers exactly
the files a `docker build` of the same context would send. Pure.

Rules: `#` starts a comment line; patterns are cleaned paths relative to the context root
(a leading `/` is dropped); `*` and `?` stop at `/`, `**` spans folders; `!` re-includes;
the last matching pattern wins; a pattern that matches a folder matches all inside it.
A pattern with many wildcards is matched by simulating all its states at once (linear in
the path), never by a backtracking regex.
"""

from __future__ import annotations

import posixpath
import re
from dataclasses import dataclass
from functools import cached_property

from devenv.build import gopattern

ESCAPED = ".+()|{}$"


class PatternError(ValueError):
    """A .dockerignore line Docker itself would refuse (e.g. an unclosed `[`)."""


Token = tuple[str, "str | re.Pattern[str] | None"]
UNBOUNDED = ("star", "dirs", "all")  # [^/]*, (.*/)?, .*
# Python's regex engine backtracks: a pattern with more unbounded wildcards than this is
# matched by a state-set simulation instead, linear in the path's length (as Go's regexp,
# which docker uses, always is): `a/` then `**/` 22 times then `b` hung the regex for ever.
MAX_BACKTRACKING = 2


@dataclass(frozen=True)
class Pattern:
    text: str  # cleaned, without the leading `!`
    exclusion: bool

    @cached_property
    def _compiled(self) -> tuple[str, re.Pattern[str] | None, tuple[Token, ...]]:
        kind, source, tokens = _compile(self.text)
        unbounded = sum(op in UNBOUNDED for op, _ in tokens)
        safe = kind == "regexp" and unbounded <= MAX_BACKTRACKING
        return kind, _atom(source, self.text) if safe else None, tokens

    def match(self, path: str) -> bool:
        kind, regex, tokens = self._compiled
        if kind == "exact":
            return path == self.text
        if kind == "prefix":
            return path.startswith(self.text[:-2])
        if kind == "suffix":
            suffix = self.text[2:]
            return path.endswith(suffix) or (suffix.startswith("/") and path == suffix[1:])
        if regex is not None:
            return regex.fullmatch(path) is not None
        return _simulate(tokens, path)


def _go_atom(pattern: str, i: int) -> tuple[str, int]:
    """The `[...]` class or `\\x` escape at `pattern[i]`, as Go's regexp reads it (docker
    matches with it), written as a Python class; and the index of its last character."""
    try:
        ranges, end = (gopattern.char_class if pattern[i] == "[" else gopattern.escape)(pattern, i)
    except gopattern.GoPatternError as exc:
        raise PatternError(f"{pattern!r} is not a valid pattern ({exc})") from None
    return gopattern.as_class(ranges), end - 1


def _atom(text: str, pattern: str) -> re.Pattern[str]:
    try:
        return re.compile(text, re.DOTALL)
    except re.error as exc:
        raise PatternError(f"{pattern!r} is not a valid pattern ({exc})") from None


def _compile(pattern: str) -> tuple[str, str, tuple[Token, ...]]:
    """Docker's translation of one pattern: a match kind, for "regexp" the regex's source,
    and the tokens the simulation walks (the same pattern, one token per wildcard or char)."""
    out, kind, i = "^", "exact", 0
    tokens: list[Token] = []
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
                tokens.append(("all", None))
            else:
                out, kind = out + "(.*/)?", "regexp"
                tokens.append(("dirs", None))
            if start == 0:
                kind = "suffix"
            continue
        if ch == "*":
            out, kind = out + "[^/]*", "regexp"
            tokens.append(("star", None))
        elif ch == "?":
            out, kind = out + "[^/]", "regexp"
            tokens.append(("one", None))
        elif ch in ESCAPED:
            out += "\\" + ch
            tokens.append(("lit", ch))
        elif ch in "\\[":
            source, i = _go_atom(pattern, i)
            out, kind = out + source, "regexp"
            tokens.append(("atom", _atom(source, pattern)))
        elif ch == "]":
            out, kind = out + "\\]", "regexp"
            tokens.append(("lit", "]"))
        else:
            out += re.escape(ch) if ch == "^" else ch
            tokens.append(("lit", ch))
        i += 1
    return kind, out, tuple(tokens)


def _step(tokens: tuple[Token, ...], state: tuple[int, bool], ch: str) -> list[tuple[int, bool]]:
    """Where one state goes on `ch`; (i, True) is inside the `.*` of a `(.*/)?`."""
    i, inside = state
    if inside:
        return [(i, True), (i + 1, False)] if ch == "/" else [(i, True)]
    op, arg = tokens[i]
    if op == "lit":
        return [(i + 1, False)] if ch == arg else []
    if op == "atom":
        assert isinstance(arg, re.Pattern)
        return [(i + 1, False)] if arg.fullmatch(ch) else []
    if op == "one":
        return [(i + 1, False)] if ch != "/" else []
    if op == "star":
        return [(i, False)] if ch != "/" else []
    if op == "all":
        return [(i, False)]
    return [(i, True), (i + 1, False)] if ch == "/" else [(i, True)]  # dirs


def _closure(tokens: tuple[Token, ...], states: set[tuple[int, bool]]) -> set[tuple[int, bool]]:
    """`states` and every state reached from them without reading (a wildcard skipped)."""
    found, todo = set(states), list(states)
    while todo:
        i, inside = todo.pop()
        skipped = (i + 1, False)
        if not inside and i < len(tokens) and tokens[i][0] in UNBOUNDED and skipped not in found:
            found.add(skipped)
            todo.append(skipped)
    return found


def _simulate(tokens: tuple[Token, ...], path: str) -> bool:
    """Whether `tokens` match all of `path`: every live state at once (Thompson's), so the
    time is the path's length times the pattern's, whatever the pattern."""
    current = _closure(tokens, {(0, False)})
    for ch in path:
        moved = {n for s in current if s[0] < len(tokens) for n in _step(tokens, s, ch)}
        if not moved:
            return False
        current = _closure(tokens, moved)
    return (len(tokens), False) in current


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
        try:
            gopattern.check_match_syntax(line)  # what docker asks before it reads any
        except gopattern.GoPatternError as exc:
            raise PatternError(f"{line!r} is not a valid pattern ({exc})") from None
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
