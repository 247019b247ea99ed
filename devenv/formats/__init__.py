"""Importers: specs written from what users already have (a container, devcontainer.json, compose)."""
