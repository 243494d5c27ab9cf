"""Locate the data that ships inside the package: bundled rules and target definitions."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from importlib.resources.abc import Traversable


def bundled_rules_dir() -> Path:
    """Return the folder of the bundled Sigma rules (``sigma_rules/`` in the repository)."""
    return _package_folder("bundled_rules")


def bundled_backends_dir() -> Path:
    """Return the folder of the bundled target definitions (``backends/`` in the repository)."""
    return _package_folder("bundled_backends")


def package_data(*parts: str) -> Path:
    """The path of a data file shipped inside the package (``data/attack/…``)."""
    beside = Path(__file__).parent.joinpath(*parts)
    if beside.is_file():
        return beside
    from importlib.resources import files

    return _as_path(files("taintsigma").joinpath(*parts))


def _package_folder(name: str) -> Path:
    # Wheels install as plain directories: the folder beside this module, as
    # importlib.resources.files() would give it, without importing importlib.resources (a
    # scan served by the compiled-rule cache starts faster); as_file() covers zip imports.
    beside = Path(__file__).parent / name
    if beside.is_dir():
        return beside
    from importlib.resources import files

    return _as_path(files("taintsigma").joinpath(name))


def _as_path(resource: Traversable) -> Path:
    if isinstance(resource, Path):
        return resource
    from importlib.resources import as_file

    with as_file(resource) as path:
        return Path(path)
