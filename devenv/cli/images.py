"""Typer wiring for the image commands: login/logout, push, export/import, tag, images, prune.

Wiring only, like devenv.cli.app: the work is in devenv.commands.images, devenv.commands.transfer and
devenv.images.credentials, imported inside each command so `devenv --help` stays fast. Errors are
raised as DevenvError and printed by devenv.cli.app.main. `register(app)` adds the commands.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from devenv.images.listing import ImageRow

import sys
from pathlib import Path
from typing import Annotated

import typer

from devenv.cli.options import Json, OnePath, Paths, Yes, ask, fail

Registry = Annotated[str, typer.Argument(help="Registry host[:port], e.g. 127.0.0.1:5000.")]


def login(
    registry: Registry,
    username: Annotated[str | None, typer.Option("--username", "-u", help="User name.")] = None,
    password_stdin: Annotated[
        bool, typer.Option("--password-stdin", help="Read the password from stdin.")
    ] = False,
) -> None:
    """Log in to a registry; the login is checked, then stored where docker keeps it."""
    import getpass

    from devenv.engine import Engine
    from devenv.images import credentials
    from devenv.registry import server_key

    key = server_key(registry)
    if password_stdin:
        if not username:
            fail("devenv: --password-stdin needs the user name too (-u USER)")
        password = sys.stdin.read().rstrip("\r\n")
    else:
        if not sys.stdin.isatty():
            fail(
                "devenv: no terminal to ask for the password; "
                "pipe it in with --password-stdin (and -u USER)"
            )
        username = username or typer.prompt("Username", default=credentials.lookup(key))
        password = getpass.getpass("Password: ")
    if not password:
        fail("devenv: the password is empty")
    assert username is not None
    Engine().login(key, username, password)
    where = credentials.store(key, username, password)
    sys.stdout.write(f"Logged in to {key} as {username} (stored in {where})\n")


def logout(registry: Registry) -> None:
    """Forget the login for a registry (for docker too: it is the same login)."""
    from devenv.images import credentials
    from devenv.registry import server_key

    key = server_key(registry)
    if credentials.erase(key):
        sys.stdout.write(f"Logged out of {key}\n")
    else:
        sys.stdout.write(f"Not logged in to {key}\n")


def push(
    paths: Paths,
    to: Annotated[
        str | None,
        typer.Option("--to", help="REGISTRY/NAMESPACE; default: the spec's image_cache."),
    ] = None,
) -> None:
    """Push each env's image under its build-hash tag and `latest` (building it if needed)."""
    from devenv.cli import ui
    from devenv.commands.images import push_envs

    reporter = ui.ConsoleReporter()
    with reporter.live():
        pushed = push_envs(paths, to, reporter)
    for item in pushed:
        sys.stdout.write(f"{item.env}: pushed {item.ref} ({item.digest or 'no digest'})\n")


def export(
    paths: Paths,
    output: Annotated[Path, typer.Option("--output", "-o", help="The bundle file to write.")],
) -> None:
    """Write the envs' images and specs into one bundle file, for machines without a network."""
    from devenv.cli import ui
    from devenv.commands.transfer import export_envs

    reporter = ui.ConsoleReporter()
    with reporter.live():
        manifest = export_envs(paths, output, reporter)
    names = ", ".join(env.name for env in manifest.envs)
    size = output.stat().st_size
    sys.stdout.write(f"wrote {output}: {names} ({size / 1e6:.1f} MB)\n")
    for note in manifest.skipped:
        sys.stderr.write(f"devenv: not in the bundle: {note}\n")


def import_(
    bundle: Annotated[Path, typer.Argument(help="A bundle written by `devenv export`.")],
    to: Annotated[Path, typer.Option("--to", help="Folder to write the specs into.")] = Path(
        "envs"
    ),
) -> None:
    """Check a bundle, load its images into the engine and write its specs to --to."""
    from devenv.commands.transfer import import_bundle
    from devenv.engine import Engine

    for line in import_bundle(bundle, to, Engine()):
        sys.stdout.write(line + "\n")


def tag(
    path: OnePath,
    new_ref: Annotated[str, typer.Argument(help="The new name, e.g. team/php:v1.")],
) -> None:
    """Give an env's current image another name (devenv's own name stays)."""
    from devenv.commands.images import tag_env

    sys.stdout.write(tag_env(path, new_ref) + "\n")


def images(
    paths: Annotated[list[str] | None, typer.Argument(help="Limit to these specs.")] = None,
    as_json: Json = False,
) -> None:
    """devenv's images: env, build hash, size, created, in use by, pushed to."""
    import json

    from devenv.commands.images import env_names, image_rows
    from devenv.engine import Engine

    found = image_rows(Engine(), env_names(paths) if paths else ())
    if as_json:
        sys.stdout.write(json.dumps([row.to_dict() for row in found], indent=2) + "\n")
        return
    _print_images(found)


def _print_images(found: list[ImageRow]) -> None:
    from rich.table import Table

    from devenv.cli import ui
    from devenv.images.listing import human_size

    if not found:
        ui.out.print("No devenv images.")
        return
    table = Table(box=None, pad_edge=False)
    for column in ("ENV", "KIND", "BUILD HASH", "TAGS", "SIZE", "CREATED", "USED BY", "PUSHED TO"):
        table.add_column(column)
    for row in found:
        used = ", ".join(row.in_use_by) or ("current" if row.current else "")
        table.add_row(
            ui.literal(row.env or "-"),
            ui.literal(row.kind),
            ui.literal(row.build_hash[:12] or "-"),
            ui.literal(", ".join(row.tags) or "<none>"),
            human_size(row.size),
            ui.literal(row.created),
            ui.literal(used),
            ui.literal(", ".join(row.pushed_to)),
        )
    ui.out.print(table)


def prune(
    snapshots: Annotated[
        bool, typer.Option("--snapshots", help="Also remove unused snapshot images.")
    ] = False,
    yes: Yes = False,
) -> None:
    """Remove devenv images no container uses and no env runs as its current build."""
    from devenv.commands.images import prune as run_prune
    from devenv.commands.images import prune_removals
    from devenv.engine import Engine

    engine = Engine()
    removals = prune_removals(engine, snapshots)
    if not removals:
        sys.stdout.write("Nothing to prune.\n")
        return
    listing = [ref for removal in removals for ref in removal.refs]
    if not yes:
        if not sys.stdin.isatty():
            fail(
                f"devenv: prune would remove {len(listing)} image name(s); "
                "rerun with --yes to proceed (no TTY to ask)"
            )
        sys.stderr.write("".join(f"  {ref}\n" for ref in listing))
        if not ask(f"Remove these {len(listing)} image name(s)?"):
            fail("devenv: nothing changed")
    for line in run_prune(engine, removals):
        sys.stdout.write(line + "\n")


def register(app: typer.Typer) -> None:
    """Add the image commands to devenv's Typer app."""
    app.command()(login)
    app.command()(logout)
    app.command()(push)
    app.command()(export)
    app.command("import")(import_)
    app.command()(tag)
    app.command()(images)
    app.command()(prune)
