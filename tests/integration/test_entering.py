"""The box an image means, and the same box however you enter it: `entrypoint: image` runs
the base image's own ENTRYPOINT (with `command` as its arguments, or the image's CMD) after
devenv's start-up; `devenv shell`, `devenv ssh`, plain ssh and hooks all see the spec's env,
its workdir and the image's PATH."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from tests.integration.conftest import (
    BASE_IMAGE,
    RUN_LABEL,
    free_port,
    ssh,
    ssh_box,
    ssh_config,
    unique,
)

# an image with its own behaviour: its ENTRYPOINT records its arguments and who runs it,
# then serves (idles); a tool on a PATH only its ENV names
DOCKERFILE = f"""\
FROM {BASE_IMAGE}
RUN printf '%s\\n' '#!/bin/sh' \\
    'printf "%s\\n" "$@" > /tmp/entry-args' \\
    'id -un > /tmp/entry-user' \\
    'exec sleep infinity' > /usr/local/bin/record && chmod 755 /usr/local/bin/record \\
 && mkdir -p /opt/tool/bin && printf '#!/bin/sh\\necho tool here\\n' > /opt/tool/bin/tool \\
 && chmod 755 /opt/tool/bin/tool && mkdir -p /srv/app
ENV PATH=/opt/tool/bin:$PATH
ENTRYPOINT ["/usr/local/bin/record"]
CMD ["from-cmd", "two words"]
"""


@pytest.fixture
def service_image(docker_client, tmp_path: Path) -> str:  # type: ignore[no-untyped-def]
    """The image built here from the local base (no registry), labelled for cleanup."""
    folder = tmp_path / "image"
    folder.mkdir()
    (folder / "Dockerfile").write_text(DOCKERFILE)
    tag = f"{unique('devenv-test-service')}:1"
    key, value = RUN_LABEL.split("=", 1)
    docker_client.images.build(path=str(folder), tag=tag, labels={key: value}, rm=True)
    return tag


def box_file(name: str, path: str) -> str:
    return subprocess.run(
        ["docker", "exec", name, "cat", path], capture_output=True, text=True, check=True
    ).stdout


def test_image_entrypoint_runs_with_command_as_arguments_or_its_cmd(
    devenv, spec_dir, name, service_image, home
) -> None:  # type: ignore[no-untyped-def]
    port = free_port()
    more = f"""\
        base: {service_image}
        entrypoint: image
        command: [-m, "1024", "it's two"]
        """
    spec = spec_dir(name, ssh_box(name, port, more))
    applied = devenv("apply", str(spec))
    assert applied.code == 0, applied.err
    assert box_file(name, "/tmp/entry-args") == "-m\n1024\nit's two\n"
    assert box_file(name, "/tmp/entry-user") == "dev\n"  # after devenv's user mapping
    status = devenv("status", str(spec))
    assert status.code == 0 and "running" in status.out and "in sync" in status.out, status.out
    assert devenv("plan", "--detailed-exitcode", str(spec)).code == 0

    config = ssh_config(devenv, spec, home)
    login = ssh(config, name, "id -un")
    assert login.returncode == 0 and login.stdout == "dev\n", login.stderr

    # no command: the image's CMD are the arguments (a recreate, no build)
    spec.write_text(spec.read_text().replace('command: [-m, "1024", "it\'s two"]\n', ""))
    plan = devenv("plan", str(spec))
    assert "recreate" in plan.out and "build" not in plan.out, plan.out
    assert devenv("apply", "--yes", str(spec)).code == 0
    assert box_file(name, "/tmp/entry-args") == "from-cmd\ntwo words\n"
    assert devenv("plan", "--detailed-exitcode", str(spec)).code == 0
    assert devenv("destroy", "--yes", str(spec)).code == 0


PROBE = 'printf "%s|%s|%s|%s" "$GREETING" "$PWD" "$(command -v tool)" "$NOTE"'
# hostile text arrives literally and runs nothing: quotes, substitutions, a would-be command
HOSTILE = "it's \"q\" `id` $(touch /tmp/pwned) '; touch /tmp/pwned; ' \\ back # not a comment"
NOTE = "two\nlines\n"
DOTTED = "discovery.type"  # a name Docker takes and sh cannot hold


def test_every_way_in_sees_the_env_workdir_and_path(
    devenv, spec_dir, name, service_image, home
) -> None:  # type: ignore[no-untyped-def]
    """devenv shell (a command, a login shell), devenv ssh, plain ssh (a command, a login)
    and hooks: the spec's env (hostile text, a newline), the image's PATH, and the workdir,
    an SSH command's too. A name sh cannot hold reaches what bash runs (every SSH session),
    not what dash drops it from (`sh -c`)."""
    port = free_port()
    more = f"""\
        base: {service_image}
        env:
          GREETING: {json.dumps(HOSTILE)}
          NOTE: {json.dumps(NOTE)}
          {DOTTED}: single-node
        workdir: /srv/app
        command: [bash, -c, "printenv {DOTTED} > /tmp/command-dotted; exec sleep infinity"]
        hooks:
          start:
            - {json.dumps(PROBE + " > /tmp/hook")}
            - [bash, -c, "printenv {DOTTED} > /tmp/hook-dotted"]
        """
    spec = spec_dir(name, ssh_box(name, port, more))
    applied = devenv("apply", str(spec))
    assert applied.code == 0, applied.err
    tool = "/opt/tool/bin/tool"
    everything = f"{HOSTILE}|/srv/app|{tool}|{NOTE}"
    assert box_file(name, "/tmp/hook") == everything
    assert box_file(name, "/tmp/hook-dotted") == "single-node\n"
    assert box_file(name, "/tmp/command-dotted") == "single-node\n"  # past the sh entrypoint
    via_shell = devenv("shell", str(spec), "--", "sh", "-c", PROBE)
    assert via_shell.code == 0 and via_shell.out == everything, via_shell.err
    dotted = devenv("shell", str(spec), "--", "printenv", DOTTED)
    assert dotted.code == 0 and dotted.out == "single-node\n", dotted.err
    login_shell = devenv("shell", str(spec), stdin=PROBE + "\n")
    assert login_shell.code == 0 and login_shell.out == everything, login_shell.err

    config = ssh_config(devenv, spec, home)
    login = ssh(config, name, extra=("-T",), stdin=f"{PROBE}; printenv {DOTTED}\n")
    assert login.returncode == 0, login.stderr
    assert login.stdout == everything + "single-node\n", login.stderr
    command = ssh(config, name, f"{PROBE}; printenv {DOTTED}")
    assert command.returncode == 0, command.stderr
    assert command.stdout == everything + "single-node\n", command.stderr
    plain = ssh(config, name, f"pwd; printenv {DOTTED} NOTE GREETING")
    assert plain.stdout == f"/srv/app\nsingle-node\n{NOTE}\n{HOSTILE}\n", plain.stderr
    via_ssh = devenv("ssh", str(spec), "--", "sh", "-c", PROBE)
    assert via_ssh.code == 0 and via_ssh.out == everything, via_ssh.err
    assert subprocess.run(["docker", "exec", name, "test", "-e", "/tmp/pwned"]).returncode == 1
    # what stands in front of the user's shell changes nothing else the user sees
    who = ssh(config, name, 'printf "%s|%s|%s" "$SHELL" "$HOME" "$(id -un)"')
    assert who.stdout == "/bin/bash|/home/dev|dev", who.stderr
    assert devenv("shell", str(spec), stdin='printf "%s" "$SHELL"\n').out == "/bin/bash"
    assert devenv("destroy", "--yes", str(spec)).code == 0


def test_a_keys_command_restriction_still_holds_across_restarts(
    devenv, spec_dir, name, home
) -> None:  # type: ignore[no-untyped-def]
    """A key the user restricts with command= runs that command, whatever the client asks,
    in the workdir with the box's env (devenv adds no ForceCommand that would override it);
    after a restart, every session is as it was."""
    port = free_port()
    more = f"""\
        base: {BASE_IMAGE}
        env: {{GREETING: {json.dumps(HOSTILE)}}}
        workdir: /srv/app
        """
    spec = spec_dir(name, ssh_box(name, port, more))
    applied = devenv("apply", str(spec))
    assert applied.code == 0, applied.err
    restricted = home / ".ssh" / "restricted"
    subprocess.run(
        ["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(restricted)], check=True
    )
    line = f'command="pwd; printenv GREETING" {restricted.with_suffix(".pub").read_text()}'
    script = "mkdir -p ~/.ssh && cat >> ~/.ssh/authorized_keys && chmod 600 ~/.ssh/authorized_keys"
    put = devenv("shell", str(spec), "--", "sh", "-c", script, stdin=line)
    assert put.code == 0, put.err
    config = ssh_config(devenv, spec, home)
    asked = ssh(
        config,
        name,
        "touch /tmp/asked",
        extra=("-o", f"IdentityFile={restricted}", "-o", "IdentitiesOnly=yes"),
    )
    assert asked.returncode == 0 and asked.stdout == f"/srv/app\n{HOSTILE}\n", asked.stderr
    assert subprocess.run(["docker", "exec", name, "test", "-e", "/tmp/asked"]).returncode == 1
    # a restart finds its own stand-in in front of the user's shell: the same again
    assert devenv("restart", str(spec)).code == 0
    again = ssh(config, name, 'pwd; printenv GREETING; printf "%s" "$SHELL"')
    assert again.stdout == f"/srv/app\n{HOSTILE}\n/bin/bash", again.stderr
    assert devenv("destroy", "--yes", "--force", str(spec)).code == 0  # the key added by hand
