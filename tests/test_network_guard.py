"""The suite's network guard really refuses connections (so the offline tests mean something)."""

import socket

import pytest
from conftest import NetworkBlocked


def test_outgoing_connection_is_refused() -> None:
    with pytest.raises(NetworkBlocked):
        socket.create_connection(("192.0.2.1", 80), timeout=1)


def test_dns_lookup_is_refused() -> None:
    with pytest.raises(NetworkBlocked):
        socket.getaddrinfo("example.org", 443)
