"""JSON with comments and trailing commas, as VS Code writes devcontainer.json. No dependency:
comments and the commas before a closing bracket are blanked out, strings left untouched."""

from __future__ import annotations

import json
from typing import Any

from devenv.errors import DevenvError


def _strip(text: str) -> str:
    """`text` with // and /* */ comments and trailing commas removed, strings kept as written."""
    out: list[str] = []
    i, n = 0, len(text)
    while i < n:
        ch = text[i]
        if ch == '"':
            end = _string_end(text, i)
            out.append(text[i:end])
            i = end
        elif text.startswith("//", i):
            while i < n and text[i] != "\n":
                i += 1
        elif text.startswith("/*", i):
            end = text.find("*/", i + 2)
            block = text[i : (n if end < 0 else end + 2)]
            out.append("\n" * block.count("\n"))  # keep line numbers for error messages
            i = n if end < 0 else end + 2
        elif ch in "]}":
            _drop_trailing_comma(out)
            out.append(ch)
            i += 1
        else:
            out.append(ch)
            i += 1
    return "".join(out)


def _string_end(text: str, start: int) -> int:
    i = start + 1
    while i < len(text) and text[i] != '"':
        i += 2 if text[i] == "\\" else 1
    return i + 1


def _drop_trailing_comma(out: list[str]) -> None:
    for k in range(len(out) - 1, -1, -1):
        piece = out[k]
        if piece.strip() == "":
            continue
        stripped = piece.rstrip()
        if stripped.endswith(",") and not piece.startswith('"'):
            out[k] = stripped[:-1] + piece[len(stripped) :]
        return


def loads(text: str, source: str = "<text>") -> Any:
    """Parse JSONC; a syntax error is one sentence naming `source`, line and column."""
    try:
        return json.loads(_strip(text.lstrip("\ufeff")))
    except json.JSONDecodeError as exc:
        raise DevenvError(
            f"{source}:{exc.lineno}:{exc.colno}: not valid JSON with comments ({exc.msg})",
            "fix the file so VS Code reads it, then run init again",
        ) from None
    except RecursionError:
        raise DevenvError(
            f"{source} is nested too deeply to be a devcontainer.json", "check the file"
        ) from None
