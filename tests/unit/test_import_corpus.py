"""Real devcontainer.json and compose files from public projects (tests/corpus/imports, sources
in its SOURCES.md): each imports without aborting, every spec written validates as written
with its variables unset, and what did not carry over is exactly the listing reviewed once and
pinned in expected.json. DEVENV_PIN_CORPUS=1 rewrites that file (review the diff)."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
import yaml

from devenv.commands.init import init_from
from devenv.formats.settle import SourceVariables
from devenv.spec.hostpaths import shared_host_path
from devenv.spec.loader import load_file, same_host_port

CORPUS = Path(__file__).resolve().parents[1] / "corpus" / "imports"
EXPECTED = CORPUS / "expected.json"
SOURCES = [
    line.split("`")[1]
    for line in (CORPUS / "SOURCES.md").read_text().splitlines()
    if line.startswith("| `") and "(imported)" in line
]


def test_the_corpus_holds_at_least_forty_real_files() -> None:
    assert len(SOURCES) >= 40
    kinds = {"devcontainer" if s.endswith(".json") else "compose" for s in SOURCES}
    assert kinds == {"devcontainer", "compose"}


def _listing(source: str, out: Path) -> dict[str, list[str]]:
    written = init_from(str(CORPUS / source), str(out) + os.sep, None)
    listing, ports = {}, []
    for spec in written:
        data = yaml.safe_load(spec.path.read_text())
        spec_file = load_file(spec.path, SourceVariables(data.get("env") or {}))
        for index in range(len(spec_file.spec.shared)):
            shared_host_path(spec_file, index)  # validate's refusals too
        for port in spec_file.spec.ports:  # validate of the folder: one box per host port
            assert not any(same_host_port(port, p) for p in ports), (spec.path, port)
        ports += spec_file.spec.ports
        listing[spec.draft.name] = [
            note.replace(str(CORPUS), "<corpus>").replace(str(out), "<out>")
            for note in spec.draft.notes
        ]
    return listing


@pytest.mark.parametrize("source", SOURCES)
def test_a_real_file_imports_and_lists_what_it_left(
    source: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HOME", "/home/corpus")  # `~` in a listing reads the same everywhere
    listing = _listing(source, tmp_path / "envs")
    expected = json.loads(EXPECTED.read_text()) if EXPECTED.exists() else {}
    if os.environ.get("DEVENV_PIN_CORPUS"):
        pinned = {**expected, source: listing}
        EXPECTED.write_text(json.dumps(dict(sorted(pinned.items())), indent=1) + "\n")
        return
    assert listing == expected[source]
