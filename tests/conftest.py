"""Test-wide fixtures: the whole suite runs with the network blocked."""

from __future__ import annotations

import socket

import pytest


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
