"""Deadlines as ``time.monotonic()`` instants: one instant travels from the request to the engine,
and only the call that must wait (a process, a socket) asks how long is left."""

from __future__ import annotations

import time


def deadline_in(seconds: float) -> float:
    return time.monotonic() + seconds


def seconds_left(deadline: float) -> float:
    return deadline - time.monotonic()
