"""A secret in a variable on the real engine: the box gets it, labels and plans never show it,
a new value recreates the box, and a missing one is an error at file:line:col."""

from __future__ import annotations

import json

SPEC = """\
name: {name}
base: debian:bookworm
env:
  SECRET: ${{SECRET}}
  GREETING: "${{GREETING:-hello}}"
"""
FIRST, SECOND = "s3cret-first-7f1c", "s3cret-second-92ab"


def test_a_secret_reaches_the_box_and_nothing_else(  # type: ignore[no-untyped-def]
    devenv, devenv_env, docker_client, spec_dir, name
) -> None:
    spec = spec_dir(name, SPEC.format(name=name))
    (spec.parent / ".env").write_text("GREETING='from dotenv'\n")
    devenv_env["SECRET"] = FIRST

    validated = devenv("validate", str(spec))
    assert validated.out.strip().endswith(f"ok ({name}) — variables: GREETING, SECRET")
    applied = devenv("apply", str(spec))
    assert applied.code == 0, applied.err
    assert FIRST not in applied.out + applied.err
    shown = devenv("shell", str(spec), "--", "printenv", "SECRET", "GREETING")
    assert shown.out.split("\n")[:2] == [FIRST, "from dotenv"], shown.err
    labels = docker_client.containers.get(name).labels
    assert FIRST not in json.dumps(labels)
    assert json.loads(labels["io.devenv.config"])["env"]["SECRET"]["from"] == "${SECRET}"
    assert devenv("plan", "--detailed-exitcode", str(spec)).code == 0

    devenv_env["SECRET"] = SECOND  # a new value: a change, shown by name only
    changed = devenv("plan", "--detailed-exitcode", str(spec))
    assert changed.code == 2, changed.err
    assert "SECRET changed (from ${SECRET})" in changed.out
    as_json = devenv("plan", "--json", str(spec))
    for text in (changed.out, changed.err, as_json.out):
        assert FIRST not in text and SECOND not in text

    recreated = devenv("apply", "--yes", str(spec))
    assert recreated.code == 0, recreated.err
    assert SECOND not in recreated.out + recreated.err
    assert devenv("shell", str(spec), "--", "printenv", "SECRET").out.strip() == SECOND

    del devenv_env["SECRET"]  # no value, no default: an error where the reference is
    missing = devenv("plan", str(spec))
    assert missing.code == 1
    assert f"{spec}:4:11: env.SECRET: variable SECRET is not set" in missing.err
