"""The command lines the fast path answers; any other word (a global option, an option
with a value, --help) sends the whole command to the full CLI."""

from __future__ import annotations

from typing import NamedTuple

FLAGS = {
    "plan": frozenset({"--json", "--detailed-exitcode", "--prune", "--takeover"}),
    "status": frozenset({"--json"}),
    "apply": frozenset(
        {"--json", "--yes", "-y", "--prune", "--takeover", "--force", "--snapshot", "--push"}
    ),
}


class Request(NamedTuple):
    command: str  # plan, apply, status or shell
    paths: tuple[str, ...]
    flags: frozenset[str] = frozenset()
    words: tuple[str, ...] = ()  # shell: the command after `--` (none: a login shell)


def parse(argv: list[str]) -> Request | None:
    """`plan|apply [FLAGS] PATHS…`, `status [--json] [PATHS…]`, `shell PATH [-- CMD…]`;
    None for anything else."""
    if not argv:
        return None
    command, rest = argv[0], argv[1:]
    if command == "shell":
        if rest[:1] and not rest[0].startswith("-") and (len(rest) == 1 or rest[1] == "--"):
            return Request("shell", (rest[0],), words=tuple(rest[2:]))
        return None
    known = FLAGS.get(command)
    if known is None:
        return None
    paths, flags = [], set()
    for word in rest:
        if word.startswith("-"):
            if word not in known:
                return None
            flags.add(word)
        else:
            paths.append(word)
    if not paths and command != "status":  # status alone: every env on the engine
        return None
    return Request(command, tuple(paths), frozenset(flags))
