"""What the box's user needs to own (issues 18 and 20), on the real engine: a workdir the
base lacks is made in the image for the user, and a new volume takes the owner of its mount
point, which the image makes for the user too.

The box's user is pinned to uid 1000, the uid `useradd` gives the user in the image, as on a
laptop whose user is 1000: the tests run as root, whose uid would make any folder writable."""

from __future__ import annotations

import os

from tests.integration.conftest import RUN_LABEL, unique

USER = "user: {name: dev, uid: 1000, gid: 1000}"


def test_a_missing_workdir_is_made_for_the_user_and_destroy_is_clean(  # type: ignore[no-untyped-def]
    devenv, spec_dir, name
) -> None:
    spec = spec_dir(name, f"name: {name}\n{USER}\nworkdir: /work/app\n")
    assert devenv("apply", "--yes", str(spec)).code == 0
    inside = devenv("shell", str(spec), "--", "sh", "-c", "pwd; stat -c %U:%G .; test -w .")
    assert inside.code == 0, inside.err
    assert inside.out.split() == ["/work/app", "dev:dev"]
    gone = devenv("destroy", "--yes", str(spec))
    assert gone.code == 0, gone.err
    assert "changed" not in gone.out + gone.err


def test_a_new_volume_is_the_users(devenv, spec_dir, name, docker_client) -> None:  # type: ignore[no-untyped-def]
    volume = unique("data")
    spec = spec_dir(
        name, f"name: {name}\n{USER}\nvolumes: [{{name: {volume}, container: /data}}]\n"
    )
    assert devenv("apply", "--yes", str(spec)).code == 0
    wrote = devenv("shell", str(spec), "--", "sh", "-c", "touch /data/x && stat -c %U /data/x")
    assert (wrote.code, wrote.out.strip()) == (0, "dev"), wrote.err
    assert devenv("destroy", "--yes", str(spec)).code == 0
    docker_client.volumes.get(volume).remove()


def test_a_new_volume_is_the_users_under_another_uid(  # type: ignore[no-untyped-def]
    devenv, spec_dir, name, docker_client
) -> None:
    """The image makes /data for the user's image uid; mapped to 4321 at start, the user
    still owns the new, empty volume (the entrypoint hands it over)."""
    volume = unique("data")
    spec = spec_dir(
        name,
        f"name: {name}\nuser: {{name: dev, uid: 4321, gid: 4322}}\n"
        f"volumes: [{{name: {volume}, container: /data}}]\n",
    )
    try:
        assert devenv("apply", "--yes", str(spec)).code == 0
        wrote = devenv("shell", str(spec), "--", "sh", "-c", "touch /data/x && stat -c %u /data/x")
        assert (wrote.code, wrote.out.strip()) == (0, "4321"), wrote.err
        gone = devenv("destroy", "--yes", str(spec))  # nothing in the box's own layer changed
        assert gone.code == 0 and "changed" not in gone.out + gone.err, gone.out + gone.err
    finally:
        devenv("destroy", "--yes", str(spec))
        docker_client.volumes.get(volume).remove()


def test_an_existing_volume_of_root_is_left_and_noted(
    devenv, spec_dir, name, docker_client
) -> None:  # type: ignore[no-untyped-def]
    volume = unique("data")
    key, value = RUN_LABEL.split("=", 1)
    docker_client.volumes.create(volume, labels={key: value})
    docker_client.containers.run(
        "debian:bookworm",
        ["touch", "/v/old"],
        volumes={volume: {"bind": "/v"}},
        labels={key: value},
        remove=True,
    )
    spec = spec_dir(
        name, f"name: {name}\n{USER}\nvolumes: [{{name: {volume}, container: /data}}]\n"
    )
    note = f"volume {volume} holds files owned by uid 0, not dev (uid 1000): left as it is"
    planned = devenv("plan", str(spec))
    assert planned.code == 0 and note in planned.out, planned.out + planned.err
    applied = devenv("apply", "--yes", str(spec))
    assert applied.code == 0 and note in applied.out + applied.err, applied.out + applied.err
    owner = devenv("shell", str(spec), "--", "stat", "-c", "%u", "/data")
    assert owner.out.strip() == "0", owner.err  # left as it is
    again = devenv("plan", "--detailed-exitcode", str(spec))  # converged: nothing asked, no note
    assert again.code == 0 and "volume" not in again.out, again.out
    assert devenv("destroy", "--yes", str(spec)).code == 0
    docker_client.volumes.get(volume).remove()


def test_the_workdir_is_the_users_under_another_uid_and_a_share_is_never_handed(  # type: ignore[no-untyped-def]
    devenv, spec_dir, name, tmp_path
) -> None:
    """The image makes /work/app for the user's image uid; mapped to 4321 at start, the user
    still owns it (the entrypoint hands the empty folder over) and destroy finds no work. A
    shared workdir is the host's: its owner is never changed, whatever it is."""
    spec = spec_dir(
        name, f"name: {name}\nuser: {{name: dev, uid: 4321, gid: 4322}}\nworkdir: /work/app\n"
    )
    shared = spec.parent / "src"
    shared.mkdir()
    os.chown(shared, 1000, 1000)  # the image's uid for the user: what a handover would take
    other = spec_dir(
        f"{name}-s",
        f"name: {name}-s\nuser: {{name: dev, uid: 4321, gid: 4322}}\n"
        "shared: ['./src:/srv/app']\nworkdir: /srv/app\n",
    )
    try:
        assert devenv("apply", "--yes", str(spec), str(other)).code == 0
        wrote = devenv("shell", str(spec), "--", "sh", "-c", "touch x && stat -c %u . x && rm x")
        assert (wrote.code, wrote.out.split()) == (0, ["4321", "4321"]), wrote.err
        assert devenv("plan", "--detailed-exitcode", str(spec)).code == 0
        gone = devenv("destroy", "--yes", str(spec))
        assert gone.code == 0 and "changed" not in gone.out + gone.err, gone.out + gone.err
        assert (shared.stat().st_uid, shared.stat().st_gid) == (1000, 1000)
    finally:
        devenv("destroy", "--yes", str(spec), str(other))
