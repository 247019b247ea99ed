"""Spec → Dockerfile and build context, and the build hash over them. No engine, no writes:
it reads only devenv's own templates (the Dockerfile template and the files it copies in).

One Jinja environment (StrictUndefined, an ``sh`` filter for shell quoting); values reach
the Dockerfile only as JSON strings (``RUN ["/bin/sh", "-c", …]``) or shell-quoted words,
so nothing in a spec can start a new Dockerfile instruction or an unintended command.
"""

from __future__ import annotations

import hashlib
import json
import shlex
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

from devenv.build.lockfile import Lock, pinned_install_script
from devenv.spec.models import Base, Spec

CONTEXT_FILES = ("devenv-entrypoint", "devenv-sshd.conf")
# `entrypoint: image` keeps the base's ENTRYPOINT and CMD, which the Dev Containers CLI runs
# as "$@" of its own shell after the `entrypoint` lines of the image's metadata: this line
# hands them to devenv's start-up (user mapping, sshd), so that box starts as devenv's does.
PEER_START = '[ $# -gt 0 ] || set -- sleep infinity; exec /usr/local/bin/devenv-entrypoint "$@"'
HASH_VERSION = "devenv-build-v1"


def templates_dir() -> Path:
    """Installed wheels carry templates inside the package; a checkout has them at the top."""
    here = Path(__file__).resolve().parents[1]  # the devenv package
    for candidate in (here / "templates", here.parent / "templates"):
        if (candidate / "Dockerfile.j2").is_file():
            return candidate
    raise FileNotFoundError("devenv's templates/ folder is missing from this installation")


@lru_cache(maxsize=1)
def _jinja():  # type: ignore[no-untyped-def]
    """The one Jinja environment (a template engine's setup, not a box or its variables)."""
    import jinja2

    jinja = jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(templates_dir())),
        undefined=jinja2.StrictUndefined,
        autoescape=False,
        keep_trailing_newline=True,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    jinja.filters["sh"] = shlex.quote
    jinja.filters["tojson"] = lambda value: json.dumps(value, ensure_ascii=True)
    return jinja


@dataclass(frozen=True)
class Rendered:
    """What goes into an image: the Dockerfile, the files it copies, and their hash."""

    dockerfile: str
    files: dict[str, bytes]
    build_hash: str
    base: str = ""  # the image its FROM names
    base_inputs: dict[str, str] = field(default_factory=dict)  # a Dockerfile base's, by name
    buildkit_dockerfile: str = ""  # the same recipe with apt cache mounts; not hashed

    @property
    def short_hash(self) -> str:
        return self.build_hash[:12]


def base_ref(base: Base, identity: str | None = None) -> str:
    """The image the Dockerfile starts FROM: the plain name, or the tag of the base devenv
    makes (bootstrapped, or built from the user's Dockerfile: `identity` names that one)."""
    if base.bootstrap:
        return f"devenv-base/{base.bootstrap}-{base_recipe_hash(base)[:12]}"
    if base.dockerfile:
        if not identity or not identity.startswith("dockerfile:"):
            raise ValueError("a Dockerfile base is named by its context hash: pass its identity")
        return f"devenv-base/dockerfile:{identity.removeprefix('dockerfile:')[:12]}"
    assert base.image is not None
    return base.image


def lock_base_name(base: Base) -> str:
    """How a lock names the base: its image, its bootstrapped tag, or `dockerfile:PATH`
    (a Dockerfile base's tag follows its context, which the lock's identity pins)."""
    return f"dockerfile:{base.dockerfile}" if base.dockerfile else base_ref(base)


def build_mirror(spec: Spec) -> str | None:
    """The apt mirror the build's apt reaches: `apt.mirror`, else the one a bootstrapped
    base's sources name (the build must reach it the same way)."""
    return spec.apt.mirror or spec.base.mirror


def base_recipe_hash(base: Base) -> str:
    """A machine-independent name for a bootstrapped base: its suite, mirror and variant."""
    recipe = json.dumps([base.bootstrap, base.mirror, base.variant])
    return hashlib.sha256(recipe.encode()).hexdigest()


def base_identity(base: Base, image_id: str | None, repo_digests: list[str]) -> str:
    """How the hash names the base: recipe, else registry digest, else local ID, else ref.
    (A Dockerfile base's identity is its context hash: see buildcontext.BuildContext.)"""
    if base.bootstrap:
        return f"recipe:{base_recipe_hash(base)}"
    digests = sorted(d.split("@", 1)[1] for d in repo_digests if "@" in d)
    if digests:
        return f"digest:{digests[0]}"
    if image_id:
        return f"id:{image_id}"
    return f"ref:{base.image}"


def mirror_script(mirror: str) -> str:
    """Point every archive line (not security) of both apt source formats at `mirror`."""
    return (
        f"m={shlex.quote(mirror)}; "
        "for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list "
        "/etc/apt/sources.list.d/*.sources; do "
        '[ -f "$f" ] || continue; '
        # HOST/debian, or a proxy's HOST/ARCHIVE.HOST/debian; not e.g. download.docker.com/linux/debian
        'sed -i -E "s#(https?|ftp)://[^/[:space:]]+(/[^/[:space:]]+[.][^/[:space:]]+)?'
        '/(debian|ubuntu)/?([[:space:]]|\\$)#${m}\\4#g" "$f"; '
        "done"
    )


def user_script(name: str) -> str:
    quoted = shlex.quote(name)
    return (
        f"id -u {quoted} >/dev/null 2>&1 || useradd --create-home --shell /bin/bash "
        f"--user-group {quoted}; usermod -p '*' {quoted}"
    )


VOLUME_FOLDERS = "/etc/devenv/volume-folders"  # read by devenv-entrypoint


def folders_script(folders: list[str], user: str | None, volumes: Sequence[str] = ()) -> str:
    """Make each folder the base lacks (and the parents it lacks), owned by `user`; a folder
    the base has is left as it is (e.g. a package's data folder under a volume). The volume
    mount points are listed for the entrypoint: a new, empty volume follows the user to the
    uid it is given at start (the image's folders keep the image's uid)."""
    if not folders:
        return ""
    owner = f'; chown {shlex.quote(user)}: "$1"' if user else ""
    calls = "; ".join(f"mk {shlex.quote(folder)}" for folder in folders)
    listed = " ".join(shlex.quote(volume) for volume in volumes)
    record = (
        f"; mkdir -p /etc/devenv; printf '%s\\n' {listed} >{VOLUME_FOLDERS}"
        if user and volumes
        else ""
    )
    return (
        'mk() { [ -e "$1" ] || [ -L "$1" ] && return 0; mk "$(dirname "$1")"; '
        f'mkdir "$1"{owner}; }}; {calls}{record}'
    )


def box_folders(spec: Spec) -> list[str]:
    """The folders the box's user works in: the workdir, then each volume's mount point."""
    folders = [spec.workdir] if spec.workdir and spec.workdir != "/" else []
    for volume in spec.volumes:
        if volume.container not in folders:
            folders.append(volume.container)
    return folders


SSHD_SCRIPT = (
    "rm -f /etc/ssh/ssh_host_*; mkdir -p /run/sshd /etc/devenv/ssh; "
    "grep -q '^Include /etc/ssh/sshd_config.d/' /etc/ssh/sshd_config || "
    "sed -i '1i Include /etc/ssh/sshd_config.d/*.conf' /etc/ssh/sshd_config"
)


def packages_for(spec: Spec) -> list[str]:
    """The spec's packages plus what its features need (openssh-server for sshd)."""
    packages = list(spec.apt.packages)
    if spec.sshd and not any(p.split("=")[0] == "openssh-server" for p in packages):
        packages.append("openssh-server")
    return packages


VALID_UNTIL_SCRIPT = (
    "echo 'Acquire::Check-Valid-Until \"false\";' > /etc/apt/apt.conf.d/99devenv-valid-until"
)


MAX_PACKAGE_LAYERS = 24  # BuildKit form: a layer per package up to here, the rest in one
KEEP_DEBS = (  # Debian images delete downloaded debs after each install: not into the cache
    'c=/etc/apt/apt.conf.d/docker-clean; [ ! -f "$c" ] || mv "$c" "$c.disabled"; '
)
RESTORE_CLEAN = '; [ ! -f "$c.disabled" ] || mv "$c.disabled" "$c"'


def apt_mounts(base: str, mirror: str | None) -> str:
    """BuildKit cache mounts for apt's lists (one cache per base and mirror, whose sources
    they index) and its downloaded debs (one per mirror, so a mirror serves what its users
    fetch; apt checks each deb against the lists). Private: builds running at once (a
    folder's envs) each get a cache of their own rather than waiting for one another's apt
    steps; builds one after another share one. Not hashed, like every mount here."""
    key = hashlib.sha256(json.dumps([base, mirror]).encode()).hexdigest()[:12]
    debs = hashlib.sha256((mirror or "").encode()).hexdigest()[:12]
    return (
        f"--mount=type=cache,id=devenv-apt-lists-{key},target=/var/lib/apt/lists,sharing=private "
        f"--mount=type=cache,id=devenv-apt-debs-{debs},target=/var/cache/apt,sharing=private "
    )


def cached_install_scripts(packages: list[str]) -> list[str]:
    """One install per layer over the cache mounts: earlier packages stay in cached layers,
    lists refresh cheaply (and, offline, apt keeps the cached ones), debs come from the cache."""
    groups = [[p] for p in packages[: MAX_PACKAGE_LAYERS - 1]]
    if packages[MAX_PACKAGE_LAYERS - 1 :]:
        groups.append(packages[MAX_PACKAGE_LAYERS - 1 :])
    return [
        KEEP_DEBS
        + "apt-get update; apt-get install -y --no-install-recommends "
        + " ".join(shlex.quote(p) for p in group)
        + RESTORE_CLEAN
        for group in groups
    ]


def render_dockerfile(
    spec: Spec, identity: str | None = None, lock: Lock | None = None, buildkit: bool = False
) -> str:
    """The Dockerfile; with a lock (that pins packages), its exact versions in one layer.
    `buildkit`: the same recipe with apt's caches mounted (`RUN --mount`) and a layer per
    package, for a BuildKit build; only the plain form names the image (see render())."""
    user = spec.user.name if spec.user and spec.user.name != "root" else None
    base = base_ref(spec.base, identity)
    packages = packages_for(spec)
    pinned = pinned_install_script(lock, clean=not buildkit) if lock and lock.packages else ""
    return str(
        _jinja()
        .get_template("Dockerfile.j2")
        .render(
            name=spec.name,
            base_ref=base,
            apt_mirror=spec.apt.mirror,
            mirror_script=mirror_script(spec.apt.mirror) if spec.apt.mirror else "",
            packages=packages,
            pinned_script=KEEP_DEBS + pinned + RESTORE_CLEAN if buildkit and pinned else pinned,
            apt_mounts=apt_mounts(base, spec.apt.mirror) if buildkit else "",
            package_scripts=cached_install_scripts(packages) if buildkit else [],
            valid_until_script="" if spec.apt.check_valid_until else VALID_UNTIL_SCRIPT,
            user=user,
            user_script=user_script(user) if user else "",
            folders_script=folders_script(
                box_folders(spec), user, [v.container for v in spec.volumes]
            ),
            sshd=spec.sshd is not None,
            sshd_script=SSHD_SCRIPT,
            run=spec.run,
            image_entrypoint=spec.entrypoint == "image",
            devcontainer_metadata=label_word(json.dumps([{"entrypoint": PEER_START}])),
        )
    )


def label_word(text: str) -> str:
    """`text` as one double-quoted Dockerfile word: no `$` expands, no quote ends it."""
    escaped = text.replace("\\", "\\\\").replace('"', '\\"').replace("$", "\\$")
    return f'"{escaped}"'


def build_hash(dockerfile: str, files: dict[str, bytes], base_id: str) -> str:
    digest = hashlib.sha256(HASH_VERSION.encode() + b"\0" + base_id.encode() + b"\0")
    digest.update(b"Dockerfile\0" + dockerfile.encode() + b"\0")
    for name in sorted(files):
        digest.update(name.encode() + b"\0" + files[name] + b"\0")
    return digest.hexdigest()


def render(
    spec: Spec,
    base_id: str | None = None,
    base_inputs: dict[str, str] | None = None,
    lock: Lock | None = None,
) -> Rendered:
    """Render the image recipe; `base_id` from base_identity() (default: the base's name),
    or for a Dockerfile base its BuildContext.identity, with its manifest as `base_inputs`;
    a lock is a build input through the Dockerfile it renders. The hash covers the plain
    Dockerfile only: the BuildKit form is derived from the same inputs, so an image has one
    name whichever builder made it."""
    dockerfile = render_dockerfile(spec, base_id, lock)
    folder = templates_dir()
    files = {name: (folder / name).read_bytes() for name in CONTEXT_FILES}
    if spec.sshd is None:
        files.pop("devenv-sshd.conf")
    identity = base_id or base_identity(spec.base, None, [])
    return Rendered(
        dockerfile,
        files,
        build_hash(dockerfile, files, identity),
        base_ref(spec.base, base_id),
        dict(base_inputs or {}),
        render_dockerfile(spec, base_id, lock, buildkit=True),
    )


def image_repo(name: str) -> str:
    return f"devenv/{name}"


def image_tag(name: str, rendered_hash: str) -> str:
    return f"{image_repo(name)}:{rendered_hash[:12]}"
