"""The adapter's image traffic: registries (login, pull, push), tags, listings, snapshots and
`docker save`/`load` for bundles. A mixin of Engine, apart so each file stays readable."""

from __future__ import annotations

import contextlib
import re
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any, BinaryIO

from devenv import labels as L
from devenv.engine.faults import engine_errors, explain_failure, registry_error
from devenv.engine.observed import short_name
from devenv.engine.server import Server
from devenv.errors import EngineError, host_file_errors
from devenv.refs import split_ref
from devenv.registry import scrub


class ImageTransfer:
    """Image methods of Engine; `api` is the SDK client Engine provides."""

    @property
    def api(self) -> Any:
        raise NotImplementedError

    @property
    def server(self) -> Server:
        raise NotImplementedError

    def snapshots(self) -> list[dict[str, str]]:
        """devenv's snapshot images, newest first."""
        import datetime

        rows = []
        found = self.devenv_images({L.KIND: "snapshot"})
        for raw in found:
            for ref in map(short_name, raw.get("RepoTags") or []):
                stamp = datetime.datetime.fromtimestamp(
                    raw.get("Created", 0), datetime.timezone.utc
                )
                env = (raw.get("Labels") or {}).get(L.ENV, "")
                rows.append({"ref": ref, "env": env, "created": stamp.isoformat(), "id": raw["Id"]})
        return sorted(rows, key=lambda r: r["created"], reverse=True)

    def login(self, registry: str, username: str, password: str) -> None:
        """Have the engine log in to `registry` (it contacts it), so a wrong password fails
        here, before anything is stored; the password never reaches an error message."""
        import docker.errors

        with engine_errors(f"logging in to {registry}"):
            try:
                self.api.login(username=username, password=password, registry=registry, reauth=True)
            except docker.errors.APIError as exc:
                raise registry_error(
                    registry, scrub(explain_failure(exc), password), "login"
                ) from None

    def pull_from_registry(
        self, ref: str, on_event: Callable[[dict[str, Any]], None] = lambda _e: None
    ) -> str:
        """Pull `ref` with progress events; return its image id. Failures are RegistryError."""
        import docker.errors

        repo, tag = split_ref(ref)
        with engine_errors(f"pulling {ref}"):
            try:
                for event in self.api.pull(repo, tag=tag, stream=True, decode=True):
                    if "error" in event:
                        raise registry_error(ref, str(event["error"]), "pulling")
                    on_event(event)
            except docker.errors.APIError as exc:
                raise registry_error(ref, explain_failure(exc), "pulling") from None
            return str(self.api.inspect_image(ref)["Id"])

    def push_to_registry(
        self, ref: str, on_event: Callable[[dict[str, Any]], None] = lambda _e: None
    ) -> str:
        """Push `ref` with progress events, using docker's stored login; return its digest."""
        import docker.errors

        repo, tag = split_ref(ref)
        digest = ""
        with engine_errors(f"pushing {ref}"):
            try:
                for event in self._push_events(repo, tag):
                    if "error" in event:
                        raise registry_error(ref, str(event["error"]), "pushing")
                    digest = pushed_digest(event) or digest
                    on_event(event)
            except docker.errors.APIError as exc:
                raise registry_error(ref, explain_failure(exc), "pushing") from None
        return digest

    def _push_events(self, repo: str, tag: str) -> Iterable[dict[str, Any]]:
        """The engine's push progress. Podman is told not to insist on HTTPS for a registry
        on this machine (its compat API's tlsVerify), as dockerd never does for 127.0.0.0/8."""
        api = self.api
        if not (self.server.podman and local_registry(repo)):
            events: Iterable[dict[str, Any]] = api.push(repo, tag=tag, stream=True, decode=True)
            return events
        from docker import auth

        header = auth.get_config_header(api, auth.resolve_repository_name(repo)[0])
        response = api._post_json(
            api._url("/images/{0}/push", repo),
            None,
            headers={"X-Registry-Auth": header} if header else {},
            stream=True,
            params={"tag": tag, "tlsVerify": "false"},
        )
        api._raise_for_status(response)
        streamed: Iterable[dict[str, Any]] = api._stream_helper(response, decode=True)
        return streamed

    def inspect_image(self, ref: str) -> dict[str, Any] | None:
        """What the engine knows of the image `ref` names (id, labels, size), or None."""
        import docker.errors

        with engine_errors(f"inspecting image {ref}"):
            try:
                return dict(self.api.inspect_image(ref))
            except docker.errors.NotFound:
                return None

    def tag(self, source: str, ref: str) -> None:
        """Give the image `source` names one more name, `ref` (moving `ref` if it existed)."""
        repo, tag = split_ref(ref)
        with engine_errors(f"tagging {source} as {ref}"):
            self.api.tag(source, repo, tag, force=True)

    def devenv_images(self, labels: dict[str, str]) -> list[dict[str, Any]]:
        """Summaries (size, created, tags, labels) of devenv's images carrying `labels` too."""
        with engine_errors("listing images"):
            found = self.api.images(filters={"label": f"{L.MANAGED}=true"})
        # the other labels are matched here: Podman's API finds nothing for two label filters
        picked = [
            raw
            for raw in found
            if all((raw.get("Labels") or {}).get(k) == v for k, v in labels.items())
        ]
        if self.server.podman:  # docker.io/devenv/x:1 is the devenv/x:1 devenv named
            for raw in picked:
                raw["RepoTags"] = [short_name(t) for t in raw.get("RepoTags") or []]
        return picked

    def all_containers(self) -> list[dict[str, Any]]:
        """Every container, stopped too, as one listing call: what images are in use."""
        with engine_errors("listing containers"):
            return list(self.api.containers(all=True))

    def save_images(self, names: list[str], out: BinaryIO, shown: str = "") -> None:
        """`docker save` of `names` (tags keep their names; ids load untagged) into `out`
        (`shown`: where it is, for a write fault, when `out` has no name of its own)."""
        where = shown or str(getattr(out, "name", "a file"))
        with engine_errors("saving images"):
            api = self.api
            response = api._get(api._url("/images/get"), params={"names": names}, stream=True)
            api._raise_for_status(response)
            for chunk in response.iter_content(chunk_size=1 << 20):
                with host_file_errors("write the images to", where):
                    out.write(chunk)

    def load_images(self, chunks: Iterable[bytes]) -> list[str]:
        """`docker load` from a stream of chunks; return what the engine says it loaded."""
        loaded = []
        with engine_errors("loading images"):
            for event in self.api.load_image(iter(chunks)) or []:
                if "error" in event:
                    raise EngineError(f"loading images: the engine said: {event['error']}")
                found = re.search(r"Loaded image(?: ID)?: (\S+)", str(event.get("stream", "")))
                if found:  # Podman names them all on one line: docker.io/devenv/x:1,sha256:…
                    loaded += [short_name(name) for name in found.group(1).split(",")]
        return loaded

    def package_versions(self, image: str) -> str:
        """`dpkg-query -W` of `image` (name TAB version per line), from a throwaway,
        labelled container that runs nothing else and is removed at once."""
        labels = L.ownership({L.KIND: "lock-probe"})
        query = ["dpkg-query", "-W", "-f", "${Package}\t${Version}\t${db:Status-Status}\n"]
        with engine_errors(f"listing the packages of {image}"):
            made = self.api.create_container(
                image=image, entrypoint=query, command=[], labels=labels, network_disabled=True
            )
            try:
                self.api.start(made["Id"])
                code = self.api.wait(made["Id"], timeout=120).get("StatusCode")
                out = self.api.logs(made["Id"], stdout=True, stderr=False)
            finally:
                self.api.remove_container(made["Id"], force=True, v=True)
        if code != 0:
            raise EngineError(f"{image} has no working dpkg-query, so it cannot be locked")
        return bytes(out).decode("utf-8", "replace")

    def import_rootfs(self, tar_path: Path, ref: str, labels: dict[str, str]) -> None:
        repo, tag = split_ref(ref)
        changes = ['CMD ["bash"]', *L.label_instructions(labels)]
        with engine_errors(f"importing {ref}"):
            said = self.api.import_image(
                src=str(tar_path), repository=repo, tag=tag, changes=changes
            )
            if tag and self.inspect_image(ref) is None:  # Podman's import names it REPO:latest
                made = _imported_id(str(said))
                self.api.tag(made, repo, tag)
                if (self.inspect_image(f"{repo}:latest") or {}).get("Id") == made:
                    self.api.remove_image(f"{repo}:latest", noprune=True)


LOCAL_REGISTRY = re.compile(r"(localhost|127(?:\.\d{1,3}){3}|\[::1\])(:\d+)?/")


def local_registry(repo: str) -> bool:
    """Whether `repo` names a registry on this machine (plain HTTP allowed, as in dockerd)."""
    return LOCAL_REGISTRY.match(repo) is not None


def pushed_digest(event: dict[str, Any]) -> str | None:
    """The manifest digest a push event reports: Docker's aux field, Podman's status line."""
    found = (event.get("aux") or {}).get("Digest")
    if found:
        return str(found)
    said = re.search(r"digest: (sha256:[0-9a-f]{64})", str(event.get("status") or ""))
    return said.group(1) if said else None


def _imported_id(said: str) -> str:
    """The image id an import reports (its last `{"status": "sha256:…"}` line)."""
    import json

    for line in reversed(said.splitlines()):
        with contextlib.suppress(ValueError, AttributeError):
            status = str(json.loads(line).get("status", ""))
            if status.startswith("sha256:"):
                return status
    raise EngineError(f"the engine imported an image but did not say its id ({said[-200:]!r})")
