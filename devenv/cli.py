"""Typer wiring only. The one place that prints errors and exits; heavy imports stay inside
commands so that `devenv --help` and a no-op plan start fast."""

from __future__ import annotations

import sys
from typing import Annotated, NoReturn

import typer

from devenv.errors import DevenvError, SpecError

app = typer.Typer(
    help="Declarative dev environments: describe a box once in YAML, devenv makes Docker match.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)

Paths = Annotated[list[str], typer.Argument(help="Spec files or folders of them.")]
OnePath = Annotated[str, typer.Argument(help="A spec file.")]
Yes = Annotated[bool, typer.Option("--yes", "-y", help="Do not ask; needed without a TTY.")]
Json = Annotated[bool, typer.Option("--json", help="Machine-readable output.")]


def fail(message: str, code: int = 1) -> NoReturn:
    sys.stderr.write(message.rstrip("\n") + "\n")
    raise typer.Exit(code)


@app.callback()
def _global(
    host: Annotated[
        str | None, typer.Option("--host", "-H", envvar="DOCKER_HOST", help="Docker engine URL.")
    ] = None,
) -> None:
    if host:
        import os

        os.environ["DOCKER_HOST"] = host


@app.command()
def validate(paths: Paths) -> None:
    """Check specs; print file:line:col for every problem."""
    from devenv.loader import load_all

    specs = load_all(paths)
    for spec_file in specs:
        sys.stdout.write(f"{spec_file.path}: ok ({spec_file.spec.name})\n")


@app.command()
def render(
    path: OnePath,
    show_hash: Annotated[
        bool, typer.Option("--hash", help="Print the build hash and tag.")
    ] = False,
) -> None:
    """Print the Dockerfile a spec renders to (or, with --hash, its build hash)."""
    from devenv.loader import load_all
    from devenv.render import image_tag, render

    (spec_file,) = load_all([path])
    rendered = render(spec_file.spec)
    if show_hash:
        sys.stdout.write(
            f"{rendered.build_hash}  {image_tag(spec_file.spec.name, rendered.build_hash)}\n"
        )
    else:
        sys.stdout.write(rendered.dockerfile)


@app.command()
def schema() -> None:
    """Print the JSON Schema of the spec (the same text as schemas/devenv.schema.json)."""
    from devenv.schema import schema_text

    sys.stdout.write(schema_text())


def _die(message: str, code: int = 1) -> NoReturn:
    sys.stderr.write(message.rstrip("\n") + "\n")
    sys.exit(code)


def main() -> None:
    """Entry point: click handles usage errors; every DevenvError becomes one clear line, exit 1."""
    try:
        app()
    except SpecError as exc:
        _die(str(exc))
    except DevenvError as exc:
        _die(f"devenv: {exc.message}" + (f"\n  hint: {exc.hint}" if exc.hint else ""))
    except KeyboardInterrupt:
        _die("devenv: interrupted", 130)


if __name__ == "__main__":
    main()
