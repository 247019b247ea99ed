"""Typer wiring only; `main` is where every DevenvError becomes one message and an exit
code. Heavy imports stay inside commands so that `devenv --help` and a no-op plan start fast."""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING, Annotated, Any, NoReturn

import typer
import typer.core

from devenv.cli.options import Json, OnePath, Paths, Yes, ask, fail
from devenv.errors import DevenvError, Problem, SpecError

if TYPE_CHECKING:
    from devenv.errors import Problem
    from devenv.plan import Plan
    from devenv.session import Session
    from devenv.spec.loader import SpecFile
    from devenv.ssh import SshLogin


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
        from devenv.connection import apply_flags

        try:
            apply_flags(host, context)
        except DevenvError as exc:
            fail(f"devenv: {exc.message}\n  hint: {exc.hint}")


@app.command()
def validate(paths: Paths) -> None:
    """Check specs; print file:line:col for every problem (and shared folders it refuses)."""
    from devenv.host import shared_host_path
    from devenv.spec.loader import load_all

    refused = []
    for spec_file in load_all(paths):
        try:
            for index in range(len(spec_file.spec.shared)):
                shared_host_path(spec_file, index)
        except DevenvError as exc:
            refused.append(str(exc))
            continue
        needs = spec_file.variables
        listed = f" — variables: {', '.join(needs)}" if needs else ""
        sys.stdout.write(f"{spec_file.path}: ok ({spec_file.spec.name}){listed}\n")
    if refused:
        fail("\n".join(refused))


@app.command()
def render(
    path: OnePath,
    show_hash: Annotated[
        bool, typer.Option("--hash", help="Print the build hash and tag.")
    ] = False,
    as_format: Annotated[
        str | None,
        typer.Option("--as", help="devcontainer or compose: the spec in a peer's format."),
    ] = None,
    more: Annotated[list[str] | None, typer.Argument(help="More specs (--as compose).")] = None,
) -> None:
    """Print the Dockerfile a spec renders to (or, with --hash, its build hash and tag);
    with a lock file beside the spec, the pinned one apply builds."""
    from devenv.lock import read as read_lock
    from devenv.render import image_tag, render
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
    from devenv.buildcontext import resolve

    return resolve(spec_file).identity if spec_file.spec.base.dockerfile else None


def _base_identity(spec_file: Any) -> str | None:
    """The base as apply names it in the hash (recipe, registry digest or local ID) when
    known; else None, and a note that apply's tag may then differ."""
    from devenv.engine import Engine
    from devenv.observed import Observed
    from devenv.render import base_identity, base_ref

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
    connection, server = engine.connection, engine.server
    if server.product != "Docker Engine" or connection.source != "default socket":
        sys.stderr.write(f"devenv: engine: {server} at {connection.describe()}\n")


def _report_problems(problems: list[Problem]) -> None:
    for problem in problems:
        sys.stderr.write(f"{problem}\n")


def _report_skipped(problems: list[Problem], prune: bool) -> None:
    """After the plan (and a long apply), say again which spec files were left out, and why
    --prune did nothing: the problems themselves may have scrolled away."""
    files = sorted({p.path for p in problems})
    if files:
        sys.stderr.write(f"devenv: skipped invalid spec file(s): {', '.join(files)}\n")
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
    from devenv.session import open_session

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
        sys.stderr.write(f"devenv: {name}: {message}\n")
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


@app.command()
def apply(
    paths: Paths,
    yes: Yes = False,
    as_json: Json = False,
    prune: Prune = False,
    force: Force = False,
    snapshot: Snapshot = False,
    takeover: Takeover = False,
    push: Annotated[
        bool, typer.Option("--push", help="Push what is built to the spec's image_cache.")
    ] = False,
    wait_timeout: Annotated[
        float | None,
        typer.Option(
            "--wait-timeout",
            min=0,
            help="Seconds to wait for each box to be up (default: enough for its checks).",
        ),
    ] = None,
) -> None:
    """Make the engine match the specs: build, create, replace, start."""
    import json

    from devenv.apply import Applier
    from devenv.cli import ui
    from devenv.guards import terminate_as_interrupt
    from devenv.reporting import Outcome
    from devenv.session import open_session

    terminate_as_interrupt()
    if push:
        import os

        from devenv.images.cache import PUSH_VARIABLE

        os.environ[PUSH_VARIABLE] = "1"
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
    import json

    from devenv.cli import ui
    from devenv.engine import Engine
    from devenv.status import collect

    engine = Engine()
    rows = collect(paths or [], engine)
    _say_engine(engine)
    if as_json:
        ui.print_json(json.dumps([row.to_dict() for row in rows], indent=2))
    else:
        ui.print_status(rows)


@app.command()
def logs(
    path: OnePath,
    follow: Annotated[
        bool, typer.Option("--follow", "-f", help="Keep printing new output.")
    ] = False,
    tail: Annotated[
        int | None, typer.Option("--tail", "-n", min=0, help="Only the last N lines.")
    ] = None,
    since: Annotated[
        str | None,
        typer.Option("--since", help="Only output since then: 10m, 1h, 2024-05-01T10:00Z."),
    ] = None,
) -> None:
    """The box's output (its command's and sshd's), as `docker logs` shows it."""
    import time

    from devenv.engine import Engine
    from devenv.logs import box_output, parse_since

    start = parse_since(since, time.time()) if since is not None else None
    try:
        for chunk in box_output(Engine(), path, tail, start, follow):
            sys.stdout.buffer.write(chunk)
            sys.stdout.buffer.flush()
    except BrokenPipeError:  # `devenv logs … | head`: the reader has what it wanted
        import os

        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())


def _containers_of(paths: list[str]) -> list[tuple[str, str]]:
    """(env, container id) for each spec's live, devenv-owned container."""
    from devenv.engine import Engine
    from devenv.spec.loader import load_all

    names = [s.spec.name for s in load_all(paths)]
    observed = Engine().observe(names)
    found = []
    for name in names:
        live = observed.named(name)
        if live is None or not live.owned:
            sys.stderr.write(f"devenv: {name}: no devenv container (apply it first)\n")
            continue
        found.append((name, live.id))
    return found


DONE = {"start": "started", "stop": "stopped", "restart": "restarted"}


def _lifecycle(paths: list[str], verb: str) -> None:
    from devenv.engine import Engine

    engine = Engine()
    found = _containers_of(paths)
    for name, container in found:
        getattr(engine, verb)(container)
        sys.stdout.write(f"{name}: {DONE[verb]}\n")
    if not found:
        raise typer.Exit(1)


@app.command()
def start(paths: Paths) -> None:
    """Start stopped envs."""
    _lifecycle(paths, "start")


@app.command()
def stop(paths: Paths) -> None:
    """Stop envs (apply starts them again: the spec says they run)."""
    _lifecycle(paths, "stop")


@app.command()
def restart(paths: Paths) -> None:
    """Restart envs."""
    _lifecycle(paths, "restart")


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
    from devenv.destroy import destroy as run_destroy
    from devenv.destroy import guard_work, teardowns

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


@app.command()
def snapshots(as_json: Json = False) -> None:
    """List snapshot images (containers' changed files kept by --snapshot)."""
    import json

    from devenv.engine import Engine

    rows = Engine().snapshots()
    if as_json:
        sys.stdout.write(json.dumps(rows, indent=2) + "\n")
        return
    if not rows:
        sys.stdout.write("No snapshots.\n")
    for row in rows:
        sys.stdout.write(f"{row['ref']}  env={row['env']}  created={row['created']}\n")


Command = Annotated[list[str] | None, typer.Argument(help="Run this instead of a shell.")]


def _after_dashes(command: list[str] | None) -> list[str]:
    """`devenv shell PATH -- CMD…`: the words after `--`, as given."""
    argv = list(command or [])
    return argv[1:] if argv[:1] == ["--"] else argv


@app.command(context_settings={"allow_interspersed_args": False})
def shell(path: OnePath, command: Command = None) -> None:
    """A shell in the env (as its user, in its workdir), or CMD with its exit code."""
    from devenv.enter import enter

    raise typer.Exit(enter(path, _after_dashes(command)))


def _ssh_logins(specs: list[SpecFile]) -> list[SshLogin]:
    from devenv.engine import Engine
    from devenv.host import Host
    from devenv.ssh import ssh_login

    engine = Engine()
    observed = engine.observe([s.spec.name for s in specs])
    host = Host.current()
    connection = engine.connection
    jump = None if connection.local else (connection.ssh_jump or connection.machine)
    return [ssh_login(s, observed.named(s.spec.name), host, jump) for s in specs]


@app.command(context_settings={"allow_interspersed_args": False})
def ssh(path: OnePath, command: Command = None) -> None:
    """Log in to an env over SSH (its published port 22, its host key checked)."""
    import shutil
    import subprocess

    from devenv.spec.loader import load_one

    argv = _after_dashes(command)
    (found,) = _ssh_logins([load_one(path)])
    if shutil.which("ssh") is None:
        fail("devenv: the ssh client is not installed (apt-get install openssh-client)")
    tty = sys.stdin.isatty() and sys.stdout.isatty()
    raise typer.Exit(subprocess.run(found.argv(argv, tty), check=False).returncode)


@app.command("ssh-config")
def ssh_config(paths: Paths) -> None:
    """Print ~/.ssh/config blocks, so `ssh NAME` and editors' remote features just work."""
    from devenv.spec.loader import load_all

    for found in _ssh_logins(load_all(paths)):
        sys.stdout.write(found.config_block() + "\n")


def _register_image_commands() -> None:
    """login, logout, push, export, import, tag, images, prune: registries and bundles;
    init and which: bringing existing setups in; doctor: engine and host checks."""
    from devenv.cli import porting
    from devenv.cli.doctor import register as register_doctor
    from devenv.cli.images import register

    register(app)
    porting.register(app)
    register_doctor(app)


_register_image_commands()


def _register_lock_command() -> None:
    """lock: pin what the specs' packages resolved to (see README "Rebuild exactly")."""
    from devenv.cli.locks import register

    register(app)


_register_lock_command()


def _crash(exc: Exception) -> NoReturn:
    """Anything unexpected: one sentence naming the crash log that holds the traceback, exit 3."""
    from devenv.crashlog import write_crash_log

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
    except DevenvError as exc:
        fail(f"devenv: {exc.headline}" + (f"\n  hint: {exc.hint}" if exc.hint else ""))
    except KeyboardInterrupt:
        fail("devenv: interrupted", 130)
    except Exception as exc:  # the last resort: never a traceback on screen
        _crash(exc)


if __name__ == "__main__":
    main()
