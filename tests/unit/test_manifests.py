"""The one reader of devenv manifests: a bundle's and a backup's refuse the same faults in
the same sentences, each naming its own kind."""

from __future__ import annotations

import pytest

from devenv.errors import DevenvError
from devenv.images import backup, bundle
from devenv.images import manifest as M

FAULTS = [
    (b"[1,", "{w} is not a devenv {noun} (manifest.json is not JSON)", None),
    (b'{"format": "oci"}', "{w} is not a devenv {noun} (its manifest is another format)", None),
    (
        b'{"format": "devenv-{noun}", "format_version": 2}',
        "{w} is {noun} format 2; this devenv reads format 1",
        "{verb} it with the devenv version that wrote it",
    ),
    (b'{"format": "devenv-{noun}", "format_version": "1"}', "{w} is {noun} format '1'", None),
    (
        b'{"format": "devenv-{noun}", "format_version": 1}',
        "{w} has a malformed manifest.json",
        None,
    ),
    (
        b'{"format": "devenv-{noun}", "format_version": 1, "envs": [1], "files": []}',
        "{w} has a malformed manifest.json",
        None,
    ),
]


@pytest.mark.parametrize("kind", [bundle.KIND, backup.KIND], ids=lambda k: k.noun)
@pytest.mark.parametrize(("text", "said", "hint"), FAULTS)
def test_each_format_refuses_a_fault_in_one_sentence(
    kind: M.Kind, text: bytes, said: str, hint: str | None
) -> None:
    reader = bundle.Manifest.from_json if kind is bundle.KIND else backup.Manifest.from_json
    words = {"w": "f.tar", "noun": kind.noun, "verb": kind.verb}
    with pytest.raises(DevenvError) as raised:
        reader(text.replace(b"{noun}", kind.noun.encode()).decode(), "f.tar")
    assert raised.value.message.startswith(said.format(**words))
    assert raised.value.hint == (hint.format(**words) if hint else None)


def test_what_is_written_is_read_back_by_its_own_kind_only() -> None:
    text = M.to_text(backup.KIND, "", "0.1", [], [], [])
    assert M.read(text, "b.age", backup.KIND)["envs"] == []
    with pytest.raises(DevenvError, match="is not a devenv bundle"):
        M.read(text, "b.age", bundle.KIND)
