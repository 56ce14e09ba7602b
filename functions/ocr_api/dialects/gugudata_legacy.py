"""gugudata's legacy "imagestreamocr": ``POST /imagerecognition/imagestreamocr?appkey=KEY``.

The same request as v1; PascalCase fields, and every answer is HTTP 200 with a business code,
except a hit rate limit, which is HTTP 429 as well.
"""

from __future__ import annotations

from ocr_api.dialects.gugudata import Envelope, dialect
from ocr_api.dialects.responses import ErrorCodes
from ocr_api.errors import (
    AppKeyForbidden,
    AppKeyMissing,
    AppKeyUnknown,
    InternalError,
    QuotaExceeded,
    RateLimited,
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

business_code = ErrorCodes(
    {
        AppKeyMissing: WRONG_KEY,
        AppKeyUnknown: WRONG_KEY,
        AppKeyForbidden: KEY_EXPIRED_OR_NOT_PERMITTED,
        RateLimited: RATE_LIMITED,
        QuotaExceeded: OVER_REQUEST_LIMIT,
        InternalError: INTERNAL_ERROR,
    },
    server_error=REQUEST_FAILED,
    client_error=PARAMETER_ERROR,
)

ENVELOPE = Envelope(
    field_names=("StatusCode", "StatusDescription", "ResponseDateTime", "DataTotalCount", "ResultText"),
    business_code=business_code,
    http_status=lambda err: 429 if isinstance(err, RateLimited) else 200,
)
DIALECT = dialect(API_NAME, PATH, DEMO_PATH, ENVELOPE)
