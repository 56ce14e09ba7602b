"""How long recognition and the key store may take: what the Lambda has left, less time to
answer."""

from __future__ import annotations

import time

from ocr_api.config import Settings


def recognition_seconds(lambda_context, settings: Settings) -> float:
    """Kept under the Lambda's own deadline so the client gets our 503, not a gateway 504."""
    if lambda_context is None:
        return settings.max_recognition_seconds
    remaining = lambda_context.get_remaining_time_in_millis() / 1000.0
    return min(settings.max_recognition_seconds, remaining - settings.response_reserve_seconds)


def recognition_deadline(lambda_context, settings: Settings) -> float:
    """The same budget as a ``time.monotonic()`` instant, for requests that spend it in steps."""
    return time.monotonic() + recognition_seconds(lambda_context, settings)


# What writing the response needs once the key store is done.
ANSWER_SECONDS = 0.1


def key_store_deadline(lambda_context) -> float | None:
    """When the request's calls to the key store must have ended: the Lambda's own deadline,
    less a moment to answer. Settling a call after recognition uses the reserve recognition
    leaves, so a failure near the deadline still gets its quota back."""
    if lambda_context is None:
        return None
    return time.monotonic() + lambda_context.get_remaining_time_in_millis() / 1000.0 - ANSWER_SECONDS
