"""What each env should be on this host: image tag, container shape, labels.

No engine calls and no writes. It reads from this host only what a spec names: its sshd key
files (or ~/.ssh/id_*.pub), the symlinks along its shared paths (refusing system ones),
devenv's own templates (through render) and DEVENV_LABELS.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from devenv import __version__
from devenv import labels as L
from devenv.build import context as buildcontext
from devenv.build.lockfile import Lock, lock_path, mismatch
from devenv.build.lockfile import read as read_lock
from devenv.build.render import (
    Rendered,
    base_identity,
    base_ref,
    image_tag,
    lock_base_name,
    packages_for,
    render,
)
from devenv.converge.verdict import Wanted
from devenv.engine.observed import Observed
from devenv.engine.shape import ContainerShape, Mount, PortBinding
from devenv.errors import DevenvError
from devenv.host import Host
from devenv.spec.hostpaths import authorized_keys, shared_host_path
from devenv.spec.loader import SpecFile
from devenv.spec.models import Spec
from devenv.spec.shares import share_warnings
from devenv.spec.variables import fingerprint

SSH_DIR = "/etc/devenv/ssh"
DOCKER_SOCKET = "/var/run/docker.sock"


@dataclass(frozen=True)
class DesiredEnv:
    spec_file: SpecFile
    rendered: Rendered
    image: str
    config: dict[str, Any] = field(
        hash=False
    )  # canonical, in the CONFIG label; see container_config
    config_hash: str
    shape: ContainerShape
    base_present: bool
    keys: str = ""
    lock: Lock | None = None
    warnings: tuple[str, ...] = ()  # about what the spec shares (secrets, read-only)

    @property
    def name(self) -> str:
        return self.spec_file.spec.name

    @property
    def project(self) -> str:
        return str(self.spec_file.folder)

    @property
    def recorded(self) -> dict[str, Any]:
        """The config as the label records it and the plan compares it (no variable's value)."""
        return recorded_config(self.config, self.spec_file)

    @property
    def labels(self) -> dict[str, str]:
        return self.shape.labels

    @property
    def wanted(self) -> Wanted:
        """What the verdict compares (and the memo keeps) of this desired state."""
        return Wanted(
            name=self.name,
            spec=str(self.spec_file.path),
            image=self.image,
            build_hash=self.rendered.build_hash,
            config_hash=self.config_hash,
            recorded=self.recorded,
            ports=tuple(str(p) for p in self.shape.ports),
            mounts=tuple(sorted(self.shape.mount_keys)),
            networks=self.shape.networks,
            restart_policy=self.shape.restart_policy,
            base=self.rendered.base,
            base_present=self.base_present,
        )

    @property
    def mounts(self) -> frozenset[str]:
        return self.shape.mount_keys


def container_config(spec_file: SpecFile, host: Host, keys: str) -> dict[str, Any]:
    """The container half of the spec, canonical: what a recreate (not a build) applies.
    Its digest is the config-hash label: a change here recreates every user's boxes."""
    spec = spec_file.spec
    return {
        "spec": str(spec_file.path),
        "ports": [str(p) for p in port_bindings(spec)],
        "shared": [m.bind for m in shared_mounts(spec_file, host)],
        "volumes": [m.bind for m in volume_mounts(spec)],
        "env": dict(spec.env),
        "command": spec.command,
        "workdir": spec.workdir,
        "user": box_user(spec, host),
        "sshd": None if spec.sshd is None else {"keys": hashlib.sha256(keys.encode()).hexdigest()},
        "docker_socket": spec.docker_socket,
        "networks": networks(spec_file),
        # only when set, so the config (and hash) of every other box stays as it was
        **({"entrypoint": spec.entrypoint} if spec.entrypoint else {}),
    }


def port_bindings(spec: Spec) -> list[PortBinding]:
    return [PortBinding(p.bind, p.host, p.container, p.protocol, p.exposed) for p in spec.ports]


def shared_mounts(spec_file: SpecFile, host: Host) -> list[Mount]:
    return [
        Mount(
            "bind",
            str(shared_host_path(spec_file, i, host.home, host.engine_paths)),
            s.container,
            s.readonly,
        )
        for i, s in enumerate(spec_file.spec.shared)
    ]


def volume_mounts(spec: Spec) -> list[Mount]:
    return [Mount("volume", v.name, v.container, v.readonly) for v in spec.volumes]


def box_user(spec: Spec, host: Host) -> dict[str, Any] | None:
    """The box's login user and the uid/gid it maps to (the host user's by default)."""
    user = spec.user
    if user is None or user.name == "root":
        return None
    return {
        "name": user.name,
        "uid": host.uid if user.uid is None else user.uid,
        "gid": host.gid if user.gid is None else user.gid,
    }


def networks(spec_file: SpecFile) -> list[str]:
    spec = spec_file.spec
    folder = [folder_network(spec_file.folder)] if spec.networks.folder else []
    return folder + list(spec.networks.join)


def recorded_config(config: dict[str, Any], spec_file: SpecFile) -> dict[str, Any]:
    """`config` with each env value read from variables replaced by where it came from and a
    salted hash: labels and plans say that it changed, never what it is."""
    if not spec_file.templates:
        return config  # specs without variables keep their config (and hash) byte for byte
    env = dict(config["env"])
    for key, template in spec_file.templates:
        env[key] = {"from": template, "sha256": fingerprint(spec_file.spec.name, key, env[key])}
    return {**config, "env": env}


def folder_network(folder: Path) -> str:
    """The devenv network of a spec folder: envs applied from it reach each other by name."""
    slug = re.sub(r"[^a-z0-9_.-]+", "-", folder.name.lower()).strip("-.")[:40] or "envs"
    return f"devenv-{slug}-{hashlib.sha256(str(folder).encode()).hexdigest()[:8]}"


def container_shape(
    spec_file: SpecFile, host: Host, image: str, labels: dict[str, str]
) -> ContainerShape:
    """How the env's container is created: spec, host facts and devenv's own additions.
    No mount names devenv's state folder, on any engine: a box must not write where devenv
    writes (a planted link would turn the next write into one anywhere on this host), so
    the SSH keys are copied in through the engine instead (ssh_copy), as on a remote engine."""
    spec = spec_file.spec
    mounts = [*shared_mounts(spec_file, host), *volume_mounts(spec)]
    environment = dict(spec.env)
    user = box_user(spec, host)
    if user:
        environment.update(
            DEVENV_USER=user["name"], DEVENV_UID=str(user["uid"]), DEVENV_GID=str(user["gid"])
        )
    if spec.docker_socket:
        mounts.append(Mount("bind", DOCKER_SOCKET, DOCKER_SOCKET))
    ssh_dir = str(host.env_dir(spec.name) / "ssh")
    if spec.sshd is not None:
        environment["DEVENV_SSHD"] = "1"
    return ContainerShape(
        name=spec.name,
        image=image,
        command=spec.command,
        workdir=spec.workdir,
        environment=environment,
        labels=labels,
        mounts=tuple(mounts),
        ports=tuple(port_bindings(spec)),
        networks=tuple(networks(spec_file)),
        external_networks=frozenset(spec.networks.join),
        project=str(spec_file.folder),
        ssh_copy=None if spec.sshd is None else ssh_dir,
        image_entrypoint=spec.entrypoint == "image",
    )


def desire(
    spec_file: SpecFile,
    observed: Observed,
    host: Host,
    use_lock: bool = True,
) -> DesiredEnv:
    """What the env should be; with `use_lock`, built from the lock beside the spec, if any."""
    spec = spec_file.spec
    built = buildcontext.resolve(spec_file) if spec.base.dockerfile else None
    recipe = built.identity if built else None
    base = observed.image(base_ref(spec.base, recipe))
    identity = recipe or base_identity(
        spec.base, base.id if base else None, list(base.digests) if base else []
    )
    lock = read_lock(spec_file.path) if use_lock else None
    if lock is not None:
        check_lock(spec_file, lock, identity if base else None, recipe)
    rendered = render(spec, identity, built.manifest() if built else None, lock)
    keys = authorized_keys(spec_file, host.home)
    config = container_config(spec_file, host, keys)
    recorded = recorded_config(config, spec_file)
    config_hash = L.digest(recorded)
    image = image_tag(spec.name, rendered.build_hash)
    labels = L.ownership(
        {
            L.ENV: spec.name,
            L.SPEC: str(spec_file.path),
            L.PROJECT: str(spec_file.folder),
            L.CONFIG: L.canonical_json(recorded),
            L.CONFIG_HASH: config_hash,
            L.BUILD_HASH: rendered.build_hash,
            L.VERSION: __version__,
        }
    )
    return DesiredEnv(
        spec_file=spec_file,
        rendered=rendered,
        image=image,
        config=config,
        config_hash=config_hash,
        shape=container_shape(spec_file, host, image, labels),
        base_present=base is not None,
        keys=keys,
        lock=lock,
        warnings=share_warnings(spec_file, host.home),
    )


def check_lock(
    spec_file: SpecFile, lock: Lock, identity: str | None, context: str | None = None
) -> None:
    """Refuse a lock that no longer fits its spec (a Dockerfile base's `context` included),
    or a base other than the one it pins."""
    spec, where = spec_file.spec, lock_path(spec_file.path)
    stale = mismatch(lock, lock_base_name(spec.base), packages_for(spec), context)
    if stale:
        raise DevenvError(
            f"{where} no longer matches {spec_file.path.name} ({stale})",
            f"run `devenv lock --update {spec_file.path}`",
        )
    pinned = lock.base_identity
    if identity and not context and not pinned.startswith("ref:") and identity != pinned:
        digest = lock.base_identity.removeprefix("digest:")
        repo = re.sub(r":[^/:]+$", "", (spec.base.image or "").split("@")[0])
        fetch = f"`docker pull {repo}@{digest}`, " if digest != lock.base_identity else ""
        raise DevenvError(
            f"{where} pins the base {lock.base} as {lock.base_identity}, "
            f"but this engine's is {identity}",
            f"fetch that base ({fetch}or load it), or run `devenv lock --update {spec_file.path}`",
        )
