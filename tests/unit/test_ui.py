"""Every kind of action a plan can hold is drawn (a kind without a symbol was a crash)."""

from __future__ import annotations

import typing

from devenv.cli.ui import SYMBOLS
from devenv.converge.plan import Kind


def test_every_plan_kind_has_a_symbol() -> None:
    assert set(typing.get_args(Kind)) == set(SYMBOLS)
