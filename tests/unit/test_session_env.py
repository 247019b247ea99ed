"""The entrypoint's session writers (templates/devenv-entrypoint), run by this machine's sh on
a hostile environment: what a login shell sources and the shell sshd starts hand every value
over byte for byte and run none of it; the engine-side proof is tests/integration/
test_entering.py. Needs GNU sed (`-z`), as the box's entrypoint does."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

ENTRYPOINT = Path(__file__).parents[2] / "templates" / "devenv-entrypoint"
HOSTILE = {
    "GREETING": "it's \"q\" `id` $(touch CANARY) '; touch CANARY; ' \\ # not a comment",
    "NOTE": "two\nlines\n",
    "discovery.type": "single-node",
    "na'me": "$(touch CANARY)",
    "TRAIL": "ends in a quote'",
}


def functions() -> str:
    """The entrypoint's session functions, without the writes and the hand-over around them."""
    text = ENTRYPOINT.read_text()
    return text[text.index("\nlogin=") : text.index("\nwrite_session()")]


def write(tmp_path: Path) -> tuple[Path, Path]:
    """session.sh and the ssh shell, as the entrypoint writes them in `tmp_path`/workdir."""
    workdir = tmp_path / "work dir"
    workdir.mkdir()
    script = tmp_path / "run.sh"
    script.write_text(
        functions()
        + f"\nlogin={tmp_path}/ssh-shell\ncd '{workdir}'\n"
        + f"session_sh /bin/bash > '{tmp_path}/session.sh'\n"
        + f"ssh_shell /bin/bash > '{tmp_path}/ssh-shell'\n"
    )
    env = {"PATH": os.environ["PATH"], "HOME": "/nowhere", "DEVENV_USER": "dev", **HOSTILE}
    subprocess.run(
        ["/usr/bin/env", "-i", *(f"{k}={v}" for k, v in env.items()), "sh", str(script)],
        check=True,
        cwd=tmp_path,
    )
    (tmp_path / "ssh-shell").chmod(0o755)
    return tmp_path / "session.sh", tmp_path / "ssh-shell"


pytestmark = pytest.mark.skipif(shutil.which("bash") is None, reason="needs bash")


def test_a_login_shell_gets_every_value_sh_can_hold(tmp_path: Path) -> None:
    session, _ = write(tmp_path)
    probe = 'printf "%s\\0" "$GREETING" "$NOTE" "$TRAIL" "$SHELL"'
    env = {"PATH": os.environ["PATH"], "SHELL": str(tmp_path / "ssh-shell")}
    out = subprocess.run(
        ["sh", "-c", f". '{session}'; {probe}"], env=env, capture_output=True, check=True
    ).stdout
    expected = [HOSTILE["GREETING"], HOSTILE["NOTE"], HOSTILE["TRAIL"], "/bin/bash"]
    assert out.decode().split("\0")[:-1] == expected
    assert "discovery.type" not in session.read_text()  # sh cannot hold it: the engine's alone
    assert not (tmp_path / "CANARY").exists()


def test_under_sshd_every_name_arrives_in_the_workdir(tmp_path: Path) -> None:
    _, ssh_shell = write(tmp_path)
    sshd = tmp_path / "sshd"  # a parent named as sshd's session process is
    shutil.copy("/bin/sh", sshd)
    probe = 'pwd; printenv GREETING NOTE discovery.type "na\'me" TRAIL SHELL'
    out = subprocess.run(
        [str(sshd), "-c", '"$0" -c "$1"; exit $?', str(ssh_shell), probe],
        env={"PATH": os.environ["PATH"], "HOME": "/nowhere"},
        cwd="/",
        capture_output=True,
        check=True,
    ).stdout.decode()
    values = [HOSTILE[k] for k in ("GREETING", "NOTE", "discovery.type", "na'me", "TRAIL")]
    assert out == "".join(f"{v}\n" for v in [str(tmp_path / "work dir"), *values, "/bin/bash"])
    assert not (tmp_path / "CANARY").exists()


def test_under_anything_else_it_is_the_users_shell_alone(tmp_path: Path) -> None:
    _, ssh_shell = write(tmp_path)
    out = subprocess.run(
        [str(ssh_shell), "-c", 'pwd; printf "%s" "${GREETING-unset}"'],
        env={"PATH": os.environ["PATH"]},
        cwd="/",
        capture_output=True,
        check=True,
    ).stdout.decode()
    assert out == "/\nunset"


def test_the_command_gets_back_the_names_sh_dropped(tmp_path: Path) -> None:
    text = ENTRYPOINT.read_text()
    hand_over = text[
        text.index("# sh dropped") : text.index(
            'if [ -n "$user" ] && [ "$user" != root ] && [ "$(id -u)" = 0 ]; then\n  HOME'
        )
    ]
    script = tmp_path / "run.sh"
    script.write_text(functions() + "\n" + hand_over + 'exec "$@"\n')
    env = [f"{k}={v}" for k, v in {"PATH": os.environ["PATH"], **HOSTILE}.items()]
    command = ["printenv", "discovery.type", "na'me", "NOTE"]
    out = subprocess.run(
        ["/usr/bin/env", "-i", *env, "sh", str(script), *command],
        cwd=tmp_path,
        capture_output=True,
        check=True,
    ).stdout.decode()
    assert out == "".join(f"{HOSTILE[k]}\n" for k in ("discovery.type", "na'me", "NOTE"))
    assert not (tmp_path / "CANARY").exists()
