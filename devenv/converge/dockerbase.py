"""The user's Dockerfile, built as a devenv-owned base image that devenv's layers go on.

Tagged by its recipe (`devenv-base/dockerfile:HASH`) and labelled with what it was built
from, so a later plan can say which input changed; older bases of the same spec lose
their tag (the env images built on them keep their layers)."""

from __future__ import annotations

import tempfile
from collections.abc import Callable
from pathlib import Path

from devenv import labels as L
from devenv.build import context as buildcontext
from devenv.converge.desired import DesiredEnv
from devenv.engine.protocol import EngineAPI
from devenv.errors import DevenvError


def build_base(
    engine: EngineAPI,
    want: DesiredEnv,
    log_path: Path,
    on_line: Callable[[str], None] = lambda _line: None,
    network: str | None = None,
) -> str:
    """Build the base `want.rendered.base` names from the spec's Dockerfile; return its id."""
    spec_file = want.spec_file
    ctx = buildcontext.resolve(spec_file)
    tag = want.rendered.base
    if not tag.endswith(":" + ctx.digest[:12]):
        raise DevenvError(
            "the Dockerfile or its context changed while devenv was planning",
            "run apply again",
            env=want.name,
        )
    labels = {
        **L.extra_labels(),
        L.MANAGED: "true",
        L.KIND: "base",
        L.SPEC: str(spec_file.path),
        "io.devenv.recipe": ctx.digest,
        buildcontext.MANIFEST_LABEL: buildcontext.manifest_label(ctx),
    }
    previous = [
        ref
        for image in engine.devenv_images({L.KIND: "base", L.SPEC: str(spec_file.path)})
        for ref in image.get("RepoTags") or []
        if ref != tag
    ]
    with tempfile.TemporaryFile(prefix="devenv-context-") as tar:
        buildcontext.write_tar(ctx, tar)
        tar.seek(0)
        image_id = engine.build_from(
            tag,
            f"{want.name}'s Dockerfile base",
            log_path,
            on_line,
            labels,
            fileobj=tar,
            custom_context=True,
            dockerfile=ctx.dockerfile_name,
            buildargs=dict(ctx.args),
            target=ctx.target,
            network_mode=network,
        )
    for ref in previous:
        engine.try_remove_image(ref)
    return image_id
