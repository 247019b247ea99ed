"""The build hash: stable across runs and machines, sensitive to exactly what goes into the
image (packages, mirror, base, user, sshd, run), blind to container config."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from devenv.build.render import base_identity, base_recipe_hash, build_hash, render
from devenv.spec.loader import load_all
from devenv.spec.models import Base, Spec

ROOT = Path(__file__).resolve().parents[2]
HEX64 = re.compile(r"[0-9a-f]{64}")
DIGEST_A = "sha256:" + "a" * 64
DIGEST_B = "sha256:" + "b" * 64

BASELINE: dict[str, Any] = {
    "name": "web",
    "base": "debian:bookworm",
    "apt": {"mirror": "http://mirror.example.com/debian", "packages": ["php-cli", "git"]},
    "ports": ["8080:80", "2222:22"],
    "shared": ["./src:/var/www"],
    "volumes": [{"name": "web-home", "container": "/home/dev"}],
    "sshd": {"authorized_keys": ["~/.ssh/id_ed25519.pub"]},
    "user": "dev",
    "env": {"APP_ENV": "dev"},
    "workdir": "/var/www",
    "command": ["php", "-S", "0.0.0.0:80"],
    "run": ["echo one", "echo two"],
}


def hash_of(**changes: Any) -> str:
    fields = {**BASELINE, **changes}
    return render(
        Spec.model_validate({k: v for k, v in fields.items() if v is not None})
    ).build_hash


SPEC_TEXT = """\
name: web
base: debian:bookworm
apt:
  mirror: http://mirror.example.com/debian
  packages: [php-cli, git]
user: dev
sshd: true
run: ["echo one"]
"""
# The same spec, written differently: other key order, flow style, comments, trailing slash.
SPEC_TEXT_REWRITTEN = """\
# the same box, written by someone else
run:
  - echo one
sshd: {}
user: {name: dev}
apt: {packages: [php-cli, git], mirror: "http://mirror.example.com/debian/"}
base: {image: "debian:bookworm"}
name: web
"""


def load_text(tmp_path: Path, folder: str, text: str) -> Spec:
    path = tmp_path / folder / "spec.yaml"
    path.parent.mkdir(parents=True)
    path.write_text(text)
    (spec_file,) = load_all([path])
    return spec_file.spec


def test_the_hash_is_64_hex_digits_and_the_same_every_time() -> None:
    first = hash_of()
    assert HEX64.fullmatch(first)
    assert hash_of() == first
    assert render(Spec.model_validate(BASELINE)).build_hash == first


def test_separately_loaded_copies_hash_alike(tmp_path: Path) -> None:
    one = load_text(tmp_path, "here", SPEC_TEXT)
    other = load_text(tmp_path, "there/deeper", SPEC_TEXT_REWRITTEN)
    assert one == other
    assert render(one).build_hash == render(other).build_hash


def test_the_hash_does_not_depend_on_the_python_process() -> None:
    """Another process with another hash seed (as on another machine) gets the same hash."""
    here = render(load_all([ROOT / "envs" / "php.yaml"])[0].spec).build_hash
    code = (
        "from devenv.spec.loader import load_all; from devenv.build.render import render; "
        "print(render(load_all(['envs/php.yaml'])[0].spec).build_hash)"
    )
    env = {**os.environ, "PYTHONHASHSEED": "12345"}
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == here


@pytest.mark.parametrize(
    "changes",
    [
        {"apt": {**BASELINE["apt"], "packages": ["php-cli", "git", "vim"]}},
        {"apt": {**BASELINE["apt"], "packages": ["php-cli", "git=1:2.39.2-1.1"]}},
        {"apt": {**BASELINE["apt"], "mirror": "http://other.example.com/debian"}},
        {"apt": {"packages": BASELINE["apt"]["packages"]}},  # no mirror at all
        {"base": "debian:trixie"},
        {"base": "ubuntu:24.04"},
        {"base": {"bootstrap": "debian:bookworm", "mirror": "http://deb.example.org/debian"}},
        {"user": "app"},
        {"sshd": None},
        {"run": ["echo one"]},
        {"run": ["echo two", "echo one"]},
        {"run": ["echo one", "echo  two"]},
        {"workdir": "/srv"},
        {"volumes": [{"name": "other", "container": "/data"}]},
    ],
    ids=[
        "package-added",
        "package-version",
        "apt-mirror",
        "apt-mirror-removed",
        "base-tag",
        "base-distro",
        "base-bootstrapped",
        "user-renamed",
        "sshd-off",
        "run-removed",
        "run-reordered",
        "run-edited",
        "workdir-made-for-the-user",
        "volume-mount-point-made-for-the-user",
    ],
)
def test_image_inputs_change_the_hash(changes: dict[str, Any]) -> None:
    assert hash_of(**changes) != hash_of()


@pytest.mark.parametrize(
    "changes",
    [
        {"ports": ["8081:80"]},
        {"ports": []},
        {"shared": ["./elsewhere:/srv", "~/data:/data:ro"]},
        {"env": {"APP_ENV": "prod", "DEBUG": "1"}},
        {"command": "php -S 0.0.0.0:8000"},
        {"command": None},
        {"volumes": [{"name": "other", "container": BASELINE["volumes"][0]["container"]}]},
        {"user": {"name": "dev", "uid": 4242, "gid": 4343}},
        {"sshd": {"authorized_keys": ["~/.ssh/other.pub"]}},
        {"base": {"image": "debian:bookworm", "registry_mirror": "registry.example.com"}},
        {"image_cache": "registry.example.com/team"},
        {"name": "other"},
    ],
    ids=[
        "ports",
        "no-ports",
        "shared",
        "env",
        "command",
        "no-command",
        "volume-renamed",
        "host-uid-gid",
        "authorized-keys",
        "registry-mirror",
        "image-cache",
        "name",
    ],
)
def test_container_config_leaves_the_hash_alone(changes: dict[str, Any]) -> None:
    assert hash_of(**changes) == hash_of()


def test_a_user_changes_the_hash() -> None:
    assert hash_of(sshd=None, user=None) != hash_of(sshd=None)
    assert hash_of(sshd=None, user="root") == hash_of(sshd=None, user=None)  # root exists already


def test_bootstrap_recipe_parts_change_the_hash() -> None:
    recipe = {"bootstrap": "debian:bookworm", "mirror": "http://deb.example.org/debian"}
    hashes = {
        hash_of(base=recipe),
        hash_of(base={**recipe, "bootstrap": "debian:trixie"}),
        hash_of(base={**recipe, "mirror": "http://other.example.org/debian"}),
        hash_of(base={**recipe, "variant": "standard"}),
    }
    assert len(hashes) == 4


# --- what names the base -----------------------------------------------------------------

BOOTSTRAPPED = Base(bootstrap="debian:bookworm", mirror="http://deb.example.org/debian")
PULLED = Base(image="debian:bookworm")


def test_a_recipe_names_a_bootstrapped_base_before_anything_local() -> None:
    identity = base_identity(BOOTSTRAPPED, "sha256:" + "c" * 64, [f"debian@{DIGEST_A}"])
    assert identity == f"recipe:{base_recipe_hash(BOOTSTRAPPED)}"


def test_a_registry_digest_beats_a_local_image_id() -> None:
    identity = base_identity(PULLED, "sha256:" + "c" * 64, [f"debian@{DIGEST_A}"])
    assert identity == f"digest:{DIGEST_A}"


def test_the_digest_chosen_does_not_depend_on_listing_order() -> None:
    digests = [f"mirror.example.com/library/debian@{DIGEST_B}", f"debian@{DIGEST_A}"]
    assert base_identity(PULLED, None, digests) == base_identity(PULLED, None, digests[::-1])


def test_a_local_id_is_used_only_without_a_digest() -> None:
    local = "sha256:" + "c" * 64
    assert base_identity(PULLED, local, []) == f"id:{local}"
    assert base_identity(PULLED, local, ["debian:bookworm"]) == f"id:{local}"  # no '@': no digest


def test_the_reference_is_the_last_resort() -> None:
    assert base_identity(PULLED, None, []) == "ref:debian:bookworm"


def test_render_hashes_the_base_identity_it_is_given() -> None:
    spec = Spec.model_validate(BASELINE)
    by_ref = render(spec).build_hash
    assert by_ref == render(spec, base_identity(spec.base, None, [])).build_hash
    by_a = render(spec, base_identity(spec.base, None, [f"debian@{DIGEST_A}"])).build_hash
    by_a_elsewhere = render(
        spec,
        base_identity(spec.base, "sha256:" + "d" * 64, [f"mirror.example.com/debian@{DIGEST_A}"]),
    ).build_hash
    by_b = render(spec, base_identity(spec.base, None, [f"debian@{DIGEST_B}"])).build_hash
    assert by_a == by_a_elsewhere  # pulled through a mirror or on another host: same image
    assert len({by_ref, by_a, by_b}) == 3


# --- the digest itself -------------------------------------------------------------------


def test_the_hash_covers_every_copied_file_by_name_and_content() -> None:
    files = {"devenv-entrypoint": b'#!/bin/sh\nexec "$@"\n', "devenv-sshd.conf": b"X\n"}
    same = build_hash("FROM x\n", dict(reversed(list(files.items()))), "ref:x")
    assert build_hash("FROM x\n", files, "ref:x") == same  # order of the dict is irrelevant
    assert build_hash("FROM x\n", {**files, "devenv-sshd.conf": b"Y\n"}, "ref:x") != same
    assert (
        build_hash(
            "FROM x\n",
            {"renamed": files["devenv-sshd.conf"]}
            | {"devenv-entrypoint": files["devenv-entrypoint"]},
            "ref:x",
        )
        != same
    )
    assert (
        build_hash("FROM x\n", {"devenv-entrypoint": files["devenv-entrypoint"]}, "ref:x") != same
    )
    assert build_hash("FROM y\n", files, "ref:x") != same
    assert build_hash("FROM x\n", files, "ref:y") != same


def test_sshd_brings_its_config_file_into_the_hash() -> None:
    with_sshd = render(Spec.model_validate(BASELINE))
    without = render(Spec.model_validate({**BASELINE, "sshd": None}))
    assert "devenv-sshd.conf" in with_sshd.files
    assert "devenv-sshd.conf" not in without.files
    assert with_sshd.build_hash != without.build_hash
