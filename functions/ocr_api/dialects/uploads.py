"""``POST /v1/uploads``: a presigned S3 POST for a file larger than a request can carry.

The answer names an ``upload_id`` and the form to send the file with (its URL and fields, the
file last); the universal endpoint then reads the file by ``upload_id``. Authenticated by the key
in ``x-api-key`` (API Gateway checks it too); asking is held to the plan's rate and uses no
quota. Errors are written as the universal endpoint writes them.
"""

from __future__ import annotations

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.router import APIGatewayRouter

from ocr_api.dialects.endpoints import Dialect, Endpoint
from ocr_api.dialects.fields import header_values, one_key, read_request, refuse_unknown_fields
from ocr_api.dialects.responses import json_response, request_id
from ocr_api.dialects.universal import render_error
from ocr_api.errors import InvalidRequest
from ocr_api.service.budget import Budget
from ocr_api.service.ocr_service import OcrService
from ocr_api.service.uploads import UPLOAD_CONTENT_TYPES

API_NAME = "uploads"
PATH = "/v1/uploads"
_FIELDS = {"content_type"}


def routes(service: OcrService) -> APIGatewayRouter:
    router = APIGatewayRouter()

    @router.post(PATH)
    def offer_upload() -> Response:
        event = router.current_event
        key, content_type = read(event)
        offer = service.offer_upload(key, content_type, Budget.for_request(router.lambda_context, service.settings))
        return json_response(
            201,
            {
                "code": 0,
                "message": "success",
                "request_id": request_id(event),
                "upload_id": offer.upload_id,
                "upload": {"url": offer.post.url, "fields": offer.post.fields},
                "expires_at": offer.post.expires_at.isoformat(timespec="seconds"),
                "max_bytes": offer.max_bytes,
                "content_type": offer.content_type,
            },
        )

    return router


def read(event) -> tuple[str | None, str]:
    """The key asking, and the content type of the file it will upload."""
    request = read_request(event)
    if request.image_body is not None:
        raise InvalidRequest("send content_type as JSON or a form field; the file itself goes to the upload URL")
    refuse_unknown_fields(request, set(), _FIELDS, "; this API reads content_type")
    content_type = request.single_text("content_type")
    if content_type is None:
        raise InvalidRequest(f"send content_type, one of {', '.join(UPLOAD_CONTENT_TYPES)}")
    return one_key(header_values(event, "x-api-key"), "the appkey"), content_type.strip().lower()


DIALECT = Dialect(routes, {("POST", PATH): Endpoint(API_NAME, render_error)})
