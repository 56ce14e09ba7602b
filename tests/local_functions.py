"""Handlers for testing the local Lambda runtime itself: imported by its instances by name."""

from __future__ import annotations


def answer_of_size(event: dict, context) -> dict:
    """An answer of ``event["megabytes"]`` megabytes of JSON."""
    return {"text": "a" * int(event["megabytes"] * 1024 * 1024)}


def allocate(event: dict, context) -> dict:
    """Holds ``event["megabytes"]`` megabytes at once, and says so."""
    held = bytearray(int(event["megabytes"] * 1024 * 1024))
    return {"held": len(held)}
