"""Signed callbacks, as the Standard Webhooks specification has them (the scheme of common
webhook senders): headers ``webhook-id``, ``webhook-timestamp`` and ``webhook-signature``, the
signature ``v1,<base64 HMAC-SHA256>`` over ``id.timestamp.body`` with the key's secret
``whsec_<base64 bytes>``. A receiver checks it with any Standard Webhooks library, or these
lines: refuse a timestamp more than five minutes away, recompute, compare in constant time."""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets

SECRET_PREFIX = "whsec_"
# Receivers refuse signatures older than this (the specification's advice, and ours).
TOLERANCE_SECONDS = 300


def new_webhook_secret() -> str:
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(32)).decode()


def signature_headers(secret: str, message_id: str, timestamp: int, body: bytes) -> dict[str, str]:
    return {
        "webhook-id": message_id,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": "v1," + _signature(secret, message_id, timestamp, body),
    }


def verify(secret: str, headers: dict[str, str], body: bytes, now: float) -> bool:
    """Whether ``headers`` sign ``body`` with ``secret``, at most TOLERANCE_SECONDS from ``now``."""
    try:
        timestamp = int(headers["webhook-timestamp"])
    except (KeyError, ValueError):
        return False
    if abs(now - timestamp) > TOLERANCE_SECONDS:
        return False
    expected = _signature(secret, headers.get("webhook-id", ""), timestamp, body)
    given = [part.split(",", 1)[1] for part in headers.get("webhook-signature", "").split() if part.startswith("v1,")]
    return any(hmac.compare_digest(expected, signature) for signature in given)


def _signature(secret: str, message_id: str, timestamp: int, body: bytes) -> str:
    key = base64.b64decode(secret.removeprefix(SECRET_PREFIX))
    signed = f"{message_id}.{timestamp}.".encode() + body
    return base64.b64encode(hmac.new(key, signed, hashlib.sha256).digest()).decode()
