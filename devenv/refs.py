"""Image references and label lines as the engine API takes them. Pure."""

from __future__ import annotations

import json


def label_instructions(labels: dict[str, str]) -> list[str]:
    """LABEL lines for import/commit, quoted so no value can break or extend them."""
    return [f"LABEL {json.dumps(k)}={json.dumps(v)}" for k, v in sorted(labels.items())]


def split_ref(ref: str) -> tuple[str, str]:
    """'reg:5000/a/b:tag' → ('reg:5000/a/b', 'tag'); no tag → 'latest'."""
    if "@" in ref:
        repo, digest = ref.split("@", 1)
        return repo, digest
    head, _, last = ref.rpartition("/")
    if ":" in last:
        name, tag = last.split(":", 1)
        return (f"{head}/{name}" if head else name), tag
    return ref, "latest"
