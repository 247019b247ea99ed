"""Golden build and config hashes: a change to either is a change for every user.

The build hash names the image: a template's whitespace, a reordered Dockerfile line or a new
context file changes it, and every user's next apply rebuilds every box. The config hash
names the container's shape: a renamed or added config key recreates every box. Both must
fail here on purpose; if you meant the change, update the value and say so in the commit.
Host facts and the base's identity are fixed, so the values do not depend on this machine.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from devenv import labels as L
from devenv.build.render import base_identity, render
from devenv.converge.desired import DesiredEnv, desire
from devenv.engine.observed import Observed, ObservedImage
from devenv.host import Host
from devenv.spec.loader import SpecFile
from devenv.spec.models import Spec

PROJECT = Path("/nonexistent/devenv-golden/project")
HOST = Host(
    uid=1000,
    gid=1000,
    home=Path("/nonexistent/devenv-golden/home"),
    state_dir=Path("/nonexistent/devenv-golden/state"),
)
BASE_ID = "sha256:" + "b" * 64
BASE_DIGEST = "sha256:" + "d" * 64
KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIHRlc3RrZXl0ZXN0a2V5dGVzdGtleXRlc3RrZXl0ZXN0 me@laptop"

SPECS: dict[str, str] = {
    "minimal": "name: minimal\n",
    "packages-and-mirror": """\
name: tools
base: debian:bookworm
apt: {mirror: "http://deb.example.org/debian", packages: [git, "curl=7.88.1-10+deb12u5"]}
run: ["echo built > /etc/built"]
""",
    "full-box": f"""\
name: web
base: debian:bookworm
ports: ["8080:80", "0.0.0.0:2222:22", "5353:53/udp", 9000]
shared: ["../src:/var/www", {{host: ../conf, container: /etc/app, readonly: true}}]
volumes: [{{name: web-data, container: /var/lib/data}}]
sshd: {{authorized_keys: ["{KEY}"]}}
user: dev
env: {{APP_ENV: dev, DEBUG: "1"}}
workdir: /var/www
command: [php, -S, "0.0.0.0:80"]
""",
    "bootstrap-base": """\
name: boot
base: {bootstrap: "debian:bookworm", mirror: "http://deb.example.org/debian"}
""",
    "registry-mirror-base": """\
name: mirrored
base: {image: "debian:bookworm", registry_mirror: "registry.example.org:5000"}
""",
    "image-entrypoint": """\
name: cache
base: debian:bookworm
entrypoint: image
command: [-m, "1024"]
""",
}

# The build hash (image tag) of each case, its base named by BASE_DIGEST or its recipe.
GOLDEN_BUILD = {
    "bootstrap-base": "186aefd792739fa63547c04b0eba10117f3ab3514c639b93546d541ca70d5b5d",
    "full-box": "d133795911535fe2fdf4cc160767291eb210a93801348ffd74115eb4649df86d",
    "minimal": "1405db2f4768a9829e4a5cf2d2afb587f0f7203771c3fc40c2af8c8858a56033",
    "packages-and-mirror": "1d9b0cce79a49c785e2c3ee32e5ef9c37a8f7d77b42e4732d0b9cc478f869a56",
    # a registry mirror is a route to the same image, not an ingredient: same as minimal
    "registry-mirror-base": "1405db2f4768a9829e4a5cf2d2afb587f0f7203771c3fc40c2af8c8858a56033",
    "image-entrypoint": "cb66a9f9c2e68cc05d0eb535a63ec1d79f59cc3f619b9790bb50b5ce7289d81e",
}
# The digest of each case's canonical container config (the io.devenv.config-hash label).
GOLDEN_CONFIG = {
    "bootstrap-base": "88f7a76e27d3790c1e2158688dbdba9089930c284a667c3f89854d4dfb0f9c4b",
    "full-box": "758fdc615ff6d800396cad409c30db78a5ea01266e99f3f1b8f7103479039020",
    "minimal": "b42dd4249693b0a67488b2a513792c4f023ed759a1e5701bd1431021e7130054",
    "packages-and-mirror": "fb20c5747c534ca9210c630fc0b3826e6ef64ee1e5d8b416d0a2b2cb8634a4c1",
    "registry-mirror-base": "2184f9977d0f3bf9b259b812bad8b54cc6b6e933a666148a6243984f7071ccf4",
    "image-entrypoint": "ee67cfd1f82f8e6c053c8cbed35f9e7493021fd22134336492065c3dfa351c85",
}


def desired(case: str) -> DesiredEnv:
    spec = Spec.model_validate(yaml.safe_load(SPECS[case]))
    base = ObservedImage.from_summary(
        {"Id": BASE_ID, "RepoTags": ["debian:bookworm"], "RepoDigests": [f"debian@{BASE_DIGEST}"]}
    )
    spec_file = SpecFile(PROJECT / "envs" / f"{spec.name}.yaml", spec)
    return desire(spec_file, Observed(images=(base,)), HOST)


@pytest.mark.parametrize("case", sorted(SPECS))
def test_build_hash_is_pinned(case: str) -> None:
    got = desired(case).rendered.build_hash
    assert got == GOLDEN_BUILD[case], (
        f"the build hash of {case!r} changed ({GOLDEN_BUILD[case][:12]} → {got[:12]}): every "
        "user's images would be rebuilt on their next apply. If you meant to change it, "
        "update GOLDEN_BUILD and say so in the commit."
    )


@pytest.mark.parametrize("case", sorted(SPECS))
def test_config_hash_is_pinned(case: str) -> None:
    want = desired(case)
    assert want.config_hash == L.digest(want.config)
    assert want.config_hash == GOLDEN_CONFIG[case], (
        f"the config hash of {case!r} changed: every user's boxes would be recreated on their "
        "next apply. If you meant to change it, update GOLDEN_CONFIG and say so in the commit. "
        f"Config now: {L.canonical_json(want.config)}"
    )


def test_build_hash_names_the_base_by_digest_or_recipe() -> None:
    """The pinned values hold whatever this machine has: the base is named by fixed facts."""
    image_spec = Spec.model_validate(yaml.safe_load(SPECS["minimal"]))
    identity = base_identity(image_spec.base, BASE_ID, [f"debian@{BASE_DIGEST}"])
    assert identity == f"digest:{BASE_DIGEST}"
    assert render(image_spec, identity).build_hash == GOLDEN_BUILD["minimal"]
    boot = Spec.model_validate(yaml.safe_load(SPECS["bootstrap-base"]))
    assert base_identity(boot.base, BASE_ID, []).startswith("recipe:")
