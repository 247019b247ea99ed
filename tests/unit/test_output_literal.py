"""Output shows what was there (issue 19): rich never turns `:x:` into an emoji or reads
markup in foreign text, and control characters in it are shown as codes."""

from __future__ import annotations

import io
import subprocess
import sys
from pathlib import Path

import pytest

from devenv.cli import ui
from devenv.converge.plan import Action, Plan
from devenv.reporting import Outcome, visible

ROOT = Path(__file__).resolve().parents[2]
HOSTILE = "root:x:0:0:root:/root:/bin/bash [bold]loud[/bold] :thumbs_up: \x1b]0;pwned\x07\u202e"
SHOWN = "root:x:0:0:root:/root:/bin/bash [bold]loud[/bold] :thumbs_up: \\x1b]0;pwned\\x07\\u202e"


@pytest.fixture
def captured(monkeypatch: pytest.MonkeyPatch) -> io.StringIO:
    """What ui's consoles print, as plain text (no colours: not a terminal)."""
    buffer = io.StringIO()
    monkeypatch.setattr(ui.out, "file", buffer)
    monkeypatch.setattr(ui.err, "file", buffer)
    return buffer


def test_box_and_build_output_is_printed_as_it_is(captured: io.StringIO) -> None:
    reporter = ui.ConsoleReporter()
    reporter.output_line("box", HOSTILE)
    reporter.step("box", HOSTILE)
    lines = captured.getvalue().splitlines()
    assert lines == [f"  box: {SHOWN}", f"box: {SHOWN}"]


def test_on_a_terminal_each_env_building_has_its_own_status_line(captured: io.StringIO) -> None:
    """Envs of a folder build at once: the live status shows one line per env building."""
    shown: list[str] = []

    class Status:
        def update(self, text: str) -> None:
            shown.append(text)

    reporter = ui.ConsoleReporter()
    reporter._status = Status()
    reporter.build_line("php", "Step 2/5 : RUN apt-get install php-cli")
    reporter.build_line("db", "Step 3/5 : RUN apt-get install mariadb-server")
    reporter.build_line("php", "Setting up php-cli")
    assert shown[-1] == "php: Setting up php-cli\ndb: Step 3/5 : RUN apt-get install mariadb-server"
    reporter.step("php", "creating container")
    assert shown[-1] == "db: Step 3/5 : RUN apt-get install mariadb-server"
    assert captured.getvalue() == "php: creating container\n"


def test_plans_and_outcomes_quote_reasons_as_they_are(captured: io.StringIO) -> None:
    ui.print_plan(Plan((Action("recreate", "box", (HOSTILE,), warnings=(HOSTILE,)),)))
    ui.print_outcomes([Outcome("box", False, HOSTILE)])
    text = captured.getvalue()
    assert f"    {SHOWN}\n" in text and f"    warning: {SHOWN}\n" in text
    assert f"✗ box: {SHOWN}\n" in text
    assert "\x1b" not in text and "👍" not in text and "❌" not in text


def test_visible_keeps_tabs_and_what_is_asked_only() -> None:
    assert visible("a\tb\nc\rd") == "a\tb\\nc\\rd"
    assert visible("a\nb", keep="\n") == "a\nb"
    assert visible("\x1b[31mred\x1b[0m", colour=True) == "\x1b[31mred\x1b[0m"
    assert visible("\x1b[31mred\x1b[0m") == "\\x1b[31mred\\x1b[0m"
    assert visible("\x9b2J") == "\\x9b2J"  # a C1 control sequence introducer


def test_a_spec_file_name_with_escape_sequences_is_shown_as_codes(tmp_path: Path) -> None:
    spec = tmp_path / "box\x1b]0;pwned\x07.yaml"
    spec.write_text("name: box\nports: [0]\n")
    result = subprocess.run(
        [sys.executable, "-m", "devenv", "validate", str(spec)],
        capture_output=True,
        text=True,
        cwd=ROOT,
        check=False,
    )
    assert result.returncode == 1 and "\x1b" not in result.stderr
    assert "box\\x1b]0;pwned\\x07.yaml:2:9: " in result.stderr
