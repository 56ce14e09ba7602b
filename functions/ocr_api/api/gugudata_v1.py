"""gugudata "Image OCR Extraction", v1: ``POST /v1/imagerecognition/ocr``.

camelCase fields; errors carry their HTTP status and one of the codes below.
"""

from __future__ import annotations

from ocr_api.api.gugudata import Envelope, build_router
from ocr_api.errors import (
    AppKeyForbidden,
    AppKeyMissing,
    AppKeyUnknown,
    QuotaExceeded,
    RateLimited,
    ServiceError,
)

API_NAME = "gugudata-v1"
PATH = "/v1/imagerecognition/ocr"
DEMO_PATH = "/v1/imagerecognition/ocr/demo"

BAD_INPUT = 101
RATE_LIMITED = 102
KEY_FORBIDDEN = 103
KEY_INVALID = 104
SERVICE_ERROR = 110


def business_code(err: ServiceError) -> int:
    if isinstance(err, (AppKeyMissing, AppKeyUnknown)):
        return KEY_INVALID
    if isinstance(err, (AppKeyForbidden, QuotaExceeded)):
        return KEY_FORBIDDEN
    if isinstance(err, RateLimited):
        return RATE_LIMITED
    if err.http_status < 500:
        return BAD_INPUT
    return SERVICE_ERROR


ENVELOPE = Envelope(
    field_names=("statusCode", "statusDescription", "responseDateTime", "dataTotalCount", "resultText"),
    business_code=business_code,
    http_status=lambda err: err.http_status,
)
router = build_router(API_NAME, PATH, DEMO_PATH, ENVELOPE)
