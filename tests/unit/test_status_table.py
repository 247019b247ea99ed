"""The status table, drawn by one renderer for both paths: what a user sees in each state."""

from __future__ import annotations

import json

from devenv.commands.status import NO_ENVS, StatusRow, as_json, as_table

RUNNING = StatusRow(
    "php", "running", "devenv/php:abc", ("127.0.0.1:8080->80/tcp",), "/p/php.yaml", in_sync=True
)
FAILING = StatusRow(
    "web",
    "restarting",
    "devenv/web:def",
    spec="/p/web.yaml",
    condition="restarting (exit 3, 5 restarts)",
    failing=True,
    exit_code=3,
    restarts=5,
)
DRIFTED = StatusRow(
    "db",
    "running",
    "devenv/db:123",
    spec="/p/db.yaml",
    drift=("recreate: ports 1 → 2",),
    in_sync=False,
)


def test_columns_line_up_and_each_state_is_said_in_words() -> None:
    lines = as_table([RUNNING, FAILING, DRIFTED], colour=False).splitlines()
    assert lines[0].split() == ["ENV", "STATE", "IMAGE", "PORTS", "SPEC"]
    image_column = lines[0].index("IMAGE")
    assert all(line[image_column:].startswith("devenv/") for line in lines[1:4])
    assert "running (in sync)" in lines[1]
    assert "restarting (exit 3, 5 restarts) (failing)" in lines[2]
    assert "running (drifted)" in lines[3]
    assert lines[4] == "  db: recreate: ports 1 → 2"


def test_colour_marks_the_state_only() -> None:
    drawn = as_table([RUNNING, FAILING], colour=True)
    assert "\x1b[32mrunning\x1b[0m (in sync)" in drawn
    assert "\x1b[31mrestarting (exit 3, 5 restarts)\x1b[0m (failing)" in drawn
    assert "\x1b[1mENV" in drawn
    assert "\x1b" not in as_table([RUNNING, FAILING], colour=False)


def test_foreign_text_is_printed_literally() -> None:
    """A spec path or image name with a terminal escape cannot drive the user's terminal."""
    planted = RUNNING._replace(spec="/p/\x1b]0;owned\x07x.yaml", image="[bold]img:x:")
    drawn = as_table([planted], colour=False)
    assert "\x1b" not in drawn and "\x07" not in drawn
    assert "/p/?]0;owned?x.yaml" in drawn and "[bold]img:x:" in drawn


def test_wide_characters_keep_the_columns_aligned() -> None:
    wide = RUNNING._replace(env="開発")  # two characters, four cells
    lines = as_table([wide, RUNNING], colour=False).splitlines()
    assert lines[1].index("running") + 2 == lines[2].index("running")  # 2 chars, 4 cells
    assert lines[0].index("STATE") == lines[2].index("running")


def test_no_envs_and_json() -> None:
    assert as_table([], colour=True) == NO_ENVS
    found = json.loads(as_json([FAILING]))
    assert found == [
        {
            "env": "web",
            "state": "restarting",
            "image": "devenv/web:def",
            "ports": [],
            "spec": "/p/web.yaml",
            "drift": [],
            "in_sync": None,
            "condition": "restarting (exit 3, 5 restarts)",
            "failing": True,
            "exit_code": 3,
            "restarts": 5,
            "previous": False,
        }
    ]
