"""Frozen records of what the engine has, built from its listing calls' summaries."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from devenv import labels as L

# up for under 10 s: the engine resets its restart back-off after 10 s of running
RECENT_RE = re.compile(r"Up (Less than a second|\d seconds?)")


@dataclass(frozen=True)
class PublishedPort:
    container: int
    protocol: str
    bind: str
    host: int

    def __str__(self) -> str:
        proto = "" if self.protocol == "tcp" else f"/{self.protocol}"
        return f"{self.bind}:{self.host}:{self.container}{proto}"


@dataclass(frozen=True)
class ObservedContainer:
    id: str
    name: str
    state: str
    image_id: str
    labels: dict[str, str] = field(hash=False)
    image: str = ""
    ports: tuple[PublishedPort, ...] = ()
    mounts: frozenset[str] = frozenset()
    status: str = ""  # the listing's words: "Up 5 minutes", "Restarting (3) 2 seconds ago"
    restarts: int | None = None  # inspected only when the box is not running steadily
    exit_code: int | None = None

    @property
    def unsettled(self) -> bool:
        """Not running, or up for a few seconds only (it may be crash-looping): worth an inspect."""
        return self.state != "running" or bool(RECENT_RE.match(self.status))

    @property
    def failing(self) -> bool:
        """Crash-looping, dead, or just restarted after dying: not up, whatever the spec says."""
        if self.state in ("restarting", "dead"):
            return True
        return self.state == "running" and bool(self.restarts) and self.unsettled

    @property
    def condition(self) -> str:
        """The run state in words: "running", "restarting (exit 3, 5 restarts)", …"""
        code = "" if self.exit_code is None or self.state == "running" else f"exit {self.exit_code}"
        if self.state == "dead":
            return f"dead ({code})" if code else "dead"
        if self.failing:
            restarts = f"{self.restarts} restart{'s' if self.restarts != 1 else ''}"
            details = ", ".join(x for x in (code, restarts if self.restarts else "") if x)
            return f"restarting ({details})" if details else "restarting"
        if self.state == "exited" and self.exit_code is not None:
            why = {0: " — command finished", 137: " — stopped", 143: " — stopped"}
            return f"exited ({self.exit_code}){why.get(self.exit_code, '')}"
        return self.state

    @property
    def owned(self) -> bool:
        return L.owned(self.labels)

    @property
    def env(self) -> str | None:
        return self.labels.get(L.ENV) if self.owned else None

    @classmethod
    def from_summary(cls, raw: dict[str, Any]) -> ObservedContainer:
        listed = raw.get("Ports") or []
        # a 0.0.0.0 bind is listed twice, once more for "::"; drop only that IPv6 twin
        twins = {
            (p.get("PrivatePort"), p.get("Type", "tcp")) for p in listed if p.get("IP") == "0.0.0.0"
        }
        ports = tuple(
            PublishedPort(p["PrivatePort"], p.get("Type", "tcp"), p.get("IP", ""), p["PublicPort"])
            for p in listed
            if p.get("PublicPort")
            and not (p.get("IP") == "::" and (p["PrivatePort"], p.get("Type", "tcp")) in twins)
        )
        return cls(
            id=raw["Id"],
            name=(raw.get("Names") or ["/?"])[0].lstrip("/"),
            state=raw.get("State", "unknown"),
            image_id=raw.get("ImageID", ""),
            image=raw.get("Image", ""),
            labels=dict(raw.get("Labels") or {}),
            ports=tuple(sorted(set(ports), key=lambda p: (p.container, p.protocol, p.bind))),
            mounts=frozenset(mount_key(m) for m in raw.get("Mounts") or []),
            status=raw.get("Status", ""),
        )


def mount_key(mount: dict[str, Any]) -> str:
    """One comparable string per mount: 'bind:/src:/dst:rw' or 'volume:name:/dst:ro'."""
    kind = mount.get("Type", "bind")
    source = mount.get("Name") if kind == "volume" else mount.get("Source")
    mode = "rw" if mount.get("RW", True) else "ro"
    return f"{kind}:{source}:{mount.get('Destination')}:{mode}"


@dataclass(frozen=True)
class ObservedImage:
    id: str
    tags: tuple[str, ...]
    digests: tuple[str, ...]
    labels: dict[str, str] = field(hash=False)

    @classmethod
    def from_summary(cls, raw: dict[str, Any]) -> ObservedImage:
        tags = tuple(t for t in raw.get("RepoTags") or [] if t != "<none>:<none>")
        digests = tuple(d for d in raw.get("RepoDigests") or [] if not d.startswith("<none>"))
        return cls(raw["Id"], tags, digests, dict(raw.get("Labels") or {}))


@dataclass(frozen=True)
class Observed:
    """Everything a plan needs from one engine, from a constant number of listing calls."""

    containers: tuple[ObservedContainer, ...] = ()
    images: tuple[ObservedImage, ...] = ()

    def named(self, name: str) -> ObservedContainer | None:
        return next((c for c in self.containers if c.name == name), None)

    def of_env(self, env: str) -> list[ObservedContainer]:
        return [c for c in self.containers if c.env == env]

    def image(self, ref: str) -> ObservedImage | None:
        wanted = ref if ":" in ref.rsplit("/", 1)[-1] or "@" in ref else f"{ref}:latest"
        for image in self.images:
            if wanted in image.tags or ref in image.digests or image.id == ref:
                return image
        return None
