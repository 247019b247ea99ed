"""`.dockerignore` classes and escapes as docker reads them: each line must pass Go's
filepath.Match syntax (else docker refuses the file), and `[...]` and `\\x` are then matched
by Go's regexp (RE2), not Python's `re`. Expected answers follow those two Go grammars."""

from __future__ import annotations

import pytest

from devenv.build import dockerignore, gopattern


def ignored(rule: str, path: str) -> bool:
    return dockerignore.excluded(dockerignore.parse(rule + "\n"), path)


@pytest.mark.parametrize(
    ("rule", "path", "out"),
    [
        ("[!a]x", "!x", True),  # `!` negates nothing in Go: a class of `!` and `a`
        ("[!a]x", "bx", False),
        ("[^a]x", "bx", True),  # `^` does
        ("[^a]x", "ax", False),
        ("a[^b]c", "a/c", True),  # a class is a regexp class: it may match `/`
        ("[[:digit:]]x", "5x", True),  # POSIX classes, as RE2 reads them
        ("[[:digit:]]x", "d]x", False),
        ("[[:^alpha:]]", "1", True),
        ("[[:^alpha:]]", "a", False),
        ("[\\d]", "7", True),  # Perl classes are ASCII in RE2
        ("[\\d]", "\u0663", False),  # ARABIC-INDIC DIGIT THREE: a digit to Python, not to Go
        ("\\d", "\u0663", False),
        ("\\d", "4", True),
        ("[\\w]", "_", True),
        ("[\\w]", "-", False),
        ("[\\D]", "x", True),
        ("[\\d-z]", "-", True),  # after a class, `-` is itself
        ("[\\x41-\\x43]", "B", True),  # hex escapes and ranges of them
        ("[\\x41-\\x43]", "D", False),
        ("[\\x{263a}]", "\u263a", True),
        ("[a\\-z]", "-", True),
        ("[a\\-z]", "m", False),
        ("[\\]]", "]", True),
        ("[\\101]", "A", True),  # octal
        ("\\_", "_", True),
        ("a]b", "a]b", True),  # a lone `]` is itself
        ("[ab].txt", "b.txt", True),
    ],
)
def test_classes_and_escapes_match_as_docker_matches_them(rule: str, path: str, out: bool) -> None:
    assert ignored(rule, path) is out


@pytest.mark.parametrize(
    ("rule", "why"),
    [
        ("[]a]", "a ']' where a character of a '[' class is due"),  # filepath.Match refuses
        ("[a-]", "a ']' where a character"),
        ("[-a]", "a '-' where a character"),
        ("[^]", "a ']' where a character"),
        ("[a", "an unclosed '['"),
        ("src/[ab", "an unclosed '['"),
        ("a\\", "a '\\' ends it"),
        ("[z-a]", "runs backwards"),  # RE2 refuses (docker: syntax error in pattern)
        ("[[:foo:]]", "'[:foo:]' is no class docker knows"),
        ("\\1", "back reference"),
        ("\\q", "'\\q' is an escape docker cannot read"),
        ("[\\x4g]", "not a character code"),
    ],
)
def test_what_docker_refuses_is_one_sentence(rule: str, why: str) -> None:
    with pytest.raises(dockerignore.PatternError) as refused:
        ignored(rule, "x")
    assert "is not a valid pattern" in str(refused.value) and why in str(refused.value)


def test_a_class_is_written_as_exactly_its_ranges() -> None:
    ranges, end = gopattern.char_class("[^a-c]", 0)
    assert end == 6 and ranges == [(0, 0x60), (0x64, gopattern.MAX_RUNE)]
    assert gopattern.as_class([(0x61, 0x63), (0x2D, 0x2D)]) == "[a-c\\U0000002d]"
    assert gopattern.as_class([]) == "[^\\x00-\\U0010ffff]"
