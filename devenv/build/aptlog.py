"""What apt's output in a failed build says about the mirror. Pure: reads a build log.

apt reports a mirror it cannot reach as `Err:N URL …` followed by the cause on the next
line (connection refused, a name that does not resolve, a timeout); packages then look
missing, which must not be told as versions the mirror no longer serves.
"""

from __future__ import annotations

import re

from devenv.errors import DevenvError

BUILDKIT_PREFIX = re.compile(r"^#\d+ \d+\.\d+ ")
ERR_RE = re.compile(r"^Err:\d+\s+(\S+)")
DEAD_RE = re.compile(
    r"Could not connect|Temporary failure resolving|Could not resolve|timed out|"
    r"Unable to connect|Connection refused|No route to host|Network is unreachable",
    re.I,
)


def log_lines(build_log: str) -> list[str]:
    """The build log's lines without BuildKit's `#7 1.234 ` step prefixes."""
    return [BUILDKIT_PREFIX.sub("", line, count=1) for line in build_log.splitlines()]


def unanswered(build_log: str) -> tuple[str, str] | None:
    """(URL, apt's reason) for the first source apt could not reach, or None."""
    lines = log_lines(build_log)
    for line, cause in zip(lines, [*lines[1:], ""], strict=True):
        found = ERR_RE.match(line.strip())
        if found and DEAD_RE.search(cause):
            return found.group(1).rstrip("/"), " ".join(cause.split()).rstrip(".")
    return None


def dead_mirror_error(env: str, build_log: str) -> DevenvError | None:
    """One sentence naming the apt mirror that does not answer, with its cause and a hint;
    None when apt reached every source it asked."""
    found = unanswered(build_log)
    if found is None:
        return None
    url, reason = found
    return DevenvError(
        f"the apt mirror {url} does not answer ({reason})",
        "check that it is up and its address is right (`devenv doctor` tries every mirror), "
        "or point apt.mirror at one that answers",
        env=env,
    )
