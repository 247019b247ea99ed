"""plan(desired, observed, prune_projects) → Plan: kinds and the exact reasons a user reads.

No engine: specs are loaded from YAML, desired state comes from `desire()`, and the observed
side is built from dicts shaped like the engine's /containers/json and /images/json summaries,
"as devenv would have created them", then changed one thing at a time.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import pytest

from devenv import labels as L
from devenv.converge.desired import DesiredEnv, desire
from devenv.converge.plan import Action, Plan, plan
from devenv.converge.volume_owner import newly_mounted, with_volume_notes
from devenv.engine.observed import Observed, ObservedContainer, ObservedImage
from devenv.host import Host
from devenv.spec.loader import SpecFile, load_all

BASE_SUMMARY: dict[str, Any] = {
    "Id": "sha256:" + "b" * 64,
    "RepoTags": ["debian:bookworm"],
    "RepoDigests": ["debian@sha256:" + "d" * 64],
    "Labels": None,
}
ENV_IMAGE_ID = "sha256:" + "e" * 64
CONTAINER_ID = "c" * 64
KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAILvSSIsM7KnpKuSWHJLSr+2He2Frd6gHrAG0za/HDgtM me@laptop"
OTHER_KEY = (
    "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIHGAy8pGTuy/DKlbN4Inxd4/P6iY2kHGhXjUEKsmo27r me@desk"
)

BASIC = """\
    base: debian:bookworm
    apt: {packages: [git]}
    ports: ["8080:80"]
    shared: ["./src:/var/www"]
    env: {APP_ENV: dev}
    workdir: /var/www
    command: [sleep, infinity]
"""


# ---- building inputs -----------------------------------------------------------------------


@pytest.fixture
def host(tmp_path: Path) -> Host:
    return Host(uid=1000, gid=1000, home=tmp_path, state_dir=tmp_path / "state")


@pytest.fixture
def want(load: Callable[[str], SpecFile], host: Host) -> Callable[..., DesiredEnv]:
    """YAML text → DesiredEnv, with the base image present (unless told otherwise)."""

    def _want(text: str, base_present: bool = True) -> DesiredEnv:
        images = (ObservedImage.from_summary(BASE_SUMMARY),) if base_present else ()
        return desire(load(text), Observed(images=images), host)

    return _want


def image_summary(want: DesiredEnv, image_id: str = ENV_IMAGE_ID) -> dict[str, Any]:
    """/images/json entry of the image devenv built for `want`."""
    return {
        "Id": image_id,
        "RepoTags": [want.image],
        "RepoDigests": [],
        "Labels": {
            L.MANAGED: "true",
            L.KIND: "env",
            L.ENV: want.name,
            L.BUILD_HASH: want.rendered.build_hash,
        },
    }


def _port_summaries(want: DesiredEnv) -> list[dict[str, Any]]:
    ports: list[dict[str, Any]] = []
    for i, entry in enumerate(want.config["ports"]):
        bind, host_port, rest = entry.rsplit(":", 2)
        container, _, proto = rest.partition("/")
        public = int(host_port) if host_port else 32768 + i  # the engine picks one
        ports.append(
            {
                "IP": bind,
                "PrivatePort": int(container),
                "PublicPort": public,
                "Type": proto or "tcp",
            }
        )
        if bind == "0.0.0.0":  # the engine lists the IPv6 twin of an all-interfaces bind
            ports.append({**ports[-1], "IP": "::"})
    return ports


def _mount_summaries(want: DesiredEnv) -> list[dict[str, Any]]:
    mounts = []
    for key in sorted(want.mounts):
        kind, rest = key.split(":", 1)
        source, destination, mode = rest.rsplit(":", 2)
        mount = {"Type": kind, "Destination": destination, "RW": mode == "rw", "Name": ""}
        if kind == "volume":
            mount.update(Name=source, Source=f"/var/lib/docker/volumes/{source}/_data")
        else:
            mount["Source"] = source
        mounts.append(mount)
    return mounts


def container_summary(
    want: DesiredEnv,
    *,
    state: str = "running",
    name: str | None = None,
    container_id: str = CONTAINER_ID,
    image_id: str = ENV_IMAGE_ID,
) -> dict[str, Any]:
    """/containers/json entry of the container devenv would have created for `want`."""
    return {
        "Id": container_id,
        "Names": [f"/{name or want.name}"],
        "Image": want.image,
        "ImageID": image_id,
        "State": state,
        "Labels": dict(want.labels),
        # a stopped container publishes nothing; the summary lists no host ports then
        "Ports": _port_summaries(want) if state == "running" else [],
        "Mounts": _mount_summaries(want),
        "NetworkSettings": {"Networks": {n: {} for n in want.shape.networks or ("bridge",)}},
    }


def observe(
    *containers: dict[str, Any], images: Iterable[dict[str, Any]] = (BASE_SUMMARY,)
) -> Observed:
    return Observed(
        tuple(ObservedContainer.from_summary(c) for c in containers),
        tuple(ObservedImage.from_summary(i) for i in images),
    )


def converged(want: DesiredEnv, **changes: Any) -> Observed:
    """The engine right after `devenv apply`: base, env image, running container."""
    return observe(container_summary(want, **changes), images=[BASE_SUMMARY, image_summary(want)])


def kinds(result: Plan, env: str | None = None) -> list[str]:
    actions = result.actions if env is None else result.for_env(env)
    return [a.kind for a in actions]


def only(result: Plan, kind: str) -> Action:
    (action,) = [a for a in result.actions if a.kind == kind]
    return action


def with_spec(text: str, **replace: str) -> str:
    """BASIC with whole lines replaced, e.g. with_spec(BASIC, ports='ports: ["8081:80"]')."""
    lines = text.splitlines()
    for key, line in replace.items():
        lines = [f"    {line}" if ln.strip().startswith(f"{key}:") else ln for ln in lines]
        if not any(ln.strip().startswith(f"{key}:") for ln in lines):
            lines.append(f"    {line}")
    return "\n".join(lines) + "\n"


# ---- the basic lifecycle ---------------------------------------------------------------------


def test_nothing_exists_builds_and_creates(want: Callable[..., DesiredEnv]) -> None:
    box = want(BASIC)
    result = plan([box], observe())
    assert kinds(result) == ["build", "create"]
    build, create = result.actions
    assert build.reasons == (f"image {box.image} is not built yet",)
    assert build.image == box.image and box.image.startswith("devenv/box:")
    assert create.reasons == ("new env",)
    assert create.container is None
    assert result.has_changes


def test_missing_base_is_named_in_the_build_reason(want: Callable[..., DesiredEnv]) -> None:
    box = want(BASIC, base_present=False)
    result = plan([box], observe(images=[]))
    assert kinds(result) == ["build", "create"]
    assert result.actions[0].reasons == ("base debian:bookworm is not on this engine yet",)


def test_bootstrapped_base_missing_is_named_too(want: Callable[..., DesiredEnv]) -> None:
    box = want(
        "base: {bootstrap: 'debian:bookworm', mirror: 'http://deb.example.org/debian'}\n",
        base_present=False,
    )
    result = plan([box], observe(images=[]))
    (reason,) = result.actions[0].reasons
    assert reason.startswith("bootstrapped base debian:bookworm (devenv-base/debian:bookworm-")
    assert reason.endswith(") is not built yet")


def test_image_exists_but_no_container_creates_only(want: Callable[..., DesiredEnv]) -> None:
    box = want(BASIC)
    result = plan([box], observe(images=[BASE_SUMMARY, image_summary(box)]))
    assert kinds(result) == ["create"]
    assert result.actions[0].reasons == ("new env",)
    assert result.actions[0].image == box.image


def test_converged_env_is_a_single_noop(want: Callable[..., DesiredEnv]) -> None:
    box = want(BASIC)
    result = plan([box], converged(box))
    assert result.actions == (Action("noop", "box", (), CONTAINER_ID, box.image),)
    assert not result.has_changes
    assert result.destructive == [] and result.conflicts == []


def test_converged_full_spec_is_a_noop(want: Callable[..., DesiredEnv]) -> None:
    """Every field that turns into a port, mount or label round-trips through the summary."""
    box = want(
        f"""\
        base: debian:bookworm
        ports: ["8080:80", 9000, "127.0.0.1:5353:53/udp", {{host: 2222, container: 22, bind: 0.0.0.0}}]
        shared: ["./src:/var/www", {{host: ~/data, container: /data, readonly: true}}]
        volumes: [{{name: box-home, container: /home/dev}}]
        sshd: {{authorized_keys: ["{KEY}"]}}
        user: dev
        env: {{A: "1", B: "two"}}
        workdir: /var/www
        command: "php -S 0.0.0.0:80"
        """
    )
    assert kinds(plan([box], converged(box))) == ["noop"]


def test_to_json_is_the_documented_shape(want: Callable[..., DesiredEnv]) -> None:
    box = want(BASIC)
    data = json.loads(plan([box], observe()).to_json())
    assert data == {
        "format_version": 1,
        "changes": True,
        "actions": [
            {
                "kind": "build",
                "env": "box",
                "reasons": [f"image {box.image} is not built yet"],
                "container": None,
                "image": box.image,
                "warnings": [],
                "discards": [],
                "repairs": [],
            },
            {
                "kind": "create",
                "env": "box",
                "reasons": ["new env"],
                "container": None,
                "image": box.image,
                "warnings": [],
                "discards": [],
                "repairs": [],
            },
        ],
        "errors": [],
    }


def test_to_json_of_a_converged_plan_has_no_changes(want: Callable[..., DesiredEnv]) -> None:
    box = want(BASIC)
    data = json.loads(plan([box], converged(box)).to_json())
    assert data["format_version"] == 1
    assert data["changes"] is False
    assert [(a["kind"], a["env"], a["reasons"]) for a in data["actions"]] == [("noop", "box", [])]


def test_no_desired_envs_and_nothing_observed_is_an_empty_plan() -> None:
    result = plan([], Observed())
    assert result.actions == () and not result.has_changes
    expected = {"format_version": 1, "changes": False, "actions": [], "errors": []}
    assert json.loads(result.to_json()) == expected


# ---- container config changes: recreate, never build ---------------------------------------


def _recreate_only(result: Plan) -> tuple[str, ...]:
    assert kinds(result) == ["recreate"], result.actions
    action = result.actions[0]
    assert action.container == CONTAINER_ID
    assert result.destructive == [action]
    return action.reasons


def test_host_port_change_recreates_without_build(want: Callable[..., DesiredEnv]) -> None:
    old = want(BASIC)
    new = want(with_spec(BASIC, ports='ports: ["8081:80"]'))
    assert new.image == old.image  # ports are not part of the image
    reasons = _recreate_only(plan([new], converged(old)))
    assert reasons == ("ports: 127.0.0.1:8080:80 → 127.0.0.1:8081:80",)


def test_env_value_change_never_shows_values(want: Callable[..., DesiredEnv]) -> None:
    old = want(with_spec(BASIC, env="env: {SECRET: hunter2}"))
    new = want(with_spec(BASIC, env="env: {SECRET: swordfish}"))
    reasons = _recreate_only(plan([new], converged(old)))
    assert reasons == ("env: SECRET changed",)
    shown = json.dumps([a.to_dict() for a in plan([new], converged(old)).actions])
    assert "hunter2" not in shown and "swordfish" not in shown


def test_env_added_and_removed(want: Callable[..., DesiredEnv]) -> None:
    old = want(with_spec(BASIC, env="env: {KEEP: a, GONE: b, EDIT: c}"))
    new = want(with_spec(BASIC, env="env: {KEEP: a, NEW: d, EDIT: e}"))
    reasons = _recreate_only(plan([new], converged(old)))
    assert reasons == ("env: NEW added, GONE removed, EDIT changed",)


def test_env_added_to_a_spec_without_env(want: Callable[..., DesiredEnv]) -> None:
    old = want("base: debian:bookworm\n")
    new = want("base: debian:bookworm\nenv: {APP_ENV: dev}\n")
    assert _recreate_only(plan([new], converged(old))) == ("env: APP_ENV added",)
    assert _recreate_only(plan([old], converged(new))) == ("env: APP_ENV removed",)


def test_command_change(want: Callable[..., DesiredEnv]) -> None:
    old = want(BASIC)
    new = want(with_spec(BASIC, command="command: [php, -S, '0.0.0.0:80']"))
    reasons = _recreate_only(plan([new], converged(old)))
    assert reasons == ("command: sleep, infinity → php, -S, 0.0.0.0:80",)


def test_command_removed(want: Callable[..., DesiredEnv]) -> None:
    old = want(BASIC)
    new = want(BASIC.replace("    command: [sleep, infinity]\n", ""))
    assert _recreate_only(plan([new], converged(old))) == ("command: sleep, infinity → none",)


def _rebuilt(old: DesiredEnv, new: DesiredEnv) -> tuple[str, ...]:
    """The recreate's reasons after the image reason, for a change that is also built."""
    result = plan([new], converged(old))
    assert kinds(result) == ["build", "recreate"], result.actions
    reasons = only(result, "recreate").reasons
    image = f"image: build hash {old.rendered.short_hash} → {new.rendered.short_hash}"
    assert reasons[0] == image
    return reasons[1:]


def test_workdir_change_builds_it_for_the_user(want: Callable[..., DesiredEnv]) -> None:
    """The workdir is made in the image (issue 18): a new one is built, then recreated."""
    old = want(BASIC)
    new = want(with_spec(BASIC, workdir="workdir: /srv"))
    assert _rebuilt(old, new) == ("workdir: /var/www → /srv",)


def test_shared_folder_change(want: Callable[..., DesiredEnv]) -> None:
    old = want(BASIC)
    new = want(with_spec(BASIC, shared='shared: ["./src:/srv/app:ro"]'))
    folder = old.spec_file.folder
    reasons = _recreate_only(plan([new], converged(old)))
    assert reasons == (f"shared: {folder}/src:/var/www:rw → {folder}/src:/srv/app:ro",)


def test_volume_added_builds_its_mount_point(want: Callable[..., DesiredEnv]) -> None:
    """A volume's mount point is made in the image for the user (issue 20)."""
    old = want(BASIC)
    new = want(with_spec(BASIC, volumes="volumes: [{name: box-home, container: /home/dev}]"))
    assert _rebuilt(old, new) == ("volumes: none → box-home:/home/dev:rw",)


def test_volume_renamed_at_the_same_place_recreates_only(want: Callable[..., DesiredEnv]) -> None:
    old = want(with_spec(BASIC, volumes="volumes: [{name: box-home, container: /home/dev}]"))
    new = want(with_spec(BASIC, volumes="volumes: [{name: box-data, container: /home/dev}]"))
    reasons = _recreate_only(plan([new], converged(old)))
    assert reasons == ("volumes: box-home:/home/dev:rw → box-data:/home/dev:rw",)


def test_user_uid_change_is_not_an_image_change(want: Callable[..., DesiredEnv]) -> None:
    """The uid/gid is applied at container start, never baked into the shared image."""
    old = want(with_spec(BASIC, user="user: dev"))
    new = want(with_spec(BASIC, user="user: {name: dev, uid: 1001, gid: 1002}"))
    assert new.image == old.image
    reasons = _recreate_only(plan([new], converged(old)))
    assert reasons == ("user: dev (1000:1000) → dev (1001:1002)",)


def test_user_name_change_rebuilds_and_names_the_user(want: Callable[..., DesiredEnv]) -> None:
    old = want(with_spec(BASIC, user="user: dev"))
    new = want(with_spec(BASIC, user="user: ops"))
    result = plan([new], converged(old))
    assert kinds(result) == ["build", "recreate"]
    assert only(result, "recreate").reasons == (
        f"image: build hash {old.rendered.short_hash} → {new.rendered.short_hash}",
        "user: dev (1000:1000) → ops (1000:1000)",
    )


def test_sshd_keys_change_recreates_without_build(want: Callable[..., DesiredEnv]) -> None:
    old = want(with_spec(BASIC, sshd=f'sshd: {{authorized_keys: ["{KEY}"]}}', user="user: dev"))
    new = want(
        with_spec(BASIC, sshd=f'sshd: {{authorized_keys: ["{OTHER_KEY}"]}}', user="user: dev")
    )
    assert new.image == old.image
    reasons = _recreate_only(plan([new], converged(old)))
    assert reasons == ("sshd: authorized keys changed",)
    assert not any("AAAA" in r for r in reasons)


def test_sshd_switched_on_reads_as_on_off(want: Callable[..., DesiredEnv]) -> None:
    old = want(with_spec(BASIC, user="user: dev"))
    new = want(with_spec(BASIC, sshd=f'sshd: {{authorized_keys: ["{KEY}"]}}', user="user: dev"))
    result = plan([new], converged(old))
    assert kinds(result) == ["build", "recreate"]  # openssh-server goes into the image
    assert only(result, "recreate").reasons[1:] == ("sshd: off → on",)
    back = plan([old], converged(new))
    assert kinds(back) == ["build", "recreate"]
    assert only(back, "recreate").reasons[1:] == ("sshd: on → off",)


def test_several_changes_give_one_reason_each_in_field_order(
    want: Callable[..., DesiredEnv],
) -> None:
    old = want(BASIC)
    new = want(with_spec(BASIC, ports='ports: ["8081:80"]', env="env: {APP_ENV: prod}"))
    reasons = _recreate_only(plan([new], converged(old)))
    assert reasons == ("env: APP_ENV changed", "ports: 127.0.0.1:8080:80 → 127.0.0.1:8081:80")


def test_config_change_on_a_stopped_container_recreates(want: Callable[..., DesiredEnv]) -> None:
    old = want(BASIC)
    new = want(with_spec(BASIC, ports='ports: ["8081:80"]'))
    reasons = _recreate_only(plan([new], converged(old, state="exited")))
    assert reasons == ("ports: 127.0.0.1:8080:80 → 127.0.0.1:8081:80",)


# ---- image changes: build + recreate -------------------------------------------------------


def test_package_change_builds_and_recreates(want: Callable[..., DesiredEnv]) -> None:
    old = want(BASIC)
    new = want(with_spec(BASIC, apt="apt: {packages: [git, vim]}"))
    assert new.rendered.build_hash != old.rendered.build_hash
    why = f"image: build hash {old.rendered.build_hash[:12]} → {new.rendered.build_hash[:12]}"
    result = plan([new], converged(old))
    assert kinds(result) == ["build", "recreate"]
    build, recreate = result.actions
    assert build.reasons == (why,) and build.image == new.image
    assert recreate.reasons == (why,)
    assert recreate.container == CONTAINER_ID and recreate.image == new.image


def test_package_change_with_the_new_image_already_built(want: Callable[..., DesiredEnv]) -> None:
    old = want(BASIC)
    new = want(with_spec(BASIC, apt="apt: {packages: [git, vim]}"))
    observed = observe(
        container_summary(old),
        images=[BASE_SUMMARY, image_summary(old), image_summary(new, "sha256:" + "f" * 64)],
    )
    reasons = _recreate_only(plan([new], observed))
    assert reasons == (f"image: build hash {old.rendered.short_hash} → {new.rendered.short_hash}",)


def test_image_deleted_by_hand_rebuilds_and_recreates(want: Callable[..., DesiredEnv]) -> None:
    box = want(BASIC)
    result = plan([box], observe(container_summary(box), images=[BASE_SUMMARY]))
    assert kinds(result) == ["build", "recreate"]
    build, recreate = result.actions
    assert build.reasons == (f"image {box.image} is missing (deleted by hand?)",)
    assert recreate.reasons == (
        f"image: the container does not run {box.image} (image rebuilt or deleted)",
    )


def test_image_rebuilt_under_the_same_tag_recreates(want: Callable[..., DesiredEnv]) -> None:
    box = want(BASIC)
    observed = observe(
        container_summary(box, image_id="sha256:" + "0" * 64),
        images=[BASE_SUMMARY, image_summary(box)],
    )
    assert _recreate_only(plan([box], observed)) == (
        f"image: the container does not run {box.image} (image rebuilt or deleted)",
    )


# ---- state ---------------------------------------------------------------------------------


@pytest.mark.parametrize("state", ["exited", "created"])
def test_stopped_container_is_started(want: Callable[..., DesiredEnv], state: str) -> None:
    box = want(BASIC)
    result = plan([box], converged(box, state=state))
    assert result.actions == (
        Action("start", "box", (f"state: {state}",), CONTAINER_ID, box.image),
    )
    assert result.has_changes and result.destructive == []


def test_a_paused_container_is_unpaused_in_place(want: Callable[..., DesiredEnv]) -> None:
    box = want(BASIC)
    result = plan([box], converged(box, state="paused"))
    assert result.actions == (
        Action(
            "repair",
            "box",
            ("paused (by hand): unpaused",),
            CONTAINER_ID,
            box.image,
            repairs=("unpause",),
        ),
    )
    assert result.has_changes and result.destructive == []


def test_stopped_container_with_ports_not_listed_is_not_drift(
    want: Callable[..., DesiredEnv],
) -> None:
    """A stopped container's summary lists no host ports; that alone is not a change."""
    box = want(BASIC)
    assert kinds(plan([box], converged(box, state="exited"))) == ["start"]


def test_container_removed_by_hand_is_created(want: Callable[..., DesiredEnv]) -> None:
    box = want(BASIC)
    result = plan([box], observe(images=[BASE_SUMMARY, image_summary(box)]))
    assert result.actions == (Action("create", "box", ("new env",), None, box.image),)


# ---- ownership -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "labels",
    [
        None,
        {},
        {"com.docker.compose.project": "web"},
        {L.MANAGED: "false", L.ENV: "box"},
    ],
    ids=["no-labels", "empty", "other-tool", "managed-false"],
)
def test_same_name_unowned_container_is_a_conflict_and_nothing_else(
    want: Callable[..., DesiredEnv], labels: dict[str, str] | None
) -> None:
    box = want(BASIC)
    stranger = {
        "Id": "a" * 64,
        "Names": ["/box"],
        "Image": "nginx:latest",
        "ImageID": "sha256:" + "1" * 64,
        "State": "running",
        "Labels": labels,
        "Ports": [{"IP": "0.0.0.0", "PrivatePort": 80, "PublicPort": 8080, "Type": "tcp"}],
        "Mounts": [],
    }
    result = plan([box], observe(stranger), prune_projects=[str(box.spec_file.folder)])
    assert result.actions == (
        Action(
            "conflict",
            "box",
            ("a container named 'box' exists that devenv did not create; left alone",),
            container="a" * 64,
        ),
    )
    assert result.conflicts == list(result.actions)
    assert not result.has_changes and result.destructive == []


def test_conflict_for_one_env_leaves_the_others_planned(
    write_spec: Callable[..., Path], host: Host, tmp_path: Path
) -> None:
    write_spec("base: debian:bookworm\n", "box.yaml")
    write_spec("base: debian:bookworm\n", "web.yaml")
    observed = observe(
        {"Id": "a" * 64, "Names": ["/box"], "State": "running", "Labels": {}},
        images=[BASE_SUMMARY],
    )
    desired = [desire(s, observed, host) for s in load_all([tmp_path])]
    result = plan(desired, observed)
    assert kinds(result, "box") == ["conflict"]
    assert kinds(result, "web") == ["build", "create"]


# ---- labels edited -------------------------------------------------------------------------


def _with_labels(want: DesiredEnv, **edits: str | None) -> dict[str, Any]:
    summary = container_summary(want)
    for key, value in edits.items():
        label = getattr(L, key)
        if value is None:
            summary["Labels"].pop(label)
        else:
            summary["Labels"][label] = value
    return summary


def _observe_with(want: DesiredEnv, summary: dict[str, Any]) -> Observed:
    return observe(summary, images=[BASE_SUMMARY, image_summary(want)])


MISSING = "labels: devenv's labels are missing or unreadable (edited by hand?)"


@pytest.mark.parametrize(
    "edits",
    [
        {"CONFIG": None, "CONFIG_HASH": None},
        {"CONFIG": "{not json", "CONFIG_HASH": "0" * 64},
        {"CONFIG": '["a", "list"]', "CONFIG_HASH": "0" * 64},
        {"CONFIG": None, "CONFIG_HASH": "0" * 64},
    ],
    ids=["both-removed", "garbled", "not-an-object", "config-removed-hash-edited"],
)
def test_unreadable_config_label_recreates(
    want: Callable[..., DesiredEnv], edits: dict[str, str | None]
) -> None:
    box = want(BASIC)
    assert _recreate_only(plan([box], _observe_with(box, _with_labels(box, **edits)))) == (MISSING,)


def test_config_hash_edited_with_the_config_intact(want: Callable[..., DesiredEnv]) -> None:
    box = want(BASIC)
    summary = _with_labels(box, CONFIG_HASH="0" * 64)
    assert _recreate_only(plan([box], _observe_with(box, summary))) == (
        "labels: config hash edited by hand",
    )


def test_config_label_removed_while_the_spec_changed(want: Callable[..., DesiredEnv]) -> None:
    """Without the applied config the plan cannot name fields, and says why."""
    old = want(BASIC)
    new = want(with_spec(BASIC, ports='ports: ["8081:80"]'))
    summary = _with_labels(old, CONFIG=None)
    assert _recreate_only(plan([new], _observe_with(old, summary))) == (MISSING,)


def test_config_label_removed_with_a_matching_hash_is_a_noop(
    want: Callable[..., DesiredEnv],
) -> None:
    """The config hash alone proves the container runs the spec's config: no replacement."""
    box = want(BASIC)
    summary = _with_labels(box, CONFIG=None)
    assert kinds(plan([box], _observe_with(box, summary))) == ["noop"]


def test_build_hash_label_removed(want: Callable[..., DesiredEnv]) -> None:
    box = want(BASIC)
    summary = _with_labels(box, BUILD_HASH=None)
    assert _recreate_only(plan([box], _observe_with(box, summary))) == (
        f"image: build hash unknown → {box.rendered.short_hash}",
    )


def test_managed_label_removed_makes_it_a_conflict(want: Callable[..., DesiredEnv]) -> None:
    box = want(BASIC)
    summary = _with_labels(box, MANAGED=None)
    assert kinds(plan([box], _observe_with(box, summary))) == ["conflict"]


# ---- drift: changed by hand, labels untouched ----------------------------------------------


def test_live_ports_changed_by_hand_is_drift(want: Callable[..., DesiredEnv]) -> None:
    box = want(BASIC)
    summary = container_summary(box)
    summary["Ports"] = [{"IP": "127.0.0.1", "PrivatePort": 80, "PublicPort": 9999, "Type": "tcp"}]
    assert _recreate_only(plan([box], _observe_with(box, summary))) == (
        "ports (changed by hand): live 127.0.0.1:9999:80, spec 127.0.0.1:8080:80",
    )


def test_port_published_on_another_address_by_hand_is_drift(
    want: Callable[..., DesiredEnv],
) -> None:
    box = want(BASIC)
    summary = container_summary(box)
    summary["Ports"] = [
        {"IP": "0.0.0.0", "PrivatePort": 80, "PublicPort": 8080, "Type": "tcp"},
        {"IP": "::", "PrivatePort": 80, "PublicPort": 8080, "Type": "tcp"},
    ]
    assert _recreate_only(plan([box], _observe_with(box, summary))) == (
        "ports (changed by hand): live 0.0.0.0:8080:80, spec 127.0.0.1:8080:80",
    )


def test_extra_port_published_by_hand_is_drift(want: Callable[..., DesiredEnv]) -> None:
    box = want(BASIC)
    summary = container_summary(box)
    summary["Ports"].append(
        {"IP": "127.0.0.1", "PrivatePort": 22, "PublicPort": 2222, "Type": "tcp"}
    )
    assert _recreate_only(plan([box], _observe_with(box, summary))) == (
        "ports (changed by hand): live 127.0.0.1:2222:22, 127.0.0.1:8080:80, "
        "spec 127.0.0.1:8080:80",
    )


def test_exposed_but_unpublished_port_is_not_drift(want: Callable[..., DesiredEnv]) -> None:
    box = want(BASIC)
    summary = container_summary(box)
    summary["Ports"].append({"PrivatePort": 443, "Type": "tcp"})  # EXPOSE in the image
    assert kinds(plan([box], _observe_with(box, summary))) == ["noop"]


def test_engine_assigned_host_port_is_not_drift(want: Callable[..., DesiredEnv]) -> None:
    box = want("base: debian:bookworm\nports: [9000]\n")
    assert box.config["ports"] == ["127.0.0.1::9000"]
    summary = container_summary(box)
    assert summary["Ports"] == [
        {"IP": "127.0.0.1", "PrivatePort": 9000, "PublicPort": 32768, "Type": "tcp"}
    ]
    assert kinds(plan([box], _observe_with(box, summary))) == ["noop"]


def test_engine_assigned_port_on_ipv6_loopback_is_not_drift(
    want: Callable[..., DesiredEnv],
) -> None:
    box = want("base: debian:bookworm\nports: [{container: 9000, bind: '::1'}]\n")
    assert box.config["ports"] == ["::1::9000"]
    assert kinds(plan([box], converged(box))) == ["noop"]


def test_ipv6_loopback_port_change_is_drift(want: Callable[..., DesiredEnv]) -> None:
    box = want("base: debian:bookworm\nports: ['[::1]:8080:80']\n")
    summary = container_summary(box)
    assert kinds(plan([box], _observe_with(box, summary))) == ["noop"]
    summary["Ports"][0]["PublicPort"] = 8081
    assert _recreate_only(plan([box], _observe_with(box, summary))) == (
        "ports (changed by hand): live ::1:8081:80, spec ::1:8080:80",
    )


def test_all_interfaces_bind_with_its_ipv6_twin_is_not_drift(
    want: Callable[..., DesiredEnv],
) -> None:
    box = want("base: debian:bookworm\nports: [{host: 2222, container: 22, bind: 0.0.0.0}]\n")
    assert kinds(plan([box], converged(box))) == ["noop"]


def test_ipv6_all_interfaces_bind_is_not_drift(want: Callable[..., DesiredEnv]) -> None:
    """A spec binding '::' itself: the engine lists only '::' entries, which must count."""
    box = want("base: debian:bookworm\nports: [{host: 2222, container: 22, bind: '::'}]\n")
    assert kinds(plan([box], converged(box))) == ["noop"]


def test_udp_port_round_trips(want: Callable[..., DesiredEnv]) -> None:
    box = want("base: debian:bookworm\nports: ['5353:53/udp', '5353:53']\n")
    assert kinds(plan([box], converged(box))) == ["noop"]
    summary = container_summary(box)
    summary["Ports"] = [p for p in summary["Ports"] if p["Type"] == "tcp"]
    assert _recreate_only(plan([box], _observe_with(box, summary))) == (
        "ports (changed by hand): live 127.0.0.1:5353:53, "
        "spec 127.0.0.1:5353:53/udp, 127.0.0.1:5353:53",
    )


def test_missing_mount_is_drift(want: Callable[..., DesiredEnv]) -> None:
    box = want(with_spec(BASIC, volumes="volumes: [{name: box-home, container: /home/dev}]"))
    summary = container_summary(box)
    summary["Mounts"] = [m for m in summary["Mounts"] if m["Destination"] != "/var/www"]
    folder = box.spec_file.folder
    assert _recreate_only(plan([box], _observe_with(box, summary))) == (
        f"mounts (changed by hand): missing {folder}/src:/var/www:rw",
    )


def test_every_mount_gone_is_drift(want: Callable[..., DesiredEnv]) -> None:
    box = want(BASIC)
    summary = container_summary(box)
    summary["Mounts"] = []
    folder = box.spec_file.folder
    assert _recreate_only(plan([box], _observe_with(box, summary))) == (
        f"mounts (changed by hand): missing {folder}/src:/var/www:rw",
    )


def test_readonly_flipped_by_hand_is_drift(want: Callable[..., DesiredEnv]) -> None:
    box = want(BASIC)
    summary = container_summary(box)
    summary["Mounts"][0]["RW"] = False
    assert kinds(plan([box], _observe_with(box, summary))) == ["recreate"]


def test_extra_mounts_are_not_drift(want: Callable[..., DesiredEnv]) -> None:
    """Anonymous volumes from the image's VOLUME lines are the engine's, not a hand edit."""
    box = want(BASIC)
    summary = container_summary(box)
    summary["Mounts"].append(
        {
            "Type": "volume",
            "Name": "f" * 64,
            "Source": "/var/lib/docker/volumes/x/_data",
            "Destination": "/var/lib/mysql",
            "RW": True,
        }
    )
    assert kinds(plan([box], _observe_with(box, summary))) == ["noop"]


def test_no_sshd_mount_is_expected_and_an_older_writable_one_recreates(
    want: Callable[..., DesiredEnv], host: Host
) -> None:
    """The SSH folder is copied into the box (issue 19); a box an older devenv made with it
    mounted read-write is replaced, so no box keeps writing where devenv writes."""
    box = want(with_spec(BASIC, sshd=f'sshd: {{authorized_keys: ["{KEY}"]}}', user="user: dev"))
    assert not any("/etc/devenv/ssh" in m for m in box.mounts)
    assert kinds(plan([box], converged(box))) == ["noop"]
    summary = container_summary(box)
    ssh = f"{host.state_dir}/envs/box/ssh"
    older = {"Type": "bind", "Source": ssh, "Destination": "/etc/devenv/ssh", "RW": True}
    summary["Mounts"] = [*summary["Mounts"], older]
    assert _recreate_only(plan([box], _observe_with(box, summary))) == (
        f"mounts: {ssh}:/etc/devenv/ssh:rw is writable from the box but the spec shares no "
        "such path",
    )


def test_ports_and_mounts_drift_together(want: Callable[..., DesiredEnv]) -> None:
    box = want(BASIC)
    summary = container_summary(box)
    summary["Ports"][0]["PublicPort"] = 9999
    summary["Mounts"] = []
    reasons = _recreate_only(plan([box], _observe_with(box, summary)))
    assert [r.split(":", 1)[0] for r in reasons] == [
        "ports (changed by hand)",
        "mounts (changed by hand)",
    ]


# ---- leftovers of an interrupted apply -----------------------------------------------------


@pytest.mark.parametrize("suffix", ["devenv-old", "devenv-new"])
def test_leftover_from_an_interrupted_apply_is_removed(
    want: Callable[..., DesiredEnv], suffix: str
) -> None:
    box = want(BASIC)
    leftover = container_summary(box, name=f"box.{suffix}", container_id="9" * 64, state="exited")
    observed = observe(container_summary(box), leftover, images=[BASE_SUMMARY, image_summary(box)])
    result = plan([box], observed)
    assert result.actions == (
        Action("noop", "box", (), CONTAINER_ID, box.image),
        Action("remove", "box", (f"box.{suffix}: left over from an interrupted apply",), "9" * 64),
    )
    assert result.has_changes


def test_leftover_only_means_the_env_is_created_again(want: Callable[..., DesiredEnv]) -> None:
    box = want(BASIC)
    leftover = container_summary(box, name="box.devenv-old", container_id="9" * 64)
    result = plan([box], observe(leftover, images=[BASE_SUMMARY, image_summary(box)]))
    assert kinds(result) == ["create", "remove"]
    assert result.actions[0].reasons == ("container missing (removed by hand?)",)
    assert result.actions[1].reasons == ("box.devenv-old: left over from an interrupted apply",)


def test_unowned_container_with_a_leftover_like_name_is_left_alone(
    want: Callable[..., DesiredEnv],
) -> None:
    box = want(BASIC)
    stranger = {"Id": "9" * 64, "Names": ["/box.devenv-old"], "State": "exited", "Labels": {}}
    observed = observe(container_summary(box), stranger, images=[BASE_SUMMARY, image_summary(box)])
    assert kinds(plan([box], observed)) == ["noop"]


# ---- prune ---------------------------------------------------------------------------------


@pytest.fixture
def two_specs(
    write_spec: Callable[..., Path], host: Host, tmp_path: Path
) -> tuple[DesiredEnv, DesiredEnv]:
    """`box` (still wanted) and `gone` (its spec since deleted), both in one folder."""
    write_spec(BASIC, "box.yaml")
    gone_path = write_spec("base: debian:bookworm\n", "gone.yaml")
    observed = Observed(images=(ObservedImage.from_summary(BASE_SUMMARY),))
    box, gone = (desire(s, observed, host) for s in load_all([tmp_path]))
    gone_path.unlink()
    return box, gone


def _prune_world(box: DesiredEnv, *others: dict[str, Any]) -> Observed:
    return observe(container_summary(box), *others, images=[BASE_SUMMARY, image_summary(box)])


def test_orphan_is_removed_only_under_prune(two_specs: tuple[DesiredEnv, DesiredEnv]) -> None:
    box, gone = two_specs
    folder = str(box.spec_file.folder)
    assert gone.project == folder
    observed = _prune_world(box, container_summary(gone, container_id="7" * 64))

    assert kinds(plan([box], observed)) == ["noop"]
    assert kinds(plan([box], observed, prune_projects=["/somewhere/else"])) == ["noop"]

    result = plan([box], observed, prune_projects=[folder])
    assert result.actions[1:] == (
        Action("remove", "gone", (f"orphan: its spec is no longer in {folder}",), "7" * 64),
    )
    assert kinds(result, "box") == ["noop"]
    assert result.has_changes and result.destructive == [result.actions[1]]


def test_orphan_leftovers_are_pruned_too(two_specs: tuple[DesiredEnv, DesiredEnv]) -> None:
    box, gone = two_specs
    observed = _prune_world(
        box,
        container_summary(gone, container_id="7" * 64),
        container_summary(gone, name="gone.devenv-old", container_id="8" * 64, state="exited"),
    )
    result = plan([box], observed, prune_projects=[str(box.spec_file.folder)])
    assert [(a.kind, a.env, a.container) for a in result.for_env("gone")] == [
        ("remove", "gone", "7" * 64),
        ("remove", "gone", "8" * 64),
    ]


def test_prune_never_touches_unowned_containers(
    two_specs: tuple[DesiredEnv, DesiredEnv],
) -> None:
    box, _ = two_specs
    folder = str(box.spec_file.folder)
    stranger = {
        "Id": "6" * 64,
        "Names": ["/db"],
        "State": "running",
        # devenv-like labels without the ownership mark: not devenv's
        "Labels": {L.PROJECT: folder, L.ENV: "db"},
    }
    result = plan([box], _prune_world(box, stranger), prune_projects=[folder])
    assert kinds(result) == ["noop"]


def test_prune_never_touches_an_env_of_another_folder(
    two_specs: tuple[DesiredEnv, DesiredEnv],
) -> None:
    box, gone = two_specs
    elsewhere = container_summary(gone, name="other", container_id="5" * 64)
    elsewhere["Labels"].update({L.ENV: "other", L.PROJECT: "/home/someone/other-project"})
    result = plan([box], _prune_world(box, elsewhere), prune_projects=[str(box.spec_file.folder)])
    assert kinds(result) == ["noop"]


def test_prune_never_removes_a_wanted_env(two_specs: tuple[DesiredEnv, DesiredEnv]) -> None:
    box, gone = two_specs
    observed = _prune_world(gone, container_summary(box, container_id="4" * 64))
    observed = Observed(
        observed.containers,
        (*observed.images, ObservedImage.from_summary(image_summary(box))),
    )
    result = plan([box, gone], observed, prune_projects=[str(box.spec_file.folder)])
    assert "remove" not in kinds(result)


# ---- warnings ------------------------------------------------------------------------------


def test_all_interfaces_bind_warns_about_the_network(want: Callable[..., DesiredEnv]) -> None:
    box = want(
        "base: debian:bookworm\nports: ['8080:80', {host: 2222, container: 22, bind: 0.0.0.0}]\n"
    )
    result = plan([box], observe())
    create = only(result, "create")
    assert create.warnings == (
        "port 0.0.0.0:2222:22 is published on 0.0.0.0: reachable from the network",
    )
    assert only(result, "build").warnings == ()
    assert json.loads(result.to_json())["actions"][1]["warnings"] == list(create.warnings)


def test_ipv6_all_interfaces_bind_warning_names_the_address(
    want: Callable[..., DesiredEnv],
) -> None:
    box = want("base: debian:bookworm\nports: [{host: 2222, container: 22, bind: '::'}]\n")
    (warning,) = only(plan([box], observe()), "create").warnings
    assert warning == "port :::2222:22 is published on ::: reachable from the network"


def test_recreate_carries_the_warning_too(want: Callable[..., DesiredEnv]) -> None:
    old = want("base: debian:bookworm\nports: ['8080:80']\n")
    new = want("base: debian:bookworm\nports: [{host: 8080, container: 80, bind: 0.0.0.0}]\n")
    recreate = only(plan([new], converged(old)), "recreate")
    assert recreate.reasons == ("ports: 127.0.0.1:8080:80 → 0.0.0.0:8080:80",)
    assert len(recreate.warnings) == 1 and "network" in recreate.warnings[0]


@pytest.mark.parametrize("bind", ["127.0.0.1", "127.0.0.2", "::1"])
def test_loopback_binds_do_not_warn(want: Callable[..., DesiredEnv], bind: str) -> None:
    box = want(f"base: debian:bookworm\nports: [{{host: 8080, container: 80, bind: '{bind}'}}]\n")
    assert only(plan([box], observe()), "create").warnings == ()


# ---- purity --------------------------------------------------------------------------------


def test_plan_module_does_not_import_docker() -> None:
    code = (
        "import sys, devenv.converge.plan\n"
        "bad = sorted(m for m in sys.modules if m.split('.')[0] == 'docker' "
        "or m.startswith(('devenv.engine.adapter', 'devenv.engine.client')))\n"
        "print(bad)\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout
    assert out.strip() == "[]"


def test_plan_does_not_mutate_its_inputs(want: Callable[..., DesiredEnv]) -> None:
    old = want(BASIC)
    new = want(with_spec(BASIC, ports='ports: ["8081:80"]'))
    observed = converged(old)
    config_before = json.dumps(new.config, sort_keys=True)
    first = plan([new], observed)
    assert plan([new], observed) == first
    assert json.dumps(new.config, sort_keys=True) == config_before


# ---- adopt: a spec written by `init --from CONTAINER` takes that container over -------------

STRANGER: dict[str, Any] = {
    "Id": "a" * 64,
    "Names": ["/box"],
    "Image": "debian:bookworm",
    "ImageID": "sha256:" + "1" * 64,
    "State": "running",
    "Labels": {},
    "Ports": [{"IP": "127.0.0.1", "PrivatePort": 80, "PublicPort": 8080, "Type": "tcp"}],
    "Mounts": [],
}


def test_adopt_replaces_exactly_that_container(want: Callable[..., DesiredEnv]) -> None:
    box = want(with_spec(BASIC, adopt=f"adopt: {'a' * 64}"))
    result = plan([box], observe(STRANGER))
    assert kinds(result) == ["build", "recreate"]
    recreate = only(result, "recreate")
    assert recreate.container == "a" * 64 and result.destructive == [recreate]
    assert recreate.reasons == (
        "adopt: take over the hand-made container aaaaaaaaaaaa (replaced by devenv's)",
    )


def test_adopt_of_another_container_is_still_a_conflict(want: Callable[..., DesiredEnv]) -> None:
    box = want(with_spec(BASIC, adopt=f"adopt: {'b' * 12}"))
    result = plan([box], observe(STRANGER))
    assert kinds(result) == ["conflict"]
    assert (
        "(the spec adopts bbbbbbbbbbbb, this one is aaaaaaaaaaaa)" in result.actions[0].reasons[0]
    )


def test_adopt_is_ignored_once_devenv_owns_the_box(want: Callable[..., DesiredEnv]) -> None:
    box = want(with_spec(BASIC, adopt=f"adopt: {CONTAINER_ID}"))
    assert kinds(plan([box], converged(box))) == ["noop"]


# ---- the same name from two spec files -------------------------------------------------------


def test_same_name_from_another_spec_file_is_a_conflict_naming_both(
    write_spec: Callable[..., Path], host: Host, tmp_path: Path
) -> None:
    """Regression: a second folder's `name: box` silently replaced the first folder's box."""
    (tmp_path / "other").mkdir()
    first = write_spec("base: debian:bookworm\n", "other/box.yaml")
    second = write_spec("base: debian:bookworm\n", "box.yaml")
    images = [BASE_SUMMARY]
    (first_file,) = load_all([first])
    (second_file,) = load_all([second])
    theirs = desire(first_file, observe(images=images), host)
    observed = observe(container_summary(theirs), images=[*images, image_summary(theirs)])
    mine = desire(second_file, observed, host)
    result = plan([mine], observed)
    (action,) = result.actions
    assert action.kind == "conflict" and action.container == CONTAINER_ID
    (reason,) = action.reasons
    assert str(first.resolve()) in reason and str(second.resolve()) in reason
    assert "--takeover" in reason
    assert not result.has_changes and result.destructive == []
    taken = plan([mine], observed, takeover=True)
    assert kinds(taken) == ["recreate"]
    assert f"spec: {first.resolve()} → {second.resolve()}" in taken.actions[0].reasons
    assert taken.destructive == list(taken.actions)


def test_takeover_never_hands_over_a_container_devenv_did_not_create(
    want: Callable[..., DesiredEnv],
) -> None:
    box = want(BASIC)
    stranger = {"Id": "a" * 64, "Names": ["/box"], "State": "running", "Labels": {}}
    assert kinds(plan([box], observe(stranger), takeover=True)) == ["conflict"]


# ---- volumes mounted anew for the box's user (issue 20) ------------------------------------

VOLUME = "volumes: [{name: box-data, container: /data}]"


def test_a_converged_box_asks_no_volume_owner(want: Callable[..., DesiredEnv]) -> None:
    box = want(with_spec(BASIC, user="user: dev", volumes=VOLUME))
    assert newly_mounted(plan([box], converged(box)), [box], converged(box)) == set()


def test_a_user_mapped_to_root_has_no_volume_note(load: Callable[[str], SpecFile]) -> None:
    host = Host(uid=0, gid=0, home=Path("/nonexistent"), state_dir=Path("/nonexistent/state"))
    images = Observed(images=(ObservedImage.from_summary(BASE_SUMMARY),))
    box = desire(load(with_spec(BASIC, user="user: dev", volumes=VOLUME)), images, host)
    the_plan = plan([box], observe())
    assert with_volume_notes(the_plan, [box], {"box-data": 1000}) == the_plan


def test_a_box_without_a_user_asks_no_volume_owner(want: Callable[..., DesiredEnv]) -> None:
    box = want(with_spec(BASIC, volumes=VOLUME))
    assert newly_mounted(plan([box], observe()), [box], observe()) == set()


@pytest.mark.parametrize(
    ("owner", "noted"), [(None, False), (1000, False), (0, True)], ids=["new", "users", "root"]
)
def test_an_existing_volume_of_another_owner_is_noted_not_changed(
    want: Callable[..., DesiredEnv], owner: int | None, noted: bool
) -> None:
    box = want(with_spec(BASIC, user="user: dev", volumes=VOLUME))
    the_plan = plan([box], observe())
    assert newly_mounted(the_plan, [box], observe()) == {"box-data"}
    result = with_volume_notes(the_plan, [box], {"box-data": owner})
    assert kinds(result) == kinds(the_plan) == ["build", "create"]
    notes = [w for w in only(result, "create").warnings if w.startswith("volume ")]
    expected = (
        "volume box-data holds files owned by uid 0, not dev (uid 1000): left as it is, so "
        f"dev may not write to /data (to hand it over: docker run --rm -v box-data:/v "
        f"{box.image} chown -R 1000:1000 /v)"
    )
    assert notes == ([expected] if noted else [])
