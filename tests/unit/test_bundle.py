"""The bundle format without an engine: written, read back, and refused when broken."""

from __future__ import annotations

import io
import json
import tarfile
from collections.abc import Callable
from pathlib import Path

import pytest

from devenv.errors import DevenvError
from devenv.images import bundle as B

IMAGE = "devenv/box:0123456789ab"


def tar_bytes(members: dict[str, bytes], links: dict[str, str] | None = None) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as tar:
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
        for name, target in (links or {}).items():
            info = tarfile.TarInfo(name)
            info.type, info.linkname = tarfile.SYMTYPE, target
            tar.addfile(info)
    return buffer.getvalue()


def saved_images(tags: list[str], links: dict[str, str] | None = None) -> bytes:
    """A small archive in the engine's `docker save` layout."""
    manifest = [{"Config": "abc.json", "RepoTags": tags, "Layers": ["l1/layer.tar"]}]
    return tar_bytes(
        {"manifest.json": json.dumps(manifest).encode(), "abc.json": b"{}", "l1/layer.tar": b""},
        links,
    )


@pytest.fixture
def made(tmp_path: Path) -> Path:
    """A valid bundle of one env, with a public key file beside its spec."""
    specs = tmp_path / "envs"
    (specs / "keys").mkdir(parents=True)
    (specs / "box.yaml").write_text("name: box\n")
    (specs / "keys" / "me.pub").write_text(
        "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAILvSSIsM7KnpKuSWHJLSr+2He2Frd6gHrAG0za/HDgtM me\n"
    )
    images = tmp_path / "images.tar"
    images.write_bytes(saved_images([IMAGE]))
    contents = B.Contents()
    contents.envs.append(
        B.BundleEnv("box", IMAGE, "sha256:1", "0123456789ab" * 5, "specs/box.yaml")
    )
    contents.files = {
        "specs/box.yaml": specs / "box.yaml",
        "specs/keys/me.pub": specs / "keys" / "me.pub",
    }
    out = tmp_path / "bundle.tar"
    B.write(out, contents, io.BytesIO(images.read_bytes()), "0.1.0")
    return out


def refused(path: Path) -> str:
    with pytest.raises(DevenvError) as info, B.open_bundle(path):
        pass
    return info.value.message


def test_a_written_bundle_reads_back(made: Path) -> None:
    with tarfile.open(made) as tar:
        names = tar.getnames()
    assert names == ["manifest.json", "specs/box.yaml", "specs/keys/me.pub", "images.tar"]
    with B.open_bundle(made) as opened:
        assert [e.name for e in opened.manifest.envs] == ["box"]
        assert opened.spec_members() == ["specs/box.yaml", "specs/keys/me.pub"]
        assert opened.read("specs/box.yaml") == b"name: box\n"
        assert b"".join(opened.chunks(B.IMAGES)) == saved_images([IMAGE])
    assert not made.with_name("bundle.tar.partial").exists()


def test_manifest_round_trips() -> None:
    env = B.BundleEnv("a", "devenv/a:1", "sha256:x", "h", "specs/a.yaml", "debian:bookworm", "b")
    manifest = B.Manifest(
        (env,),
        (B.BundleFile("specs/a.yaml", 3, "00"),),
        ("a: ~/.ssh/id.pub is outside the specs' folder; not bundled",),
    )
    again = B.Manifest.from_json(manifest.to_json(), "x.tar")
    assert again.envs == manifest.envs and again.files == manifest.files
    assert again.skipped == manifest.skipped


@pytest.mark.parametrize(
    ("name", "safe"),
    [
        ("specs/a.yaml", True),
        ("images.tar", True),
        ("../evil", False),
        ("specs/../../evil", False),
        ("/etc/passwd", False),
        ("specs//a", False),
        ("specs/./a", False),
        ("a\\b", False),
        ("", False),
    ],
)
def test_safe_names(name: str, safe: bool) -> None:
    assert B.safe_name(name) is safe


def test_truncated_bundles_are_refused(made: Path, tmp_path: Path) -> None:
    data = made.read_bytes()
    for size in (len(data) // 2, len(data) // 3, 1500, 100):
        cut = tmp_path / f"cut-{size}.tar"
        cut.write_bytes(data[:size])
        message = refused(cut)
        assert "truncated" in message or "not an uncompressed tar" in message, (size, message)


def test_a_flipped_byte_fails_the_checksum(made: Path, tmp_path: Path) -> None:
    data = bytearray(made.read_bytes())
    spot = data.index(b"name: box")
    data[spot] = ord("N")
    broken = tmp_path / "flipped.tar"
    broken.write_bytes(bytes(data))
    assert refused(broken).endswith("specs/box.yaml does not match its checksum")


def test_foreign_and_unsafe_tars_are_refused(tmp_path: Path) -> None:
    cases = {
        "plain": (tar_bytes({"etc/hosts": b"x"}), "it has no manifest.json"),
        "traversal": (tar_bytes({"manifest.json": b"{}", "../x": b""}), "leads outside"),
        "absolute": (tar_bytes({"/manifest.json": b"{}"}), "leads outside"),
        "symlink": (tar_bytes({}, {"manifest.json": "/etc/passwd"}), "not a regular file"),
        "json": (tar_bytes({"manifest.json": b"[1,"}), "is not JSON"),
        "other": (tar_bytes({"manifest.json": b'{"format": "oci"}'}), "another format"),
        "newer": (
            tar_bytes({"manifest.json": b'{"format": "devenv-bundle", "format_version": 2}'}),
            "bundle format 2; this devenv reads format 1",
        ),
        "gzip": (b"\x1f\x8b\x08\x00" + b"\x00" * 100, "not an uncompressed tar file"),
    }
    for case, (data, expected) in cases.items():
        path = tmp_path / f"{case}.tar"
        path.write_bytes(data)
        assert expected in refused(path), case


def _rewrite(made: Path, out: Path, change: dict[str, bytes], drop: str = "") -> Path:
    """A copy of `made` with members replaced (keeping the manifest's checksums stale)."""
    with tarfile.open(made) as tar:
        members = {m.name: tar.extractfile(m).read() for m in tar.getmembers()}  # type: ignore[union-attr]
    members.update(change)
    members.pop(drop, None)
    out.write_bytes(tar_bytes(members))
    return out


def test_extra_and_missing_members_are_refused(made: Path, tmp_path: Path) -> None:
    extra = _rewrite(made, tmp_path / "extra.tar", {"specs/other.yaml": b"x"})
    assert "unexpected member 'specs/other.yaml'" in refused(extra)
    missing = _rewrite(made, tmp_path / "missing.tar", {}, drop="images.tar")
    assert "images.tar is missing" in refused(missing)


def test_the_image_archive_must_hold_the_envs_images(made: Path, tmp_path: Path) -> None:
    def with_images(data: bytes, name: str) -> Path:
        """A consistent bundle (checksums recomputed) around another images.tar."""
        specs = tmp_path / name / "envs"
        specs.mkdir(parents=True)
        (specs / "box.yaml").write_text("name: box\n")
        images = tmp_path / name / "images.tar"
        images.write_bytes(data)
        contents = B.Contents()
        contents.envs.append(B.BundleEnv("box", IMAGE, "sha256:1", "h", "specs/box.yaml"))
        contents.files = {"specs/box.yaml": specs / "box.yaml"}
        out = tmp_path / name / "bundle.tar"
        B.write(out, contents, io.BytesIO(images.read_bytes()), "0.1.0")
        return out

    assert "does not hold devenv/box" in refused(with_images(saved_images(["x/y:1"]), "other"))
    assert "not an image archive" in refused(with_images(tar_bytes({"a": b""}), "plain"))
    assert "cannot be read" in refused(with_images(b"garbage" * 100, "garbage"))
    escaping = saved_images([IMAGE], {"l2/layer.tar": "../../../etc/passwd"})
    assert "links outside" in refused(with_images(escaping, "escaping"))


def test_spec_layout_keeps_relative_folders(tmp_path: Path) -> None:
    (tmp_path / "envs" / "team").mkdir(parents=True)
    a, b = tmp_path / "envs" / "a.yaml", tmp_path / "envs" / "team" / "b.yaml"
    root, members = B.spec_layout([a, b])
    assert root == tmp_path / "envs"
    assert members == {a: "specs/a.yaml", b: "specs/team/b.yaml"}
    assert B.member_for(root, tmp_path / "elsewhere.pub") is None


def test_key_files_travel_when_public_and_beside_the_specs(
    write_spec: Callable[..., Path], tmp_path: Path
) -> None:
    from devenv.commands.transfer import _add_key_files
    from devenv.spec.loader import load_all

    (tmp_path / "keys").mkdir()
    (tmp_path / "keys" / "me.pub").write_text(
        "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAILvSSIsM7KnpKuSWHJLSr+2He2Frd6gHrAG0za/HDgtM me\n"
    )
    (tmp_path.parent / "outside.pub").write_text(
        "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIHGAy8pGTuy/DKlbN4Inxd4/P6iY2kHGhXjUEKsmo27r other\n"
    )
    spec = write_spec(
        "user: dev\nsshd:\n  authorized_keys:\n"
        "    - ./keys/me.pub\n    - ../outside.pub\n    - ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAILvSSIsM7KnpKuSWHJLSr+2He2Frd6gHrAG0za/HDgtM literal\n"
    )
    (spec_file,) = load_all([spec])
    contents = B.Contents()
    _add_key_files(spec_file, tmp_path, contents)
    assert contents.files == {"specs/keys/me.pub": tmp_path / "keys" / "me.pub"}
    assert contents.skipped == ["box: ../outside.pub is outside the specs' folder; not bundled"]

    (tmp_path / "keys" / "me.pub").write_text("-----BEGIN OPENSSH PRIVATE KEY-----\n")
    with pytest.raises(DevenvError, match="is a private key; bundles never carry one"):
        _add_key_files(spec_file, tmp_path, B.Contents())


class BaseEngine:
    """inspect_image/tag over a dict of name → (id, repo digests)."""

    def __init__(self, images: dict[str, tuple[str, list[str]]]) -> None:
        self.images, self.tagged = images, []  # type: ignore[var-annotated]

    def inspect_image(self, ref: str) -> dict | None:
        if ref not in self.images:
            return None
        image_id, digests = self.images[ref]
        return {"Id": image_id, "RepoDigests": digests}

    def tag(self, source: str, ref: str) -> None:
        self.tagged.append((source, ref))
        self.images[ref] = (source, [])


def test_bases_are_named_only_when_absent_and_digest_bases_are_flagged() -> None:
    from devenv.commands.transfer import _name_base

    env = B.BundleEnv(
        "box", IMAGE, "sha256:1", "h", "specs/box.yaml", "debian:bookworm", "sha256:b"
    )
    absent = BaseEngine({})
    assert _name_base(absent, env) == ["loaded debian:bookworm"]  # type: ignore[arg-type]
    assert absent.tagged == [("sha256:b", "debian:bookworm")]

    other = BaseEngine({"debian:bookworm": ("sha256:mine", [])})
    (line,) = _name_base(other, env)  # type: ignore[arg-type]
    assert "differs from the bundle's; kept yours" in line and other.tagged == []

    pulled = B.BundleEnv(**{**env.__dict__, "base_digest": "sha256:d"})
    same = BaseEngine({"debian:bookworm": ("sha256:b", ["debian@sha256:d"])})
    assert _name_base(same, pulled) == []  # type: ignore[arg-type]
    (line,) = _name_base(BaseEngine({"debian:bookworm": ("sha256:b", [])}), pulled)  # type: ignore[arg-type]
    assert line.endswith("unless you `docker pull debian@sha256:d` first")
