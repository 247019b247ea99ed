"""`devenv render --as FORMAT`: the specs in a peer's format, with the image apply builds and
what the format cannot hold recorded for `init --from` to read back."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from devenv.errors import DevenvError

if TYPE_CHECKING:
    from devenv.spec.loader import SpecFile

FORMATS = ("devcontainer", "compose", "kubernetes")
Inspect = Callable[[str], dict[str, Any] | None]


def rendered(
    fmt: str,
    paths: list[str],
    base_identity: Callable[[Any], str | None],
    inspect_image: Inspect | None = None,
) -> str:
    """The text of the specs under `paths` in `fmt`; `inspect_image` (the engine's, unless
    given) reads what an `entrypoint: image` box runs from its image."""
    from devenv.build.render import image_tag, render
    from devenv.converge.desired import container_config
    from devenv.formats import exporters, roundtrip
    from devenv.host import Host
    from devenv.registry import RegistryNamespace
    from devenv.spec.hostpaths import authorized_keys
    from devenv.spec.loader import load_all

    if fmt not in FORMATS:
        raise DevenvError(f"--as {fmt}: unknown format", f"use --as {', --as '.join(FORMATS)}")
    specs, host = load_all(paths, values=False), Host.current()  # never writes a value
    if fmt == "devcontainer" and len(specs) != 1:
        raise DevenvError("--as devcontainer describes one box", "give one spec file")
    boxes: list[tuple[str, str, dict[str, Any], list[str]]] = []
    extras: list[dict[str, Any]] = []
    for spec_file in specs:
        spec = spec_file.spec
        identity = base_identity(spec_file)
        tag = image_tag(spec.name, render(spec, identity).build_hash)
        start = None
        if spec.entrypoint == "image" and fmt != "devcontainer":  # its image's label says
            start = image_start(spec_file, tag, identity, inspect_image or _engine_inspect)
        if fmt == "kubernetes" and spec.image_cache is not None:  # where push puts it
            cache = RegistryNamespace.parse(spec.image_cache.registry)
            tag = cache.ref(spec.name, tag.rsplit(":", 1)[1])
        keys = authorized_keys(spec_file, host.home)
        config = container_config(spec_file, host, keys)
        if fmt != "kubernetes":  # there, a Secret holds them (see formats.kubernetes)
            config = exporters.with_variables(config, spec_file.templates, fmt)
        if spec.sshd is not None and fmt != "kubernetes":
            config["ssh_dir"] = str(host.env_dir(spec.name) / "ssh")
        if start is not None:
            config["image_start"] = start
        boxes.append((spec.name, tag, config, list(spec.networks.join)))
        extras.append(
            {
                "ready": spec.ready.model_dump(exclude_none=True) if spec.ready else None,
                "hooks": spec.hooks.model_dump(),
                "extension": roundtrip.recorded(spec_file, fmt),
                "keys": keys,
                "templates": dict(spec_file.templates),
            }
        )
    if fmt == "compose":
        return exporters.compose(boxes, extras)
    if fmt == "kubernetes":
        from devenv.formats import kubernetes

        return kubernetes.manifests(boxes, extras)
    name, tag, config, _join = boxes[0]
    return exporters.devcontainer(name, tag, config, extras[0]["hooks"], extras[0]["extension"])


def image_start(
    spec_file: SpecFile, tag: str, identity: str | None, inspect: Inspect
) -> list[list[str]]:
    """[entrypoint, command] an `entrypoint: image` box is created with, as apply creates it:
    read from the image apply builds, or from its base (devenv's Dockerfile keeps the base's
    ENTRYPOINT and CMD for such a box)."""
    from devenv.build.render import base_ref
    from devenv.engine.shape import image_start as start

    spec = spec_file.spec
    base = base_ref(spec.base, identity)
    for ref in (tag, base):
        found = inspect(ref)
        if found is not None:
            return list(start(found.get("Config") or {}, spec.command, spec.name))
    raise DevenvError(
        f"{spec.name} runs its image's own ENTRYPOINT (entrypoint: image), which only the "
        f"image says, and neither {tag} nor its base {base} is on the engine",
        f"run `devenv apply {spec_file.path}` first, then render again",
        env=spec.name,
    )


def _engine_inspect(ref: str) -> dict[str, Any] | None:
    from devenv.engine import Engine

    return Engine().inspect_image(ref)
