"""The full path's side of the memo: after a session has worked out an env's desired state,
keep it with every input its loading read (devenv.converge.memo.store)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from devenv.converge.memo import inputs
from devenv.converge.memo.store import Cached, forget, write

if TYPE_CHECKING:
    from devenv.converge.desired import DesiredEnv
    from devenv.engine.connection import Connection
    from devenv.engine.observed import Observed
    from devenv.engine.server import Server
    from devenv.host import Host
    from devenv.reads import Recorded


def cached(
    want: DesiredEnv,
    observed: Observed,
    recorded: Recorded,
    connection: Connection,
    server: Server,
) -> Cached | None:
    """`want` as the memo keeps it; None where the memo does not go (a Dockerfile base: its
    context is too many inputs to check cheaply)."""
    from devenv.build.render import base_ref

    spec_file = want.spec_file
    spec = spec_file.spec
    if spec.base.dockerfile:
        return None
    ref = base_ref(spec.base)
    base = observed.image(ref)
    return Cached(
        spec=spec_file.named,
        wanted=want.wanted,
        base=ref,
        base_seen=(base.id, tuple(base.digests)) if base else None,
        user=spec.user.name if spec.user else None,
        workdir=spec.workdir,
        engine=connection.url,
        server=str(server),
        reads=recorded.of(spec_file.named),
        code=inputs.code_signature(),
    )


def remember(
    desired: list[DesiredEnv],
    unkept: list[str],
    recorded: Recorded,
    observed: Observed,
    host: Host,
    connection: Connection,
    server: Server,
) -> None:
    """Keep each desired state with the reads it came from; drop the entries of the specs
    in `unkept` (as the user named them: failed, or with a line only the full path says)."""
    for spec in unkept:
        forget(spec, str(host.state_dir))
    for want in desired:
        if want.spec_file.named in unkept:
            continue
        entry = cached(want, observed, recorded, connection, server)
        if entry is None:
            forget(want.spec_file.named, str(host.state_dir))
            continue
        write(entry, str(host.state_dir))
