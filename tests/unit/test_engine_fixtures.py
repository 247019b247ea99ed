"""The planner against summaries a real engine listed (tests/unit/fixtures/engine_summaries.json,
made by fixtures/capture_engine.py): ports, mounts, states and devenv's own labels (the
build and config hashes, the image tag) are the engine's words as `devenv apply` left them,
not built from the code under test. So a wrong idea of the engine's shape fails here, and
"no changes" holds only while the hashes today's code computes from the specs are the ones
that apply wrote on a real engine. A change to them on purpose (test_golden_hashes.py fails
too) means capturing the fixture again: python3 tests/unit/fixtures/capture_engine.py
"""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest
import yaml

from devenv import labels as L
from devenv.converge.desired import DesiredEnv, desire
from devenv.converge.plan import Action, Plan, plan
from devenv.engine.observed import Observed, ObservedContainer, ObservedImage
from devenv.host import Host
from devenv.spec.loader import SpecFile
from devenv.spec.models import Spec

FIXTURE = json.loads((Path(__file__).parent / "fixtures" / "engine_summaries.json").read_text())
HOST = Host(
    uid=FIXTURE["host"]["uid"],
    gid=FIXTURE["host"]["gid"],
    home=Path(FIXTURE["host"]["home"]),
    state_dir=Path(FIXTURE["state_dir"]),
)
SPECS: dict[str, str] = FIXTURE["specs"]
WEB_PATH = next(path for path in SPECS if path.endswith("/fx-web.yaml"))
MIN_PATH = next(path for path in SPECS if path.endswith("/fx-min.yaml"))
BASE = next(i for i in FIXTURE["images"] if "debian:bookworm" in (i["RepoTags"] or []))


def summary_of(name: str) -> dict[str, Any]:
    return copy.deepcopy(next(c for c in FIXTURE["containers"] if c["Names"] == [f"/{name}"]))


def image_of(name: str) -> dict[str, Any]:
    prefix = f"devenv/{name}:"
    return copy.deepcopy(
        next(i for i in FIXTURE["images"] if any(t.startswith(prefix) for t in i["RepoTags"]))
    )


def desired(path: str, text: str | None = None) -> DesiredEnv:
    spec = Spec.model_validate(yaml.safe_load(text if text is not None else SPECS[path]))
    observed = Observed(images=(ObservedImage.from_summary(BASE),))
    return desire(SpecFile(Path(path), spec), observed, HOST)


def captured(name: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """The container of `name` and its image, as the engine listed them (copies)."""
    return summary_of(name), image_of(name)


def observe(*pairs: tuple[dict[str, Any], dict[str, Any]]) -> Observed:
    return Observed(
        tuple(ObservedContainer.from_summary(c) for c, _ in pairs),
        (ObservedImage.from_summary(BASE), *(ObservedImage.from_summary(i) for _, i in pairs)),
    )


def kinds(result: Plan) -> list[str]:
    return [a.kind for a in result.actions]


def test_fixture_says_which_engine_listed_it() -> None:
    assert FIXTURE["engine"]["Version"] and FIXTURE["engine"]["ApiVersion"]
    assert {c["Names"][0] for c in FIXTURE["containers"]} == {"/fx-web", "/fx-min"}


def test_listed_ports_read_as_published_ports() -> None:
    """127.0.0.1 and 0.0.0.0 binds, udp, and a host port the engine picked."""
    summary = summary_of("fx-web")
    live = ObservedContainer.from_summary(summary)
    (picked,) = [p["PublicPort"] for p in summary["Ports"] if p.get("PrivatePort") == 8080]
    assert picked not in (0, 8080)  # the engine's own choice, whatever it was at capture
    assert [str(p) for p in live.ports] == [
        "127.0.0.1:47801:22",
        "127.0.0.1:47803:53/udp",
        "0.0.0.0:47802:80",
        f"127.0.0.1:{picked}:8080",
    ]


def test_listed_mounts_are_what_the_spec_asks_for() -> None:
    """Shared ro/rw and the named volume, exactly as desire() expects; the sshd key folder
    is copied in, never mounted (issue 19)."""
    live = ObservedContainer.from_summary(summary_of("fx-web"))
    assert live.mounts == {
        "bind:/tmp/devenv-fixture/project/src:/var/www:rw",
        "bind:/tmp/devenv-fixture/project/conf:/etc/app:ro",
        "volume:fx-web-data:/var/lib/data:rw",
    }
    assert desired(WEB_PATH).mounts == live.mounts


def test_captured_labels_are_devenvs_own() -> None:
    live = ObservedContainer.from_summary(summary_of("fx-web"))
    assert live.owned and live.env == "fx-web" and live.state == "running"
    assert live.image_id == image_of("fx-web")["Id"]


@pytest.mark.parametrize("path", [WEB_PATH, MIN_PATH], ids=["fx-web", "fx-min"])
def test_the_code_computes_the_labels_apply_wrote(path: str) -> None:
    """Today's hashes of each spec against the labels a real apply left (recorded once)."""
    want = desired(path)
    container, image = captured(want.name)
    written = {key: container["Labels"][key] for key in (L.BUILD_HASH, L.CONFIG_HASH, L.CONFIG)}
    assert {key: want.labels[key] for key in written} == written, (
        "devenv's hashes for this spec moved from what apply wrote on a real engine: every "
        "user's boxes would be rebuilt or recreated. If you meant it, capture the fixture again "
        "(python3 tests/unit/fixtures/capture_engine.py) and say so in the commit."
    )
    assert (container["Image"], image["RepoTags"]) == (want.image, [want.image])
    assert image["Labels"][L.BUILD_HASH] == want.rendered.build_hash


def test_converged_box_is_a_noop() -> None:
    want = desired(WEB_PATH)
    container, image = captured("fx-web")
    result = plan([want], observe((container, image)))
    assert result.actions == (Action("noop", "fx-web", (), container["Id"], want.image),)


@pytest.mark.parametrize("label", [L.BUILD_HASH, L.CONFIG_HASH])
def test_a_captured_hash_one_digit_off_is_not_a_noop(label: str) -> None:
    """The noop above is earned: it goes as soon as a hash the engine carries differs from
    the one the code computes (the config label only explains a change: the hashes decide)."""
    want = desired(WEB_PATH)
    container, image = captured("fx-web")
    value = container["Labels"][label]
    container["Labels"][label] = value[:-1] + ("1" if value[-1] == "0" else "0")
    result = plan([want], observe((container, image)))
    assert kinds(result) == ["recreate"] and result.actions[0].reasons, result.actions


def test_stopped_box_lists_no_ports_and_is_started() -> None:
    want = desired(MIN_PATH)
    container, image = captured("fx-min")
    assert container["State"] == "exited" and container["Ports"] == []
    result = plan([want], observe((container, image)))
    assert result.actions == (
        Action("start", "fx-min", ("state: exited",), container["Id"], want.image),
    )


@pytest.mark.parametrize(
    ("old", "new", "reason"),
    [
        ("APP_ENV: dev", "APP_ENV: prod", "env: APP_ENV changed"),
        (
            '"0.0.0.0:47802:80"',
            '"127.0.0.1:47802:80"',
            "ports: 127.0.0.1:47801:22, 0.0.0.0:47802:80, 127.0.0.1:47803:53/udp, 127.0.0.1::8080"
            " → 127.0.0.1:47801:22, 127.0.0.1:47802:80, 127.0.0.1:47803:53/udp, 127.0.0.1::8080",
        ),
        (
            "name: fx-web-data",
            "name: fx-web-other",
            "volumes: fx-web-data:/var/lib/data:rw → fx-web-other:/var/lib/data:rw",
        ),
    ],
)
def test_a_container_field_change_recreates(old: str, new: str, reason: str) -> None:
    changed = desired(WEB_PATH, SPECS[WEB_PATH].replace(old, new))
    result = plan([changed], observe(captured("fx-web")))
    assert kinds(result) == ["recreate"]
    assert result.actions[0].reasons == (reason,)


def test_a_package_change_builds_and_recreates() -> None:
    container, image = captured("fx-web")
    changed = desired(WEB_PATH, SPECS[WEB_PATH] + "apt: {packages: [tree]}\n")
    result = plan([changed], observe((container, image)))
    assert kinds(result) == ["build", "recreate"]
    applied = container["Labels"][L.BUILD_HASH][:12]
    assert result.actions[1].reasons == (
        f"image: build hash {applied} → {changed.rendered.short_hash}",
    )


def test_a_mount_removed_by_hand_is_drift() -> None:
    want = desired(WEB_PATH)
    container, image = captured("fx-web")
    container["Mounts"] = [m for m in container["Mounts"] if m["Destination"] != "/etc/app"]
    result = plan([want], observe((container, image)))
    assert kinds(result) == ["recreate"]
    assert result.actions[0].reasons == (
        "mounts (changed by hand): missing /tmp/devenv-fixture/project/conf:/etc/app:ro",
    )


def test_a_port_republished_by_hand_is_drift() -> None:
    want = desired(WEB_PATH)
    container, image = captured("fx-web")
    for port in container["Ports"]:
        if port["PrivatePort"] == 80:
            port["IP"] = "127.0.0.1"
    result = plan([want], observe((container, image)))
    assert kinds(result) == ["recreate"]
    assert result.actions[0].reasons[0].startswith("ports (changed by hand): live ")
