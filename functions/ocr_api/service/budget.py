"""The time one request has: what the Lambda has left, less time to answer, as the
``time.monotonic()`` instants every step below keeps to. Made once per request, passed down."""

from __future__ import annotations

import time
from dataclasses import dataclass

from ocr_api.config import Settings

# What writing the response needs once the key store is done.
ANSWER_SECONDS = 0.1


@dataclass(frozen=True)
class Budget:
    # When downloads and recognition must have ended: kept under the Lambda's own deadline, so
    # the client gets our 503, not a gateway 504.
    recognition_deadline: float
    # When the request's calls to the key store must have ended (None: no Lambda deadline).
    # Settling a call after recognition uses the reserve recognition leaves, so a failure near
    # the deadline still gets its quota back.
    key_store_deadline: float | None

    @classmethod
    def for_request(cls, lambda_context, settings: Settings) -> Budget:
        now = time.monotonic()
        if lambda_context is None:
            return cls(now + settings.max_recognition_seconds, None)
        remaining = lambda_context.get_remaining_time_in_millis() / 1000.0
        return cls(
            recognition_deadline=now
            + min(settings.max_recognition_seconds, remaining - settings.response_reserve_seconds),
            key_store_deadline=now + remaining - ANSWER_SECONDS,
        )
