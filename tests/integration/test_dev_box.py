"""The dev box users come for: SSH, ports, shared folders, the user, envs talking by name."""

from __future__ import annotations

import shutil
import socket
import time
from collections.abc import Callable
from pathlib import Path

from tests.integration.conftest import ROOT, free_port, ssh, ssh_box, ssh_config
from tests.integration.test_lifecycle import fetch


def until(check: Callable[[], bool], seconds: float = 10) -> bool:
    """Poll `check` (PHP's opcache revalidates edited files every 2 s)."""
    deadline = time.monotonic() + seconds
    while not check():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.25)
    return True


def listeners(port: int) -> set[str]:
    """Local addresses with a TCP socket listening on `port` (from /proc/net/tcp and tcp6)."""
    found = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        for line in Path(table).read_text().splitlines()[1:]:
            local, state = line.split()[1], line.split()[3]
            address, hex_port = local.rsplit(":", 1)
            if state == "0A" and int(hex_port, 16) == port:
                if len(address) == 8:
                    found.add(socket.inet_ntoa(bytes.fromhex(address)[::-1]))
                else:
                    found.add(address)
    return found


def test_ssh_login_keys_and_host_key_survive_rebuild(
    devenv, devenv_env, docker_client, spec_dir, name, home
) -> None:  # type: ignore[no-untyped-def]
    port = free_port()
    spec = spec_dir(name, ssh_box(name, port, "apt: {packages: [busybox]}\n"))
    assert devenv("apply", str(spec)).code == 0

    config = ssh_config(devenv, spec, home)
    assert f"Host {name}\n" in config.read_text() and f"Port {port}\n" in config.read_text()
    login = ssh(config, name, "id -un; echo $HOME")
    assert login.returncode == 0, login.stderr
    assert login.stdout.split() == ["dev", "/home/dev"]

    via_devenv = devenv("ssh", str(spec), "--", "sh", "-c", "exit 5")
    assert via_devenv.code == 5, via_devenv.err

    # a lost public half of the host key is derived again from the private key
    public = (
        Path(devenv_env["DEVENV_STATE_DIR"]) / "envs" / name / "ssh" / "ssh_host_ed25519_key.pub"
    )
    public.unlink()
    assert devenv("ssh", str(spec), "--", "true").code == 0 and public.is_file()

    as_root = ssh(config, name, "true", extra=("-l", "root"))
    assert as_root.returncode == 255 and "Permission denied" in as_root.stderr
    password = ssh(
        config, name, "true", extra=("-o", "PreferredAuthentications=password,keyboard-interactive")
    )
    assert password.returncode == 255 and "Permission denied" in password.stderr

    # a rebuilt box (new package) presents the same host key: strict checking still passes
    first_image = docker_client.containers.get(name).image.id
    spec.write_text(spec.read_text().replace("busybox", "busybox, tree"))
    assert devenv("apply", "--yes", str(spec)).code == 0
    assert docker_client.containers.get(name).image.id != first_image
    again = ssh(config, name, "tree --version")
    assert again.returncode == 0, again.stderr
    assert devenv("destroy", "--yes", str(spec)).code == 0


def test_ports_bind_loopback_only_and_taken_ports_change_nothing(
    devenv, docker_client, spec_dir, name
) -> None:  # type: ignore[no-untyped-def]
    port = free_port()
    spec = spec_dir(
        name,
        f"""\
        name: {name}
        apt: {{packages: [busybox]}}
        ports: ["{port}:8000"]
        shared: ["./site:/srv"]
        command: [busybox, httpd, -f, -p, "8000", -h, /srv]
        """,
    )
    (spec.parent / "site").mkdir()
    (spec.parent / "site" / "hello.txt").write_text("hi\n")
    assert devenv("apply", str(spec)).code == 0
    assert fetch(port, "/hello.txt") == "hi\n"
    assert listeners(port) == {"127.0.0.1"}

    # a port held by another process: reported by port, nothing changed
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        taken = holder.getsockname()[1]
        before = docker_client.containers.get(name).id
        spec.write_text(spec.read_text().replace(f'"{port}:8000"', f'"{taken}:8000"'))
        result = devenv("apply", "--yes", str(spec))
        assert result.code == 1
        assert f"127.0.0.1:{taken} is already taken by another process" in result.err
        assert docker_client.containers.get(name).id == before
        assert fetch(port, "/hello.txt") == "hi\n"

    # a port held by another devenv container: reported with its owner
    other = spec_dir(f"{name}-b", f"name: {name}-b\nports: ['{port}:9000']\n")
    clash = devenv("apply", str(other))
    assert clash.code == 1 and f"taken by container {name!r}" in clash.err
    assert not docker_client.containers.list(all=True, filters={"name": f"^{name}-b$"})
    assert devenv("destroy", "--yes", str(spec)).code == 0


def test_shared_folders_user_mapping_and_readonly(
    devenv, docker_client, spec_dir, name, home
) -> None:  # type: ignore[no-untyped-def]
    (home / "ro").mkdir()
    (home / "ro" / "keep.txt").write_text("keep\n")
    spec = spec_dir(
        name,
        f"""\
        name: {name}
        user: {{name: dev, uid: 4321, gid: 4322}}
        shared:
          - ./work:/work
          - {{host: ~/ro, container: /ro, readonly: true}}
        """,
    )
    assert devenv("apply", str(spec)).code == 0
    work = spec.parent / "work"
    assert work.is_dir() and (work.stat().st_uid, work.stat().st_gid) == (4321, 4322)
    made = devenv("shell", str(spec), "--", "sh", "-c", "id -u; id -g; echo x > /work/made.txt")
    assert made.code == 0 and made.out.split() == ["4321", "4322"]
    stat = (work / "made.txt").stat()
    assert (stat.st_uid, stat.st_gid) == (4321, 4322)
    denied = devenv("shell", str(spec), "--", "sh", "-c", "echo y > /ro/keep.txt")
    assert denied.code != 0 and "Read-only file system" in denied.err + denied.out
    assert (home / "ro" / "keep.txt").read_text() == "keep\n"
    assert devenv("destroy", "--yes", str(spec)).code == 0
    assert (work / "made.txt").exists()

    strict = spec_dir(
        f"{name}-strict",
        f"name: {name}-strict\nshared: [{{host: ./absent, container: /a, create: false}}]\n",
    )
    refused = devenv("apply", str(strict))
    assert refused.code == 1 and "does not exist (create: false)" in refused.err
    assert not (strict.parent / "absent").exists()


def test_envs_of_one_folder_reach_each_other_by_name(devenv, docker_client, spec_dir, name) -> None:  # type: ignore[no-untyped-def]
    server = spec_dir(
        f"{name}-api",
        f"""\
        name: {name}-api
        apt: {{packages: [busybox]}}
        shared: ["./site:/srv"]
        command: [busybox, httpd, -f, -p, "8000", -h, /srv]
        """,
    )
    spec_dir(f"{name}-cli", f"name: {name}-cli\napt: {{packages: [busybox]}}\n")
    (server.parent / "site").mkdir()
    (server.parent / "site" / "ping").write_text("pong\n")
    assert devenv("apply", str(server.parent)).code == 0
    answer = devenv(
        "shell",
        str(server.parent / f"{name}-cli.yaml"),
        "--",
        "busybox",
        "wget",
        "-qO-",
        f"http://{name}-api:8000/ping",
    )
    assert answer.code == 0 and answer.out == "pong\n", answer.err
    container = docker_client.containers.get(f"{name}-api")
    (network,) = container.attrs["NetworkSettings"]["Networks"]
    assert network.startswith("devenv-")
    assert not container.attrs["HostConfig"]["PortBindings"]
    assert devenv("destroy", "--yes", str(server)).code == 0
    assert docker_client.networks.list(names=[network]), "another env of the folder still uses it"
    gone = devenv("destroy", "--yes", str(server.parent))
    assert gone.code == 0 and "removed network" in gone.out
    assert not docker_client.networks.list(names=[network])


def test_the_php_box_end_to_end(devenv, docker_client, tmp_path, home) -> None:  # type: ignore[no-untyped-def]
    """envs/php.yaml as shipped: ssh in, PHP serves ./src on 127.0.0.1:8080, edits show."""
    envs = tmp_path / "repo" / "envs"
    envs.mkdir(parents=True)
    shutil.copy(ROOT / "envs" / "php.yaml", envs / "php.yaml")
    shutil.copytree(ROOT / "envs" / "src", envs / "src")
    spec = envs / "php.yaml"
    applied = devenv("apply", str(spec))
    assert applied.code == 0, applied.err
    try:
        version = devenv("ssh", str(spec), "--", "php", "-v")
        assert version.code == 0 and version.out.startswith("PHP 8"), version.err
        assert fetch(8080, "/index.php").startswith("Hello from devenv, PHP 8")
        (envs / "src" / "index.php").write_text('<?php echo "edited on the host\\n";\n')
        assert until(lambda: fetch(8080, "/index.php") == "edited on the host\n")
        assert devenv("plan", "--detailed-exitcode", str(spec)).code == 0
        again = devenv("apply", str(spec))
        assert again.code == 0 and "building" not in again.err and "creating" not in again.err
    finally:
        assert devenv("destroy", "--yes", str(spec)).code == 0
    assert (envs / "src" / "index.php").read_text().startswith("<?php")
