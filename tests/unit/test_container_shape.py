"""One description of a container: create passes the shape as it is, the config label records
the same ports and mounts, and drift comparison reads the shape (no engine: a recording API)."""

from __future__ import annotations

import io
import tarfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from devenv import labels as L
from devenv.converge.desired import SSH_DIR, DesiredEnv, desire
from devenv.converge.plan import plan
from devenv.engine import Engine
from devenv.engine.observed import Observed, ObservedImage, mount_key
from devenv.engine.tarfiles import root_tar
from devenv.host import Host
from devenv.spec.loader import SpecFile
from tests.unit.test_plan import BASE_SUMMARY, BASIC, OTHER_KEY, converged, with_spec
from tests.unit.test_plan import KEY as PLAN_KEY

KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIHRlc3RrZXl0ZXN0a2V5dGVzdGtleXRlc3RrZXl0ZXN0 me@laptop"
SPEC = f"""\
    base: debian:bookworm
    ports: ["8080:80", {{host: 2222, container: 22, bind: 0.0.0.0}}, 9000, "127.0.0.1:53:53/udp"]
    shared: ["./src:/var/www", {{host: ./ro, container: /data, readonly: true}}]
    volumes: [{{name: box-home, container: /home/dev}}]
    sshd: {{authorized_keys: ["{KEY}"]}}
    user: dev
    env: {{APP_ENV: dev}}
    workdir: /var/www
    command: [sleep, infinity]
    docker_socket: true
    networks: {{join: [shared-net]}}
"""


class RecordingApi:
    """docker-py's low-level API, as far as create goes: records each call."""

    def __init__(self) -> None:
        self.calls: dict[str, dict[str, Any]] = {}

    def __getattr__(self, name: str) -> Callable[..., Any]:
        def call(*args: Any, **kwargs: Any) -> Any:
            self.calls[name] = {"args": args, **kwargs}
            if name == "volumes":
                return {"Volumes": []}
            if name == "networks":
                return [{"Name": "shared-net"}] if kwargs.get("names") == ["shared-net"] else []
            return {"Id": "new-container"}

        return call


@pytest.fixture
def box(load: Callable[[str], SpecFile], tmp_path: Path) -> DesiredEnv:
    host = Host(uid=1000, gid=1001, home=tmp_path, state_dir=tmp_path / "state")
    return desire(load(SPEC), Observed(), host)


def test_create_passes_the_shape_as_it_is(box: DesiredEnv) -> None:
    api = RecordingApi()
    assert Engine(api=api).create(box.shape, "box.devenv-new") == "new-container"
    created, host_config = api.calls["create_container"], api.calls["create_host_config"]
    assert created["name"] == "box.devenv-new" and created["hostname"] == "box"
    assert created["image"] == box.image and created["labels"] == box.labels
    assert created["environment"] == {
        "APP_ENV": "dev",
        "DEVENV_USER": "dev",
        "DEVENV_UID": "1000",
        "DEVENV_GID": "1001",
        "DEVENV_SSHD": "1",
    }
    assert host_config["binds"] == [m.bind for m in box.shape.mounts]
    assert host_config["port_bindings"]["9000/tcp"] == ("127.0.0.1", None)
    assert host_config["network_mode"] == box.shape.networks[0]
    assert api.calls["connect_container_to_network"]["args"] == ("new-container", "shared-net")
    assert api.calls["create_volume"]["labels"][L.ENV] == "box"


def test_the_config_label_records_the_shape(box: DesiredEnv) -> None:
    assert box.config["ports"] == [str(p) for p in box.shape.ports]
    binds = [m.bind for m in box.shape.mounts]
    assert binds[: len(box.config["shared"])] == box.config["shared"]
    assert set(box.config["volumes"]) <= set(binds)
    assert list(box.shape.networks) == box.config["networks"]


def test_drift_compares_mounts_as_the_engine_lists_them(box: DesiredEnv, tmp_path: Path) -> None:
    listed = {
        "Type": "bind",
        "Source": str(tmp_path / "ro"),
        "Destination": "/data",
        "RW": False,
    }
    assert mount_key(listed) in box.mounts
    assert not any(f"{tmp_path}/state" in m for m in box.mounts)  # the SSH folder is copied


def test_exposed_ports_are_those_spec_ports_call_exposed(box: DesiredEnv) -> None:
    exposed = [str(p) for p in box.shape.ports if p.exposed]
    assert exposed == ["0.0.0.0:2222:22"]
    assert [p.exposed for p in box.spec_file.spec.ports] == [p.exposed for p in box.shape.ports]


# ---- the keys are copied in, never mounted from this machine (a box must not write where
# devenv writes), on a local engine as on a remote one ----------------------------------------


@pytest.fixture
def remote(load: Callable[[str], SpecFile], tmp_path: Path) -> Callable[[str], DesiredEnv]:
    """YAML text → DesiredEnv (its base image present)."""
    host = Host(uid=1000, gid=1001, home=tmp_path, state_dir=tmp_path / "state")
    base = Observed(images=(ObservedImage.from_summary(BASE_SUMMARY),))
    return lambda text: desire(load(text), base, host)


def test_no_box_mounts_the_state_folder_and_its_keys_are_copied(
    box: DesiredEnv, tmp_path: Path
) -> None:
    state = f"{tmp_path}/state/envs/box/ssh"
    assert not any(
        m.target == SSH_DIR or m.source.startswith(str(tmp_path / "state"))
        for m in box.shape.mounts
    )
    assert box.shape.ssh_copy == state
    assert box.shape.environment["DEVENV_SSHD"] == "1"  # sshd still starts, from copied keys
    api = RecordingApi()
    Engine(api=api).create(box.shape, "box")
    assert not any(state in bind for bind in api.calls["create_host_config"]["binds"])


def test_a_box_of_an_older_devenv_with_its_ssh_folder_mounted_is_recreated(
    box: DesiredEnv, tmp_path: Path
) -> None:
    """An older devenv mounted the SSH folder read-write: such a box is replaced."""
    from devenv.converge.verdict import drift_reasons
    from devenv.engine.observed import ObservedContainer

    older = f"bind:{tmp_path}/state/envs/box/ssh:/etc/devenv/ssh:rw"
    live = ObservedContainer(
        id="c1", name="box", image="x", image_id="i", state="running", labels={},
        mounts=frozenset(box.mounts | {older, "volume:abc123:/var/lib/data:rw"}),
    )  # fmt: skip
    reasons = [r for r in drift_reasons(box.wanted, live) if r.startswith("mounts")]
    assert reasons == [
        f"mounts: {older.split(':', 1)[1]} is writable from the box but the spec shares no "
        "such path"
    ]


def test_a_box_without_sshd_copies_nothing(remote: Callable[[str], DesiredEnv]) -> None:
    assert remote("base: debian:bookworm\n").shape.ssh_copy is None


def test_a_converged_box_plans_no_changes_and_new_keys_recreate(
    remote: Callable[[str], DesiredEnv],
) -> None:
    spec = with_spec(BASIC, sshd=f'sshd: {{authorized_keys: ["{PLAN_KEY}"]}}', user="user: dev")
    far = remote(spec)
    assert [a.kind for a in plan([far], converged(far)).actions] == ["noop"]
    rekeyed = remote(spec.replace(PLAN_KEY, OTHER_KEY))
    (action,) = plan([rekeyed], converged(far)).actions
    assert (action.kind, action.reasons) == ("recreate", ("sshd: authorized keys changed",))


def test_the_copied_keys_are_root_owned_with_the_modes_sshd_wants() -> None:
    files = {
        "authorized_keys": (b"ssh-ed25519 AAAA me\n", 0o644),
        "ssh_host_ed25519_key": (b"k", 0o600),
    }
    with tarfile.open(fileobj=io.BytesIO(root_tar(SSH_DIR, files))) as tar:
        members = {m.name: m for m in tar.getmembers()}
        assert tar.extractfile("etc/devenv/ssh/authorized_keys").read() == b"ssh-ed25519 AAAA me\n"  # type: ignore[union-attr]
    assert {n: (m.mode, m.uid, m.gid, m.isdir()) for n, m in members.items()} == {
        "etc/devenv/ssh": (0o755, 0, 0, True),
        "etc/devenv/ssh/authorized_keys": (0o644, 0, 0, False),
        "etc/devenv/ssh/ssh_host_ed25519_key": (0o600, 0, 0, False),
    }


# --- entrypoint: image -------------------------------------------------------------------


def image_shape(command: list[str] | None) -> Any:
    from devenv.engine.shape import ContainerShape

    return ContainerShape(
        name="cache",
        image="devenv/cache:0123456789ab",
        command=command,
        workdir=None,
        environment={},
        labels={},
        mounts=(),
        ports=(),
        networks=(),
        external_networks=frozenset(),
        project="/p",
        image_entrypoint=True,
    )


@pytest.mark.parametrize(
    ("command", "config", "expected"),
    [
        (
            ["-m", "64"],
            {"Entrypoint": ["docker-entrypoint.sh"], "Cmd": ["memcached"]},
            (["/usr/local/bin/devenv-entrypoint", "docker-entrypoint.sh"], ["-m", "64"]),
        ),
        (
            None,
            {"Entrypoint": ["docker-entrypoint.sh"], "Cmd": ["memcached"]},
            (["/usr/local/bin/devenv-entrypoint", "docker-entrypoint.sh"], ["memcached"]),
        ),
        (
            None,
            {"Entrypoint": None, "Cmd": ["redis-server"]},
            (["/usr/local/bin/devenv-entrypoint"], ["redis-server"]),
        ),
        (
            [],
            {"Entrypoint": ["run"], "Cmd": ["x"]},
            (["/usr/local/bin/devenv-entrypoint", "run"], []),
        ),
    ],
)
def test_entrypoint_image_runs_the_images_entrypoint_after_devenvs(
    command: list[str] | None, config: dict[str, Any], expected: tuple[list[str], list[str]]
) -> None:
    """devenv's start-up first, then the image's ENTRYPOINT; `command` replaces only its CMD."""
    assert image_shape(command).image_start(config) == expected


def test_an_image_with_nothing_to_run_is_said() -> None:
    from devenv.errors import DevenvError

    with pytest.raises(DevenvError, match="neither an ENTRYPOINT nor a CMD") as caught:
        image_shape(None).image_start({"Entrypoint": None, "Cmd": None})
    assert caught.value.hint and "command" in caught.value.hint
