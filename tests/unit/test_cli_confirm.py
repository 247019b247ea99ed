"""apply's and destroy's question on a TTY: asked on stderr, so `--json > file` stays JSON."""

from __future__ import annotations

import io

import pytest

from devenv.cli.app import _confirm_destructive


class Terminal(io.StringIO):
    """Typed answers on what looks like a terminal."""

    def isatty(self) -> bool:
        return True


@pytest.mark.parametrize(("answer", "proceeds"), [("y\n", True), ("n\n", False), ("\n", False)])
def test_the_question_goes_to_stderr_and_the_answer_decides(
    answer: str, proceeds: bool, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture
) -> None:
    monkeypatch.setattr("sys.stdin", Terminal(answer))
    if proceeds:
        _confirm_destructive(["recreate box"], yes=False)
    else:
        with pytest.raises(SystemExit) as stopped:
            _confirm_destructive(["recreate box"], yes=False)
        assert stopped.value.code == 1
    out, err = capsys.readouterr()
    assert out == ""
    assert "This will recreate box. Proceed? [y/N]" in err


def test_without_a_terminal_it_needs_yes(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture
) -> None:
    monkeypatch.setattr("sys.stdin", io.StringIO("y\n"))
    with pytest.raises(SystemExit):
        _confirm_destructive(["remove box"], yes=False)
    assert "rerun with --yes" in capsys.readouterr().err
    _confirm_destructive(["remove box"], yes=True)  # --yes: no question at all
