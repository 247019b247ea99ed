"""Where an image starts: a reference, a suite bootstrapped offline, or the user's Dockerfile.

Kept apart from models.py so each module stays readable; models.py re-exports Base.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator, model_validator

from devenv.host import expand_home
from devenv.spec.rules import (
    ARG_NAME_RE,
    ARG_RULE,
    BUILD_PATH_RULE,
    CONTROL_RE,
    IMAGE_RE,
    IMAGE_RULE,
    REGISTRY_RE,
    REGISTRY_RULE,
    STAGE_RE,
    STAGE_RULE,
    SUITE_RE,
    SUITE_RULE,
    URL_RE,
    URL_RULE,
    home_problem,
    loop_problem,
)
from devenv.spec.rules import full_match as _full

DOCKERFILE_KEYS = ("context", "args", "target")


class Model(BaseModel):
    """Strict base: unknown keys are errors, models are immutable once loaded."""

    model_config = ConfigDict(extra="forbid", frozen=True, str_strip_whitespace=False, strict=True)


class Base(Model):
    """Where the image starts: a reference, pulled through an optional registry mirror; a
    Debian/Ubuntu suite bootstrapped offline with mmdebstrap from an apt mirror; or the
    user's own Dockerfile, built first, with devenv's layers on top."""

    image: str | None = Field(None, description="Image reference, e.g. debian:bookworm")
    registry_mirror: str | None = Field(
        None, description="Registry host[:port][/namespace] to pull the image through"
    )
    bootstrap: str | None = Field(None, description="debian:SUITE or ubuntu:SUITE to build offline")
    mirror: str | None = Field(None, description="apt mirror URL mmdebstrap bootstraps from")
    variant: Literal["minbase", "apt", "required", "important", "standard"] = "minbase"
    dockerfile: str | None = Field(
        None, description="a Dockerfile to build the base from, relative to the spec file"
    )
    context: str | None = Field(
        None, description="its build context folder, relative to the spec (default: its folder)"
    )
    args: dict[str, str] = Field(default_factory=dict, description="build args (ARG values)")
    target: str | None = Field(None, description="the build stage to stop at")

    @model_validator(mode="before")
    @classmethod
    def _short_form(cls, data: Any) -> Any:
        return {"image": data} if isinstance(data, str) else data

    @field_validator("image")
    @classmethod
    def _image(cls, v: str | None) -> str | None:
        return None if v is None else _full(IMAGE_RE, v, IMAGE_RULE)

    @field_validator("registry_mirror")
    @classmethod
    def _registry(cls, v: str | None) -> str | None:
        if v is None:
            return None
        v = re.sub(r"^https?://", "", v).rstrip("/")
        return _full(REGISTRY_RE, v, REGISTRY_RULE)

    @field_validator("bootstrap")
    @classmethod
    def _suite(cls, v: str | None) -> str | None:
        return None if v is None else _full(SUITE_RE, v, SUITE_RULE)

    @field_validator("mirror")
    @classmethod
    def _mirror(cls, v: str | None) -> str | None:
        return None if v is None else _full(URL_RE, v.rstrip("/"), URL_RULE)

    @field_validator("dockerfile", "context")
    @classmethod
    def _build_path(cls, v: str | None, info: ValidationInfo) -> str | None:
        """A path, and (when the loader says where the spec is) one that exists."""
        if v is None:
            return None
        if not v.strip() or CONTROL_RE.search(v) or "\n" in v:
            raise ValueError(f"{v!r} is not valid: {BUILD_PATH_RULE}")
        folder = (info.context or {}).get("folder")
        problem = home_problem(v) or loop_problem(folder, v)
        if problem:
            raise ValueError(problem)
        if isinstance(folder, Path):
            found = folder / expand_home(v)
            is_dockerfile = info.field_name == "dockerfile"
            if is_dockerfile and not found.is_file():
                raise ValueError(f"{v!r} is not a file: no Dockerfile there (from {folder})")
            if not is_dockerfile and not found.is_dir():
                raise ValueError(f"{v!r} is not a folder: no build context there (from {folder})")
        return v

    @field_validator("args", mode="before")
    @classmethod
    def _args(cls, v: Any) -> Any:
        """Build args become text (YAML gives numbers); names and values are checked."""
        if not isinstance(v, dict):
            return v
        out = {}
        for key, value in v.items():
            if not isinstance(key, str) or not ARG_NAME_RE.fullmatch(key):
                raise ValueError(f"{key!r} is not valid: {ARG_RULE}")
            if isinstance(value, bool):
                value = "true" if value else "false"
            elif isinstance(value, int | float):
                value = str(value)
            if isinstance(value, str) and CONTROL_RE.search(value):
                raise ValueError(f"build arg {key} contains a control character: give it text")
            out[key] = value
        return out

    @field_validator("target")
    @classmethod
    def _target(cls, v: str | None) -> str | None:
        return None if v is None else _full(STAGE_RE, v, STAGE_RULE)

    @model_validator(mode="after")
    def _one_source(self) -> Base:
        sources = [k for k in ("image", "bootstrap", "dockerfile") if getattr(self, k) is not None]
        if len(sources) != 1:
            raise ValueError(
                "base needs exactly one of 'image', 'bootstrap' or 'dockerfile' "
                "(e.g. base: debian:bookworm)"
            )
        if self.registry_mirror and not self.image:
            raise ValueError(f"'registry_mirror' applies to 'image', not to '{sources[0]}'")
        if self.mirror and not self.bootstrap:
            raise ValueError("'mirror' applies to 'bootstrap'; use 'registry_mirror' with 'image'")
        if self.bootstrap and not self.mirror:
            raise ValueError(
                "'bootstrap' needs 'mirror', the apt mirror URL to bootstrap from "
                "(e.g. mirror: http://deb.debian.org/debian)"
            )
        extra = [k for k in DOCKERFILE_KEYS if getattr(self, k) not in (None, {})]
        if extra and not self.dockerfile:
            raise ValueError(f"'{extra[0]}' applies to 'dockerfile' only")
        return self
