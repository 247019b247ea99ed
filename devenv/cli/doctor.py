"""`devenv doctor`: Typer wiring for the engine and host checks (devenv.commands.doctor)."""

from __future__ import annotations

import sys
from typing import Annotated

import typer


def register(app: typer.Typer) -> None:
    @app.command()
    def doctor(
        paths: Annotated[list[str] | None, typer.Argument(help="Also check these specs.")] = None,
        as_json: Annotated[bool, typer.Option("--json", help="Machine-readable output.")] = False,
    ) -> None:
        """Check the engine and this host (and the specs' needs): one line each, with a hint."""
        import json

        from devenv.commands.doctor import healthy, render, run

        findings = run(paths or [])
        if as_json:
            sys.stdout.write(json.dumps([f.to_dict() for f in findings], indent=2) + "\n")
        else:
            sys.stdout.write(render(findings))
        if not healthy(findings):
            raise typer.Exit(1)
