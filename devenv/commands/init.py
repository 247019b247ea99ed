"""`devenv init`: find what SOURCE is, draft specs from it, write them (never over a file),
and check that each one validates. The only importer module that talks to the engine."""

from __future__ import annotations

import contextlib
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from devenv import labels as L
from devenv.converge.packaged import package_files
from devenv.engine import Engine
from devenv.errors import DevenvError, SpecError
from devenv.formats.container import Found
from devenv.formats.container import draft as container_spec
from devenv.formats.draft import Draft, to_yaml
from devenv.formats.settle import settle_all
from devenv.spec.models import Spec

DEVCONTAINER_PLACES = (".devcontainer/devcontainer.json", ".devcontainer.json")
COMPOSE_NAMES = ("compose.yaml", "compose.yml", "docker-compose.yaml", "docker-compose.yml")
DPKG_LIST = ["dpkg-query", "-W", "-f", "${db:Status-Abbrev} ${Package}\\n"]


@dataclass(frozen=True)
class Written:
    path: Path
    draft: Draft


def write_new(path: Path, text: str) -> None:
    """Write `text` to a file that must not exist yet (not even as a dangling link)."""
    if os.path.lexists(path):
        raise already_there(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        with path.open("x") as out:
            out.write(text)
    except FileExistsError:
        raise already_there(path) from None


def already_there(path: Path) -> DevenvError:
    return DevenvError(
        f"{path} already exists; devenv init never overwrites a file",
        "pick another name with -o, or remove it first",
    )


def check_valid(path: Path) -> None:
    """A written spec must validate; if not (an importer bug or input devenv refuses), remove it."""
    from devenv.spec.loader import load_file
    from devenv.spec.variables import AnyValue

    try:
        load_file(path, AnyValue())  # its variables may be set only later
    except SpecError as exc:
        path.unlink()
        raise DevenvError(
            f"the spec drafted for {path.name} does not validate: {str(exc).splitlines()[0]}",
            "please report it with the source; meanwhile write the spec by hand (devenv init NAME)",
        ) from None


def kind_of(source: str) -> tuple[str, Path | None]:
    """('devcontainer'|'compose'|'container', path) for what SOURCE names."""
    path = Path(source)
    if path.is_dir():
        for place in (*DEVCONTAINER_PLACES, *COMPOSE_NAMES):
            if (path / place).is_file():
                return kind_of(str(path / place))
        raise DevenvError(
            f"{source} holds no devcontainer.json or compose file", "name the file itself"
        )
    if path.is_file():
        return ("devcontainer" if path.suffix == ".json" else "compose"), path
    if os.sep in source or source.endswith((".json", ".yaml", ".yml")):
        raise DevenvError(f"{source} does not exist", "check the path")
    return "container", None


def drafts(source: str, out_dir: Path, service: str | None) -> list[Draft]:
    """The draft specs for SOURCE (a devcontainer.json, a compose file, or a container)."""
    kind, path = kind_of(source)
    if kind == "devcontainer" and path:
        from devenv.formats import devcontainer

        return [devcontainer.read(path, out_dir)]
    if kind == "compose" and path:
        from devenv.formats import compose

        return compose.read(path, out_dir, service)
    return [container_draft(source, out_dir)]


def container_draft(ref: str, out_dir: Path) -> Draft:
    """Inspect a container devenv did not make, and its image, and draft the spec adopting it."""
    engine = Engine()
    info = engine.inspect_container(ref)
    if info is None:
        raise DevenvError(
            f"no file or container named {ref!r}",
            "give a devcontainer.json, a compose file, or a container name or ID (docker ps -a)",
        )
    if L.owned((info.get("Config") or {}).get("Labels")):
        raise DevenvError(
            f"container {ref!r} is already devenv's",
            "its spec is the one in its io.devenv.spec label",
        )
    image = engine.inspect_image(info["Image"]) or {}
    return container_spec(_packages(engine, info, image), out_dir)


def _packages(engine: Engine, info: dict[str, Any], image: dict[str, Any]) -> Found:
    """The container's dpkg state against its image's: packages installed by hand."""
    cid = str(info["Id"])
    diff = engine.diff(cid)
    state = info.get("State") or {}
    if not (isinstance(state, dict) and state.get("Running")):
        return Found(
            info,
            image,
            diff=diff,
            why_no_packages="the container is not running; start it and run init again",
        )
    try:
        mine = _installed(engine.exec_output(cid, DPKG_LIST))
        theirs = _installed(engine.run_output(str(info["Image"]), DPKG_LIST))
    except DevenvError as exc:
        return Found(info, image, diff=diff, why_no_packages=exc.message)
    added = sorted(mine - theirs)
    try:
        manual = set(engine.exec_output(cid, ["apt-mark", "showmanual"]).split())
        added = [p for p in added if p in manual] or added
    except DevenvError:
        pass
    owned = package_files(engine, cid, diff)  # of every package added, dependencies too
    return Found(info, image, frozenset(added) | (theirs & mine), theirs, owned, diff)


def _installed(listing: str) -> frozenset[str]:
    """Package names dpkg lists as installed ('ii')."""
    return frozenset(
        line.split()[1]
        for line in listing.splitlines()
        if line.startswith("ii ") and len(line.split()) > 1
    )


def target(out: str | None, draft: Draft, many: bool) -> Path:
    """Where a draft is written: -o FILE for one spec, -o DIR (default envs/) for several."""
    if out and not many and not out.endswith(os.sep) and not Path(out).is_dir():
        return Path(out)
    return Path(out or "envs") / f"{draft.name}.yaml"


def init_from(source: str, out: str | None, service: str | None) -> list[Written]:
    """Write the specs drafted from SOURCE, all or none, each one validating as written
    (what devenv refuses is dropped and listed); return them with their notes."""
    probe = Path(out or "envs")
    out_dir = probe.parent if probe.suffix in (".yaml", ".yml") else probe
    found = drafts(source, out_dir, service)
    for path in [target(out, d, len(found) > 1) for d in found]:
        if os.path.lexists(path):
            raise already_there(path)  # run again: refused, never a second copy
    neighbours = specs_in(out_dir)
    taken = {spec.name: f"{path}" for path, spec in neighbours}
    for draft in found:
        name, number = draft.name, 2
        while draft.name in taken:
            draft.name, number = f"{name[:60]}-{number}", number + 1
        if draft.name != name:
            whose = taken[name] or "another spec of this import"
            draft.note(f"name {name}: {whose} has it; this one is {draft.name}")
        taken[draft.name] = ""
    paths = [target(out, d, len(found) > 1) for d in found]
    for path in paths:
        if os.path.lexists(path):
            raise already_there(path)
    made = _make_dirs({p.parent for p in paths})
    try:
        settle_all(found, paths, [(f"env {sp.name} ({p})", sp) for p, sp in neighbours])
        write_all([(path, to_yaml(draft)) for path, draft in zip(paths, found, strict=True)])
    except BaseException:
        for folder in sorted(made, reverse=True):
            with contextlib.suppress(OSError):
                folder.rmdir()
        raise
    return [Written(path, draft) for path, draft in zip(paths, found, strict=True)]


def specs_in(folder: Path) -> list[tuple[Path, Spec]]:
    """The specs already in `folder` that load (validate judges the folder as one): an
    import takes neither their names nor their host ports."""
    from devenv.spec.loader import load_file
    from devenv.spec.variables import AnyValue

    found = []
    for path in sorted([*folder.glob("*.yaml"), *folder.glob("*.yml")]) if folder.is_dir() else []:
        try:
            found.append((path, load_file(path, AnyValue()).spec))
        except (DevenvError, OSError):
            continue  # validate names its problems; the import cannot clash with it
    return found


def _make_dirs(folders: set[Path]) -> list[Path]:
    """Create `folders`; the ones made here, parents first, to remove after a failure."""
    made: list[Path] = []
    for folder in sorted(folders):
        missing = [p for p in [folder, *folder.parents] if not p.exists()]
        folder.mkdir(parents=True, exist_ok=True)
        made += [p for p in reversed(missing) if p not in made]
    return made


def write_all(files: list[tuple[Path, str]]) -> None:
    """Write every file or none: each to a temp file beside it, checked as `devenv validate`
    checks it, then all linked into place (never over a file that appeared meanwhile)."""
    temps: list[tuple[Path, Path]] = []
    placed: list[Path] = []
    try:
        for path, text in files:
            temp = path.with_name(f".{path.name}.{os.getpid()}.devenv-init")
            write_new(temp, text)
            temps.append((temp, path))
            check_spec(temp, path)
        for temp, path in temps:
            try:
                os.link(temp, path)
            except FileExistsError:
                raise already_there(path) from None  # it appeared meanwhile
            placed.append(path)
    except BaseException:
        for path in placed:
            path.unlink(missing_ok=True)
        raise
    finally:
        for temp, _path in temps:
            temp.unlink(missing_ok=True)


def check_spec(temp: Path, path: Path) -> None:
    """The written text loads as `path` would, with only the variables its source requires
    set, and its shared folders pass validate's checks; else an importer bug, reported."""
    from devenv.formats.settle import SourceVariables
    from devenv.spec.hostpaths import shared_host_path
    from devenv.spec.loader import load_file

    try:
        import yaml

        env = (yaml.safe_load(temp.read_text()) or {}).get("env") or {}
        spec_file = load_file(temp, SourceVariables(env))
        for index in range(len(spec_file.spec.shared)):
            shared_host_path(spec_file, index)
    except DevenvError as exc:
        first = str(exc).splitlines()[0].replace(str(temp), str(path))
        raise DevenvError(
            f"the spec drafted for {path.name} does not validate: {first}",
            "please report it with the source; meanwhile write the spec by hand (devenv init NAME)",
        ) from None
