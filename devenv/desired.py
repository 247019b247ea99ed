"""What each env should be on this host: image tag, container config, labels. Pure."""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from devenv import __version__
from devenv import labels as L
from devenv.errors import DevenvError
from devenv.host import Host, authorized_keys, shared_host_path
from devenv.lock import Lock, lock_path, mismatch
from devenv.lock import read as read_lock
from devenv.observed import Observed
from devenv.render import Rendered, base_identity, base_ref, image_tag, packages_for, render
from devenv.spec.loader import SpecFile

SSH_DIR = "/etc/devenv/ssh"
DOCKER_SOCKET = "/var/run/docker.sock"


@dataclass(frozen=True)
class DesiredEnv:
    spec_file: SpecFile
    rendered: Rendered
    image: str
    config: dict[str, Any] = field(hash=False)
    config_hash: str
    mounts: frozenset[str]
    base_present: bool
    keys: str = ""
    lock: Lock | None = None

    @property
    def name(self) -> str:
        return self.spec_file.spec.name

    @property
    def project(self) -> str:
        return str(self.spec_file.folder)

    @property
    def labels(self) -> dict[str, str]:
        return {
            **L.extra_labels(),
            L.MANAGED: "true",
            L.ENV: self.name,
            L.SPEC: str(self.spec_file.path),
            L.PROJECT: self.project,
            L.CONFIG: L.canonical_json(self.config),
            L.CONFIG_HASH: self.config_hash,
            L.BUILD_HASH: self.rendered.build_hash,
            L.VERSION: __version__,
        }


def container_config(spec_file: SpecFile, host: Host, keys: str) -> dict[str, Any]:
    """The container half of the spec, canonical: what a recreate (not a build) applies."""
    spec = spec_file.spec
    user = spec.user
    return {
        "spec": str(spec_file.path),
        "ports": [_port(p.bind, p.host, p.container, p.protocol) for p in spec.ports],
        "shared": [
            f"{shared_host_path(spec_file, i)}:{s.container}:{'ro' if s.readonly else 'rw'}"
            for i, s in enumerate(spec.shared)
        ],
        "volumes": [f"{v.name}:{v.container}:{'ro' if v.readonly else 'rw'}" for v in spec.volumes],
        "env": dict(spec.env),
        "command": spec.command,
        "workdir": spec.workdir,
        "user": None
        if user is None or user.name == "root"
        else {
            "name": user.name,
            "uid": host.uid if user.uid is None else user.uid,
            "gid": host.gid if user.gid is None else user.gid,
        },
        "sshd": None if spec.sshd is None else {"keys": hashlib.sha256(keys.encode()).hexdigest()},
        "docker_socket": spec.docker_socket,
        "networks": ([folder_network(spec_file.folder)] if spec.networks.folder else [])
        + list(spec.networks.join),
    }


def folder_network(folder: Path) -> str:
    """The devenv network of a spec folder: envs applied from it reach each other by name."""
    slug = re.sub(r"[^a-z0-9_.-]+", "-", folder.name.lower()).strip("-.")[:40] or "envs"
    return f"devenv-{slug}-{hashlib.sha256(str(folder).encode()).hexdigest()[:8]}"


def _port(bind: str, host: int | None, container: int, protocol: str) -> str:
    proto = "" if protocol == "tcp" else f"/{protocol}"
    return f"{bind}:{host or ''}:{container}{proto}"


def expected_mounts(config: dict[str, Any], host: Host, name: str) -> frozenset[str]:
    """Mounts as the engine's listing shows them, to catch hand-made changes."""
    mounts = {
        f"bind:{entry.rsplit(':', 2)[0]}:{entry.rsplit(':', 2)[1]}:{entry.rsplit(':', 2)[2]}"
        for entry in config["shared"]
    }
    mounts |= {f"volume:{entry}" for entry in config["volumes"]}
    if config["docker_socket"]:
        mounts.add(f"bind:{DOCKER_SOCKET}:{DOCKER_SOCKET}:rw")
    if config["sshd"]:
        mounts.add(f"bind:{host.env_dir(name) / 'ssh'}:{SSH_DIR}:rw")
    return frozenset(mounts)


def desire(
    spec_file: SpecFile, observed: Observed, host: Host, use_lock: bool = True
) -> DesiredEnv:
    """What the env should be; with `use_lock`, built from the lock beside the spec, if any."""
    spec = spec_file.spec
    base = observed.image(base_ref(spec.base))
    identity = base_identity(
        spec.base, base.id if base else None, list(base.digests) if base else []
    )
    lock = read_lock(spec_file.path) if use_lock else None
    if lock is not None:
        check_lock(spec_file, lock, identity if base else None)
    rendered = render(spec, identity, lock)
    keys = authorized_keys(spec_file, host.home)
    config = container_config(spec_file, host, keys)
    return DesiredEnv(
        spec_file=spec_file,
        rendered=rendered,
        image=image_tag(spec.name, rendered.build_hash),
        config=config,
        config_hash=L.digest(config),
        mounts=expected_mounts(config, host, spec.name),
        base_present=base is not None,
        keys=keys,
        lock=lock,
    )


def check_lock(spec_file: SpecFile, lock: Lock, identity: str | None) -> None:
    """Refuse a lock that no longer fits its spec, or a base other than the one it pins."""
    spec, where = spec_file.spec, lock_path(spec_file.path)
    stale = mismatch(lock, base_ref(spec.base), packages_for(spec))
    if stale:
        raise DevenvError(
            f"{where} no longer matches {spec_file.path.name} ({stale})",
            f"run `devenv lock --update {spec_file.path}`",
        )
    if identity and not lock.base_identity.startswith("ref:") and identity != lock.base_identity:
        digest = lock.base_identity.removeprefix("digest:")
        repo = re.sub(r":[^/:]+$", "", (spec.base.image or "").split("@")[0])
        fetch = f"`docker pull {repo}@{digest}`, " if digest != lock.base_identity else ""
        raise DevenvError(
            f"{where} pins the base {lock.base} as {lock.base_identity}, "
            f"but this engine's is {identity}",
            f"fetch that base ({fetch}or load it), or run `devenv lock --update {spec_file.path}`",
        )
