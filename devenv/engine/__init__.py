"""The only door to the engine, and the only package that imports docker: every SDK or
transport error leaves it as one DevenvError sentence (see faults.py)."""

from devenv.engine.adapter import Engine
from devenv.engine.faults import engine_errors
from devenv.refs import label_instructions, split_ref

__all__ = ["Engine", "engine_errors", "label_instructions", "split_ref"]
