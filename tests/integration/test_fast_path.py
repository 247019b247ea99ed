"""The fast path on a real engine: plan, apply and status answer as the full path does (exit
code, stdout and stderr, byte for byte) whatever state the box is in, the converged one
without loading the heavy modules; `shell -- CMD` too; any changed input, or a cache file
that cannot be trusted, sends the command back to the full path."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

from devenv import reads
from devenv.converge.memo import store as cache
from tests.integration.conftest import Result, free_port

HEAVY = ("pydantic", "yaml", "docker", "jinja2", "typer", "rich")


def _full(devenv_env: dict[str, str], *args: str) -> Result:
    env = {**devenv_env, "DEVENV_NO_FAST_PATH": "1"}
    proc = subprocess.run(
        [sys.executable, "-m", "devenv", *args],
        env=env, capture_output=True, text=True, timeout=300, stdin=subprocess.DEVNULL,
    )  # fmt: skip
    return Result(proc.returncode, proc.stdout, proc.stderr)


def _traced(devenv_env: dict[str, str], *args: str) -> tuple[Result, set[str]]:
    """A run and the top-level modules it imported (python -X importtime; its lines are
    taken out of stderr)."""
    proc = subprocess.run(
        [sys.executable, "-X", "importtime", "-m", "devenv", *args],
        env=devenv_env, capture_output=True, text=True, timeout=300, stdin=subprocess.DEVNULL,
    )  # fmt: skip
    traced = [ln for ln in proc.stderr.splitlines(True) if ln.startswith("import time:")]
    said = "".join(ln for ln in proc.stderr.splitlines(True) if not ln.startswith("import time:"))
    names = {ln.split("|")[-1].strip().split(".")[0] for ln in traced}
    return Result(proc.returncode, proc.stdout, said), names


def _imports(devenv_env: dict[str, str], *args: str) -> set[str]:
    return _traced(devenv_env, *args)[1]


READS = (
    ("plan",),
    ("plan", "--detailed-exitcode"),
    ("plan", "--json"),
    ("status",),
    ("status", "--json"),
)
APPLIES = (("apply", "--yes"), ("apply", "--yes", "--json"), ("apply", "--json"))


def _alike(fast: Result, full: Result, what: object) -> None:
    assert (fast.code, fast.out, fast.err) == (full.code, full.out, full.err), what


def test_converged_commands_answer_fast_and_alike(  # type: ignore[no-untyped-def]
    devenv, devenv_env, spec_dir, name, tmp_path
) -> None:
    spec = spec_dir(
        name,
        f"""\
        name: {name}
        base: debian:bookworm
        ports: ["127.0.0.1:{free_port()}:80"]
        shared: ["./work:/work"]
        env: {{GREETING: "${{GREETING}}"}}
        workdir: /work
        """,
    )
    (spec.parent / ".env").write_text("GREETING=hello\n")
    assert devenv("apply", "--yes", str(spec)).code == 0
    assert devenv("plan", str(spec)).code == 0  # a converged plan: its state is now cached

    folder = [("plan", "--json", str(spec.parent)), ("apply", "--json", str(spec.parent))]
    for args in [*((*a, str(spec)) for a in (*READS, *APPLIES)), *folder]:
        fast, full = devenv(*args), _full(devenv_env, *args)
        _alike(fast, full, args)
        assert fast.code == 0, args
    assert json.loads(devenv("plan", "--json", str(spec)).out)["changes"] is False
    assert not _imports(devenv_env, "plan", str(spec)) & set(HEAVY)
    assert not _imports(devenv_env, "status", str(spec)) & set(HEAVY)

    made = devenv("shell", str(spec), "--", "sh", "-c", 'touch made-here; echo "$GREETING"; exit 7')
    assert (made.code, made.out) == (7, "hello\n")
    assert (spec.parent / "work" / "made-here").exists()  # ran in the workdir, the shared folder
    piped = devenv("shell", str(spec), "--", "sh", "-c", "cat; echo oops >&2", stdin="in\n")
    assert (piped.code, piped.out, piped.err) == (0, "in\n", "oops\n")  # stdin in, streams apart
    no_cli = {**devenv_env, "DEVENV_NO_FAST_PATH": "1", "PATH": str(Path(sys.executable).parent)}
    full = subprocess.run(  # the full path too runs it through the API: no docker CLI needed
        [sys.executable, "-m", "devenv", "shell", str(spec), "--", "sh", "-c", "cat; exit 4"],
        env=no_cli, input="in\n", capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert (full.returncode, full.stdout, full.stderr) == (4, "in\n", "")
    missing = devenv("shell", str(spec), "--", "no-such-command")
    assert missing.code == 126 and "no-such-command" in missing.err and not missing.out
    assert not _imports(devenv_env, "shell", str(spec), "--", "true") & set(HEAVY)

    _every_change_is_seen(devenv, devenv_env, spec)
    _a_damaged_entry_is_not_trusted(devenv, devenv_env, spec)
    assert devenv("destroy", "--yes", str(spec)).code == 0


def _every_change_is_seen(
    devenv: Callable[..., Result], devenv_env: dict[str, str], spec: Path
) -> None:
    """Each kind of input edited: the plan sees it (exit 2); put back: converged again."""
    original = spec.read_text()
    dotenv = spec.parent / ".env"
    edits: list[tuple[str, Callable[[], object], Callable[[], object]]] = [
        ("spec", lambda: spec.write_text(original.replace("/work\n", "/srv\n")),
         lambda: spec.write_text(original)),
        (".env", lambda: dotenv.write_text("GREETING=bye\n"),
         lambda: dotenv.write_text("GREETING=hello\n")),
    ]  # fmt: skip
    for what, edit, undo in edits:
        edit()
        assert devenv("plan", "--detailed-exitcode", str(spec)).code == 2, what
        undo()
        assert devenv("plan", "--detailed-exitcode", str(spec)).code == 0, what
    env = {**devenv_env, "GREETING": "from the shell"}  # the environment beats .env
    changed = subprocess.run(
        [sys.executable, "-m", "devenv", "plan", "--detailed-exitcode", str(spec)],
        env=env, capture_output=True, text=True, timeout=300, stdin=subprocess.DEVNULL,
    )  # fmt: skip
    assert changed.returncode == 2, changed.stdout


def _sealed(body: dict[str, object], version: str = cache.FORMAT) -> str:
    """An entry file around `body` whose checksum holds (as the cache seals one)."""
    flat = json.dumps(body, sort_keys=True, separators=(",", ":"))
    check = reads.digest(f"{version}\n{flat}".encode())
    return json.dumps({"format": version, "check": check, "body": body}, sort_keys=True)


def _checksum_mismatch(text: str) -> str:
    outer = json.loads(text)
    outer["body"]["workdir"] = "/elsewhere"  # a body that says otherwise, its check as it was
    return json.dumps(outer, sort_keys=True)


DAMAGE: dict[str, Callable[[str], str]] = {
    "truncated": lambda text: text[:-20],
    "checksum mismatch": _checksum_mismatch,
    "another format version": lambda text: _sealed(json.loads(text)["body"], "devenv-desired/0"),
    "a body for another spec": lambda text: _sealed(
        {**json.loads(text)["body"], "spec": "/elsewhere/box.yaml"}
    ),
}


def _a_damaged_entry_is_not_trusted(
    devenv: Callable[..., Result], devenv_env: dict[str, str], spec: Path
) -> None:
    """The box converged and every input as the entry was written; only the entry file is
    damaged. The plan is the full path's (its heavy modules loaded), says the same as the
    full path, and writes a sound entry again: the next plan is the fast path's."""
    entry = Path(cache.entry_path(devenv_env["DEVENV_STATE_DIR"], os.path.abspath(spec)))
    args = ("plan", "--detailed-exitcode", str(spec))
    assert devenv(*args).code == 0  # converged, and the entry written for this environment
    sound = entry.read_text()
    _, modules = _traced(devenv_env, *args)
    assert not modules & set(HEAVY)  # the control: the entry as written answers fast
    for kind, damage in DAMAGE.items():
        entry.write_text(damage(sound))
        planned, modules = _traced(devenv_env, *args)
        assert set(HEAVY) <= modules, kind  # the full path ran
        _alike(planned, _full(devenv_env, *args), kind)
        assert planned.code == 0, kind
        assert entry.read_text() == sound, kind  # and wrote the entry again
        assert not _imports(devenv_env, *args) & set(HEAVY), kind


def _for_both_paths(
    devenv: Callable[..., Result],
    devenv_env: dict[str, str],
    spec: Path,
    state: str,
    make: Callable[[], object],
) -> None:
    """In the state `make` puts the box in, each command answers as the full path does; an
    apply is run once by each path, from the same state."""
    make()
    for args in READS:
        _alike(devenv(*args, str(spec)), _full(devenv_env, *args, str(spec)), (state, args))
    assert devenv("plan", "--detailed-exitcode", str(spec)).code == 2, state  # not converged
    for args in APPLIES:
        make()
        fast = devenv(*args, str(spec))
        make()
        _alike(fast, _full(devenv_env, *args, str(spec)), (state, args))
        assert fast.code == 0 or "--yes" not in args, (state, args, fast.err)


def test_every_state_is_answered_alike_by_both_paths(  # type: ignore[no-untyped-def]
    devenv, devenv_env, spec_dir, name
) -> None:
    """A stopped box, a removed container and an edited spec: the fast path must decline
    (or answer exactly as the full path would), for plan, apply and status alike."""
    text = f"""\
        name: {name}
        base: debian:bookworm
        ports: ["127.0.0.1:{free_port()}:80"]
        env: {{GREETING: hello}}
        """
    spec = spec_dir(name, text)
    original = spec.read_text()
    assert devenv("apply", "--yes", str(spec)).code == 0
    assert devenv("plan", str(spec)).code == 0  # converged and cached

    def docker(*args: str) -> None:
        subprocess.run(["docker", *args], check=True, capture_output=True, timeout=120)

    def edited() -> None:  # from the converged original, edited
        spec.write_text(original)
        assert devenv("apply", "--yes", str(spec)).code == 0
        spec.write_text(original.replace("GREETING: hello", "GREETING: bye"))

    _for_both_paths(devenv, devenv_env, spec, "stopped", lambda: docker("stop", "-t", "1", name))
    _for_both_paths(devenv, devenv_env, spec, "removed", lambda: docker("rm", "-f", name))
    _for_both_paths(devenv, devenv_env, spec, "spec edited", edited)
    spec.write_text(original)
    assert devenv("apply", "--yes", str(spec)).code == 0
    for args in READS:  # and back to converged: alike, and answered fast
        _alike(devenv(*args, str(spec)), _full(devenv_env, *args, str(spec)), args)
        assert not _imports(devenv_env, *args, str(spec)) & set(HEAVY), args
    assert devenv("destroy", "--yes", str(spec)).code == 0
