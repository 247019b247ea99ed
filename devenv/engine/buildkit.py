"""Builds through the docker CLI with BuildKit, so apt's lists and debs outlive a build
(`RUN --mount=type=cache`) and one more package costs one more layer, not a rebuild.

The engine API's classic builder cannot mount caches, and BuildKit's own protocol (a gRPC
session) is the CLI's to speak, so devenv runs the first `docker` on PATH that can: one with
the buildx plugin, or one older than 23.0 (BuildKit built in, e.g. Debian's docker.io).
Where none can, the engine is Podman, or the CLI cannot get BuildKit going on the engine,
the caller builds the plain Dockerfile through the API instead. DEVENV_BUILDKIT=0 asks
for that always.
"""

from __future__ import annotations

import os
import re
import subprocess
import tempfile
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from devenv.build.workspace import BuildLog
from devenv.engine.build_output import PlainProgress
from devenv.engine.connection import Connection, cli_env

SWITCH = "DEVENV_BUILDKIT"  # "0": always the engine's classic builder
VERSION_RE = re.compile(r"^Docker version (\d+)\.")
FIRST_WITHOUT_BUILTIN = 23  # docker 23.0 moved BuildKit out of the CLI, into buildx


@dataclass(frozen=True)
class BuildkitCli:
    """A docker CLI that builds with BuildKit, and how it is asked to."""

    path: str
    buildx: bool

    def argv(
        self,
        connection: Connection,
        tag: str,
        labels: Mapping[str, str],
        context: Path,
        iidfile: Path,
        network: str | None = None,
    ) -> list[str]:
        """The build command line for the engine `connection` names (as every `docker`
        command devenv runs: its flags win over the environment)."""
        build = ["buildx", "build", "--load"] if self.buildx else ["build"]
        argv = [self.path, *connection.cli_args(), *build, "--progress=plain", "--tag", tag]
        argv += ["--iidfile", str(iidfile)]
        for key, value in sorted(labels.items()):
            argv += ["--label", f"{key}={value}"]
        if network:
            argv += ["--network", network]
        return [*argv, "--file", str(context / "Dockerfile"), str(context)]


def _answers(argv: list[str]) -> str | None:
    """What `argv` prints when it succeeds within a few seconds, else None."""
    try:
        done = subprocess.run(
            argv, capture_output=True, text=True, timeout=15, check=False, stdin=subprocess.DEVNULL
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return done.stdout if done.returncode == 0 else None


def capability(path: str) -> BuildkitCli | None:
    """How the docker CLI at `path` builds with BuildKit, if it can."""
    if _answers([path, "buildx", "version"]) is not None:
        return BuildkitCli(path, buildx=True)
    found = VERSION_RE.match(_answers([path, "--version"]) or "")
    if found and 18 < int(found.group(1)) < FIRST_WITHOUT_BUILTIN:
        return BuildkitCli(path, buildx=False)
    return None


@lru_cache(maxsize=4)
def _find(search_path: str) -> BuildkitCli | None:
    seen: set[str] = set()
    for folder in search_path.split(os.pathsep):
        candidate = Path(folder or ".") / "docker"
        real = os.path.realpath(candidate)
        if real in seen or not os.access(candidate, os.X_OK) or candidate.is_dir():
            continue
        seen.add(real)
        found = capability(str(candidate))
        if found is not None:
            return found
    return None


_REFUSED: set[str] = set()  # CLIs that could not start a BuildKit build in this process


def find_cli(env: Mapping[str, str] | None = None) -> BuildkitCli | None:
    """The first `docker` on PATH that builds with BuildKit, or None (or when switched off)."""
    env = os.environ if env is None else env
    if env.get(SWITCH, "").strip() == "0":
        return None
    found = _find(env.get("PATH", os.defpath))
    return None if found is None or found.path in _REFUSED else found


def build(
    cli: BuildkitCli,
    connection: Connection,
    tag: str,
    what: str,
    log_path: Path,
    on_line: Callable[[str], None],
    labels: Mapping[str, str],
    context: Path,
    network: str | None = None,
) -> str | None:
    """Build `tag` from `context` (its Dockerfile may `RUN --mount`); the image id, or None
    when BuildKit never got going or failed but not in a step's command (the log says
    why): build another way then, which gives its own verdict; "" when
    it built but wrote no id. A failing
    step is one BuildError naming it and the log."""
    with tempfile.TemporaryDirectory(prefix="devenv-iid-") as scratch:
        iidfile = Path(scratch) / "image.id"
        argv = cli.argv(connection, tag, labels, context, iidfile, network)
        env = {**cli_env(connection), "DOCKER_BUILDKIT": "1"}
        with BuildLog(log_path) as log:
            progress = PlainProgress(log, on_line)
            code = _run(argv, env, progress)
        if code == 0:  # the caller asks the engine when the CLI wrote no id
            return iidfile.read_text().strip() if iidfile.is_file() else ""
    if not progress.started or not progress.ran_step:  # e.g. an engine without a bridge
        _REFUSED.add(cli.path)
        on_line(f"BuildKit did not start ({progress.last or code}); using the engine's builder")
        return None
    raise progress.failure(what, log_path, code)


def _run(argv: list[str], env: dict[str, str], progress: PlainProgress) -> int:
    """Run the CLI, its output (stdout and stderr, as they come) into `progress`."""
    try:
        with subprocess.Popen(
            argv,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            errors="replace",
            env=env,
        ) as proc:
            assert proc.stdout is not None
            try:
                for line in proc.stdout:
                    progress.feed(line)
            except BaseException:  # Ctrl-C, or a stop in a worker thread: the build ends too
                proc.terminate()
                raise
            return proc.wait()
    except OSError as exc:
        progress.last = f"{argv[0]}: {exc.strerror or exc}"
        return 127
