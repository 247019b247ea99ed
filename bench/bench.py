"""Times what users run most, beside peers doing the same job in the same run.

    python bench/bench.py [--repeat N]

Needs a running engine and the debian:bookworm base (scripts/setup). Prints a table of
median seconds and the ratio of devenv to its peer: `docker ps` for a no-op plan (the
least any tool must do to look), and `docker rm -f` + `docker run` for a port change.
Everything it makes carries the label io.devenv.bench=1 and is removed at the end.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

LABEL = "io.devenv.bench=1"
ENV = {**os.environ, "DEVENV_LABELS": LABEL}


def run(*argv: str) -> None:
    subprocess.run(argv, check=True, env=ENV, capture_output=True, stdin=subprocess.DEVNULL)


def timed(argv_list: list[list[str]], repeat: int) -> float:
    samples = []
    for _ in range(repeat):
        start = time.perf_counter()
        for argv in argv_list:
            run(*argv)
        samples.append(time.perf_counter() - start)
    return statistics.median(samples)


def devenv(*args: str) -> list[str]:
    return [sys.executable, "-m", "devenv", *args]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeat", type=int, default=5)
    repeat = parser.parse_args().repeat
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / "envs"
        folder.mkdir()
        for i in range(10):
            (folder / f"bench{i}.yaml").write_text(f"name: bench{i}\nports: [{18100 + i}]\n")
        one = str(folder / "bench0.yaml")
        run(*devenv("apply", "--yes", str(folder)))
        peek = timed([["docker", "ps"]], repeat)  # the least any tool must do to look
        rows = [
            (task, timed([devenv(verb, target)], repeat), "docker ps", peek)
            for task, verb, target in (
                ("no-op plan, 1 env", "plan", one),
                ("no-op plan, 10 envs", "plan", str(folder)),
                ("no-op apply, 1 env", "apply", one),
                ("no-op apply, 10 envs", "apply", str(folder)),
            )
        ]
        spec = folder / "bench0.yaml"
        image = subprocess.run(
            ["docker", "inspect", "-f", "{{.Config.Image}}", "bench0"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
        ports = iter(range(18200, 18200 + 4 * repeat))

        def change_port() -> list[list[str]]:
            spec.write_text(f"name: bench0\nports: ['{next(ports)}:9000']\n")
            return [devenv("apply", "--yes", str(spec))]

        samples = []
        for _ in range(repeat):
            argv = change_port()
            start = time.perf_counter()
            run(*argv[0])
            samples.append(time.perf_counter() - start)
        peer = timed(
            [
                ["docker", "rm", "-f", "benchpeer"],
                [
                    "docker",
                    "run",
                    "-d",
                    "--name",
                    "benchpeer",
                    "--label",
                    LABEL,
                    "--init",
                    "-p",
                    "127.0.0.1::9000",
                    image,
                ],
            ],
            repeat,
        )
        rows.append(
            ("port change (recreate)", statistics.median(samples), "docker rm -f + run", peer)
        )
        run("docker", "rm", "-f", "benchpeer")
        run(*devenv("destroy", "--yes", str(folder)))
    print(f"{'task':26} {'devenv s':>9} {'peer':>20} {'peer s':>8} {'ratio':>6}")
    for task, mine, peer_name, theirs in rows:
        print(f"{task:26} {mine:9.3f} {peer_name:>20} {theirs:8.3f} {mine / theirs:6.1f}")


if __name__ == "__main__":
    main()
