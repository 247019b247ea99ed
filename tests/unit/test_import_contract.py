"""The layering is a rule, not a habit: every import counts (lazy and TYPE_CHECKING ones too)."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[2] / "devenv"


def _module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imports(path: Path) -> set[str]:
    """Every module `path` imports anywhere in its body, absolute names."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
            found |= {f"{node.module}.{alias.name}" for alias in node.names}
    return found


MODULES = {_module_name(p): p for p in sorted(PACKAGE.rglob("*.py"))}
GRAPH = {
    name: {m for m in _imports(path) if m in MODULES and m != name}
    for name, path in MODULES.items()
}


# The stages in the order data flows: a module imports only its own stage and the ones before
# it (docs/architecture.md draws the picture). The package root is the ground.
STAGES = (
    "ground",  # errors, labels, reads, refs, registry, reporting, host, hostfiles
    "spec",  # what the user wrote
    "build",  # Dockerfile, context, build hash, lock file pins
    "engine",  # the one door: protocol, container shape, observed records, adapter
    "images",  # how images travel: bundles, listings, logins, the push log
    "converge",  # desired, plan, apply, readiness, work guard, the memo
    "formats",  # peers' formats in and out
    "commands",  # one module per verb
    "answers",  # converged commands answered from the memo
    "cli",  # typer wiring and output
)


def _stage(name: str) -> int:
    parts = name.split(".")
    return STAGES.index(parts[1]) if len(parts) > 2 or parts[-1] in STAGES else 0


def test_the_package_root_holds_only_the_ground() -> None:
    root = sorted(n for n in MODULES if n.count(".") == 1 and n.split(".")[1] not in STAGES)
    assert root == [
        "devenv.__main__",
        "devenv.errors",
        "devenv.host",
        "devenv.hostfiles",
        "devenv.labels",
        "devenv.reads",
        "devenv.refs",
        "devenv.registry",
        "devenv.reporting",
    ]


@pytest.mark.parametrize("name", sorted(n for n in MODULES if n != "devenv.__main__"))
def test_imports_flow_down_the_stages(name: str) -> None:
    upward = sorted(d for d in GRAPH[name] if _stage(d) > _stage(name))
    assert not upward, f"{name} ({STAGES[_stage(name)]}) imports later stages: {upward}"


def _third_party(name: str) -> set[str]:
    return {m.split(".")[0] for m in _imports(MODULES[name]) if not m.startswith("devenv")}


def test_only_the_engine_adapter_imports_docker() -> None:
    users = sorted(n for n in MODULES if _third_party(n) & {"docker", "requests", "urllib3"})
    assert users and all(n == "devenv.engine" or n.startswith("devenv.engine.") for n in users)


def test_the_spec_package_imports_nothing_of_devenv_but_the_ground_it_reads_with() -> None:
    """Besides errors: who the user is (their home, for `~`), the one door for files on this
    machine (bounded, no-follow) and the recorder of what loading read (the memo's inputs),
    which itself imports nothing."""
    allowed = (
        "devenv.spec",
        "devenv.errors",
        "devenv.host",
        "devenv.hostfiles",
        "devenv.reads",
    )
    for name in (n for n in MODULES if n.startswith("devenv.spec")):
        outside = {m for m in GRAPH[name] if m != "devenv" and not m.startswith(allowed)}
        assert not outside, f"{name} imports {sorted(outside)}"
    assert GRAPH["devenv.reads"] == set()


def test_nothing_imports_the_cli() -> None:
    for name, deps in GRAPH.items():
        if not name.startswith("devenv.cli") and name != "devenv.__main__":
            assert not {d for d in deps if d.startswith("devenv.cli")}, name


def test_only_the_cli_and_its_output_use_typer_and_rich() -> None:
    for name in MODULES:
        if not name.startswith("devenv.cli"):
            assert not _third_party(name) & {"typer", "rich", "click"}, name


@pytest.mark.parametrize("start", sorted(MODULES))
def test_no_import_cycles(start: str) -> None:
    """Depth-first from each module; a path back to `start` is a cycle."""
    stack, seen = [(start, [start])], set()
    while stack:
        name, path = stack.pop()
        for dep in GRAPH[name]:
            if dep == start:
                pytest.fail("import cycle: " + " → ".join([*path, dep]))
            if dep not in seen:
                seen.add(dep)
                stack.append((dep, [*path, dep]))
