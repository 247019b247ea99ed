"""Shared helpers: write a spec into a temp folder and load it or collect its problems."""

from __future__ import annotations

import textwrap
from collections.abc import Callable
from pathlib import Path

import pytest

from devenv.errors import SpecError
from devenv.loader import SpecFile, load_all


@pytest.fixture
def write_spec(tmp_path: Path) -> Callable[..., Path]:
    def write(text: str, name: str = "box.yaml") -> Path:
        path = tmp_path / name
        path.write_text(textwrap.dedent(text))
        return path

    return write


@pytest.fixture
def load(write_spec: Callable[..., Path]) -> Callable[[str], SpecFile]:
    def _load(text: str) -> SpecFile:
        (spec_file,) = load_all([write_spec(text)])
        return spec_file

    return _load


@pytest.fixture
def problems(write_spec: Callable[..., Path]) -> Callable[[str], list[str]]:
    """The problems of a spec as 'line:col: message' strings (file name stripped)."""

    def _problems(text: str) -> list[str]:
        path = write_spec(text)
        with pytest.raises(SpecError) as info:
            load_all([path])
        return [f"{p.line}:{p.col}: {p.message}" for p in info.value.problems]

    return _problems
