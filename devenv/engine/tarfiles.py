"""Files devenv copies into a box through the engine (its SSH keys): a tar made in memory,
never a host folder a box could write."""

import io
import tarfile
import time
from collections.abc import Mapping


def root_tar(folder: str, files: Mapping[str, tuple[bytes, int]]) -> bytes:
    """A tar, to unpack at /, of `folder` (0755) holding `files` with their modes, all owned
    by root (uid and gid 0, as sshd wants its keys and host key)."""
    base = folder.strip("/")
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w", format=tarfile.PAX_FORMAT) as tar:
        entries = [(base, None, 0o755), *((f"{base}/{n}", d, m) for n, (d, m) in files.items())]
        for name, data, mode in entries:
            info = tarfile.TarInfo(name)
            info.mode, info.mtime, info.uid, info.gid = mode, int(time.time()), 0, 0
            info.uname = info.gname = "root"
            if data is None:
                info.type = tarfile.DIRTYPE
                tar.addfile(info)
            else:
                info.size = len(data)
                tar.addfile(info, io.BytesIO(data))
    return buffer.getvalue()
