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
    restarts: int | None = None  # from the inspect: restarts since devenv last started it
    exit_code: int | None = None  # of its last run, when it has had one
    status: str = ""  # the listing's words, e.g. "Up 2 hours", "Restarting (1) 2 seconds ago"
    networks: tuple[str, ...] = ()  # the networks it is on, by name
    restart_policy: str | None = None  # from the inspect (None: not inspected)
    missing: tuple[str, ...] = ()  # bind-mount sources gone from this host (a local engine)
    workdir: str = ""  # from the inspect: the folder its command starts in

    def inspected(self, raw: dict[str, Any], last_exit: int | None = None) -> ObservedContainer:
        """This record with the run state of the container's inspect (one consistent moment:
        the listing may be a crash loop's phase earlier). `last_exit`: the exit code of its
        last death, from the engine's events, for a box that runs again after one."""
        state = raw.get("State") or {}
        status = str(state.get("Status") or self.state)
        restarts = int(raw.get("RestartCount") or 0)
        exit_code: int | None = int(state.get("ExitCode") or 0)
        if status in ("running", "paused"):  # the engine resets the code when it starts
            exit_code = last_exit if restarts else None
        elif status == "created":
            exit_code = None
        policy = ((raw.get("HostConfig") or {}).get("RestartPolicy") or {}).get("Name")
        return self._replace(
            state=status,
            restarts=restarts,
            exit_code=exit_code,
            restart_policy=policy or "no",
            workdir=str((raw.get("Config") or {}).get("WorkingDir") or ""),
        )

    @property
    def failing(self) -> bool:
        """Crash-looping or dead: restarted since devenv started it, at any moment of its
        loop (up again, or waiting to be), or dead."""
        if self.state in ("restarting", "dead"):
            return True
        return self.state in ("running", "paused") and bool(self.restarts)

    @property
    def condition(self) -> str:
        """The run state in words: "running", "restarting (exit 3, 5 restarts)", …"""
        code = f"exit {self.exit_code}" if self.exit_code is not None else ""
        if self.state == "dead":
            return f"dead ({code})" if code else "dead"
        if self.failing:
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
            networks=tuple(sorted((raw.get("NetworkSettings") or {}).get("Networks") or {})),
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
