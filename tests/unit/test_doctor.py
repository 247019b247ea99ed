"""`devenv doctor`'s judgements, over gathered facts (no engine)."""

from __future__ import annotations

from pathlib import Path

from devenv.commands.doctor import (
    EngineFacts,
    engine_findings,
    healthy,
    image_finding,
    port_finding,
    render,
    state_finding,
    tool_findings,
)
from devenv.engine.connection import Connection
from devenv.engine.server import Server

PODMAN = Server("Podman", "4.3.1", "1.41")


def test_an_unreachable_engine_is_one_finding_with_a_hint() -> None:
    facts = EngineFacts(Connection("unix:///x.sock", "DOCKER_HOST"), error="no engine socket there")
    facts.hint = "start it"
    (finding,) = engine_findings(facts)
    assert not finding.ok and not healthy([finding])
    assert render([finding]) == (
        "FIX engine: no engine answers at unix:///x.sock (DOCKER_HOST): no engine socket there\n"
        "    hint: start it\n"
    )


def test_engine_product_mode_place_and_storage() -> None:
    facts = EngineFacts(
        Connection("unix:///run/user/1/podman/podman.sock", "rootless Podman socket"),
        PODMAN,
        {"Rootless": True, "Driver": "overlay", "DockerRootDir": "/home/u/storage"},
    )
    engine, storage = engine_findings(facts)
    assert engine.ok and engine.message.startswith("Podman 4.3.1 (API 1.41), rootless, at ")
    assert storage.message == "storage driver overlay in /home/u/storage"


def test_desktop_and_remote_engines_get_notes_not_failures() -> None:
    desktop = EngineFacts(
        Connection("unix:///var/run/docker.sock", "default socket"),
        Server("Docker Desktop", "4.30", "1.45"),
        {"OperatingSystem": "Docker Desktop"},
    )
    notes = engine_findings(desktop)
    assert any("VM" in f.message and "shared into the VM" in f.hint for f in notes)
    remote = EngineFacts(Connection("ssh://me@far", "DOCKER_HOST"), PODMAN, {})
    found = engine_findings(remote)
    assert healthy(found) and any("runs on far" in f.message for f in found)


def test_spec_checks() -> None:
    assert image_finding("php", "debian:bookworm", ["docker.io/library/debian:bookworm"]).ok
    missing = image_finding("php", "debian:trixie", [])
    assert missing.ok and "apply pulls it" in missing.message  # a note, not a failure
    assert not port_finding("php", "127.0.0.1", 8080, taken=True, local=True).ok
    assert "not checked" in port_finding("php", "127.0.0.1", 8080, True, local=False).message
    assert not tool_findings(lambda _tool: None)[0].ok


def test_state_folder(tmp_path: Path) -> None:
    assert state_finding(tmp_path / "not" / "yet").ok
