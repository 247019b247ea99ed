"""Commands that bring users' existing setups in and take specs out: init, which."""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import Annotated, Any

import typer

from devenv.errors import DevenvError


def init(
    name: Annotated[str | None, typer.Argument(help="Env name for a starter spec.")] = None,
    source: Annotated[
        str | None,
        typer.Option(
            "--from", help="A container (name or ID), a devcontainer.json or a compose file."
        ),
    ] = None,
    out: Annotated[
        str | None, typer.Option("--output", "-o", help="Spec file, or folder (default envs/).")
    ] = None,
    service: Annotated[
        str | None, typer.Option("--service", help="Only this service of a compose file.")
    ] = None,
) -> None:
    """Write a commented starter spec, or specs from what you already run (--from)."""
    if source is None:
        _starter(name, out)
        return
    from devenv.commands.init import init_from

    for written in init_from(source, out, service):
        draft = written.draft
        sys.stdout.write(f"wrote {written.path} (env {draft.name}, from {draft.source})\n")
        for note in draft.notes:
            sys.stdout.write(f"  review: {note}\n")
        if "adopt" in draft.keys:
            sys.stdout.write(
                f"  apply replaces container {draft.name} with devenv's box "
                "(--snapshot keeps its changed files in an image first)\n"
            )
    sys.stdout.write("Review the spec(s), then: devenv plan PATH\n")


def _starter(name: str | None, out: str | None) -> None:
    from pathlib import Path

    from devenv.commands.init import check_valid, write_new
    from devenv.formats.starter import starter
    from devenv.spec.rules import env_name

    if name is None:
        raise DevenvError("init needs a NAME or --from SOURCE", "e.g. devenv init php")
    try:
        env_name(name)
    except ValueError as exc:
        raise DevenvError(f"{name!r} is not a valid env name", str(exc).split(": ", 1)[1]) from None
    path = Path(out) if out and not Path(out).is_dir() else Path(out or "envs") / f"{name}.yaml"
    write_new(path, starter(name, str(path)))
    check_valid(path)
    sys.stdout.write(f"wrote {path}; edit it, then: devenv plan {path}\n")


def which(pid: Annotated[int, typer.Argument(help="A process ID on this host.")]) -> None:
    """The env a host process belongs to (exit 1 when it is in none)."""
    from devenv.commands.which import which as find

    sys.stdout.write(find(pid) + "\n")


def render_as(fmt: str, paths: list[str], base_identity: Callable[[Any], str | None]) -> None:
    """The specs as a devcontainer.json, a compose file or Kubernetes manifests, naming the
    image apply builds."""
    from devenv.commands.porting import rendered

    sys.stdout.write(rendered(fmt, paths, base_identity))


def register(app: typer.Typer) -> None:
    app.command()(init)
    app.command()(which)
