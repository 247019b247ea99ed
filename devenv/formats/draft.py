"""A spec written from another tool's config: its keys in order, and what did not carry over.

The writer puts the schema line on top, the source and every note as YAML comments, so the
user reviews in one file what devenv took and what it left behind."""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from devenv.spec.rules import ENV_NAME_RE
from devenv.spec.variables import Reference, VariableError, names, parse

SCHEMA_URL = "https://devenv.dev/schemas/devenv.schema.json"
NOT_YET = "not carried yet"
VAR_RE = re.compile(r"\$\{[^}]*\}|\$[A-Za-z_][A-Za-z0-9_]*")
ORDER = (
    "name",
    "adopt",
    "base",
    "apt",
    "user",
    "ports",
    "shared",
    "volumes",
    "env",
    "workdir",
    "entrypoint",
    "command",
    "networks",
    "hooks",
)


@dataclass
class Draft:
    """One spec in the making: `keys` become YAML, `notes` become comments and the report."""

    name: str
    source: str
    keys: dict[str, Any] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)

    def note(self, text: str) -> None:
        if text not in self.notes:
            self.notes.append(text)

    def add(self, key: str, value: Any) -> None:
        """Append `value` to the list under `key`."""
        self.keys.setdefault(key, []).append(value)

    def env(self, key: str, value: str) -> None:
        """Set one environment variable."""
        self.keys.setdefault("env", {})[key] = value


def has_variable(value: Any) -> bool:
    """True when `value` uses ${VAR} or $VAR, which specs cannot express yet."""
    return isinstance(value, str) and bool(VAR_RE.search(value))


def literal(text: str) -> str:
    """`text` as an env value that reads no variable: each `$` that starts `$$` or `${` doubled."""
    return re.sub(r"\$(?=[${])", "$$", text)


def compose_reference(text: str) -> str | None:
    """A Compose value as a spec env value, each reference read as Compose reads it where the
    variable is unset: `${VAR}` and `$VAR` are blank (`${VAR:-}`), `${VAR?}` refuses
    (devenv's `${VAR}`), defaults and messages stay; None for a form devenv does not read
    (`${VAR:+alt}`, a reference inside a default)."""
    braced = re.sub(r"\$\$|\$([A-Za-z_][A-Za-z0-9_]*)", _brace, text)
    try:
        parts = parse(braced)
    except VariableError:
        return None
    return "".join(_reference_text(part) for part in parts)


def _reference_text(part: str | Reference) -> str:
    if isinstance(part, str):
        return part.replace("$", "$$")
    if part.op == "":
        return "${" + part.name + ":-}"
    if part.op == "?" and not part.arg:
        return "${" + part.name + "}"
    return part.text


def _brace(m: re.Match[str]) -> str:
    return m.group(0) if m.group(0) == "$$" else "${" + m.group(1) + "}"


def variables_note(draft: Draft) -> None:
    """Say which variables the spec reads, so the user knows what to set."""
    found = sorted({n for v in draft.keys.get("env", {}).values() for n in names(v)})
    if found:
        draft.note(
            f"variables {', '.join(found)}: env reads them from the environment or a .env file "
            "beside the spec (keep that file out of git)"
        )


def spec_name(raw: str) -> str:
    """A valid env name from a service or container name: lowercase, safe characters, the
    separators docker's image names allow ('.', '_', '__', dashes), two characters at least."""
    name = re.sub(r"[^a-z0-9_.-]+", "-", raw.lower())
    name = re.sub(r"[._-]{2,}", _separator, name).strip("-._")[:63].strip("-._")
    if len(name) < 2:
        name = f"{name or 'box'}-env"
    return name if ENV_NAME_RE.fullmatch(name) else "env"


def _separator(run: re.Match[str]) -> str:
    found = run.group(0)
    return found if found == "__" or set(found) == {"-"} else "-"


def host_path(path: str, spec_folder: Path) -> str:
    """A host path as the spec writes it: relative to the spec when under its tree's parent."""
    if path.startswith("~"):
        return path
    absolute = Path(os.path.abspath(path))
    relative = os.path.relpath(absolute, spec_folder.resolve())
    if relative == ".":
        return "."
    return relative if not relative.startswith("../../..") else str(absolute)


def to_yaml(draft: Draft, schema: str = SCHEMA_URL) -> str:
    """The spec text: schema line, source, notes as comments, then the keys in a set order."""
    lines = [
        f"# yaml-language-server: $schema={schema}",
        f"# written by devenv init from {draft.source}",
    ]
    if draft.notes:
        lines.append("# Review these (what did not carry over as it was written):")
        lines += [f"#   - {_one_line(note)}" for note in draft.notes]
    keys = {"name": draft.name, **draft.keys}
    for key in sorted(keys, key=lambda k: ORDER.index(k) if k in ORDER else len(ORDER)):
        lines.append(_dump({key: keys[key]}).rstrip("\n"))
    return "\n".join(lines) + "\n"


def _one_line(text: str) -> str:
    return re.sub(r"[\x00-\x1f\x7f]+", " ", text)


def _dump(value: dict[str, Any]) -> str:
    return yaml.safe_dump(
        value, sort_keys=False, default_flow_style=False, width=100, allow_unicode=True
    )


def port_entry(
    container: int, host: int | None, bind: str = "127.0.0.1", protocol: str = "tcp"
) -> Any:
    """A `ports:` entry in its shortest exact form."""
    proto = "" if protocol == "tcp" else f"/{protocol}"
    if host is None:
        return (
            container
            if bind == "127.0.0.1" and not proto
            else {"container": container, "bind": bind, "protocol": protocol}
        )
    shown = f"[{bind}]" if ":" in bind else bind
    return (
        f"{host}:{container}{proto}"
        if bind == "127.0.0.1"
        else f"{shown}:{host}:{container}{proto}"
    )


PUBLISH_RE = re.compile(
    r"(?:(\[[0-9a-fA-F:]+\]|\d+\.\d+\.\d+\.\d+):)?(?:(\d*):)?(\d+)(?:/(tcp|udp))?"
)


def add_published(draft: Draft, text: str, what: str) -> None:
    """`[BIND:][HOST:]CONTAINER[/proto]` (docker run -p, Compose's short form) as a ports
    entry; without a bind address it is every interface, as the engine would publish it."""
    if text.startswith(":") and text.count(":") == 2:  # an empty bind address: every interface
        text = text[1:]
    m = PUBLISH_RE.fullmatch(text)
    if not m:
        draft.note(f"{what} {text}: not a form devenv maps (ranges, variables)")
        return
    bind = (m.group(1) or "0.0.0.0").strip("[]")
    host = int(m.group(2)) if m.group(2) else None
    draft.add("ports", port_entry(int(m.group(3)), host, bind, m.group(4) or "tcp"))


def shared_entry(host: str, container: str, readonly: bool = False) -> Any:
    """A `shared:` entry, short when the host path allows it."""
    if ":" in host:
        return {"host": host, "container": container, "readonly": readonly}
    return f"{host}:{container}{':ro' if readonly else ''}"


def dockerfile_base(
    draft: Draft, dockerfile: Path, context: Path, args: Any, target: Any, out_dir: Path
) -> None:
    """`base: {dockerfile, context, args, target}` from a peer's build section (absolute
    paths in, paths relative to the spec out); args that use variables are noted, not kept;
    a Dockerfile that is not there leaves no base (the caller's placeholder, noted)."""
    if not dockerfile.is_file() or not context.is_dir():
        missing = dockerfile if context.is_dir() else context
        draft.note(f"build: {host_path(str(missing), out_dir)} is not here; base is a placeholder")
        return
    base: dict[str, Any] = {
        "dockerfile": host_path(str(dockerfile), out_dir),
        "context": host_path(str(context), out_dir),
    }
    pairs = args.items() if isinstance(args, dict) else [_arg_pair(a) for a in args or []]
    kept = {}
    for key, value in pairs:
        if value is None or has_variable(value):
            draft.note(f"build arg {key}: takes its value from variables, {NOT_YET}")
        else:
            kept[str(key)] = str(value)
    if kept:
        base["args"] = kept
    if isinstance(target, str) and target:
        base["target"] = target
    draft.keys["base"] = base


def _arg_pair(entry: Any) -> tuple[str, str | None]:
    key, sep, value = str(entry).partition("=")
    return key, value if sep else None


def parse_mount(text: str) -> dict[str, str]:
    """'source=a,target=/b,type=bind,readonly' → {'source': 'a', 'target': '/b', …}."""
    fields: dict[str, str] = {}
    for part in text.split(","):
        key, _, value = part.partition("=")
        fields[key.strip().lower()] = value.strip() if value else "true"
    for alias, key in (("src", "source"), ("dst", "target"), ("destination", "target")):
        if alias in fields:
            fields[key] = fields.pop(alias)
    return fields
