"""apt's output in a failed build: a mirror that does not answer is told apart from one
that no longer serves the pinned versions (issue 20)."""

from __future__ import annotations

from devenv.build.aptlog import dead_mirror_error, unanswered

REFUSED = """\
#7 0.412 Err:1 http://127.0.0.1:9/debian bookworm InRelease
#7 0.413   Could not connect to 127.0.0.1:9 (127.0.0.1). - connect (111: Connection refused)
#7 0.500 devenv-lock-missing: curl=7.88.1-10+deb12u12
"""
DNS = "Err:2 http://mirror.invalid/debian bookworm InRelease\n  Temporary failure resolving 'mirror.invalid'\n"
TIMEOUT = "Err:1 http://10.255.255.1/debian bookworm InRelease\n  Could not connect to 10.255.255.1:80 (10.255.255.1), connection timed out\n"
SERVED = "Get:1 http://deb.debian.org/debian bookworm InRelease [151 kB]\nE: Version '1' for 'curl' was not found\n"


def test_refused_dns_and_timeout_are_a_mirror_that_does_not_answer() -> None:
    assert unanswered(REFUSED) == (
        "http://127.0.0.1:9/debian",
        "Could not connect to 127.0.0.1:9 (127.0.0.1). - connect (111: Connection refused)",
    )
    assert unanswered(DNS) == (
        "http://mirror.invalid/debian",
        "Temporary failure resolving 'mirror.invalid'",
    )
    found = unanswered(TIMEOUT)
    assert found and found[1].endswith("connection timed out")
    error = dead_mirror_error("php", REFUSED)
    assert error and error.env == "php" and error.hint
    assert error.message.startswith("the apt mirror http://127.0.0.1:9/debian does not answer (")


def test_a_mirror_that_answered_is_not_called_dead() -> None:
    assert unanswered(SERVED) is None and dead_mirror_error("php", SERVED) is None
    hash_sum = (
        "Err:3 http://deb.debian.org/debian bookworm/main amd64 Packages\n  Hash Sum mismatch\n"
    )
    assert unanswered(hash_sum) is None
