"""The spec's `ready` check: what proves the box is up beyond running (a port, a command)."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from devenv.spec.rules import command_words


class Ready(BaseModel):
    """Apply waits until this passes: a TCP port in the box listening, or a command exiting 0."""

    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)

    port: int | None = Field(None, ge=1, le=65535, description="a TCP port in the box that listens")
    command: list[str] | None = Field(
        None, description="run in the box (as root, through the engine) until it exits 0"
    )
    timeout: int = Field(30, ge=1, le=3600, description="seconds to wait for it to pass")

    @field_validator("command", mode="before")
    @classmethod
    def _command_short(cls, v: Any) -> Any:
        return command_words(v, "ready command")

    @field_validator("command")
    @classmethod
    def _command(cls, v: list[str] | None) -> list[str] | None:
        if v is not None and (not v or not v[0]):
            raise ValueError("ready command is empty")
        if v is not None and any("\x00" in arg for arg in v):
            raise ValueError("ready command contains a NUL byte")
        return v

    @model_validator(mode="after")
    def _one_check(self) -> Ready:
        if (self.port is None) == (self.command is None):
            raise ValueError("needs exactly one of 'port' or 'command'")
        return self
