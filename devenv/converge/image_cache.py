"""Build once, pull everywhere: the image cache a spec names with `image_cache`.

The build hash is the same on every machine for the same inputs, so an image pushed as
REGISTRY/NAMESPACE/ENV:HASH12 is exactly what a teammate's apply would build. Apply asks
the cache first (`pull_cached`) and builds only when the image is absent; after a build it
pushes (`push_built`) when the spec says `push: true` or DEVENV_PUSH=1 is set. The cache
is an accelerator: when it is unreachable or refuses, apply says so and builds.
"""

from __future__ import annotations

import contextlib
import os
from typing import TYPE_CHECKING, Any

from devenv import labels as L
from devenv.errors import DevenvError, RegistryError
from devenv.images import pushlog
from devenv.registry import RegistryNamespace

if TYPE_CHECKING:
    from devenv.converge.desired import DesiredEnv
    from devenv.engine.protocol import EngineAPI
    from devenv.host import Host
    from devenv.reporting import Reporter

PUSH_VARIABLE = "DEVENV_PUSH"  # "1": apply pushes what it builds, as `image_cache.push` does
FINAL_LAYER_STATES = ("Pushed", "Layer already exists", "Mounted from", "Pull complete")


def target_of(want: DesiredEnv) -> RegistryNamespace | None:
    cache = want.spec_file.spec.image_cache
    return RegistryNamespace.parse(cache.registry) if cache else None


def wants_push(want: DesiredEnv) -> bool:
    cache = want.spec_file.spec.image_cache
    return bool(cache and (cache.push or os.environ.get(PUSH_VARIABLE) == "1"))


def pull_cached(engine: EngineAPI, want: DesiredEnv, reporter: Reporter) -> bool:
    """Fetch want.image from the env's image cache; True when it is now on the engine."""
    target = target_of(want)
    if target is None:
        return False
    remote = target.ref(want.name, want.rendered.short_hash)
    reporter.step(want.name, f"pulling {remote} from the image cache")
    try:
        engine.pull_from_registry(remote, lambda e: _progress(reporter, want.name, e))
    except RegistryError as exc:
        why = "it is not there" if exc.kind == "missing" else exc.message
        reporter.step(want.name, f"image cache: {why}; building instead")
        return False
    found = engine.inspect_image(remote) or {}
    built_as = ((found.get("Config") or {}).get("Labels") or {}).get(L.BUILD_HASH)
    if built_as != want.rendered.build_hash:  # a tag overwritten by hand: do not trust it
        with contextlib.suppress(DevenvError):
            engine.remove_image(remote)
        reporter.step(want.name, f"image cache: {remote} is another build; building instead")
        return False
    engine.tag(remote, want.image)
    engine.remove_image(remote)  # only untags: devenv's own name keeps the image
    reporter.step(want.name, f"pulled {want.image} from {target}")
    return True


def push_built(engine: EngineAPI, want: DesiredEnv, reporter: Reporter, host: Host) -> None:
    """After a build, push to the image cache if asked; a failure is a warning (the env
    is fine locally, and `devenv push` can retry)."""
    target = target_of(want)
    if target is None or not wants_push(want):
        return
    try:
        push_image(engine, want.image, want.name, want.rendered.short_hash, target, reporter, host)
    except DevenvError as exc:
        hint = f" ({exc.hint})" if exc.hint else ""
        reporter.step(want.name, f"warning: not pushed to the image cache: {exc.message}{hint}")


def push_image(
    engine: EngineAPI,
    image: str,
    env: str,
    short_hash: str,
    target: RegistryNamespace,
    reporter: Reporter,
    host: Host,
) -> list[tuple[str, str]]:
    """Push `image` as TARGET/ENV:HASH12 and TARGET/ENV:latest; [(ref, digest)].

    The registry-named tags exist only while pushing, so the engine keeps devenv's names.
    """
    found = engine.inspect_image(image)
    if found is None:
        raise DevenvError(f"image {image} is not on this engine", env=env)
    pushed = []
    for tag in (short_hash, "latest"):
        remote = target.ref(env, tag)
        reporter.step(env, f"pushing {remote}")
        engine.tag(image, remote)
        try:
            digest = engine.push_to_registry(remote, lambda e: _progress(reporter, env, e))
        finally:
            with contextlib.suppress(DevenvError):
                engine.remove_image(remote)
        pushlog.record(host.state_dir, str(found["Id"]), remote, digest)
        pushed.append((remote, digest))
    return pushed


def progress_line(event: dict[str, Any]) -> str:
    """One line for a pull/push progress event: 'LAYER: STATUS [PROGRESS]'."""
    layer, status = event.get("id", ""), str(event.get("status", ""))
    bar = event.get("progress", "")
    text = f"{layer}: {status}" if layer else status
    return f"{text} {bar}".rstrip()


def _progress(reporter: Reporter, env: str, event: dict[str, Any]) -> None:
    """Live progress on a TTY; a line per finished layer otherwise (no byte counters)."""
    line = progress_line(event)
    if not line:
        return
    reporter.build_line(env, line)
    if str(event.get("status", "")).startswith(FINAL_LAYER_STATES) and event.get("id"):
        reporter.step(env, f"  {line}")
