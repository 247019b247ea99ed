"""`docker run` options (a devcontainer.json's `runArgs`) → the draft: -p, -v, --mount, -e,
--name, -w, -u map; every other option is listed once with its value, as one option
(`--security-opt seccomp=unconfined` is one, whether written as one item or two)."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

from devenv.formats.draft import NOT_YET, Draft, add_published, parse_mount, spec_name
from devenv.formats.shares import add_bind

# Options of `docker run` that take a value (the next item, unless written OPTION=VALUE).
TAKES_VALUE = {
    "-a", "--attach", "--add-host", "--annotation", "--blkio-weight", "--cap-add", "--cap-drop",
    "--cgroup-parent", "--cgroupns", "--cidfile", "--cpu-period", "--cpu-quota", "--cpu-shares",
    "-c", "--cpus", "--cpuset-cpus", "--cpuset-mems", "--device", "--device-cgroup-rule",
    "--dns", "--dns-option", "--dns-search", "--domainname", "--entrypoint", "-e", "--env",
    "--env-file", "--expose", "--gpus", "--group-add", "--health-cmd", "--health-interval",
    "--health-retries", "--health-start-period", "--health-timeout", "-h", "--hostname",
    "--ip", "--ip6", "--ipc", "--isolation", "--kernel-memory", "-l", "--label",
    "--label-file", "--link", "--log-driver", "--log-opt", "--mac-address", "-m", "--memory",
    "--memory-reservation", "--memory-swap", "--memory-swappiness", "--mount", "--name",
    "--network", "--net", "--network-alias", "--oom-score-adj", "--pid", "--pids-limit",
    "--platform", "-p", "--publish", "--pull", "--restart", "--runtime", "--security-opt",
    "--shm-size", "--stop-signal", "--stop-timeout", "--storage-opt", "--sysctl", "--tmpfs",
    "--ulimit", "-u", "--user", "--userns", "--uts", "-v", "--volume", "--volume-driver",
    "--volumes-from", "-w", "--workdir",
}  # fmt: skip
USER_RE = re.compile(r"[a-z_][a-z0-9_-]{0,31}")
ENV_NAME_RE = re.compile(r"[^=\x00]+")


def options(args: list[str]) -> list[tuple[str, str | None]]:
    """(option, value) pairs: `--opt=v`, `--opt v` and `-p8080:80` alike; a value-less
    option (--init, --privileged, -it) has None."""
    found: list[tuple[str, str | None]] = []
    i = 0
    while i < len(args):
        flag, eq, value = args[i].partition("=")
        if not eq and flag[:1] == "-" and flag[1:2] != "-" and len(flag) > 2:
            short = flag[:2]  # -p8080:80, -eFOO=1
            flag, value, eq = (short, args[i][2:], "=") if short in TAKES_VALUE else (flag, "", "")
        if flag in TAKES_VALUE and not eq:
            value = args[i + 1] if i + 1 < len(args) else ""
            i += 1
        found.append((flag, value if flag in TAKES_VALUE else None))
        i += 1
    return found


def apply(
    draft: Draft,
    args: list[str],
    out_dir: Path,
    env_template: Callable[[str], str | None],
    resolve: Callable[[str], str],
) -> None:
    """Each option into the draft, or a note; `env_template` turns an -e value into the
    spec's form (None: it cannot), `resolve` fills the file's own variables."""
    for flag, value in options(args):
        if value is None or flag not in MAPPED:
            shown = flag if value is None else f"{flag} {value}"
            draft.note(f"runArgs {shown}: no spec key for it")
        elif flag in ("-e", "--env"):
            _env(draft, value, env_template)
        else:
            MAPPED[flag](draft, resolve(value), out_dir)


def _env(draft: Draft, value: str, env_template: Callable[[str], str | None]) -> None:
    """`-e NAME=VALUE` or `-e NAME` (the host's NAME when it is set)."""
    name, eq, text = value.partition("=")
    template = env_template(text) if eq else "${" + name + ":-}"
    if template is None or not ENV_NAME_RE.fullmatch(name):
        draft.note(f"runArgs -e {value}: {NOT_YET}")
    else:
        draft.env(name, template)


def publish(draft: Draft, value: str, out_dir: Path) -> None:
    add_published(draft, value, "runArgs -p")


def volume(draft: Draft, value: str, out_dir: Path) -> None:
    """`-v SOURCE:TARGET[:ro]` into a shared folder or a named volume."""
    parts = value.split(":")
    readonly = len(parts) == 3 and "ro" in parts[2].split(",")
    if len(parts) < 2:
        draft.note(f"runArgs -v {value}: an anonymous volume is not kept (no name to find it by)")
    elif parts[0].startswith(("/", ".", "~")):
        add_bind(draft, parts[0], parts[1], readonly, out_dir, f"runArgs -v {value}")
    else:
        entry = {"name": parts[0], "container": parts[1]}
        draft.add("volumes", {**entry, "readonly": True} if readonly else entry)


def mount(draft: Draft, value: str, out_dir: Path) -> None:
    fields = parse_mount(value)
    source, target = fields.get("source", ""), fields.get("target", "")
    readonly = fields.get("readonly", fields.get("ro", "false")).lower() in ("true", "1", "")
    if fields.get("type", "volume") == "bind" and source and target:
        add_bind(draft, source, target, readonly, out_dir, f"runArgs --mount {value}")
    elif fields.get("type", "volume") == "volume" and source and target:
        entry = {"name": spec_name(source), "container": target}
        draft.add("volumes", {**entry, "readonly": True} if readonly else entry)
    else:
        draft.note(f"runArgs --mount {value}: only bind mounts and named volumes map")


def name(draft: Draft, value: str, out_dir: Path) -> None:
    draft.name = spec_name(value)


def workdir(draft: Draft, value: str, out_dir: Path) -> None:
    draft.keys["workdir"] = value


def user(draft: Draft, value: str, out_dir: Path) -> None:
    if USER_RE.fullmatch(value) and value != "root":
        draft.keys["user"] = value
    elif value not in ("root", "0", "0:0"):
        draft.note(f"runArgs -u {value}: only a user name maps (not a uid)")


MAPPED: dict[str, Callable[[Draft, str, Path], None]] = {
    "-p": publish, "--publish": publish, "-v": volume, "--volume": volume, "--mount": mount,
    "-e": publish, "--env": publish,  # -e is read by _env (with the file's variables)
    "--name": name, "-w": workdir, "--workdir": workdir,
    "-u": user, "--user": user,
}  # fmt: skip
