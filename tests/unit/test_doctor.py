"""`devenv doctor`'s judgements, over gathered facts (no engine)."""

from __future__ import annotations

import os
import stat
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


def test_doctor_names_a_state_folder_others_can_write_and_changes_nothing(
    tmp_path: Path,
) -> None:
    state = tmp_path / "open"
    state.mkdir()
    os.chmod(state, 0o777)
    found = state_finding(state / "devenv")
    assert not found.ok and f"{state} can be written by other users (mode 0777)" in found.message
    assert found.hint and "DEVENV_STATE_DIR" in found.hint
    assert stat.S_IMODE(state.stat().st_mode) == 0o777 and not (state / "devenv").exists()
    os.chmod(state, 0o755)
    (state / "devenv").mkdir(mode=0o755)
    os.chmod(state / "devenv", 0o755)
    assert state_finding(state / "devenv").ok  # an older devenv's 0755: apply tightens it
    assert stat.S_IMODE((state / "devenv").stat().st_mode) == 0o755
