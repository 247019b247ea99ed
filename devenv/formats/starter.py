"""The commented starter spec `devenv init NAME` writes: valid as is, every feature shown."""

from __future__ import annotations

from devenv.formats.draft import SCHEMA_URL

STARTER = """\
# yaml-language-server: $schema={schema}
# A devenv spec: `devenv plan {file}` shows what `devenv apply {file}` would do.
name: {name}                    # the container's name too
base: debian:bookworm           # an image reference (or {{bootstrap: debian:SUITE, mirror: URL}})
apt:
  packages: []                  # Debian packages, e.g. [git, curl, vim]
  # mirror: http://deb.debian.org/debian   # rewrites the image's apt sources
# user: dev                     # created with your uid/gid; the command runs as it
# ports:
#   - "8080:80"                 # HOST:CONTAINER, on 127.0.0.1 unless you add a bind address
#   - {{host: 2222, container: 22, bind: 0.0.0.0}}
# shared:                       # host folders in the box (relative to this file); never deleted
#   - ./src:/work
# volumes:                      # named volumes: data that outlives the container
#   - {{name: {name}-home, container: /home/dev}}
# env: {{APP_ENV: dev}}
# workdir: /work
# command: [sleep, infinity]    # what the box runs (this is the default)
# run: ["echo built"]           # build-time shell steps, as root
# sshd:                         # an SSH server beside the command (needs user:)
#   authorized_keys: [~/.ssh/id_ed25519.pub]
# networks: {{folder: true, join: []}}   # envs of one folder reach each other by name
# image_cache: registry.example.com/team # pull images with the same build hash
"""


def starter(name: str, file: str) -> str:
    """The starter spec text for env `name`, written to `file`."""
    return STARTER.format(schema=SCHEMA_URL, name=name, file=file)
