"""gugudata "Image OCR Extraction", v1: ``POST /v1/imagerecognition/ocr``.

camelCase fields; errors carry their HTTP status and one of the codes below.
"""

from __future__ import annotations

from ocr_api.dialects.gugudata import Envelope, dialect
from ocr_api.dialects.responses import ErrorCodes
from ocr_api.errors import AppKeyForbidden, AppKeyMissing, AppKeyUnknown, QuotaExceeded, RateLimited

API_NAME = "gugudata-v1"
PATH = "/v1/imagerecognition/ocr"
DEMO_PATH = "/v1/imagerecognition/ocr/demo"

BAD_INPUT = 101
RATE_LIMITED = 102
KEY_FORBIDDEN = 103
KEY_INVALID = 104
SERVICE_ERROR = 110

business_code = ErrorCodes(
    {
        AppKeyMissing: KEY_INVALID,
        AppKeyUnknown: KEY_INVALID,
        AppKeyForbidden: KEY_FORBIDDEN,
        QuotaExceeded: KEY_FORBIDDEN,
        RateLimited: RATE_LIMITED,
    },
    server_error=SERVICE_ERROR,
    client_error=BAD_INPUT,
)

ENVELOPE = Envelope(
    field_names=("statusCode", "statusDescription", "responseDateTime", "dataTotalCount", "resultText"),
    business_code=business_code,
    http_status=lambda err: err.http_status,
)
DIALECT = dialect(API_NAME, PATH, DEMO_PATH, ENVELOPE)
