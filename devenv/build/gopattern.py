"""The two Go grammars a .dockerignore line meets in docker (moby/patternmatcher): it must be
a valid Go `filepath.Match` pattern, or docker refuses the file; then its `[...]` classes
and `\\x` escapes are matched as Go's regexp (RE2) reads them, not as Python's `re` would
(`[[:alpha:]]`, `\\d` as ASCII digits, `[\\d]`, octal and hex escapes). Each class or escape
becomes a set of code point ranges, written out as a Python class that matches exactly
the same characters. Pure.
"""

from __future__ import annotations

MAX_RUNE = 0x10FFFF
Ranges = list[tuple[int, int]]


class GoPatternError(ValueError):
    """Docker would refuse this pattern; the message says why, without the pattern."""


# ---- filepath.Match: what docker accepts ---------------------------------------------------


def check_match_syntax(pattern: str) -> None:
    """Raise GoPatternError where Go's filepath.Match (which docker asks first) says
    "syntax error in pattern": a trailing `\\`, an unclosed or empty `[`, a range end
    missing, or an unescaped `-` or `]` where a class character is due."""
    i = 0
    while i < len(pattern):
        if pattern[i] == "\\":
            if i + 1 >= len(pattern):
                raise GoPatternError("a '\\' ends it")
            i += 2
        elif pattern[i] == "[":
            i = _match_class_end(pattern, i + 1)
        else:
            i += 1


def _match_class_end(pattern: str, i: int) -> int:
    """Past the `]` of the filepath.Match class whose body starts at `i`."""
    i += pattern[i : i + 1] == "^"
    ranges = 0
    while True:
        if pattern[i : i + 1] == "]" and ranges:
            return i + 1
        i = _match_char_end(pattern, i)
        if pattern[i] == "-":
            i = _match_char_end(pattern, i + 1)
        ranges += 1


def _match_char_end(pattern: str, i: int) -> int:
    """Past one class character (Go's getEsc): never `-` or `]`, `\\` escapes the next."""
    if i >= len(pattern):
        raise GoPatternError("an unclosed '['")
    if pattern[i] in "-]":
        raise GoPatternError(f"a '{pattern[i]}' where a character of a '[' class is due")
    i += 2 if pattern[i] == "\\" else 1
    if i >= len(pattern):
        raise GoPatternError("an unclosed '['")
    return i


# ---- RE2: how docker matches classes and escapes -------------------------------------------

DIGITS: Ranges = [(0x30, 0x39)]
WORD: Ranges = [(0x30, 0x39), (0x41, 0x5A), (0x5F, 0x5F), (0x61, 0x7A)]
SPACE: Ranges = [(0x09, 0x0A), (0x0C, 0x0D), (0x20, 0x20)]
PERL = {"d": DIGITS, "w": WORD, "s": SPACE}
POSIX: dict[str, Ranges] = {
    "alnum": [(0x30, 0x39), (0x41, 0x5A), (0x61, 0x7A)],
    "alpha": [(0x41, 0x5A), (0x61, 0x7A)],
    "ascii": [(0x00, 0x7F)],
    "blank": [(0x09, 0x09), (0x20, 0x20)],
    "cntrl": [(0x00, 0x1F), (0x7F, 0x7F)],
    "digit": DIGITS,
    "graph": [(0x21, 0x7E)],
    "lower": [(0x61, 0x7A)],
    "print": [(0x20, 0x7E)],
    "punct": [(0x21, 0x2F), (0x3A, 0x40), (0x5B, 0x60), (0x7B, 0x7E)],
    "space": [(0x09, 0x0D), (0x20, 0x20)],
    "upper": [(0x41, 0x5A)],
    "word": WORD,
    "xdigit": [(0x30, 0x39), (0x41, 0x46), (0x61, 0x66)],
}
SIMPLE = {"a": 7, "f": 12, "t": 9, "n": 10, "r": 13, "v": 11}
HEX = "0123456789abcdefABCDEF"


def complement(ranges: Ranges) -> Ranges:
    """Every code point not in `ranges`."""
    found, low = [], 0
    for lo, hi in sorted(ranges):
        if lo > low:
            found.append((low, lo - 1))
        low = max(low, hi + 1)
    if low <= MAX_RUNE:
        found.append((low, MAX_RUNE))
    return found


def as_class(ranges: Ranges) -> str:
    """A Python regex class matching exactly the code points in `ranges`."""
    if not ranges:
        return "[^\\x00-\\U0010ffff]"  # RE2's empty class ([^\x00-\x{10FFFF}]): nothing
    return (
        "[" + "".join(_char(lo) + ("" if lo == hi else "-" + _char(hi)) for lo, hi in ranges) + "]"
    )


def _char(point: int) -> str:
    return (
        f"\\U{point:08x}"
        if point > 0x7E or point < 0x21 or not chr(point).isalnum()
        else chr(point)
    )


def escape(pattern: str, i: int) -> tuple[Ranges, int]:
    """The characters the RE2 escape at `pattern[i]` (a `\\`) stands for, and where it ends."""
    if i + 1 >= len(pattern):
        raise GoPatternError("a '\\' ends it")
    ch = pattern[i + 1]
    if ch.lower() in PERL:
        ranges = PERL[ch.lower()]
        return (complement(ranges) if ch.isupper() else list(ranges)), i + 2
    if ch in SIMPLE:
        return [(SIMPLE[ch], SIMPLE[ch])], i + 2
    if ch in "01234567":
        return _octal(pattern, i + 1)
    if ch == "x":
        return _hex(pattern, i + 2)
    if ch.isascii() and not ch.isalnum():
        return [(ord(ch), ord(ch))], i + 2  # escaped punctuation is itself
    raise GoPatternError(f"'\\{ch}' is an escape docker cannot read, or devenv does not match")


def _octal(pattern: str, i: int) -> tuple[Ranges, int]:
    end = i + 1
    while end < len(pattern) and end < i + 3 and pattern[end] in "01234567":
        end += 1
    if pattern[i] != "0" and end == i + 1:
        raise GoPatternError(f"'\\{pattern[i]}' is a back reference, which docker refuses")
    point = int(pattern[i:end], 8)
    return [(point, point)], end


def _hex(pattern: str, i: int) -> tuple[Ranges, int]:
    """`\\xHH` or `\\x{H…}` from `pattern[i]` (past the x)."""
    if pattern[i : i + 1] == "{":
        end = pattern.find("}", i)
        digits, after = (pattern[i + 1 : end], end + 1) if end > 0 else ("", 0)
    else:
        digits, after = pattern[i : i + 2], i + 2
        digits = digits if len(digits) == 2 else ""
    if not digits or digits.strip(HEX) or int(digits, 16) > MAX_RUNE:
        raise GoPatternError("a '\\x' escape that is not a character code")
    point = int(digits, 16)
    return [(point, point)], after


def char_class(pattern: str, i: int) -> tuple[Ranges, int]:
    """The characters the RE2 class opening at `pattern[i]` (a `[`) matches, and where it
    ends (past its `]`)."""
    i += 1
    negated = pattern[i : i + 1] == "^"
    i += negated
    ranges: Ranges = []
    first = True
    while True:
        if i >= len(pattern):
            raise GoPatternError("an unclosed '['")
        if pattern[i] == "]" and not first:
            break
        first = False
        found, i = _class_item(pattern, i)
        ranges += found
    return (complement(ranges) if negated else _merged(ranges)), i + 1


def _class_item(pattern: str, i: int) -> tuple[Ranges, int]:
    """One item of an RE2 class: a POSIX class, a Perl class, a character or a range."""
    if pattern.startswith("[:", i) and pattern.find(":]", i + 2) > 0:
        end = pattern.find(":]", i + 2)
        name = pattern[i + 2 : end]
        if name.removeprefix("^") not in POSIX:
            raise GoPatternError(f"'[:{name}:]' is no class docker knows")
        ranges = POSIX[name.removeprefix("^")]
        return (complement(ranges) if name.startswith("^") else list(ranges)), end + 2
    if pattern[i] == "\\" and pattern[i + 1 : i + 2].lower() in PERL:
        return escape(pattern, i)  # a class, never a range's end
    low, i = _class_char(pattern, i)
    if pattern[i : i + 1] != "-" or pattern[i + 1 : i + 2] in ("]", ""):
        return low, i
    high, i = _class_char(pattern, i + 1)
    if len(low) != 1 or len(high) != 1 or low[0][0] != low[0][1] or high[0][0] != high[0][1]:
        raise GoPatternError("a range of a class that is not from one character to another")
    if high[0][0] < low[0][0]:
        raise GoPatternError("a range of a class that runs backwards")
    return [(low[0][0], high[0][0])], i


def _class_char(pattern: str, i: int) -> tuple[Ranges, int]:
    if pattern[i] == "\\":
        return escape(pattern, i)
    return [(ord(pattern[i]), ord(pattern[i]))], i + 1


def _merged(ranges: Ranges) -> Ranges:
    return complement(complement(ranges))
