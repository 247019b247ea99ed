"""Typer wiring only; `main` is where every DevenvError becomes one message and an exit
code. Heavy imports stay inside commands so that `devenv --help` and a no-op plan start fast."""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING, Annotated, Any, NoReturn

import typer
import typer.core

from devenv.cli.options import Json, OnePath, Paths, Yes, ask, fail
from devenv.errors import DevenvError, Interrupted, Problem, SpecError

if TYPE_CHECKING:
    from devenv.converge.plan import Plan
    from devenv.converge.session import Session
    from devenv.errors import Problem
    from devenv.spec.loader import SpecFile


class _Group(typer.core.TyperGroup):
    """Ctrl-C in any command is one line and exit 130, whatever typer's version does with it
    (recent ones exit 130 silently, older ones print "Aborted!" and exit 1)."""

    def invoke(self, ctx: Any) -> Any:  # ctx: click.Context (typer vendors click lately)
        try:
            return super().invoke(ctx)
        except KeyboardInterrupt:
            sys.stderr.write("devenv: interrupted\n")
            raise typer.Exit(130) from None


app = typer.Typer(
    cls=_Group,
    help="Declarative dev environments: describe a box once in YAML, devenv makes Docker match.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)


def _print_version(value: bool) -> None:
    if value:
        from devenv import __version__

        sys.stdout.write(f"devenv {__version__}\n")
        raise typer.Exit()


@app.callback()
def _global(
    host: Annotated[
        str | None,
        typer.Option("--host", "-H", help="Engine URL (beats --context and DOCKER_HOST)."),
    ] = None,
    context: Annotated[
        str | None,
        typer.Option("--context", "-c", help="Docker context (beats DOCKER_HOST/DOCKER_CONTEXT)."),
    ] = None,
    version: Annotated[
        bool,
        typer.Option(
            "--version", callback=_print_version, is_eager=True, help="Print the version and exit."
        ),
    ] = False,
) -> None:
    if host or context:
        from devenv.engine.connection import apply_flags

        try:
            apply_flags(host, context)
        except DevenvError as exc:
            fail(f"devenv: {exc.message}\n  hint: {exc.hint}")


@app.command()
def validate(paths: Paths) -> None:
    """Check specs; print file:line:col for every problem (and shared folders it refuses)."""
    from devenv.reporting import visible
    from devenv.spec.hostpaths import shared_host_path
    from devenv.spec.loader import load_all

    refused = []
    for spec_file in load_all(paths, values=False):  # the file is checked, not its variables
        try:
            for index in range(len(spec_file.spec.shared)):
                shared_host_path(spec_file, index)
        except DevenvError as exc:
            refused.append(str(exc))
            continue
        shown = visible(str(spec_file.path))
        sys.stdout.write(f"{shown}: ok ({spec_file.spec.name}){_variables_line(spec_file)}\n")
    if refused:
        fail("\n".join(refused))


def _variables_line(spec_file: SpecFile) -> str:
    """What the spec reads, and which of those nothing sets yet (apply will need them)."""
    from devenv.spec.variables import Environment, unmet

    if not spec_file.variables:
        return ""
    here = Environment(spec_file.folder)
    unset = [n for _, t in spec_file.templates for n in unmet(t, here)]
    later = f" (not set: {', '.join(sorted(set(unset)))}; apply needs them)" if unset else ""
    return f" — variables: {', '.join(spec_file.variables)}{later}"


@app.command()
def render(
    path: OnePath,
    show_hash: Annotated[
        bool, typer.Option("--hash", help="Print the build hash and tag.")
    ] = False,
    as_format: Annotated[
        str | None,
        typer.Option(
            "--as", help="devcontainer, compose or kubernetes: the spec in a peer's format."
        ),
    ] = None,
    more: Annotated[
        list[str] | None, typer.Argument(help="More specs (--as compose or kubernetes).")
    ] = None,
) -> None:
    """Print the Dockerfile a spec renders to (or, with --hash, its build hash and tag);
    with a lock file beside the spec, the pinned one apply builds."""
    from devenv.build.lockfile import read as read_lock
    from devenv.build.render import image_tag, render
    from devenv.spec.loader import load_one

    if as_format is not None:
        from devenv.cli.porting import render_as

        render_as(as_format, [path, *(more or [])], _base_identity)
        return
    spec_file = load_one(path)
    lock = read_lock(spec_file.path)
    if not show_hash:
        sys.stdout.write(render(spec_file.spec, _recipe(spec_file), lock=lock).dockerfile)
        return
    rendered = render(spec_file.spec, _base_identity(spec_file), lock=lock)
    sys.stdout.write(
        f"{rendered.build_hash}  {image_tag(spec_file.spec.name, rendered.build_hash)}\n"
    )


def _recipe(spec_file: Any) -> str | None:
    """A Dockerfile base's identity, its context hash (read here); None for other bases."""
    from devenv.build.context import resolve

    return resolve(spec_file).identity if spec_file.spec.base.dockerfile else None


def _base_identity(spec_file: Any) -> str | None:
    """The base as apply names it in the hash (recipe, registry digest or local ID) when
    known; else None, and a note that apply's tag may then differ."""
    from devenv.build.render import base_identity, base_ref
    from devenv.engine import Engine
    from devenv.engine.observed import Observed

    base = spec_file.spec.base
    if base.bootstrap or base.dockerfile:
        return _recipe(spec_file)  # named by its recipe: no engine needed
    try:
        found = Observed(images=Engine().images()).image(base_ref(base))
    except DevenvError:
        found = None
    if found is None:
        sys.stderr.write(
            f"devenv: {base.image} is not on a reachable engine, so this hash names it by "
            "reference; apply names it by digest or ID, and its tag may differ\n"
        )
        return None
    return base_identity(base, found.id, list(found.digests))


@app.command()
def schema() -> None:
    """Print the JSON Schema of the spec (the same text as schemas/devenv.schema.json)."""
    from devenv.spec.schema import schema_text

    sys.stdout.write(schema_text())


Prune = Annotated[
    bool, typer.Option("--prune", help="Also remove devenv envs whose spec left these folders.")
]


def _confirm_destructive(what: list[str], yes: bool) -> None:
    """Ask on a TTY (on stderr: stdout may be --json); without one, proceed only with --yes."""
    if yes or not what:
        return
    listing = "; ".join(what)
    if not sys.stdin.isatty():
        fail(f"devenv: this would {listing}; rerun with --yes to proceed (no TTY to ask)")
    if not ask(f"This will {listing}. Proceed?"):
        fail("devenv: nothing changed")


def _say_engine(engine: Any) -> None:
    """One line on stderr naming the engine, unless it is the usual local Docker (its
    /version was already asked when connecting: this costs no call)."""
    from devenv.engine.server import engine_line

    sys.stderr.write(engine_line(engine.server, engine.connection))


def _report_problems(problems: list[Problem]) -> None:
    from devenv.reporting import visible

    for problem in problems:
        sys.stderr.write(f"{visible(str(problem))}\n")


def _report_skipped(problems: list[Problem], prune: bool) -> None:
    """After the plan (and a long apply), say again which spec files were left out, and why
    --prune did nothing: the problems themselves may have scrolled away."""
    files = sorted({p.path for p in problems})
    if files:
        from devenv.reporting import visible

        sys.stderr.write(f"devenv: skipped invalid spec file(s): {visible(', '.join(files))}\n")
    if files and prune:
        sys.stderr.write("devenv: --prune does nothing while a spec is invalid\n")


def _has_plan(the_plan: Plan, session: Session) -> bool:
    """Print a plan unless every spec failed: then "No envs." would only mislead."""
    return bool(the_plan.actions) or not (session.problems or session.failures)


@app.command()
def plan(
    paths: Paths,
    as_json: Json = False,
    detailed_exitcode: Annotated[
        bool,
        typer.Option("--detailed-exitcode", help="Exit 0: no changes, 2: changes, 1: error."),
    ] = False,
    prune: Prune = False,
    takeover: Annotated[
        bool, typer.Option("--takeover", help="Plan as `apply --takeover` would.")
    ] = False,
) -> None:
    """Show what apply would do, and why, touching nothing."""
    from devenv.cli import ui
    from devenv.converge.session import open_session
    from devenv.reporting import visible

    session = open_session(paths)
    _say_engine(session.engine)
    _report_problems(session.problems)
    the_plan = session.plan(prune, takeover)
    if as_json:
        errors = [str(p) for p in session.problems]
        errors += [f"{name}: {message}" for name, message in session.failures.items()]
        ui.print_json(the_plan.to_json(errors))
    elif _has_plan(the_plan, session):
        ui.print_plan(the_plan)
    for name, message in session.failures.items():
        shown = visible(message, keep="\n")
        sys.stderr.write(f"devenv: {name}: {shown}\n")
    _report_skipped(session.problems, prune)
    if session.problems or session.failures:
        raise typer.Exit(1)
    if detailed_exitcode and (the_plan.has_changes or the_plan.conflicts):
        raise typer.Exit(2)


Takeover = Annotated[
    bool,
    typer.Option(
        "--takeover", help="Replace envs of the same name that another spec file applied."
    ),
]
Force = Annotated[
    bool,
    typer.Option("--force", help="Discard files changed inside containers it replaces or removes."),
]
Snapshot = Annotated[
    bool,
    typer.Option("--snapshot", help="Keep containers' changed files in a snapshot image first."),
]


Push = Annotated[bool, typer.Option("--push", help="Push what is built to the spec's image_cache.")]
WaitTimeout = Annotated[
    float | None,
    typer.Option(
        "--wait-timeout",
        min=0,
        help="Seconds to wait for each box to be up (default: enough for its checks).",
    ),
]


def _push_what_is_built() -> None:
    """apply --push: the image cache pushes each image apply builds (see images/cache.py)."""
    import os

    from devenv.converge.image_cache import PUSH_VARIABLE

    os.environ[PUSH_VARIABLE] = "1"


@app.command()
def apply(
    paths: Paths,
    yes: Yes = False,
    as_json: Json = False,
    prune: Prune = False,
    force: Force = False,
    snapshot: Snapshot = False,
    takeover: Takeover = False,
    push: Push = False,
    wait_timeout: WaitTimeout = None,
) -> None:
    """Make the engine match the specs: build, create, replace, start."""
    import json

    from devenv.cli import ui
    from devenv.converge.apply import Applier
    from devenv.converge.safety import terminate_as_interrupt
    from devenv.converge.session import open_session
    from devenv.reporting import Outcome

    terminate_as_interrupt()
    if push:
        _push_what_is_built()
    session = open_session(paths)
    _report_problems(session.problems)
    the_plan = session.plan(prune, takeover)
    if not as_json and _has_plan(the_plan, session):
        ui.print_plan(the_plan)
    _confirm_destructive([f"{a.kind} {a.env}" for a in the_plan.destructive], yes)
    reporter = ui.ConsoleReporter()
    with reporter.live():
        applier = Applier(
            session.engine,
            session.host,
            reporter,
            force,
            snapshot,
            takeover=takeover,
            wait_timeout=wait_timeout,
        )
        outcomes = applier.apply(the_plan, session.desired, session.observed)
    outcomes += [Outcome(name, False, message) for name, message in session.failures.items()]
    if as_json:
        ui.print_json(json.dumps([o.__dict__ for o in outcomes], indent=2))
    else:
        ui.print_outcomes(outcomes)
    _report_skipped(session.problems, prune)
    if session.problems or not all(o.ok for o in outcomes):
        raise typer.Exit(1)


@app.command()
def status(
    paths: Annotated[list[str] | None, typer.Argument(help="Limit to these specs.")] = None,
    as_json: Json = False,
) -> None:
    """Every devenv env on the engine: state, image, published ports, drift."""

    from devenv.cli import ui
    from devenv.commands.status import as_json as status_json
    from devenv.commands.status import collect
    from devenv.engine import Engine

    engine = Engine()
    rows = collect(paths or [], engine)
    _say_engine(engine)
    if as_json:
        ui.print_json(status_json(rows))
    else:
        ui.print_status(rows)


@app.command()
def destroy(
    paths: Paths,
    yes: Yes = False,
    images: Annotated[
        bool, typer.Option("--images", help="Also remove their devenv images.")
    ] = False,
    volumes: Annotated[
        bool, typer.Option("--volumes", help="Also remove their named volumes (their data!).")
    ] = False,
    force: Force = False,
    snapshot: Snapshot = False,
) -> None:
    """Remove envs' containers. Shared folders are never touched; volumes only with --volumes."""
    from devenv.commands.destroy import destroy as run_destroy
    from devenv.commands.destroy import guard_work, teardowns

    found = teardowns(paths)
    what = [f"remove container {t.env}" for t in found if t.container]
    if images:
        what += [f"remove image {ref}" for t in found for ref in t.images]
    if volumes:
        what += [f"DELETE volume {v} and all its data" for t in found for v in t.volumes]
    guard_work(found, force, snapshot)
    _confirm_destructive(what, yes)
    for line in run_destroy(found, images, volumes):
        sys.stdout.write(line + "\n")


def _register_image_commands() -> None:
    """start, stop, restart, snapshots; logs, shell, ssh: getting in; login, logout, push, export, import, tag, images, prune:
    registries and bundles; init and which: bringing existing setups in; doctor: checks."""
    from devenv.cli import entering, lifecycle, porting
    from devenv.cli.doctor import register as register_doctor
    from devenv.cli.images import register

    lifecycle.register(app)
    entering.register(app)
    register(app)
    porting.register(app)
    register_doctor(app)


_register_image_commands()


def _register_lock_command() -> None:
    """lock: pin what the specs' packages resolved to (see README "Rebuild exactly")."""
    from devenv.cli.locks import register

    register(app)


_register_lock_command()


def _register_backup_commands() -> None:
    """backup, restore: what a spec cannot hold (see README "After a crash")."""
    from devenv.cli.backups import register

    register(app)


_register_backup_commands()


def _crash(exc: Exception) -> NoReturn:
    """Anything unexpected: one sentence naming the crash log that holds the traceback, exit 3."""
    from devenv.cli.crashlog import write_crash_log

    path = write_crash_log(exc, sys.argv)
    what = f"{type(exc).__name__}: {exc}".splitlines()[0]
    if path is None:
        import traceback

        traceback.print_exception(exc)
        fail(f"devenv: unexpected error ({what}), and no folder would take a crash log", 3)
    fail(
        f"devenv: unexpected error ({what}); the details are in {path}\n"
        "  hint: this is a bug in devenv: please report it with that file",
        3,
    )


def main() -> None:
    """Entry point: click handles usage errors; every DevenvError becomes one clear line, exit 1;
    anything unexpected becomes one line and a crash log, exit 3."""
    try:
        app()
    except SpecError as exc:
        fail(str(exc))
    except Interrupted as exc:  # stopped part-way, state left consistent: say what stands
        fail(f"devenv: {exc.headline}" + (f"\n  hint: {exc.hint}" if exc.hint else ""), 130)
    except DevenvError as exc:
        fail(f"devenv: {exc.headline}" + (f"\n  hint: {exc.hint}" if exc.hint else ""))
    except KeyboardInterrupt:
        fail("devenv: interrupted", 130)
    except Exception as exc:  # the last resort: never a traceback on screen
        _crash(exc)


if __name__ == "__main__":
    main()
