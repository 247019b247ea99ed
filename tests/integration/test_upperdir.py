"""The work guard's fast path (reading a container's overlay2 upper dir) gives the very
answer the engine's changes endpoint gives, on a box changed in every way a user can."""

from __future__ import annotations

import io
import os

from devenv.engine import Engine
from devenv.engine.upperdir import layer_dirs
from tests.integration.conftest import BASE_IMAGE, RUN_LABEL

LABEL_KEY, LABEL_VALUE = RUN_LABEL.split("=", 1)
# an image whose own layers delete and replace things (whiteouts, opaque dirs below)
LAYERS = f"""FROM {BASE_IMAGE}
RUN rm -rf /usr/share/doc/bash /etc/motd /usr/share/zoneinfo/Africa \\
 && mkdir /usr/share/zoneinfo/Africa && echo y > /usr/share/zoneinfo/Africa/Only
RUN rm -rf /usr/share/doc/bash && mkdir -p /usr/share/doc/bash \\
 && echo x > /usr/share/doc/bash/new && rm /usr/share/zoneinfo/Africa/Only
"""
CHANGES = r"""set -e
echo hi > /root/work.txt
echo changed >> /etc/debian_version
rm /etc/issue.net
rm -rf /usr/share/zoneinfo/Europe && mkdir /usr/share/zoneinfo/Europe && echo n > /usr/share/zoneinfo/Europe/new
mkdir -p /srv2/a/b && echo z > /srv2/a/b/c
mv /usr/share/common-licenses /usr/share/common-licenses2
rm /etc/host.conf && mkdir /etc/host.conf && echo q > /etc/host.conf/in
rm -rf /usr/share/zoneinfo/Asia && echo f > /usr/share/zoneinfo/Asia
chown 1000 /etc/shells
chmod 700 /opt && touch -d @0 /usr/local/bin && touch /etc/issue
ln /etc/issue /root/hard && ln -s /etc/passwd /root/link && mkfifo /root/fifo
echo t > /usr/lib/tmpfile && rm /usr/lib/tmpfile
chmod u+s /usr/bin/env
echo more > /usr/share/doc/bash/new2 && rm /usr/share/doc/bash/new
echo back > /usr/share/zoneinfo/Africa/Only && echo back > /etc/motd
mkdir -p /usr/share/doc/newdir/sub && touch /usr/share/doc/newdir/sub/x
"""


def test_upper_dir_reading_equals_the_engines_diff(docker_client) -> None:  # type: ignore[no-untyped-def]
    image, _log = docker_client.images.build(
        fileobj=io.BytesIO(LAYERS.encode()), labels={LABEL_KEY: LABEL_VALUE}, rm=True
    )
    box = docker_client.containers.run(
        image.id, ["sleep", "300"], detach=True, init=True, labels={LABEL_KEY: LABEL_VALUE}
    )
    try:
        assert box.exec_run(["sh", "-c", CHANGES]).exit_code == 0
        engine = Engine()
        for _state in ("running", "stopped"):
            theirs = sorted((c["Path"], c["Kind"]) for c in docker_client.api.diff(box.id))
            ours = sorted((c["Path"], c["Kind"]) for c in engine.diff(box.id))
            assert ours == theirs
            assert ("/root/work.txt", 1) in ours and ("/etc/issue.net", 2) in ours
            box.stop(timeout=1)
        # the fast path is what answered wherever it applies (as root, a local overlay2)
        dirs = layer_dirs(docker_client.api.inspect_container(box.id))
        readable = dirs is not None and os.path.isdir(dirs[0])
        assert (engine._local_diff(box.id) is not None) == readable
    finally:
        box.remove(force=True)
