"""Round trips, as a property over every spec in envs/ and tests/fixtures/roundtrip: `render
--as devcontainer|compose` then `init --from` gives back an equivalent spec (the same model,
host paths compared where they resolve), listing nothing but the variables it reads and what
an entry became (the Docker socket share)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest

from devenv.build.context import resolve
from devenv.commands.init import init_from
from devenv.commands.porting import rendered
from devenv.spec.hostpaths import host_path
from devenv.spec.keys import is_literal_key
from devenv.spec.loader import SpecFile, load_file
from devenv.spec.variables import AnyValue

ROOT = Path(__file__).resolve().parents[2]
SPECS = sorted((ROOT / "envs").glob("*.yaml")) + sorted(
    (ROOT / "tests" / "fixtures" / "roundtrip").glob("*.yaml")
)
SPECS_BY_NAME = {p.name: p for p in SPECS}
KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAILvSSIsM7KnpKuSWHJLSr+2He2Frd6gHrAG0za/HDgtM me\n"


@pytest.fixture(autouse=True)
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A home with a public key, for specs whose sshd reads ~/.ssh/id_ed25519.pub."""
    home = tmp_path / "home"
    (home / ".ssh").mkdir(parents=True)
    (home / ".ssh" / "id_ed25519.pub").write_text(KEY)
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "state"))
    monkeypatch.setenv("DB_PASSWORD", "secret-never-written")
    monkeypatch.setenv("API_KEY", "key-never-written")
    return home


# what an `entrypoint: image` box's image says it runs (render reads it from the engine)
IMAGE = {"Config": {"Entrypoint": ["/usr/local/bin/record"], "Cmd": ["from-cmd", "two words"]}}


def inspect_image(ref: str) -> dict[str, Any]:
    return IMAGE


def identity(spec_file: SpecFile) -> str | None:
    """The base's identity as render names it without an engine (a Dockerfile's recipe)."""
    return resolve(spec_file).identity if spec_file.spec.base.dockerfile else None


def equivalent(spec_file: SpecFile) -> dict[str, Any]:
    """The spec as a model dump, its host paths as they resolve on this machine."""
    data = spec_file.spec.model_dump()
    data["shared"] = sorted(
        (str(host_path(spec_file, s["host"])), s["container"], s["readonly"], s["create"])
        for s in data["shared"]
    )
    base = data["base"]
    for key in ("dockerfile", "context"):
        if base[key]:
            base[key] = str(host_path(spec_file, base[key]))
    if data["sshd"]:
        data["sshd"]["authorized_keys"] = [
            k if is_literal_key(k) else str(host_path(spec_file, k))
            for k in data["sshd"]["authorized_keys"]
        ]
    data["env_templates"] = dict(spec_file.templates)
    return data


def write_peer(fmt: str, text: str, folder: Path) -> Path:
    path = folder / (".devcontainer/devcontainer.json" if fmt == "devcontainer" else "compose.yaml")
    path.parent.mkdir(parents=True)
    path.write_text(text)
    return path


@pytest.mark.parametrize("fmt", ["devcontainer", "compose"])
@pytest.mark.parametrize("spec", SPECS, ids=lambda p: p.name)
def test_render_then_init_gives_back_an_equivalent_spec(
    spec: Path, fmt: str, tmp_path: Path
) -> None:
    text = rendered(fmt, [str(spec)], identity, inspect_image)
    assert "never-written" not in text
    peer = write_peer(fmt, text, tmp_path / "ws")
    (back,) = init_from(str(peer), str(tmp_path / "out" / "again.yaml"), None)
    said = [
        n for n in back.draft.notes if not n.startswith("variables ") and ": carried as " not in n
    ]
    assert said == []  # nothing dropped, only what it reads and what it became said
    original, again = load_file(spec, AnyValue()), load_file(back.path, AnyValue())
    assert equivalent(again) == equivalent(original)


def test_the_property_covers_every_key_a_peer_must_carry() -> None:
    keys = set()
    for spec in SPECS:
        spec_file = load_file(spec, AnyValue())
        keys |= {k for k, v in spec_file.spec.model_dump(exclude_defaults=True).items() if v}
    assert keys >= {
        "base", "apt", "ports", "shared", "volumes", "sshd", "user", "env", "workdir",
        "command", "run", "image_cache", "networks", "docker_socket", "ready", "hooks",
        "entrypoint",
    }  # fmt: skip
    assert os.sep  # the specs above name their host paths relative to themselves


def test_compose_runs_devenvs_start_up_then_the_images_entrypoint() -> None:
    """As apply creates the box (Compose, given an entrypoint, drops the image's CMD: both)."""
    import yaml

    text = rendered("compose", [str(SPECS_BY_NAME["service.yaml"])], identity, inspect_image)
    service = yaml.safe_load(text)["services"]["service"]
    assert service["entrypoint"] == ["/usr/local/bin/devenv-entrypoint", "/usr/local/bin/record"]
    assert service["command"] == ["-m", "1024"]  # the spec's command: the image's arguments
    assert service["environment"]["DEVENV_SSHD"] == "1"
