"""Specs → Kubernetes manifests."""

from __future__ import annotations

from typing import Any

from devenv.errors import DevenvError


def manifests(
    boxes: list[tuple[str, str, dict[str, Any], list[str]]], specs: list[dict[str, Any]]
) -> str:
    raise DevenvError("--as kubernetes is not there yet", "use --as compose")
