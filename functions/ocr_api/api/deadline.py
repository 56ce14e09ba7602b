"""How long recognition may take: what the Lambda has left, less time to answer."""

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
