"""What a peer's format cannot hold, written where that format lets a tool keep its own
data (`x-devenv` on a compose service, `customizations.devenv` in a devcontainer.json) and
read back by the importer, so `render --as` then `init --from` gives the spec again."""

from __future__ import annotations

import shlex
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from pathlib import Path

    from devenv.formats.composefile import Project
    from devenv.formats.draft import Draft


def hook_text(command: Any) -> str | list[str]:
    """A hook as the spec writes it: `sh -c TEXT` is the string TEXT, a list its words."""
    argv = shlex.split(command) if isinstance(command, str) else [str(w) for w in command]
    return argv[2] if len(argv) == 3 and argv[:2] == ["/bin/sh", "-c"] else argv


def read_post_start(draft: Draft, project: Project, svc: dict[str, Any]) -> None:
    """Compose's `post_start` hooks run after each start: the spec's `hooks.start`."""
    for entry in svc.get("post_start") or []:
        if entry.get("command"):
            hooks = draft.keys.setdefault("hooks", {})
            hooks.setdefault("start", []).append(hook_text(entry["command"]))


def read_compose_extension(draft: Draft, extension: Any, out_dir: Path) -> None:
    """`x-devenv` as devenv's compose output writes it (see exporters)."""
    if not isinstance(extension, dict):
        return


def read_devcontainer_extension(draft: Draft, config: dict[str, Any], out_dir: Path) -> None:
    """`customizations.devenv` as devenv's devcontainer.json output writes it."""
    extension = (config.get("customizations") or {}).get("devenv")
    if not isinstance(extension, dict):
        return
