"""What a test needs from the machine. A missing prerequisite skips the test on a developer's
machine and fails it under CI (CI non-empty), where everything is installed and runs as root:
there a skip would hide a test that never ran."""

from __future__ import annotations

import os
from typing import NoReturn

import pytest


def under_ci() -> bool:
    return bool(os.environ.get("CI"))


def skip_or_fail(why: str) -> NoReturn:
    """Give up on this test: fail under CI, skip elsewhere."""
    if under_ci():
        pytest.fail(f"CI is set and {why}", pytrace=False)
    pytest.skip(why)


def need_root(why: str) -> None:
    """Go on only as root (CI runs as root)."""
    if os.geteuid() != 0:
        skip_or_fail(f"not root: {why}")
