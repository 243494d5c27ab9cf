"""Locate the data that ships inside the package: bundled rules and target definitions."""

from __future__ import annotations

from importlib.resources import as_file, files
from importlib.resources.abc import Traversable
from pathlib import Path


def bundled_rules_dir() -> Path:
    """Return the folder of the bundled Sigma rules (``sigma_rules/`` in the repository)."""
    return _as_path(files("taintsigma").joinpath("bundled_rules"))


def bundled_backends_dir() -> Path:
    """Return the folder of the bundled target definitions (``backends/`` in the repository)."""
    return _as_path(files("taintsigma").joinpath("bundled_backends"))


def _as_path(resource: Traversable) -> Path:
    # Wheels install as plain directories, so this is a real path; as_file() covers zip imports.
    if isinstance(resource, Path):
        return resource
    with as_file(resource) as path:
        return Path(path)
