"""What a valid value looks like: the pattern every user string must match, and each rule
in words with a valid example, for error messages that say how to write it right.

An error's location already names the field (``name: …``), so a message quotes the value,
then the rule: ``'Web' is not valid: use lowercase letters, … (e.g. php-8)``.
"""

from __future__ import annotations

import posixpath
import re
from typing import Any

NAME_RE = re.compile(r"[a-z0-9][a-z0-9_.-]{0,62}")
# An env's name is also its image's name (devenv/NAME) and its container's: docker's grammar
# for an image name's part, and at least two characters for a container's name.
ENV_NAME_RE = re.compile(r"(?=.{2})[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*")
ENV_NAME_SHAPE = (
    "docker names the image and the container by it: 2 or more characters, ending with a "
    "letter or digit, and no '.', '_' or '-' next to another (but '__' or '--') (e.g. php-8)"
)
USER_RE = re.compile(r"[a-z_][a-z0-9_-]{0,31}")
ENV_KEY_RE = re.compile(r"[^=\x00]+")  # what Docker accepts: `discovery.type`, `A-B`…
ARG_NAME_RE = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
PACKAGE_RE = re.compile(r"[a-z0-9][a-z0-9+.-]+(=[A-Za-z0-9.+~:-]+)?")
URL_RE = re.compile(r"https?://[A-Za-z0-9.-]+(:[0-9]{1,5})?(/[A-Za-z0-9._~%/+-]*)?")
REGISTRY_RE = re.compile(r"[A-Za-z0-9.-]+(:[0-9]{1,5})?(/[a-z0-9]+([._-][a-z0-9]+)*)*")
SUITE_RE = re.compile(r"(debian|ubuntu):[a-z][a-z0-9-]*")
# Docker's reference grammar, simplified: [registry[:port]/]path[:tag][@digest]
IMAGE_RE = re.compile(
    r"([A-Za-z0-9.-]+(:[0-9]{1,5})?/)?"
    r"[a-z0-9]+([._-][a-z0-9]+)*(/[a-z0-9]+([._-][a-z0-9]+)*)*"
    r"(:[A-Za-z0-9_][A-Za-z0-9_.-]{0,127})?(@sha256:[a-f0-9]{64})?"
)
KEY_RE = re.compile(
    r"(ssh-(ed25519|rsa|dss)|ecdsa-sha2-nistp\d+|sk-[a-z0-9@.-]+) [A-Za-z0-9+/=]+( [^\n\r\x00]*)?"
)
CONTROL_RE = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")
PATH_UNSAFE_RE = re.compile(r"[\x00-\x1f\x7f:]")

# What each pattern allows, in words, with a valid example: the error's location names the
# field, so a message says only what was wrong and how to write it right.
_NAME_CHARS = "use lowercase letters, digits, '.', '_' or '-', starting with a letter or digit"
ADOPT_RE = re.compile(r"[a-f0-9]{12,64}")
ADOPT_RULE = "use the container's ID, 12 to 64 hex digits (e.g. 3f2a9c1b7d4e)"
NAME_RULE = f"{_NAME_CHARS} (e.g. php-8)"
VOLUME_RULE = f"{_NAME_CHARS} (e.g. web-data)"
USER_RULE = (
    "use up to 32 lowercase letters, digits, '_' or '-', starting with a letter or '_' (e.g. dev)"
)
PACKAGE_RULE = "use a Debian package name, with =VERSION if pinned (e.g. git or curl=7.88.1-10)"
URL_RULE = "use an http or https URL (e.g. http://deb.debian.org/debian)"
REGISTRY_RULE = "use HOST[:PORT][/NAMESPACE] (e.g. registry.example.org:5000/team)"
SUITE_RULE = "use debian:SUITE or ubuntu:SUITE (e.g. debian:bookworm)"
IMAGE_RULE = "use an image reference, [REGISTRY/]NAME[:TAG][@DIGEST] (e.g. debian:bookworm)"
NETWORK_RULE = (
    "use letters, digits, '.', '_' or '-', starting with a letter or digit (e.g. backend)"
)
PATH_EXAMPLE = "(e.g. /var/www)"


def full_match(pattern: re.Pattern[str], value: str, rule: str) -> str:
    """`value` if `pattern` matches all of it, else an error quoting it and then `rule`."""
    if not pattern.fullmatch(value):
        raise ValueError(f"{value!r} is not valid: {rule}")
    return value


# The runtime owns these in every container: a mount on or under them is refused.
RUNTIME_PATHS = ("/proc", "/sys", "/dev")


def container_path(value: str, mount: str | None = None) -> str:
    """`value` normalised (one leading slash, no `..`); with `mount` (what is mounted there,
    e.g. "a volume"), also refused on / and on or under the runtime's /proc, /sys and /dev."""
    if not isinstance(value, str) or not value.startswith("/"):
        raise ValueError(f"{value!r} is not valid: use an absolute path, from / {PATH_EXAMPLE}")
    if PATH_UNSAFE_RE.search(value):
        raise ValueError(
            f"{value!r} is not valid: a path holds no control character or ':' {PATH_EXAMPLE}"
        )
    path = "/" + posixpath.normpath(value).lstrip("/")  # POSIX keeps a leading '//'
    if mount and path == "/":
        raise ValueError(f"{mount} cannot be mounted over / itself: use a folder {PATH_EXAMPLE}")
    if mount and any(path == top or path.startswith(top + "/") for top in RUNTIME_PATHS):
        raise ValueError(
            f"{mount} cannot be mounted on {path}: /proc, /sys and /dev belong to the container "
            f"runtime; use a folder of your own {PATH_EXAMPLE}"
        )
    return path


STAGE_RE = re.compile(r"[A-Za-z][A-Za-z0-9_.-]{0,127}")
STAGE_RULE = "use a build stage name: a letter, then letters, digits, '_', '.' or '-' (e.g. dev)"
ENV_KEY_RULE = "use any text without '=' or a NUL byte, as Docker does (e.g. APP_ENV)"
ARG_RULE = "use letters, digits and '_', not starting with a digit (e.g. PYTHON_VERSION)"
BUILD_PATH_RULE = "use a path with no control character, relative to the spec (e.g. ./Dockerfile)"


def command_words(value: Any, what: str = "command") -> Any:
    """A command as the spec may write it, as argv: a string is split like a shell would
    (`php -S 0.0.0.0:80`), and YAML numbers in a list are words too (`[sleep, 10]`)."""
    if isinstance(value, str):
        import shlex

        try:
            return shlex.split(value)
        except ValueError as exc:
            raise ValueError(f"{what} cannot be split into words: {exc}") from None
    if isinstance(value, list):
        return [
            str(a) if isinstance(a, int | float) and not isinstance(a, bool) else a for a in value
        ]
    return value


def home_problem(value: str) -> str | None:
    """Why a path starting `~NAME` cannot be read on this machine (no such user), or None;
    Python's expanduser would keep it as a literal folder named `~NAME`."""
    if not value.startswith("~"):
        return None
    user = value[1:].split("/", 1)[0]
    if not user:
        return None
    import pwd

    try:
        pwd.getpwnam(user)
    except KeyError:
        return f"{value!r} names no user {user!r} on this machine: write ~/… for your own home"
    return None


def loop_problem(folder: Any, value: str) -> str | None:
    """Why `value` (relative to the spec's `folder`) cannot be followed: a loop of links."""
    import errno
    import os

    from devenv.host import expand_home

    if folder is None:
        return None
    try:
        os.stat(os.path.join(folder, expand_home(value)))
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            return f"{value!r} is a loop of symbolic links: point it at a real folder or file"
    return None


def env_name(value: str) -> str:
    """`value` if it is a valid env name (see NAME_RULE and ENV_NAME_SHAPE), else an error."""
    full_match(NAME_RE, value, NAME_RULE)
    return full_match(ENV_NAME_RE, value, ENV_NAME_SHAPE)
