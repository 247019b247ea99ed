"""A Dockerfile base: .dockerignore read as Docker reads it, the context hash (what changes
it and what does not), the spec's rules at file:line:col, the plan's reason, and render."""

from __future__ import annotations

import io
import re
import subprocess
import sys
import tarfile
from pathlib import Path

import pytest

from devenv.build import context as buildcontext
from devenv.build import dockerignore
from devenv.converge.plan import plan
from devenv.engine.observed import Observed, ObservedImage
from devenv.errors import DevenvError, SpecError
from devenv.host import Host
from devenv.spec.loader import load_all, load_file

ROOT = Path(__file__).resolve().parents[2]


def ignored(rules: str, path: str, dockerfile: str = "Dockerfile") -> bool:
    patterns = dockerignore.keep_build_files(dockerignore.parse(rules), dockerfile)
    return dockerignore.excluded(patterns, path)


@pytest.mark.parametrize(
    ("rules", "path", "out"),
    [
        ("*.log", "a.log", True),
        ("*.log", "sub/a.log", False),  # `*` stays in its folder, as in Docker
        ("**/*.log", "sub/deep/a.log", True),
        ("**/*.log", "a.log", True),
        ("node_modules", "node_modules/x/y.js", True),  # a folder takes all inside it
        ("/build", "build/out.o", True),  # a leading / is the context root
        ("./build/", "build/out.o", True),  # patterns are cleaned
        ("a?c", "abc", True),
        ("a?c", "a/c", False),
        ("docs/**", "docs/x/y.md", True),
        ("docs/**", "docsx", False),
        ("*\n!keep.txt", "keep.txt", False),  # exceptions re-include
        ("*\n!keep.txt\nkeep.txt", "keep.txt", True),  # the last match wins
        ("# *.py\n", "app.py", False),  # a comment
        ("  *.py  ", "app.py", True),  # surrounding spaces are trimmed
        ("src\n!src/keep", "src/keep", False),
        ("[ab].txt", "b.txt", True),
        ("a.b", "axb", False),  # a dot is a dot
        ("*", "Dockerfile", False),  # the Dockerfile and .dockerignore are always sent
        ("*", ".dockerignore", False),
        ("", "anything", False),
    ],
)
def test_dockerignore_matches_as_docker_does(rules: str, path: str, out: bool) -> None:
    assert ignored(rules, path) is out


def test_a_broken_dockerignore_line_is_one_sentence() -> None:
    with pytest.raises(dockerignore.PatternError, match="not a valid pattern"):
        ignored("[a", "a")
    with pytest.raises(dockerignore.PatternError, match="'!' alone"):
        dockerignore.parse("!\n")


def test_an_excluded_folder_is_walked_only_when_an_exception_names_inside_it() -> None:
    patterns = dockerignore.parse("node_modules\n!node_modules/keep\n")
    assert dockerignore.may_reinclude(patterns, "node_modules")
    assert not dockerignore.may_reinclude(dockerignore.parse("node_modules\n"), "node_modules")


def project(tmp_path: Path, extra: str = "") -> Path:
    """A spec beside an app folder with a Dockerfile, a source file and an ignored log."""
    app = tmp_path / "app"
    (app / "src").mkdir(parents=True)
    (app / "Dockerfile").write_text("FROM debian:bookworm AS dev\nCOPY src /src\n")
    (app / "src" / "main.py").write_text("print(1)\n")
    (app / "debug.log").write_text("noise\n")
    (app / ".dockerignore").write_text("*.log\n")
    spec = tmp_path / "box.yaml"
    spec.write_text(f"base: {{dockerfile: app/Dockerfile, context: app{extra}}}\n")
    return spec


def digest(spec: Path) -> str:
    return buildcontext.resolve(load_file(spec)).digest


def test_the_context_hash_follows_included_files_only(tmp_path: Path) -> None:
    spec = project(tmp_path)
    first = digest(spec)
    (tmp_path / "app" / "debug.log").write_text("more noise\n")
    assert digest(spec) == first  # ignored: no rebuild
    (tmp_path / "app" / "src" / "main.py").write_text("print(2)\n")
    second = digest(spec)
    assert second != first
    (tmp_path / "app" / ".dockerignore").write_text("*.log\n# a comment\n")
    assert digest(spec) != second  # .dockerignore itself always counts
    (tmp_path / "app" / "src" / "main.py").chmod(0o755)
    third = digest(spec)
    (tmp_path / "app" / "src" / "main.py").chmod(0o775)  # group bits: not a build input
    assert digest(spec) == third


def test_args_and_target_are_in_the_hash(tmp_path: Path) -> None:
    plain = digest(project(tmp_path / "a"))
    with_arg = digest(project(tmp_path / "b", ", args: {V: 1}"))
    with_target = digest(project(tmp_path / "c", ", target: dev"))
    assert len({plain, with_arg, with_target}) == 3
    assert digest(project(tmp_path / "d")) == plain  # the same inputs elsewhere: same hash


def test_the_tar_holds_exactly_what_was_hashed(tmp_path: Path) -> None:
    ctx = buildcontext.resolve(load_file(project(tmp_path)))
    out = io.BytesIO()
    buildcontext.write_tar(ctx, out)
    out.seek(0)
    with tarfile.open(fileobj=out) as tar:
        names = sorted(tar.getnames())
        assert {m.mtime for m in tar.getmembers()} == {0}
    assert names == [".dockerignore", "Dockerfile", "src", "src/main.py"]


def test_a_dockerfile_outside_the_context_travels_with_it(tmp_path: Path) -> None:
    spec = project(tmp_path)
    (tmp_path / "Dockerfile.dev").write_text("FROM debian:bookworm\n")
    spec.write_text("base: {dockerfile: Dockerfile.dev, context: app}\n")
    ctx = buildcontext.resolve(load_file(spec))
    assert ctx.dockerfile_name == buildcontext.OUTSIDE_NAME
    assert buildcontext.OUTSIDE_NAME in {e.path for e in ctx.entries}


@pytest.mark.parametrize(
    ("base", "expected"),
    [
        (
            "{dockerfile: nope/Dockerfile}",
            "1:20: base.dockerfile: 'nope/Dockerfile' is not a file: no Dockerfile there",
        ),
        (
            "{dockerfile: app/Dockerfile, context: gone}",
            "1:45: base.context: 'gone' is not a folder",
        ),
        (
            "{dockerfile: app/Dockerfile, args: {1X: a}}",
            "1:42: base.args: '1X' is not valid: use letters, digits and '_'",
        ),
        (
            "{dockerfile: app/Dockerfile, target: 'my stage'}",
            "1:44: base.target: 'my stage' is not valid: use a build stage name",
        ),
        (
            "{dockerfile: app/Dockerfile, image: debian:bookworm}",
            "1:7: base: base needs exactly one of 'image', 'bootstrap' or 'dockerfile'",
        ),
        ("{image: debian:bookworm, target: dev}", "1:7: base: 'target' applies to 'dockerfile'"),
    ],
)
def test_bad_dockerfile_bases_fail_at_file_line_col(
    tmp_path: Path, base: str, expected: str
) -> None:
    project(tmp_path)
    spec = tmp_path / "box.yaml"
    spec.write_text(f"base: {base}\n")
    with pytest.raises(SpecError) as info:
        load_all([spec])
    shown = [f"{p.line}:{p.col}: {p.message}" for p in info.value.problems]
    assert any(s.startswith(expected) for s in shown), shown


def test_missing_files_and_unknown_stages_are_one_sentence_at_plan_time(tmp_path: Path) -> None:
    spec = project(tmp_path, ", target: dev")
    loaded = load_file(spec)
    (tmp_path / "app" / "Dockerfile").write_text("FROM debian:bookworm AS build\n")
    with pytest.raises(DevenvError, match=r"base.target 'dev' is not a stage .*stages: build"):
        buildcontext.resolve(loaded)
    (tmp_path / "app" / "Dockerfile").unlink()
    with pytest.raises(DevenvError, match=r"box: its Dockerfile .*/app/Dockerfile does not exist"):
        buildcontext.resolve(loaded)


def test_plan_names_the_context_file_that_changed(tmp_path: Path) -> None:
    from devenv.converge.desired import desire

    spec = project(tmp_path)
    loaded = load_file(spec)
    host = Host.current()
    first = desire(loaded, Observed(), host)
    assert first.rendered.base.startswith("devenv-base/dockerfile:")
    base_labels = {
        "io.devenv.managed": "true",
        "io.devenv.kind": "base",
        "io.devenv.spec": str(loaded.path),
        buildcontext.MANIFEST_LABEL: buildcontext.manifest_label(buildcontext.resolve(loaded)),
    }
    old_base = ObservedImage("sha256:" + "1" * 64, ("devenv-base/dockerfile:old",), (), base_labels)
    (tmp_path / "app" / "src" / "main.py").write_text("print(2)\n")
    (tmp_path / "app" / "src" / "new.py").write_text("x = 1\n")
    want = desire(loaded, Observed(images=(old_base,)), host)
    (action,) = [a for a in plan([want], Observed(images=(old_base,))).actions if a.kind == "build"]
    assert action.reasons == ("Dockerfile context changed (src/main.py, src/new.py added)",)
    fresh = plan([first], Observed()).actions[0]
    assert fresh.reasons == ("its Dockerfile base is not built yet",)


def test_render_shows_devenvs_layers_from_the_base_build(tmp_path: Path) -> None:
    spec = project(tmp_path)
    spec.write_text(spec.read_text() + "apt: {packages: [busybox]}\n")
    shown = subprocess.run(
        [sys.executable, "-m", "devenv", "render", str(spec)],
        capture_output=True,
        text=True,
        cwd=ROOT,
        check=False,
    )
    assert shown.returncode == 0, shown.stderr
    tag = "devenv-base/dockerfile:" + digest(spec)[:12]
    assert shown.stdout.splitlines()[1] == f"FROM {tag}"
    assert "apt-get install -y --no-install-recommends busybox" in shown.stdout
    hashed = subprocess.run(
        [sys.executable, "-m", "devenv", "render", "--hash", str(spec)],
        capture_output=True,
        text=True,
        cwd=ROOT,
        check=False,
    )
    assert hashed.returncode == 0 and hashed.stderr == "", hashed.stderr  # no engine needed


def test_a_pattern_of_many_wildcards_is_matched_in_linear_time() -> None:
    """Issue 19: `a/` then `**/` 22 times then `b` hung Python's backtracking regex, where
    docker build (Go's linear regexp) takes 0.2 s."""
    import time

    rule = "a/" + "**/" * 22 + "b"
    started = time.monotonic()
    assert not ignored(rule, "a/" + "x/" * 40 + "c")
    assert ignored(rule, "a/" + "x/" * 40 + "b")
    assert not ignored("*a*a*a*a*a*a*a*a*a*a*a*a*b", "a" * 3000)
    assert time.monotonic() - started < 2


PATTERNS = [
    "*.log", "**/*.log", "a/**/b", "a/**/b/**/c", "docs/**", "a?c", "[ab].txt", "*/*/x",
    "**/node_modules/**", "a*b*c", "x/**/*.py", "\\*.md", "[!a]x", "a/**/x/**",
    "a*/**/b?", "[a-c]*/**/*",
]  # fmt: skip
PATHS = [
    "a.log", "sub/a.log", "a/b", "a/x/y/b", "a/b/c", "a/x/b/y/c", "docs/x", "abc", "a/c",
    "b.txt", "p/q/x", "node_modules/x", "deep/node_modules/y/z", "axbyc", "x/y/z.py",
    "*.md", "bx", "ax", "a", "",
]  # fmt: skip


@pytest.mark.parametrize("text", PATTERNS)
def test_the_simulation_agrees_with_the_regex(text: str) -> None:
    """The two ways of matching a pattern give one answer on every path."""
    kind, source, tokens = dockerignore._compile(text)
    if kind != "regexp":  # matched by comparing text, not by either
        return
    regex = re.compile(source, re.DOTALL)
    for path in PATHS:
        assert dockerignore._simulate(tokens, path) == bool(regex.fullmatch(path)), (text, path)
