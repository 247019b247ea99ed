"""The fast path on a real engine: a converged plan, apply and `shell -- CMD` answer as the
full path does, byte for byte, without loading the heavy modules; any changed input, or a
cache file that cannot be trusted, sends the command back to the full path."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

from tests.integration.conftest import Result, free_port

HEAVY = ("pydantic", "yaml", "docker", "jinja2", "typer", "rich")


def _full(devenv_env: dict[str, str], *args: str) -> Result:
    env = {**devenv_env, "DEVENV_NO_FAST_PATH": "1"}
    proc = subprocess.run(
        [sys.executable, "-m", "devenv", *args],
        env=env, capture_output=True, text=True, timeout=300, stdin=subprocess.DEVNULL,
    )  # fmt: skip
    return Result(proc.returncode, proc.stdout, proc.stderr)


def _imports(devenv_env: dict[str, str], *args: str) -> set[str]:
    """The top-level modules a run imported (python -X importtime)."""
    proc = subprocess.run(
        [sys.executable, "-X", "importtime", "-m", "devenv", *args],
        env=devenv_env, capture_output=True, text=True, timeout=300, stdin=subprocess.DEVNULL,
    )  # fmt: skip
    lines = [ln.split("|")[-1].strip() for ln in proc.stderr.splitlines() if "|" in ln]
    return {name.split(".")[0] for name in lines}


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

    for args in (
        ("plan", "--detailed-exitcode", str(spec)),
        ("plan", "--json", str(spec.parent)),
        ("apply", "--yes", str(spec)),
        ("apply", "--json", str(spec.parent)),
        ("status", str(spec)),
        ("status", "--json", str(spec)),
    ):
        fast, full = devenv(*args), _full(devenv_env, *args)
        assert (fast.code, fast.out) == (full.code, full.out) == (0, fast.out), args
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
    cache_dir = Path(devenv_env["DEVENV_STATE_DIR"]) / "cache" / "desired"
    for entry in cache_dir.iterdir():  # damaged entries are ignored, never trusted
        entry.write_text(entry.read_text().replace('"running"', '"x"')[:-20])
    spec.write_text(original.replace("/work\n", "/srv\n"))
    assert devenv("plan", "--detailed-exitcode", str(spec)).code == 2
    spec.write_text(original)
    assert devenv("plan", "--detailed-exitcode", str(spec)).code == 0
