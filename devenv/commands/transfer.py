"""`devenv export` / `devenv import`: carry envs to a machine without a network, as one file.

Export saves each env's image (by its devenv tag) and its base (by id, so loading never
moves a tag the importing engine already has), and the specs with the public key files
they name. Import checks the whole bundle first (devenv.images.bundle), then loads the images,
names absent bases, and writes the specs; `devenv apply` on them then builds nothing.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from devenv import __version__
from devenv.build.lockfile import lock_path
from devenv.engine import split_ref
from devenv.errors import DevenvError, SpecError, host_file_errors
from devenv.hostfiles import InputRefused, check_target, read_bounded, write_file
from devenv.images import bundle as B
from devenv.spec.hostpaths import host_path
from devenv.spec.keys import is_literal_key

if TYPE_CHECKING:
    from devenv.engine import Engine
    from devenv.reporting import Reporter
    from devenv.spec.loader import SpecFile


def export_envs(paths: Sequence[str], out: Path, reporter: Reporter) -> B.Manifest:
    """Write the bundle for the envs under `paths` to `out` (building envs never built)."""
    from devenv.commands.images import built_session

    if out.is_dir():
        raise DevenvError(f"{out} is a folder; give the bundle's file name, e.g. -o envs.tar")
    with host_file_errors("write the bundle", out):  # before a long build, not after it
        out.parent.mkdir(parents=True, exist_ok=True)
        check_target(out)  # a planted link is refused now; B.write checks again
    session = built_session(paths, reporter)
    contents = B.Contents()
    root, members = B.spec_layout([w.spec_file.path for w in session.desired])
    save: list[str] = []
    for want in session.desired:
        image = session.observed.image(want.image)
        assert image is not None  # built_session built it
        base = session.observed.image(want.rendered.base)
        contents.envs.append(
            B.BundleEnv(
                name=want.name,
                image=want.image,
                image_id=image.id,
                build_hash=want.rendered.build_hash,
                spec=members[want.spec_file.path],
                base=want.rendered.base if base else "",
                base_id=base.id if base else "",
                base_digest=_digest_of(base.digests) if base else "",
            )
        )
        contents.files[members[want.spec_file.path]] = want.spec_file.path
        _add_lock_file(want.spec_file, root, contents)
        _add_key_files(want.spec_file, root, contents)
        contents.skipped += left_out(want.spec_file)
        save += [want.image, *([base.id] if base else [])]
    # the saved images go to a file without a name (O_TMPFILE where there is one, else made
    # exclusively and unlinked at once) beside the bundle: nothing can swap it for a link
    with host_file_errors("write the bundle", out):
        images = tempfile.TemporaryFile(prefix=".devenv-images-", dir=out.parent)  # noqa: SIM115 (closed below)
    with images:
        reporter.step("export", f"saving {len(session.desired)} env image(s) from the engine")
        shown = f"a temporary file in {out.parent}"
        session.engine.save_images(list(dict.fromkeys(save)), images, shown)
        with host_file_errors("write the bundle", out):
            return B.write(out, contents, images, __version__)


def _digest_of(repo_digests: tuple[str, ...]) -> str:
    """The digest the build hash names a pulled base by (see render.base_identity)."""
    digests = sorted(d.split("@", 1)[1] for d in repo_digests if "@" in d)
    return digests[0] if digests else ""


def left_out(spec_file: SpecFile) -> list[str]:
    """What of the env a bundle never carries, each with why (`devenv backup` carries the
    volumes and the host key, encrypted)."""
    spec = spec_file.spec
    notes = [
        f"{spec.name}: volume {v.name} (user data; `devenv backup` carries it, encrypted)"
        for v in spec.volumes
    ]
    notes += [
        f"{spec.name}: shared folder {s.host} (files on this machine, not the env's)"
        for s in spec.shared
    ]
    if spec.sshd is not None:
        notes.append(
            f"{spec.name}: its SSH host key (a private key: a bundle is not encrypted; "
            "`devenv backup` carries it)"
        )
    return notes


def _add_lock_file(spec_file: SpecFile, root: Path, contents: B.Contents) -> None:
    """The lock beside the spec travels with it (import writes it back beside the spec)."""
    path = lock_path(spec_file.path)
    member = B.member_for(root, path)
    if member is not None and path.is_file():
        contents.files[member] = path


def _add_key_files(spec_file: SpecFile, root: Path, contents: B.Contents) -> None:
    """Public key files the spec names, when they sit beside the specs; never private keys."""
    sshd, name = spec_file.spec.sshd, spec_file.spec.name
    if sshd is None:
        return
    if not sshd.authorized_keys:
        contents.skipped.append(f"{name}: sshd keys default to the importing user's ~/.ssh/*.pub")
    for entry in sshd.authorized_keys:
        if is_literal_key(entry):
            continue  # a literal key travels inside the spec
        path = host_path(spec_file, entry)
        member = B.member_for(root, path)
        if member is None:
            contents.skipped.append(f"{name}: {entry} is outside the specs' folder; not bundled")
            continue
        try:
            text = read_bounded(path, B.MAX_SMALL_FILE)
        except InputRefused as exc:
            raise DevenvError(f"key file {entry} {exc.reason}; not bundled", env=name) from None
        except OSError as exc:
            raise DevenvError(
                f"key file {entry} cannot be read ({exc.strerror})", env=name
            ) from None
        if b"PRIVATE KEY" in text:
            raise DevenvError(f"{entry} is a private key; bundles never carry one", env=name)
        contents.files[member] = path


def import_bundle(path: Path, to: Path, engine: Engine) -> list[str]:
    """Check `path` completely, then load its images and write its specs under `to`."""
    lines: list[str] = []
    with B.open_bundle(path) as opened, tempfile.TemporaryDirectory() as scratch:
        manifest = opened.manifest
        writes = _checked_specs(opened, Path(scratch), to)
        loaded = engine.load_images(opened.chunks(B.IMAGES))
        lines += [f"loaded {ref}" for ref in loaded if not ref.startswith("sha256:")]
        for env in manifest.envs:
            lines += _name_base(engine, env)
            found = engine.inspect_image(env.image)
            if found is None or found["Id"] != env.image_id:
                lines.append(f"{env.name}: warning: {env.image} did not load as expected")
        for target, member in writes:
            with host_file_errors("write the spec", target):
                target.parent.mkdir(parents=True, exist_ok=True)
                write_file(target, opened.read(member), 0o644)
            lines.append(f"wrote {target}")
        lines += [f"not in the bundle: {note}" for note in manifest.skipped]
    return lines


def _checked_specs(opened: B.Opened, scratch: Path, to: Path) -> list[tuple[Path, str]]:
    """Validate the bundle's specs (loading copies in `scratch`) and where each file goes;
    refuses to overwrite a different file."""
    from devenv.spec.loader import load_tolerant

    writes: list[tuple[Path, str]] = []
    copies: dict[str, Path] = {}
    for member in opened.spec_members():
        relative = member.split("/", 1)[1]
        copy = scratch / relative
        copy.parent.mkdir(parents=True, exist_ok=True)
        copy.write_bytes(opened.read(member))
        copies[member] = copy
        target = to / relative
        if os.path.lexists(target) and (
            target.is_symlink() or not target.is_file() or target.read_bytes() != copy.read_bytes()
        ):
            raise DevenvError(
                f"{target} already exists and differs from the bundle's copy",
                "import into another folder with --to DIR",
            )
        writes.append((target, member))
    specs, problems = load_tolerant([copies[env.spec] for env in opened.manifest.envs])
    if problems:
        raise SpecError(problems)
    names = {s.spec.name for s in specs}
    for env in opened.manifest.envs:
        if env.name not in names:
            raise DevenvError(f"{opened.where} is inconsistent: no spec names the env {env.name}")
    return writes


def _name_base(engine: Engine, env: B.BundleEnv) -> list[str]:
    """Give a loaded base its name when this engine has none by that name; never move one."""
    if not env.base or not env.base_id:
        return []
    found = engine.inspect_image(env.base)
    lines = []
    if found is None:
        engine.tag(env.base_id, env.base)
        found = engine.inspect_image(env.base) or {}
        lines.append(f"loaded {env.base}")
    elif found["Id"] != env.base_id:
        return [
            f"{env.name}: warning: this engine's {env.base} differs from the bundle's; "
            f"kept yours, so apply will rebuild {env.name}"
        ]
    digests = [d.split("@", 1)[-1] for d in found.get("RepoDigests") or []]
    if env.base_digest and env.base_digest not in digests:
        lines.append(
            f"{env.name}: warning: its build hash names {env.base} by its registry digest, "
            f"which a loaded image lacks; apply will rebuild {env.name} unless you "
            f"`docker pull {split_ref(env.base)[0]}@{env.base_digest}` first"
        )
    return lines
