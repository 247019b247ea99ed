"""Frozen records of what the engine has, built from its listing calls' summaries."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any, NamedTuple

from devenv import labels as L


class PublishedPort(NamedTuple):
    container: int
    protocol: str
    bind: str
    host: int

    def __str__(self) -> str:
        proto = "" if self.protocol == "tcp" else f"/{self.protocol}"
        return f"{self.bind}:{self.host}:{self.container}{proto}"


class ObservedContainer(NamedTuple):
    id: str
    name: str
    state: str
    image_id: str
    labels: dict[str, str]  # (a NamedTuple: records, never hashed)
    image: str = ""
    ports: tuple[PublishedPort, ...] = ()
    mounts: frozenset[str] = frozenset()
    restarts: int | None = None  # inspected only when the box is not running steadily
    exit_code: int | None = None
    status: str = ""  # the listing's words, e.g. "Up 2 hours", "Up Less than a second"

    @property
    def unsettled(self) -> bool:
        """Not running, or started less than a second ago (a crash loop's brief up-phase):
        worth one inspect for its exit code and restarts. A box running steadily is not
        inspected, so a converged plan costs the same few calls however many envs."""
        return self.state != "running" or self.status.startswith("Up Less than a second")

    @property
    def failing(self) -> bool:
        """Crash-looping or dead: not up, whatever the spec says (a loop is caught in its
        up-phase too: just started, and restarted before)."""
        if self.state == "running":
            return self.unsettled and bool(self.restarts)
        return self.state in ("restarting", "dead")

    @property
    def condition(self) -> str:
        """The run state in words: "running", "restarting (exit 3, 5 restarts)", …"""
        # a box caught running (a crash loop's up-phase) has no exit code of its own yet
        known = self.exit_code is not None and self.state != "running"
        code = f"exit {self.exit_code}" if known else ""
        if self.state == "dead":
            return f"dead ({code})" if code else "dead"
        if self.state == "restarting" or (self.state == "running" and self.failing):
            s = "" if self.restarts == 1 else "s"
            restarts = f"{self.restarts} restart{s}" if self.restarts else ""
            details = ", ".join(x for x in (code, restarts) if x)
            finished = " — command finished" if self.exit_code == 0 else ""
            return f"restarting ({details}){finished}" if details else "restarting"
        if self.state == "exited" and self.exit_code is not None:
            # the restart policy restarts every exit: an exited box was stopped
            return f"exited ({self.exit_code}) — stopped"
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
            status=str(raw.get("Status") or ""),
            image_id=raw.get("ImageID", ""),
            image=short_name(raw.get("Image", "")),
            labels=dict(raw.get("Labels") or {}),
            ports=tuple(sorted(set(ports), key=lambda p: (p.container, p.protocol, p.bind))),
            mounts=frozenset(mount_key(m) for m in raw.get("Mounts") or []),
        )


def unasked_writable_mounts(wanted: Iterable[str], live: Iterable[str]) -> list[str]:
    """Writable bind mounts of a live box that its spec does not ask for: an older devenv
    mounted its own SSH folder so, and a box must never write where devenv writes."""
    extra = set(live) - set(wanted)
    return sorted(m for m in extra if m.startswith("bind:") and m.endswith(":rw"))


def mount_key(mount: dict[str, Any]) -> str:
    """One comparable string per mount: 'bind:/src:/dst:rw' or 'volume:name:/dst:ro'."""
    kind = mount.get("Type", "bind")
    source = mount.get("Name") if kind == "volume" else mount.get("Source")
    mode = "rw" if mount.get("RW", True) else "ro"
    return f"{kind}:{source}:{mount.get('Destination')}:{mode}"


class ObservedImage(NamedTuple):
    id: str
    tags: tuple[str, ...]
    digests: tuple[str, ...]
    labels: dict[str, str]

    @classmethod
    def from_summary(cls, raw: dict[str, Any]) -> ObservedImage:
        tags = tuple(t for t in raw.get("RepoTags") or [] if t != "<none>:<none>")
        digests = tuple(d for d in raw.get("RepoDigests") or [] if not d.startswith("<none>"))
        return cls(raw["Id"], tags, digests, dict(raw.get("Labels") or {}))


class Observed(NamedTuple):
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
        wanted = short_name(wanted)  # Podman lists docker.io/library/debian, localhost/devenv/x
        for image in self.images:
            if any(short_name(tag) == wanted for tag in (*image.tags, *image.digests)):
                return image
        return None


def short_name(ref: str) -> str:
    """The name the docker CLI would show: 'docker.io/library/debian:12' → 'debian:12',
    'localhost/devenv/x:1' → 'devenv/x:1' (Podman's fully qualified forms)."""
    for prefix in ("docker.io/library/", "docker.io/", "localhost/"):
        if ref.startswith(prefix):
            return ref.removeprefix(prefix)
    return ref


def ports_match(wanted: Sequence[str], actual: Sequence[str]) -> bool:
    """True when each wanted BIND:HOST:CONTAINER has a live twin (an empty HOST matches any)."""
    if len(wanted) != len(actual):
        return False
    remaining = [a.rsplit(":", 2) for a in actual]  # rsplit: an IPv6 bind holds ':'
    for entry in wanted:
        bind, host, rest = entry.rsplit(":", 2)
        hit = next(
            (a for a in remaining if a[0] == bind and a[2] == rest and host in ("", a[1])), None
        )
        if hit is None:
            return False
        remaining.remove(hit)
    return True
