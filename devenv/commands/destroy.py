"""`devenv destroy`: remove envs' containers (and, if asked, their images and volumes).
Shared folders are the user's data and are never touched; volumes only when asked."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field

from devenv import labels as L
from devenv.build.render import image_repo
from devenv.converge.desired import folder_network
from devenv.converge.discards import discarded
from devenv.converge.workguard import discard_refused, take_snapshot
from devenv.engine import Engine
from devenv.engine.observed import short_name
from devenv.spec.loader import load_all


@dataclass
class Teardown:
    env: str
    container: str | None
    leftovers: list[str] = field(default_factory=list)
    images: list[str] = field(default_factory=list)
    networks: list[str] = field(default_factory=list)
    volumes: list[str] = field(default_factory=list)
    discards: list[str] = field(default_factory=list)
    note: str = ""


def teardowns(paths: Sequence[str], engine: Engine | None = None) -> list[Teardown]:
    engine = engine or Engine()
    specs = load_all(paths)
    observed = engine.observe([s.spec.name for s in specs])
    found = []
    for spec_file in specs:
        name = spec_file.spec.name
        live = observed.named(name)
        target = Teardown(name, live.id if live and live.owned else None)
        if spec_file.spec.networks.folder:
            target.networks = [folder_network(spec_file.folder)]
        if live and not live.owned:
            target.note = (
                f"a container named {name!r} exists that devenv did not create; left alone"
            )
        target.leftovers = [c.id for c in observed.of_env(name) if c.name != name]
        target.volumes = [v.name for v in spec_file.spec.volumes]
        if target.container:
            assert live is not None
            mounts = [m.rsplit(":", 2)[1] for m in live.mounts]
            target.discards = discarded(engine.diff(live.id), mounts, live.workdir)
        prefix = f"{image_repo(name)}:"
        target.images = sorted(
            tag
            for image in observed.images
            if L.owned(image.labels)
            for tag in map(short_name, image.tags)  # Podman: docker.io/devenv/x:1
            if tag.startswith(prefix)
        )
        found.append(target)
    return found


def guard_work(
    found: list[Teardown], force: bool, snapshot: bool, engine: Engine | None = None
) -> None:
    """Refuse to lose files changed inside a container unless --force, or --snapshot them."""
    for target in found:
        if not target.discards or not target.container or force:
            continue
        if snapshot:
            take_snapshot(engine or Engine(), target.env, target.container)
            continue
        raise discard_refused(target.env, "destroy", target.discards)


def destroy(
    found: list[Teardown], images: bool, volumes: bool = False, engine: Engine | None = None
) -> Iterator[str]:
    engine = engine or Engine()
    for target in found:
        if target.note:
            yield f"{target.env}: {target.note}"
        for container in [*([target.container] if target.container else []), *target.leftovers]:
            engine.remove(container)
        yield f"{target.env}: {'removed' if target.container else 'no container'}"
        for network in target.networks:
            if engine.remove_network_if_unused(network):
                yield f"{target.env}: removed network {network} (its folder has no envs left)"
        if volumes:
            for volume in target.volumes:
                if engine.remove_volume_if_owned(volume):
                    yield f"{target.env}: removed volume {volume}"
                else:
                    yield f"{target.env}: kept volume {volume} (devenv did not create it)"
        if images:
            for ref in target.images:
                kept = engine.try_remove_image(ref)
                yield f"{target.env}: " + (
                    f"kept image {ref} ({kept})" if kept else f"removed image {ref}"
                )
