"""The spec commands as a user runs them: `devenv validate`, `render`, `render --hash`, `schema`.

Each runs `python -m devenv` in a subprocess from the checkout (no engine needed): errors are
`file:line:col: message` lines on stderr with exit 1, and never a traceback.
"""

from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path

from devenv.build.render import render
from devenv.spec.loader import load_all
from tests.conftest import run_cli

ROOT = Path(__file__).resolve().parents[2]


devenv = run_cli


def assert_clean_failure(result: subprocess.CompletedProcess[str]) -> list[str]:
    """Exit 1, something said on stderr, and no traceback; returns the stderr lines."""
    assert "Traceback" not in result.stderr, result.stderr
    assert result.returncode == 1, (result.returncode, result.stderr)
    assert result.stderr.strip()
    return result.stderr.splitlines()


def test_validate_reports_every_problem_as_file_line_col(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("name: Web\nports:\n  - 70000\napt:\n  pakages: [git]\n")
    shown = os.path.relpath(bad, ROOT)  # the file is named as the user wrote it
    result = devenv("validate", shown)
    assert assert_clean_failure(result) == [
        f"{shown}:1:7: name: 'Web' is not valid: use lowercase letters, digits, '.', '_' or '-', "
        "starting with a letter or digit (e.g. php-8)",
        f"{shown}:3:5: ports[0].container: 70000 is out of range "
        "(input should be less than or equal to 65535)",
        f"{shown}:5:3: unknown key 'pakages' (did you mean 'packages'?)",
    ]


def test_validate_accepts_the_example_envs() -> None:
    result = devenv("validate", "envs/")
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""


def test_validate_checks_every_file_it_is_given(tmp_path: Path) -> None:
    (tmp_path / "good.yaml").write_text("name: good\n")
    (tmp_path / "bad.yml").write_text("ports: ['8080:80', '8080:81']\n")
    (tmp_path / "notes.txt").write_text("not: [a spec\n")  # not *.yaml: not read
    result = devenv("validate", "envs/php.yaml", tmp_path)
    assert assert_clean_failure(result) == [
        f"{tmp_path / 'bad.yml'}:1:20: ports: entry 2 publishes host port 8080 again "
        "(entry 1 already does)"
    ]


def test_validate_reports_a_name_used_twice_across_files(tmp_path: Path) -> None:
    (tmp_path / "php.yaml").write_text("base: debian:bookworm\n")  # named php by its stem
    result = devenv("validate", "envs/php.yaml", tmp_path / "php.yaml")
    assert assert_clean_failure(result) == [
        f"{tmp_path / 'php.yaml'}:1:1: env name 'php' is already used by envs/php.yaml"
    ]


BROKEN_FILES = {
    "empty.yaml": (b"", "1:1: file is empty; a spec needs at least a base or a name"),
    "comment.yaml": (
        b"# only a comment\n",
        "1:1: file is empty; a spec needs at least a base or a name",
    ),
    "binary.yaml": (
        b"\x7fELF\x02\x01\x01\x00\x00",
        "1:1: character 0x007f is not allowed in YAML (is this a binary file?)",
    ),
    "latin1.yaml": (b"name: a\nbase: \xff\xfe\x00\x01\n", "2:7: file is not UTF-8 text"),
    "syntax.yaml": (
        b"name: a\nbase: [debian\n",
        "3:1: YAML syntax error: while parsing a flow sequence, "
        "expected ',' or ']', but got '<stream end>'",
    ),
}


def test_validate_never_shows_a_traceback(tmp_path: Path) -> None:
    for name, (content, _) in BROKEN_FILES.items():
        (tmp_path / name).write_bytes(content)
    lines = assert_clean_failure(devenv("validate", *(tmp_path / n for n in BROKEN_FILES)))
    assert lines == [
        f"{tmp_path / name}:{expected}" for name, (_, expected) in BROKEN_FILES.items()
    ]


def test_a_missing_path_is_one_clear_line(tmp_path: Path) -> None:
    missing = tmp_path / "nope.yaml"
    (line,) = assert_clean_failure(devenv("validate", missing))
    assert str(missing) in line
    assert "no such file" in line


def test_a_folder_without_specs_is_one_clear_line(tmp_path: Path) -> None:
    (line,) = assert_clean_failure(devenv("validate", tmp_path))
    assert str(tmp_path) in line
    assert "no *.yaml or *.yml spec files" in line


def test_render_prints_the_dockerfile() -> None:
    result = devenv("render", "envs/php.yaml")
    assert result.returncode == 0, result.stderr
    first, second, *_ = result.stdout.splitlines()
    assert first.startswith("# ")
    assert second.startswith("FROM ")
    assert result.stdout == render(load_all([ROOT / "envs" / "php.yaml"])[0].spec).dockerfile


def test_render_hash_prints_the_build_hash_and_image_tag() -> None:
    # no engine: the base is named by its reference, and the output says the tag may differ
    result = devenv("render", "--hash", "envs/php.yaml", docker_host="unix:///nonexistent.sock")
    assert result.returncode == 0, result.stderr
    assert "its tag may differ" in result.stderr
    full = re.findall(r"\b[0-9a-f]{64}\b", result.stdout)
    tags = re.findall(r"\bdevenv/php:([0-9a-f]{12})\b", result.stdout)
    expected = render(load_all([ROOT / "envs" / "php.yaml"])[0].spec).build_hash
    assert full == [expected]
    assert tags == [expected[:12]]


def test_render_of_a_bad_spec_is_located(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("run:\n  - echo ok\n  - ''\n")
    assert assert_clean_failure(devenv("render", bad)) == [
        f"{bad}:3:5: run[1]: a run step is empty: give it a shell command (e.g. make install)"
    ]


def test_schema_prints_the_committed_schema() -> None:
    result = devenv("schema")
    assert result.returncode == 0, result.stderr
    assert result.stdout == (ROOT / "schemas" / "devenv.schema.json").read_text()


def test_validate_refuses_sharing_a_system_folder(tmp_path: Path) -> None:
    spec = tmp_path / "box.yaml"
    spec.write_text("shared: ['/etc:/host-etc']\n")
    result = devenv("validate", spec)
    assert result.returncode == 1 and "Traceback" not in result.stderr
    assert "resolves to /etc, a system location" in result.stderr


def test_a_one_spec_command_given_a_folder_of_several_is_one_clear_line(tmp_path: Path) -> None:
    (tmp_path / "a.yaml").write_text("name: aa\n")
    (tmp_path / "b.yaml").write_text("name: bb\n")
    lines = assert_clean_failure(devenv("render", tmp_path))
    assert lines == [
        f"devenv: {tmp_path}: holds 2 specs (aa, bb); this command takes one",
        "  hint: name one spec file",
    ]
    (tmp_path / "b.yaml").unlink()  # a folder holding exactly one spec names it
    assert devenv("render", tmp_path).returncode == 0
