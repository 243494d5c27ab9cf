"""Test-wide fixtures: the whole suite runs with the network blocked, property tests repeatably."""

from __future__ import annotations

import os
import socket

import pytest
from hypothesis import settings

# Property tests draw the same examples on every run (CI included): a pattern that makes
# Python's backtracking `re` (the reference some tests compare with) run for minutes cannot
# turn up by chance in CI. Explore new examples with HYPOTHESIS_PROFILE=random
# (docs/development.md).
settings.register_profile("repeatable", derandomize=True, database=None)
settings.register_profile("random", derandomize=False)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "repeatable"))


class NetworkBlocked(RuntimeError):
    """Raised when code under test tries to open a network connection."""


def _blocked(*args: object, **kwargs: object) -> None:
    raise NetworkBlocked(f"network access attempted in a test: {args!r}")


@pytest.fixture(autouse=True)
def no_network(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every test runs with outgoing connections and DNS look-ups refused.

    Local Unix sockets and socketpair (used by subprocess machinery) keep working.
    """
    original_connect = socket.socket.connect

    def guarded_connect(self: socket.socket, address: object) -> None:
        if self.family in (socket.AF_INET, socket.AF_INET6):
            _blocked(address)
        return original_connect(self, address)

    monkeypatch.setattr(socket.socket, "connect", guarded_connect)
    monkeypatch.setattr(socket.socket, "connect_ex", guarded_connect)
    monkeypatch.setattr(socket, "getaddrinfo", _blocked)
    monkeypatch.setattr(socket, "create_connection", _blocked)


@pytest.fixture(autouse=True)
def own_cache_folder(
    monkeypatch: pytest.MonkeyPatch, tmp_path_factory: pytest.TempPathFactory
) -> None:
    """`taintsigma scan` caches compiled rules under $XDG_CACHE_HOME: the suite's own folder
    (shared by its tests, so that scans of the same rules also run from the cache), never the
    user's."""
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path_factory.getbasetemp() / "xdg-cache"))
