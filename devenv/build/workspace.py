"""The local files of a build: the context folder the engine reads and the log it writes.
Their faults are this machine's (a full disk, a permission), never the engine's."""

from __future__ import annotations

import contextlib
import tempfile
from collections.abc import Iterator
from pathlib import Path

from devenv.build.render import Rendered
from devenv.errors import STATE_PATH, host_file_errors
from devenv.hostfiles import create_file, own_folder


@contextlib.contextmanager
def build_context(rendered: Rendered, buildkit: bool = False) -> Iterator[str]:
    """A temporary folder holding the rendered Dockerfile (its BuildKit form, if asked)
    and the files it copies in."""
    dockerfile = rendered.buildkit_dockerfile if buildkit else rendered.dockerfile
    with tempfile.TemporaryDirectory(prefix="devenv-build-") as ctx:
        with host_file_errors("write the build context in", ctx, "or set TMPDIR elsewhere"):
            (Path(ctx) / "Dockerfile").write_text(dockerfile)
            for name, content in rendered.files.items():
                target = Path(ctx) / name
                target.write_bytes(content)
                target.chmod(0o755)
        yield ctx


class BuildLog:
    """The build's log file; a local disk fault names the file, never the engine."""

    def __init__(self, path: Path) -> None:
        self.path = path
        with host_file_errors("write the build log", path, STATE_PATH):
            own_folder(path.parent)
            self._handle = create_file(path)

    def write(self, text: str) -> None:
        with host_file_errors("write the build log", self.path, STATE_PATH):
            self._handle.write(text)
            self._handle.flush()

    def flush(self) -> None:
        """Each write is flushed already; here for the stream reader's sake."""

    def __enter__(self) -> BuildLog:
        return self

    def __exit__(self, *_exc: object) -> None:
        with contextlib.suppress(OSError):
            self._handle.close()
