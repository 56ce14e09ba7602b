"""The unit lane: no network, no processes of its own; each test reads code, not a service."""

from __future__ import annotations

import socket

import pytest


class _NoSockets(socket.socket):
    def __init__(self, *args, **kwargs) -> None:
        raise AssertionError("a unit test opened a socket: it belongs in tests/integration or tests/http")


@pytest.fixture(autouse=True)
def _sockets_off(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(socket, "socket", _NoSockets)
