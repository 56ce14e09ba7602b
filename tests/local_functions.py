"""Handlers for testing the local Lambda runtime itself: imported by its instances by name."""

from __future__ import annotations


def answer_of_size(event: dict, context) -> dict:
    """An answer of ``event["megabytes"]`` megabytes of JSON."""
    return {"text": "a" * int(event["megabytes"] * 1024 * 1024)}


def allocate(event: dict, context) -> dict:
    """Holds ``event["megabytes"]`` megabytes at once, and says so."""
    held = bytearray(int(event["megabytes"] * 1024 * 1024))
    return {"held": len(held)}


def deep_engine_measured(event: dict, context) -> dict:
    """The deep engine's own handler, its answer carrying the instance's peak resident memory
    so far (VmHWM), in MB."""
    from ocr_api.handlers.deep_engine import handler

    answer = handler(event, context)
    with open("/proc/self/status") as status:
        peak_kb = next(int(line.split()[1]) for line in status if line.startswith("VmHWM:"))
    return {**answer, "peak_mb": peak_kb // 1024}
