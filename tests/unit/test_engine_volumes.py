"""Named volumes through the engine's API: the engine's name filter matches parts of names,
so every question about one volume asks for exactly that name."""

from __future__ import annotations

from collections.abc import Iterator
from types import SimpleNamespace
from typing import Any

import pytest

from devenv import labels as L
from devenv.engine import volumes as V


class Api:
    """The volume calls of the SDK's low-level client, over a list of volume records."""

    def __init__(self, *records: dict[str, Any]) -> None:
        self.records = list(records)
        self.calls: list[str] = []

    def volumes(self, filters: dict[str, str]) -> dict[str, Any]:
        return {"Volumes": [r for r in self.records if filters["name"] in r["Name"]]}

    def create_volume(self, name: str, labels: dict[str, str]) -> None:
        self.calls.append(f"create {name}")
        self.records.append({"Name": name, "Labels": labels})

    def remove_volume(self, name: str) -> None:
        self.calls.append(f"remove {name}")


def test_a_volume_whose_name_holds_another_s_is_not_that_volume() -> None:
    api = Api({"Name": "box-data-old", "Labels": L.ownership({L.ENV: "box"})})
    assert V.find_volume(api, "box-data") is None
    V.ensure_volume(api, "box-data", "box")
    V.ensure_volume(api, "box-data", "box")
    assert api.calls == ["create box-data"]


def test_only_a_volume_devenv_made_is_removed() -> None:
    api = Api({"Name": "mine", "Labels": L.ownership({})}, {"Name": "theirs", "Labels": None})
    assert [V.remove_volume_if_owned(api, n) for n in ("mine", "theirs", "gone")] == [
        True,
        False,
        False,
    ]
    assert api.calls == ["remove mine"]


class Stop(Exception):
    """What a recording `get` raises once it has seen the request."""


def _requests_of(api: Any, *calls: Any) -> list[tuple[str, Any, Any]]:
    seen: list[tuple[str, Any, Any]] = []

    def get(url: str, **kwargs: Any) -> None:
        seen.append((url, kwargs.get("params"), kwargs.get("headers")))
        raise Stop

    api.get = get
    for call in calls:
        with pytest.raises(Stop):
            call()
    return seen


def test_the_archive_request_is_the_sdk_s_own_get_archive() -> None:
    """`archive` sends what `APIClient.get_archive` sends, from the client's public
    attributes: a change in the SDK fails here, not in a user's backup."""
    import docker
    import requests

    api = docker.APIClient(base_url="unix:///nonexistent.sock", version="1.41", timeout=7)
    assert isinstance(api, requests.Session) and api.timeout == 7
    theirs, ours = _requests_of(
        api,
        lambda: api.get_archive("c0ffee", V.MOUNTED),
        lambda: V.archive(api, "c0ffee", V.MOUNTED).__enter__(),
    )
    assert ours == theirs
    assert ours[0] == "http+docker://localhost/v1.41/containers/c0ffee/archive"


class Response:
    def __init__(self, status: int) -> None:
        self.status_code, self.closed = status, False

    def raise_for_status(self) -> None:
        import requests

        if self.status_code >= 400:
            raise requests.HTTPError(response=self)  # type: ignore[arg-type]

    def json(self) -> dict[str, str]:
        return {"message": "No such container: c0ffee"}

    def iter_content(self, size: int) -> Iterator[bytes]:
        yield from (b"a" * size, b"b" * size)

    def close(self) -> None:
        self.closed = True


def _client(response: Response) -> Any:
    return SimpleNamespace(
        base_url="http+docker://localhost",
        api_version="1.41",
        timeout=60,
        get=lambda url, **kwargs: response,
    )


def test_a_half_read_archive_is_closed_and_a_refusal_is_the_sdk_s_error() -> None:
    import docker.errors

    half = Response(200)
    with V.archive(_client(half), "c0ffee", V.MOUNTED) as chunks:
        assert len(next(iter(chunks))) == V.CHUNK
    assert half.closed
    missing = Response(404)
    with pytest.raises(docker.errors.NotFound), V.archive(_client(missing), "c0ffee", "/"):
        pass
    assert missing.closed
