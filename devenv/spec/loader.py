"""YAML → Spec, with every problem located at file:line:col of the YAML the user wrote.

PyYAML's node graph keeps marks; we build plain data from it ourselves (resolving `<<` merges,
rejecting duplicate keys and alias bombs on the way), remember the mark of every key and value
by path, and map Pydantic's error locations back onto those paths.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from devenv import reads
from devenv.errors import DevenvError, Problem, SpecError
from devenv.hostfiles import KERNEL_FILE, InputRefused, read_bounded
from devenv.spec.files import discover
from devenv.spec.messages import dotted, problems_of
from devenv.spec.models import Spec
from devenv.spec.rules import ENV_NAME_RE, ENV_NAME_SHAPE, NAME_RE, NAME_RULE
from devenv.spec.variables import (
    REFERENCE_RE,
    Environment,
    Lookup,
    StandIn,
    VariableError,
    substitute,
)
from devenv.spec.variables import names as variable_names

MAX_BYTES = 1024 * 1024
MAX_NODES = 20_000
MAX_DEPTH = 40
MAX_TEXT = 4 * MAX_BYTES  # characters of scalars once aliases are expanded
NULL_TAG = "tag:yaml.org,2002:null"
INT_TAG = "tag:yaml.org,2002:int"
MERGE_TAG = "tag:yaml.org,2002:merge"
MAP_TAG = "tag:yaml.org,2002:map"
SEQ_TAG = "tag:yaml.org,2002:seq"
BOMB = "YAML expands to too many nodes (an alias bomb?); refusing"
# Mappings whose scalar values are kept as written: an env value `1.10` is "1.10", not "1.1".
TEXT_MAPPINGS = ("env",)
# Where `${VAR}` is read (env values), and where `$` belongs to the shell and stays as written;
# a reference anywhere else is refused: names, paths and what goes into the image are written.
VARIABLE_FIELDS = ("env",)
SHELL_FIELDS = ("run", "command", "hooks")

Loc = tuple[str | int, ...]


@dataclass(frozen=True)
class SpecFile:
    """A validated spec and the file it came from (shared paths are relative to it)."""

    path: Path
    spec: Spec
    templates: tuple[tuple[str, str], ...] = ()  # (env key, value as written) read variables
    given: str = ""  # the file as the user named it (absolute; links not followed)

    @property
    def named(self) -> str:
        """The spec as the user named it: what its reads are recorded under."""
        return self.given or str(self.path)

    @property
    def folder(self) -> Path:
        return self.path.parent

    @property
    def variables(self) -> list[str]:
        """The variables the spec reads, sorted."""
        return sorted({n for _, template in self.templates for n in variable_names(template)})


@dataclass
class _Marks:
    values: dict[Loc, tuple[int, int]]
    keys: dict[Loc, tuple[int, int]]

    def value(self, loc: Loc) -> tuple[int, int]:
        for end in range(len(loc), -1, -1):
            if loc[:end] in self.values:
                return self.values[loc[:end]]
        return (1, 1)

    def key(self, loc: Loc) -> tuple[int, int]:
        return self.keys.get(loc) or self.value(loc)


@dataclass
class _Variables:
    """Where env values find their variables, what they read, and what could not be read."""

    lookup: Lookup
    templates: dict[str, str] = field(default_factory=dict)
    problems: list[tuple[int, int, str]] = field(default_factory=list)


class _Located(Exception):
    def __init__(self, line: int, col: int, message: str) -> None:
        super().__init__(message)
        self.line, self.col, self.message = line, col, message


def _pos(mark: yaml.Mark | None) -> tuple[int, int]:
    return (mark.line + 1, mark.column + 1) if mark else (1, 1)


class _Merges:
    """`<<` merge keys, resolved here, not by PyYAML: its 6.0.4 changed which merged mapping wins
    (yaml/pyyaml#953), and copying merged pairs as 6.0.3 does grows exponentially with a few
    nested merges of merges. The rules are 6.0.3's and the YAML merge type's: a key written in
    the mapping wins over merged ones, in `<<: [*a, *b]` *a wins over *b, and a later `<<` over
    an earlier one. A merged key is kept once, but counts against the node budget as often as a
    copy would have, so a bomb is refused wherever PyYAML stands on merges."""

    def __init__(self) -> None:
        self.merged = 0  # merged pairs so far, copies counted
        self.done: dict[int, tuple[int, frozenset[int]]] = {}  # id → (pairs, written keys' ids)
        self.busy: set[int] = set()

    def flatten(self, node: yaml.MappingNode) -> frozenset[int]:
        """Resolve the merges of `node` in place (once), return the ids of its written keys."""
        if id(node) not in self.done:
            self.busy.add(id(node))
            self.done[id(node)] = self._flatten(node)
            self.busy.discard(id(node))
        return self.done[id(node)][1]

    def _flatten(self, node: yaml.MappingNode) -> tuple[int, frozenset[int]]:
        written = [(k, v) for k, v in node.value if k.tag != MERGE_TAG]
        sources = [(k, s) for k, v in node.value if k.tag == MERGE_TAG for s in _sources(node, v)]
        for key_node, source in sources:
            if id(source) in self.busy:
                line, col = _pos(key_node.start_mark)
                raise _Located(line, col, "`<<` merges a mapping into itself; refusing")
            self.flatten(source)
        adding = sum(self.done[id(source)][0] for _, source in sources)
        self.merged += adding
        if self.merged > MAX_NODES:
            raise _Located(*_pos(node.start_mark), BOMB)
        merged: dict[object, tuple[yaml.Node, yaml.Node]] = {}  # later wins, in first place
        for _, source in sources:
            for key_node, value_node in source.value:
                plain = isinstance(key_node, yaml.ScalarNode)  # else _mapping refuses it
                merged[key_node.value if plain else id(key_node)] = (key_node, value_node)
        node.value = [*merged.values(), *written]
        return adding + len(written), frozenset(id(key_node) for key_node, _ in written)


def _sources(node: yaml.MappingNode, value: yaml.Node) -> list[yaml.MappingNode]:
    """The mappings one `<<` merges, the one that wins last (PyYAML's words when not mappings)."""
    many = isinstance(value, yaml.SequenceNode)
    items: list[yaml.Node] = value.value if many else [value]
    for item in items:
        if not isinstance(item, yaml.MappingNode):
            wanted = "a mapping" if many else "a mapping or list of mappings"
            found = f"expected {wanted} for merging, but found {getattr(item, 'id', 'node')}"
            context = "while constructing a mapping"
            raise yaml.constructor.ConstructorError(
                context, node.start_mark, found, item.start_mark
            )
    return [item for item in reversed(items) if isinstance(item, yaml.MappingNode)]


class _Builder:
    """Turns a composed node graph into plain data, recording marks and refusing bombs."""

    def __init__(self, loader: yaml.SafeLoader, variables: _Variables | None = None) -> None:
        self.loader = loader
        self.variables = variables
        self.merges = _Merges()
        self.marks = _Marks({}, {})
        self.count = 0
        self.text = 0

    def build(self, node: yaml.Node, loc: Loc = (), depth: int = 0) -> Any:
        self._count(node, depth)
        self.marks.values.setdefault(loc, _pos(node.start_mark))
        plain = MAP_TAG if isinstance(node, yaml.MappingNode) else SEQ_TAG
        if isinstance(node, yaml.CollectionNode) and node.tag != plain:  # `!!set`, `!!python/…`
            line, col = _pos(node.start_mark)
            tag = str(node.tag).replace("tag:yaml.org,2002:", "!!")
            msg = f"YAML tag {tag!r} is not allowed; a spec holds plain mappings, lists and values"
            raise _Located(line, col, msg)
        if isinstance(node, yaml.MappingNode):
            return self._mapping(node, loc, depth)
        if isinstance(node, yaml.SequenceNode):
            return [self.build(item, (*loc, i), depth + 1) for i, item in enumerate(node.value)]
        return self._scalar(node, loc)

    def _count(self, node: yaml.Node, depth: int) -> None:
        """Refuse alias bombs: too many nodes, too deep, or too much text once expanded."""
        self.count += 1
        if self.count > MAX_NODES or depth > MAX_DEPTH:
            line, col = _pos(node.start_mark)
            raise _Located(line, col, BOMB)
        if isinstance(node, yaml.ScalarNode):
            self.text += len(node.value)
            if self.text > MAX_TEXT:
                line, col = _pos(node.start_mark)
                raise _Located(
                    line, col, "YAML expands to over 4 MiB of text (an alias bomb?); refusing"
                )

    def _mapping(self, node: yaml.MappingNode, loc: Loc, depth: int) -> dict[str, Any]:
        """Plain keys only, no duplicates; a written key overrides one merged in by `<<`."""
        written = self.merges.flatten(node)  # merged pairs first, then the written ones
        chosen: dict[str, tuple[yaml.Node, yaml.Node]] = {}
        for key_node, value_node in node.value:
            if not isinstance(key_node, yaml.ScalarNode):
                line, col = _pos(key_node.start_mark)
                raise _Located(line, col, "a key must be a plain value, not a list or mapping")
            key = key_node.value  # as written: `ON:` stays "ON", never True
            if key in chosen and id(chosen[key][0]) in written:
                line, col = _pos(key_node.start_mark)
                raise _Located(line, col, f"duplicate key {key!r}")
            chosen[key] = (key_node, value_node)
        out: dict[str, Any] = {}
        for key, (key_node, value_node) in chosen.items():
            key_loc: Loc = (*loc, key)
            self.marks.keys[key_loc] = _pos(key_node.start_mark)
            out[key] = self.build(value_node, key_loc, depth + 1)
        return out

    def _scalar(self, node: yaml.Node, loc: Loc) -> Any:
        known = node.tag in self.loader.yaml_constructors  # else construct_object says so
        if loc[:1] == ("ports",) and node.tag == INT_TAG and ":" in str(node.value):
            line, col = _pos(node.start_mark)
            msg = (
                f'quote the port "{node.value}": unquoted, YAML reads {node.value} as a '
                "base-60 number, not HOST:CONTAINER"
            )
            raise _Located(line, col, msg)
        if len(loc) == 2 and loc[0] in TEXT_MAPPINGS and node.tag != NULL_TAG and known:
            return self._text(node, loc)
        try:
            value = self.loader.construct_object(node)
            if isinstance(value, str) and loc and loc[0] not in SHELL_FIELDS:
                self._refuse(node, loc, value)
            return value
        except ValueError:  # `2023-13-45`, `0x_`, `!!int abc`, an int of 5,000 digits…
            line, col = _pos(node.start_mark)
            kind = str(node.tag).rsplit(":", 1)[-1]
            shown = node.value if len(node.value) <= 40 else node.value[:40] + "…"
            msg = f"{shown!r} cannot be read as a YAML {kind}; quote it to keep it as text"
            raise _Located(line, col, msg) from None

    def _text(self, node: yaml.Node, loc: Loc) -> str:
        """An env value as written, its `${VAR}` references replaced (and remembered)."""
        text = str(node.value)
        if self.variables is None or "$" not in text or loc[0] not in VARIABLE_FIELDS:
            return text
        try:
            if variable_names(text):
                self.variables.templates[str(loc[1])] = text
            return substitute(text, self.variables.lookup)
        except VariableError as exc:
            line, col = _where(node, exc.text)
            self.variables.problems.append((line, col, f"{dotted(loc)}: {exc.message}"))
            return text

    def _refuse(self, node: yaml.Node, loc: Loc, value: str) -> None:
        """A `${VAR}` where variables are not read is an error, not a literal surprise."""
        found = REFERENCE_RE.search(value)
        if found and self.variables is not None:
            line, col = _where(node, found.group(0))
            msg = (
                f"{dotted(loc)}: {found.group(0)} is a variable, and variables are read in env "
                "values only (names, paths and what goes into the image are written in the spec)"
            )
            self.variables.problems.append((line, col, msg))


def _where(node: yaml.Node, text: str) -> tuple[int, int]:
    """The line and column of `text` inside the scalar `node` as written, else the node's."""
    start, end = node.start_mark, node.end_mark
    source = start.buffer[start.index : end.index] if start.buffer else ""
    offset = source.find(text)
    if offset < 0:
        return _pos(start)
    before = source[:offset]
    if "\n" in before:
        return start.line + 1 + before.count("\n"), offset - before.rfind("\n")
    return start.line + 1, start.column + 1 + offset


_REFUSED = {  # InputRefused.kind → what the spec's 1:1 error says
    "folder": "is a directory, not a spec file",
    "special": "is not a regular file (a device, pipe or socket?); refusing",
    "kernel": f"{KERNEL_FILE}; refusing",
}


def _read_text(path: Path) -> str:
    try:
        data = read_bounded(path, MAX_BYTES)  # /dev/zero never ends, a FIFO blocks
    except InputRefused as exc:
        if exc.kind == "big":
            size = max(_size(path), MAX_BYTES + 1)
            raise _Located(1, 1, f"file is {size} bytes; specs are limited to 1 MiB") from None
        raise _Located(1, 1, _REFUSED[exc.kind]) from None
    except OSError as exc:
        raise _Located(1, 1, f"cannot read: {exc.strerror or exc}") from None
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        before = data[: exc.start]
        line = before.count(b"\n") + 1
        col = exc.start - (before.rfind(b"\n") + 1) + 1
        raise _Located(line, col, "file is not UTF-8 text") from None
    if not text.strip() or all(
        not ln.strip() or ln.lstrip().startswith("#") for ln in text.splitlines()
    ):
        raise _Located(1, 1, "file is empty; a spec needs at least a base or a name")
    return text


def _size(path: Path) -> int:
    try:
        return path.stat().st_size
    except OSError:
        return 0


def _parse(text: str, variables: _Variables | None = None) -> tuple[Any, _Marks]:
    try:
        loader = yaml.SafeLoader(text)  # checks every character up front
    except yaml.reader.ReaderError as exc:
        before = text[: exc.position]
        line, col = before.count("\n") + 1, exc.position - (before.rfind("\n") + 1) + 1
        msg = f"character {exc.character:#06x} is not allowed in YAML (is this a binary file?)"
        raise _Located(line, col, msg) from None
    try:
        node = loader.get_single_node()
        if node is None:
            raise _Located(1, 1, "file is empty")
        builder = _Builder(loader, variables)
        data = builder.build(node)
        return data, builder.marks
    except yaml.MarkedYAMLError as exc:
        line, col = _pos(exc.problem_mark or exc.context_mark)
        what = ", ".join(part for part in (exc.context, exc.problem) if part)
        raise _Located(line, col, f"YAML syntax error: {what}") from None
    except yaml.YAMLError as exc:
        raise _Located(1, 1, f"YAML error: {exc}") from None
    except RecursionError:
        line, col = _pos(loader.get_mark())
        raise _Located(line, col, "YAML is nested too deeply; refusing") from None
    finally:
        loader.dispose()


def read_yaml(text: str, shown: str) -> Any:
    """Plain data from YAML that is not a spec (a lock file), within the spec's own bounds
    (nodes, depth, aliases, tags); one SpecError at file:line:col otherwise."""
    try:
        data, _marks = _parse(text)
    except _Located as exc:
        raise SpecError([Problem(shown, exc.line, exc.col, exc.message)]) from None
    return data


def load_file(path: Path, lookup: Lookup | None = None) -> SpecFile:
    """Load one spec, its variables from `lookup` (default: the environment over the .env
    beside it); raises SpecError listing every problem in it."""
    with reads.for_spec(os.path.abspath(path)):
        return _load_file(path, lookup)


def _load_file(path: Path, lookup: Lookup | None) -> SpecFile:
    shown = str(path)
    variables = _Variables(Environment(path.parent) if lookup is None else lookup)
    try:
        data, marks = _parse(_read_text(path), variables)
    except _Located as exc:
        raise SpecError([Problem(shown, exc.line, exc.col, exc.message)]) from None
    if not isinstance(data, dict):
        raise SpecError([Problem(shown, 1, 1, "a spec must be a mapping of keys to values")])
    if "name" not in data:
        stem = path.stem
        if not NAME_RE.fullmatch(stem) or not ENV_NAME_RE.fullmatch(stem):
            rule = NAME_RULE if not NAME_RE.fullmatch(stem) else ENV_NAME_SHAPE
            msg = f"file name {stem!r} is not a valid env name ({rule}); add a 'name:' key"
            raise SpecError([Problem(shown, 1, 1, msg)])
        data = {"name": stem, **data}
    problems = [Problem(shown, *found) for found in variables.problems]
    try:
        spec = Spec.model_validate(data, context={"folder": path.resolve().parent})
    except ValidationError as exc:
        raise SpecError(sorted(problems + problems_of(shown, exc, marks), key=_order)) from None
    if problems:
        raise SpecError(problems)
    templates = tuple(sorted(variables.templates.items()))
    return SpecFile(path.resolve(), spec, templates, os.path.abspath(path))


def _order(problem: Problem) -> tuple[int, int, str]:
    return (problem.line, problem.col, problem.message)


def load_tolerant(
    paths: Sequence[str | Path], values: bool = True
) -> tuple[list[SpecFile], list[Problem]]:
    """Every valid spec under `paths`, and the problems of the others (and of name clashes).
    `values=False`: a command that never uses a variable's value (validate, render) does not
    need one set."""
    problems: list[Problem] = []
    loaded: list[SpecFile] = []
    seen: dict[str, Path] = {}
    for path in discover(paths):
        try:
            lookup = None if values else StandIn(Environment(path.parent))
            spec_file = load_file(path, lookup)
        except SpecError as exc:
            problems.extend(exc.problems)
            continue
        name = spec_file.spec.name
        if name in seen:
            line, col = _name_position(path)
            msg = f"env name {name!r} is already used by {seen[name]}"
            problems.append(Problem(str(path), line, col, msg))
            continue
        seen[name] = path
        problems.extend(_port_clashes(spec_file, loaded))
        loaded.append(spec_file)
    return loaded, problems


def _port_clashes(spec_file: SpecFile, others: Sequence[SpecFile]) -> list[Problem]:
    """A host port that an earlier spec of the same command publishes too: only one box
    could have it, so both files are named before the engine is touched."""
    problems = []
    for index, port in enumerate(spec_file.spec.ports):
        for other in others:
            taken = next((p for p in other.spec.ports if same_host_port(port, p)), None)
            if taken is not None:
                line, col = _value_position(spec_file.path, ("ports", index))
                msg = (
                    f"host port {port.host}/{port.protocol} is also published by "
                    f"{other.path} (env {other.spec.name!r}); only one box can have it"
                )
                problems.append(Problem(str(spec_file.path), line, col, msg))
                break
    return problems


def same_host_port(one: Any, two: Any) -> bool:
    everywhere = ("0.0.0.0", "::")
    return (
        one.host is not None
        and (one.host, one.protocol) == (two.host, two.protocol)
        and (one.bind == two.bind or one.bind in everywhere or two.bind in everywhere)
    )


def load_all(paths: Sequence[str | Path], values: bool = True) -> list[SpecFile]:
    """Load every spec under `paths`; raises one SpecError with all problems of all files.
    `values=False`: variables need no value (see load_tolerant)."""
    loaded, problems = load_tolerant(paths, values)
    if problems:
        raise SpecError(problems)
    return loaded


def load_one(path: str | Path) -> SpecFile:
    """The one spec `path` names: a file, or a folder holding exactly one spec."""
    loaded = load_all([path])
    if len(loaded) != 1:
        names = ", ".join(s.spec.name for s in loaded)
        raise DevenvError(
            f"{path}: holds {len(loaded)} specs ({names}); this command takes one",
            "name one spec file",
        )
    return loaded[0]


def _name_position(path: Path) -> tuple[int, int]:
    return _value_position(path, ("name",))


def _value_position(path: Path, loc: Loc) -> tuple[int, int]:
    """Where the value at `loc` is written in the spec at `path` (1:1 when it is not)."""
    _data, marks = _parse(_read_text(path))
    return marks.value(loc)
