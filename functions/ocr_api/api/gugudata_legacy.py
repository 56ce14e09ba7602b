"""gugudata's legacy "imagestreamocr": ``POST /imagerecognition/imagestreamocr?appkey=KEY``.

The same request as v1; PascalCase fields, and every answer is HTTP 200 with a business code,
except a hit rate limit, which is HTTP 429 as well.
"""

from __future__ import annotations

from ocr_api.api.gugudata import Envelope, build_router
from ocr_api.errors import (
    AppKeyForbidden,
    AppKeyMissing,
    AppKeyUnknown,
    InternalError,
    QuotaExceeded,
    RateLimited,
    ServiceError,
)

API_NAME = "gugudata-legacy"
PATH = "/imagerecognition/imagestreamocr"
DEMO_PATH = "/imagerecognition/imagestreamocr/demo"

REQUEST_FAILED = -1
PARAMETER_ERROR = 501
RATE_LIMITED = 502
KEY_EXPIRED_OR_NOT_PERMITTED = 503
WRONG_KEY = 504
OVER_REQUEST_LIMIT = 505
INTERNAL_ERROR = 900


def business_code(err: ServiceError) -> int:
    if isinstance(err, (AppKeyMissing, AppKeyUnknown)):
        return WRONG_KEY
    if isinstance(err, AppKeyForbidden):
        return KEY_EXPIRED_OR_NOT_PERMITTED
    if isinstance(err, RateLimited):
        return RATE_LIMITED
    if isinstance(err, QuotaExceeded):
        return OVER_REQUEST_LIMIT
    if isinstance(err, InternalError):
        return INTERNAL_ERROR
    if err.http_status < 500:
        return PARAMETER_ERROR
    return REQUEST_FAILED


ENVELOPE = Envelope(
    field_names=("StatusCode", "StatusDescription", "ResponseDateTime", "DataTotalCount", "ResultText"),
    business_code=business_code,
    http_status=lambda err: 429 if isinstance(err, RateLimited) else 200,
)
router = build_router(API_NAME, PATH, DEMO_PATH, ENVELOPE)
