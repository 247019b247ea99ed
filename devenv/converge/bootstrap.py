"""Base images without a registry: mmdebstrap a Debian/Ubuntu suite from an apt mirror and
`docker import` it, tagged by its recipe so every machine names it the same."""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from pathlib import Path

from devenv import labels as L
from devenv.build.lockfile import Lock, other_base_error, parse_dpkg_list, snapshot_epoch
from devenv.build.render import base_recipe_hash, base_ref
from devenv.engine.protocol import EngineAPI
from devenv.errors import STATE_PATH, DevenvError, host_file_errors
from devenv.hostfiles import create_file, own_folder
from devenv.spec.models import Base


def bootstrap(
    engine: EngineAPI,
    base: Base,
    log_path: Path,
    lock: Lock | None = None,
    where: Path | None = None,
) -> str:
    """Build the base image `base` describes; return its tag. With a lock (at `where`) that
    pins what the base holds: dated as its snapshot, and refused (untagged) if it differs."""
    assert base.bootstrap and base.mirror
    if shutil.which("mmdebstrap") is None:
        raise DevenvError(
            f"bootstrapping {base.bootstrap} needs mmdebstrap, which is not installed",
            "install it: sudo apt-get install mmdebstrap",
        )
    suite = base.bootstrap.split(":", 1)[1]
    tag = base_ref(base)
    with host_file_errors("write the bootstrap log", log_path, STATE_PATH):
        own_folder(log_path.parent)
        log = create_file(log_path)
    with tempfile.TemporaryDirectory(prefix="devenv-bootstrap-") as tmp:
        rootfs = Path(tmp) / "rootfs.tar"
        command = ["mmdebstrap", f"--variant={base.variant}", suite, str(rootfs), base.mirror]
        env = dict(os.environ)
        if lock is not None and lock.snapshot:
            env["SOURCE_DATE_EPOCH"] = str(snapshot_epoch(lock.snapshot))
        with log:
            result = subprocess.run(
                command, stdout=log, stderr=subprocess.STDOUT, check=False, env=env
            )
        if result.returncode != 0:
            tail = _tail(log_path).strip().splitlines()[-5:]
            raise DevenvError(
                f"bootstrapping {base.bootstrap} from {base.mirror} failed: "
                + (tail[-1] if tail else f"mmdebstrap exited {result.returncode}"),
                f"full log: {log_path}",
            )
        labels = L.ownership({L.KIND: "base", "io.devenv.recipe": base_recipe_hash(base)})
        engine.import_rootfs(rootfs, tag, labels)
    if lock is not None and lock.base_packages and where is not None:
        made = parse_dpkg_list(engine.package_versions(tag))
        other = other_base_error(lock, where, made, base.mirror)
        if other is not None:
            engine.try_remove_image(tag)
            raise other
    return tag


def _tail(log_path: Path, size: int = 64 << 10) -> str:
    """The end of the log devenv just wrote (its last lines say why mmdebstrap failed)."""
    with log_path.open("rb") as handle:
        handle.seek(max(0, handle.seek(0, 2) - size))
        return handle.read().decode(errors="replace")
