"""Named volumes through the engine's API: the engine's name filter matches parts of names,
so every question about one volume asks for exactly that name."""

from __future__ import annotations

from typing import Any

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
