"""The backup format's bounds, its encryption round trip, the identity fingerprint, and what
an export says it leaves out. No engine."""

from __future__ import annotations

import io
import subprocess
import tarfile
from collections.abc import Callable
from pathlib import Path

import pytest

from devenv.converge.identity import fingerprint
from devenv.errors import DevenvError
from devenv.images import backup as F
from devenv.images import sealed

TOP = "devenv-volume"


def volume_tar(*items: tuple[str, bytes | None, str]) -> bytes:
    """A volume archive: (name, data or None for a folder, link target or "")."""
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w") as tar:
        for name, data, link in items:
            info = tarfile.TarInfo(name)
            if link.startswith("hard:"):
                info.type, info.linkname = tarfile.LNKTYPE, link[5:]
            elif link:
                info.type, info.linkname = tarfile.SYMTYPE, link
            elif data is None:
                info.type = tarfile.DIRTYPE
            else:
                info.size = len(data)
            tar.addfile(info, io.BytesIO(data) if data else None)
    return out.getvalue()


def backup_stream(volume: bytes, extra: list[tuple[str, bytes]] | None = None) -> bytes:
    out = io.BytesIO()
    writer = F.Writer(out, "test")
    writer.add_bytes("specs/box.yaml", b"name: box\n")
    writer.add_bytes(F.volume_member("box-data"), volume)
    for name, data in extra or []:
        writer.add_bytes(name, data)
    writer.manifest.envs.append(F.BackupEnv("box", "specs/box.yaml", volumes=("box-data",)))
    writer.close()
    return out.getvalue()


def test_a_backup_reads_back_with_its_volume_whole() -> None:
    volume = volume_tar((TOP, None, ""), (f"{TOP}/a", b"hello", ""), (f"{TOP}/l", None, "a"))
    clear = backup_stream(volume)
    checked = F.check(io.BytesIO(clear), "b.age", TOP)
    assert checked.small == {"specs/box.yaml": b"name: box\n"}
    assert [e.volumes for e in checked.manifest.envs] == [("box-data",)]
    got: list[tuple[str, bytes]] = []
    F.each_volume(io.BytesIO(clear), "b.age", lambda v, chunks: got.append((v, b"".join(chunks))))
    assert got == [("box-data", volume)]


@pytest.mark.parametrize(
    ("item", "said"),
    [
        (("other/a", b"x", ""), "which a volume backup never does"),
        ((f"{TOP}/../a", b"x", ""), "which a volume backup never does"),
        (("/" + TOP + "/a", b"x", ""), "which a volume backup never does"),
        ((f"{TOP}/sub/l", None, "../../etc"), "points out of the volume"),
        ((f"{TOP}/h", None, "hard:/etc/passwd"), "leaves the volume"),
    ],
)
def test_a_volume_archive_stays_inside_the_volume(
    item: tuple[str, bytes | None, str], said: str
) -> None:
    clear = backup_stream(volume_tar((TOP, None, ""), item))
    with pytest.raises(DevenvError, match=said):
        F.check(io.BytesIO(clear), "b.age", TOP)


def test_an_absolute_link_inside_a_volume_is_the_box_s_own() -> None:
    clear = backup_stream(volume_tar((TOP, None, ""), (f"{TOP}/py", None, "/usr/bin/python3")))
    assert F.check(io.BytesIO(clear), "b.age", TOP).manifest.envs


def test_members_outside_the_layout_or_unlisted_are_refused() -> None:
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w") as tar:
        info = tarfile.TarInfo("../escape")
        tar.addfile(info, io.BytesIO(b""))
    with pytest.raises(DevenvError, match="which a backup never does"):
        F.check(io.BytesIO(out.getvalue()), "b.age", TOP)
    volume = volume_tar((TOP, None, ""))
    clear = bytearray(backup_stream(volume, [("keys/box/ssh_host_ed25519_key", b"KEY")]))
    clear[clear.find(b"KEY")] = ord("X")  # a member no longer matches its checksum
    with pytest.raises(DevenvError, match="does not match its manifest"):
        F.check(io.BytesIO(bytes(clear)), "b.age", TOP)


def test_encryption_round_trip_to_an_ssh_key(tmp_path: Path) -> None:
    key = tmp_path / "id_ed25519"
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(key)], check=True)
    clear = backup_stream(volume_tar((TOP, None, ""), (f"{TOP}/a", b"CANARY" * 1000, "")))
    out = io.BytesIO()
    sealed.encrypt_to(
        out, sealed.recipients([str(key) + ".pub"], tmp_path), lambda w: w.write(clear)
    )
    assert b"CANARY" not in out.getvalue()
    out.seek(0)
    with sealed.decrypted(out, sealed.identities([str(key)], tmp_path), "b.age") as stream:
        assert stream.read(len(clear) + 10) == clear
    other = tmp_path / "other"
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(other)], check=True)
    out.seek(0)
    keys = sealed.identities([str(other)], tmp_path)
    with (
        pytest.raises(DevenvError, match="not encrypted to the identity"),
        sealed.decrypted(out, keys, "b.age") as stream,
    ):
        stream.read(10)


def test_recipients_default_to_the_user_s_public_keys(tmp_path: Path) -> None:
    with pytest.raises(DevenvError, match="holds no id_"):
        sealed.recipients([], tmp_path)
    with pytest.raises(DevenvError, match="not a recipient age can encrypt to"):
        sealed.recipients(["ssh-ed25519 nonsense"], tmp_path)


def test_fingerprint_is_openssh_s(tmp_path: Path) -> None:
    key = tmp_path / "k"
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(key)], check=True)
    said = subprocess.run(
        ["ssh-keygen", "-l", "-E", "sha256", "-f", str(key) + ".pub"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()[1]
    assert fingerprint((tmp_path / "k.pub").read_bytes()) == said
    assert fingerprint(b"not a key") is None


def test_export_says_what_it_leaves_out(load: Callable[[str], object]) -> None:
    from devenv.commands.transfer import left_out

    spec_file = load(
        "user: dev\nsshd: true\nshared: ['./src:/src']\nvolumes: [{name: data, container: /d}]\n"
    )
    notes = left_out(spec_file)  # type: ignore[arg-type]
    assert [n.split(" (")[0] for n in notes] == [
        "box: volume data",
        "box: shared folder ./src",
        "box: its SSH host key",
    ]


def test_a_volume_streamed_in_small_uneven_chunks_is_written_whole() -> None:
    volume = volume_tar((TOP, None, ""), (f"{TOP}/a", bytes(range(256)) * 400, ""))
    out = io.BytesIO()
    writer = F.Writer(out, "test")
    pieces = [volume[i : i + 777] for i in range(0, len(volume), 777)]
    writer.add_stream(F.volume_member("v"), len(volume), pieces)
    writer.close()
    got: list[bytes] = []
    F.each_volume(io.BytesIO(out.getvalue()), "b", lambda _, chunks: got.append(b"".join(chunks)))
    assert got == [volume]
