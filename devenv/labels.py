"""Label names, canonical JSON and hashes: the state devenv keeps on what it creates.

There is no state file: everything devenv needs to plan lives in these labels on the
engine's objects, and ownership is decided by `MANAGED` alone.
"""

from __future__ import annotations

import json
from typing import Any

from devenv import reads

MANAGED = "io.devenv.managed"
ENV = "io.devenv.env"
SPEC = "io.devenv.spec"
PROJECT = "io.devenv.project"
CONFIG = "io.devenv.config"
CONFIG_HASH = "io.devenv.config-hash"
BUILD_HASH = "io.devenv.build-hash"
VERSION = "io.devenv.version"
HOST_KEY = "io.devenv.host-key"  # on a box: the fingerprint of the SSH host key it was given
KIND = "io.devenv.kind"  # image kinds: "env", "base", "snapshot"


def canonical_json(value: Any) -> str:
    """JSON that is byte-identical for equal values: sorted keys, no spaces."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=True)


def digest(value: Any) -> str:
    import hashlib  # here: the fast path reads labels but never hashes with them

    return hashlib.sha256(canonical_json(value).encode()).hexdigest()


def extra_labels() -> dict[str, str]:
    """Labels from DEVENV_LABELS (k=v,k=v), put on everything devenv creates (tests use it)."""
    raw = reads.environ("DEVENV_LABELS") or ""
    pairs = (item.split("=", 1) for item in raw.split(",") if "=" in item)
    return {key.strip(): value.strip() for key, value in pairs if key.strip()}


def ownership(labels: dict[str, str]) -> dict[str, str]:
    """The labels of something devenv creates: DEVENV_LABELS, `MANAGED`, then `labels`."""
    return {**extra_labels(), MANAGED: "true", **labels}


def owned(labels: dict[str, str] | None) -> bool:
    return bool(labels) and (labels or {}).get(MANAGED) == "true"


def label_instructions(labels: dict[str, str]) -> list[str]:
    """LABEL lines for import/commit, quoted so no value can break or extend them."""
    return [f"LABEL {json.dumps(k)}={json.dumps(v)}" for k, v in sorted(labels.items())]
