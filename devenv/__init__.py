"""devenv: declarative dev environments on Docker."""

from __future__ import annotations


def __getattr__(name: str) -> str:
    """`devenv.__version__`, read from the installed metadata only when asked (start-up stays
    lean); pyproject.toml is the one place the version is written."""
    if name != "__version__":
        raise AttributeError(name)
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("devenv")
    except PackageNotFoundError:  # a checkout run without installing (PYTHONPATH)
        return "0.0.0+unknown"
