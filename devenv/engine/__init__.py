"""The only door to the engine, and the only package that imports docker: every SDK or
transport error leaves it as one DevenvError sentence (see faults.py). The SDK loads only
when the adapter is first used: the fast path (devenv.answers) reads through wire.py and
runs commands through exec_stream.py, standard library only."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from devenv.refs import label_instructions, split_ref

if TYPE_CHECKING:
    from devenv.engine.adapter import Engine
    from devenv.engine.faults import engine_errors

__all__ = ["Engine", "engine_errors", "label_instructions", "split_ref"]


def __getattr__(name: str) -> Any:
    """`Engine` and `engine_errors`, imported (with the Docker SDK) on first use."""
    if name == "Engine":
        from devenv.engine.adapter import Engine

        return Engine
    if name == "engine_errors":
        from devenv.engine.faults import engine_errors

        return engine_errors
    raise AttributeError(f"module 'devenv.engine' has no attribute {name!r}")
