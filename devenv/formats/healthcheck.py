"""A Compose healthcheck ↔ the spec's `ready`: a test command the box runs, given as long to
pass as Compose would give it before calling the service unhealthy. `ready.port` goes out as
the same POSIX sh probe of /proc/net/tcp that apply runs, and is recognised coming back."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

from devenv.converge.readiness import listening_script
from devenv.spec.variables import REFERENCE_RE

if TYPE_CHECKING:
    from devenv.formats.composefile import Project
    from devenv.formats.draft import Draft

DURATION_RE = re.compile(r"(\d+(?:\.\d+)?)(h|ms|us|ns|m|s)")
UNITS = {"h": 3600.0, "m": 60.0, "s": 1.0, "ms": 0.001, "us": 1e-6, "ns": 1e-9}
PORT_PROBE_RE = re.compile(r"\*:([0-9A-F]{4})\" 0A\"\)")


def seconds(text: Any, default: float) -> float:
    """Compose's duration ('1m30s', '500ms', a number of seconds) in seconds."""
    if text is None or text == "":
        return default
    if isinstance(text, int | float) and not isinstance(text, bool):
        return float(text)
    found = DURATION_RE.findall(str(text))
    if not found or "".join(n + u for n, u in found) != str(text).replace(" ", ""):
        raise ValueError(f"{text!r} is not a duration")
    return sum(float(n) * UNITS[u] for n, u in found)


def read(draft: Draft, project: Project, svc: dict[str, Any]) -> None:
    """The healthcheck as `ready`, waiting as long as Compose would (start period, then
    `retries` failed tries `interval` apart)."""
    check = svc.get("healthcheck")
    if not isinstance(check, dict) or check.get("disable") or not check.get("test"):
        return
    test = check["test"]
    if isinstance(test, str):
        argv = ["/bin/sh", "-c", test]
    elif test[0] == "NONE":
        return
    elif test[0] == "CMD-SHELL":
        argv = ["/bin/sh", "-c", " ".join(str(w) for w in test[1:])]
    else:
        argv = [str(w) for w in (test[1:] if test[0] == "CMD" else test)]
    argv = _resolved(argv, project)
    written = [w for w in argv if REFERENCE_RE.search(w)]
    if written:
        draft.note(f"healthcheck: reads variables ({written[0]}), which ready cannot; not carried")
        return
    wait = seconds(check.get("start_period"), 0) + seconds(check.get("interval"), 30) * int(
        check.get("retries", 3)
    )
    ready: dict[str, Any] = {"command": argv}
    port = _probed_port(argv)
    if port:
        ready = {"port": port}
    timeout = min(max(round(wait), 1), 3600)
    draft.keys["ready"] = ready if timeout == 30 else {**ready, "timeout": timeout}
    if "x-devenv" not in svc:  # else devenv wrote it from a spec's ready: nothing changes
        draft.note("healthcheck: carried as ready (apply waits for it; nothing re-checks it later)")


def _resolved(argv: list[str], project: Project) -> list[str]:
    """The test as Compose runs it: its `${VAR:-default}` read; kept as written if one has
    no value (the spec then lists it)."""
    from devenv.formats.interpolation import Unresolved, resolve

    try:
        return [resolve(word, project.values, []) for word in argv]
    except Unresolved:
        return argv


def _probed_port(argv: list[str]) -> int | None:
    """The port of devenv's own listening probe, when `argv` is exactly that probe."""
    if len(argv) != 3 or argv[:2] != ["/bin/sh", "-c"]:
        return None
    m = PORT_PROBE_RE.search(argv[2])
    port = int(m.group(1), 16) if m else 0
    return port if port and argv[2] == listening_script(port) else None


def write(ready: dict[str, Any] | None) -> dict[str, Any] | None:
    """`ready` as a healthcheck: tried every second, unhealthy after `timeout` failures."""
    if not ready:
        return None
    if ready.get("port"):
        test = ["CMD", "/bin/sh", "-c", listening_script(int(ready["port"]))]
    else:
        test = ["CMD", *ready["command"]]
    return {"test": test, "interval": "1s", "timeout": "5s", "retries": int(ready["timeout"])}
