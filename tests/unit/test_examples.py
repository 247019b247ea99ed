"""The shipped examples and schema stay valid and in sync."""

from __future__ import annotations

import json
from pathlib import Path

from devenv.spec.loader import load_all
from devenv.spec.schema import schema_text

ROOT = Path(__file__).resolve().parents[2]


def test_every_example_env_validates() -> None:
    names = {spec_file.spec.name for spec_file in load_all([ROOT / "envs"])}
    assert {"php", "minimal"} <= names


def test_committed_schema_matches_the_models() -> None:
    committed = (ROOT / "schemas" / "devenv.schema.json").read_text()
    assert committed == schema_text(), "run: devenv schema > schemas/devenv.schema.json"


def test_schema_accepts_the_short_forms_users_write() -> None:
    schema = json.loads(schema_text())
    port_forms = {alt.get("type", "object") for alt in schema["$defs"]["Port"]["anyOf"]}
    assert {"integer", "string", "object"} <= port_forms
    assert "name" not in schema.get("required", [])
