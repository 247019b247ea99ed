"""devenv: declarative dev environments on Docker."""

__version__ = "0.1.0"
