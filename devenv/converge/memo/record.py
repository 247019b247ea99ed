"""The full path's side of the cache: after a session has worked out an env's desired
state, keep what the fast path needs to recognise it converged (devenv.converge.memo.store)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from devenv.converge.memo import inputs
from devenv.converge.memo.store import Cached, Inputs, forget, write

if TYPE_CHECKING:
    from devenv.converge.desired import DesiredEnv
    from devenv.engine.connection import Connection
    from devenv.engine.observed import Observed
    from devenv.engine.server import Server
    from devenv.host import Host
    from devenv.spec.loader import SpecFile


def spec_inputs(spec_file: SpecFile, home: str) -> Inputs:
    """The files, variables, key globs and shared paths the spec's desired state reads."""
    from devenv.spec.hostpaths import host_path
    from devenv.spec.keys import is_literal_key

    spec, files, globs = spec_file.spec, [], []
    if spec.sshd is not None:
        entries = list(spec.sshd.authorized_keys)
        files = [str(host_path(spec_file, e)) for e in entries if not is_literal_key(e)]
        globs = [] if entries else [f"{home}/.ssh/id_*.pub"]
    shared = tuple(str(host_path(spec_file, s.host)) for s in spec.shared)
    return Inputs(tuple(files), tuple(spec_file.variables), tuple(globs), shared)


def cached(
    want: DesiredEnv, observed: Observed, host: Host, connection: Connection, server: Server
) -> Cached | None:
    """`want` as the fast path reads it; None where the fast path does not go (a Dockerfile
    base: its context is too many inputs to check cheaply)."""
    from devenv.build.render import base_ref

    spec_file = want.spec_file
    spec = spec_file.spec
    if spec.base.dockerfile:
        return None
    ref = base_ref(spec.base)
    base = observed.image(ref)
    read = spec_inputs(spec_file, str(host.home))
    path = str(spec_file.path)
    return Cached(
        spec=path,
        wanted=want.wanted,
        base=ref,
        base_seen=(base.id, tuple(base.digests)) if base else None,
        user=spec.user.name if spec.user else None,
        workdir=spec.workdir,
        engine=connection.url,
        server=str(server),
        inputs=read,
        key=read.digest(path),
    )


def remember(
    desired: list[DesiredEnv],
    failed: list[str],
    before: dict[str, str],
    observed: Observed,
    host: Host,
    connection: Connection,
    server: Server,
) -> None:
    """Cache each desired state whose spec, `.env` and lock still read as they did `before`
    the session loaded them (an edit in between must not pair old state with new bytes);
    drop the entries of the specs in `failed`."""
    for spec in failed:
        forget(spec, str(host.state_dir))
    for want in desired:
        path = str(want.spec_file.path)
        entry = cached(want, observed, host, connection, server)
        if entry is None or before.get(path) != inputs.fixed(path):
            forget(path, str(host.state_dir))
            continue
        write(entry, str(host.state_dir))
