"""What gugudata's two contracts (v1 and the legacy imagestreamocr) read alike.

The same fields in the same shapes: ``appkey`` in the query, a form or a multipart field;
the image as the multipart file ``imagefile``, as ``image_base64``, or as the body itself.
Each contract writes its own envelope and codes.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.router import APIGatewayRouter

from ocr_api.dialects.endpoints import Dialect, Endpoint
from ocr_api.dialects.fields import (
    ReceivedRequest,
    decode_base64_image,
    one_key,
    read_request,
    refuse_unknown_fields,
)
from ocr_api.dialects.responses import json_response
from ocr_api.errors import EmptyImage, InvalidRequest, ServiceError
from ocr_api.service.budget import Budget
from ocr_api.service.ocr_service import OcrService
from ocr_api.service.request import OcrRequest

SUCCESS = 100
_QUERY_FIELDS = {"appkey"}
_BODY_FIELDS = {"appkey", "imagefile", "image_base64"}


@dataclass(frozen=True)
class Envelope:
    """How one gugudata contract writes its answers: field names, codes, HTTP statuses."""

    # DataStatus's fields, then Data's: status code, description, date time, total, texts.
    field_names: tuple[str, str, str, str, str]
    business_code: Callable[[ServiceError], int]
    http_status: Callable[[ServiceError], int]

    def success(self, texts: list[str], description: str = "success") -> Response:
        return self._respond(200, SUCCESS, description, texts)

    def error(self, err: ServiceError, request_id: str | None = None) -> Response:
        return self._respond(self.http_status(err), self.business_code(err), err.description, None)

    def _respond(self, status: int, code: int, description: str, texts: list[str] | None) -> Response:
        code_name, description_name, time_name, total_name, texts_name = self.field_names
        return json_response(
            status,
            {
                "DataStatus": {
                    code_name: code,
                    description_name: description,
                    time_name: datetime.now(UTC).isoformat(timespec="seconds"),
                    total_name: len(texts) if texts is not None else 0,
                },
                "Data": {texts_name: texts} if texts is not None else None,
            },
        )


def dialect(api_name: str, path: str, demo_path: str, envelope: Envelope) -> Dialect:
    """The recognition route and its demo, answering in ``envelope``."""

    def routes(service: OcrService) -> APIGatewayRouter:
        router = APIGatewayRouter()

        @router.post(path)
        def recognize() -> Response:
            request = read(read_request(router.current_event), api_name)
            [result] = service.recognize(request, Budget.for_request(router.lambda_context, service.settings))
            return envelope.success(result.texts)

        @router.get(demo_path)
        def demo() -> Response:
            texts = service.sample_texts(Budget.for_request(router.lambda_context, service.settings))
            return envelope.success(texts, "success (demo image)")

        return router

    return Dialect(
        routes,
        {
            ("POST", path): Endpoint(api_name, envelope.error),
            ("GET", demo_path): Endpoint(f"{api_name}-demo", envelope.error),
        },
    )


def read(request: ReceivedRequest, api_name: str) -> OcrRequest:
    refuse_unknown_fields(request, _QUERY_FIELDS, _BODY_FIELDS, "; this API reads appkey, imagefile and image_base64")
    appkey = one_key(request.texts_named("appkey"), "appkey")
    return OcrRequest(api=api_name, caller=appkey, images=(_image(request),))


def _image(request: ReceivedRequest) -> bytes:
    files = request.fields_named("imagefile")
    encoded = request.fields_named("image_base64")
    given = len(files) + len(encoded) + (request.image_body is not None)
    if given == 0:
        raise InvalidRequest("imagefile is required: send the image as a multipart file part")
    if given > 1:
        raise InvalidRequest("send exactly one image: one imagefile part, one image_base64 field, or the body")
    if request.image_body is not None:
        return request.image_body
    if files:
        if not files[0].in_multipart:
            raise InvalidRequest("imagefile must be a multipart file part; send base64 text as image_base64")
        if not files[0].value:
            raise EmptyImage("imagefile is empty (0 bytes)")
        return files[0].value
    return decode_base64_image(encoded[0].text, "image_base64")
