"""gugudata "Image OCR Extraction", v1: ``POST /v1/imagerecognition/ocr``.

The dialect reads its fields into the core's input and writes the core's result and errors
in its envelope; decoding, limits and recognition are the core's.
"""

from __future__ import annotations

from datetime import datetime, timezone
from importlib import resources
from weakref import WeakKeyDictionary

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.router import APIGatewayRouter

from ocr_api import dependencies
from ocr_api.api.deadline import recognition_seconds
from ocr_api.api.requests import ReceivedRequest, decode_base64_image, read_request
from ocr_api.api.responses import json_response, rendering_errors_with
from ocr_api.errors import (
    AppKeyForbidden,
    AppKeyMissing,
    AppKeyUnknown,
    InvalidRequest,
    RateLimited,
    ServiceError,
)
from ocr_api.ocr import Recognizer

API_NAME = "gugudata-v1"
PATH = "/v1/imagerecognition/ocr"
DEMO_PATH = "/v1/imagerecognition/ocr/demo"

SUCCESS = 100
BAD_INPUT = 101
RATE_LIMITED = 102
KEY_FORBIDDEN = 103
KEY_INVALID = 104
SERVICE_ERROR = 110

_QUERY_FIELDS = {"appkey"}
_BODY_FIELDS = {"appkey", "imagefile", "image_base64"}

router = APIGatewayRouter()


def business_code(err: ServiceError) -> int:
    if isinstance(err, (AppKeyMissing, AppKeyUnknown)):
        return KEY_INVALID
    if isinstance(err, AppKeyForbidden):
        return KEY_FORBIDDEN
    if isinstance(err, RateLimited):
        return RATE_LIMITED
    if err.http_status < 500:
        return BAD_INPUT
    return SERVICE_ERROR


def render_error(err: ServiceError) -> Response:
    return _respond(err.http_status, business_code(err), err.description, None)


render_errors = rendering_errors_with(render_error)


@router.post(PATH, middlewares=[render_errors])
def recognize() -> Response:
    request = read_request(router.current_event)
    appkey, image = _read_fields(request)
    deps = dependencies.current()
    deps.access.admit(appkey, API_NAME)
    budget = recognition_seconds(router.lambda_context, deps.settings)
    result = deps.recognizer.recognize(image, budget)
    return _respond(200, SUCCESS, "success", result.texts)


@router.get(DEMO_PATH, middlewares=[render_errors])
def demo() -> Response:
    deps = dependencies.current()
    budget = recognition_seconds(router.lambda_context, deps.settings)
    return _respond(200, SUCCESS, "success (demo image)", _demo_texts(deps.recognizer, budget))


# The demo image never changes, so a warm container recognises it once per recognizer.
_demo_results: WeakKeyDictionary[Recognizer, list[str]] = WeakKeyDictionary()


def _demo_texts(recognizer: Recognizer, budget: float) -> list[str]:
    if recognizer not in _demo_results:
        image = resources.files("ocr_api.api").joinpath("demo.png").read_bytes()
        _demo_results[recognizer] = recognizer.recognize(image, budget).texts
    return _demo_results[recognizer]


def _read_fields(request: ReceivedRequest) -> tuple[str | None, bytes]:
    unknown = (set(request.query) - _QUERY_FIELDS) | (request.field_names() - _BODY_FIELDS)
    if unknown:
        raise InvalidRequest(
            f"unknown field(s): {', '.join(sorted(unknown))}; this API reads appkey, "
            "imagefile and image_base64"
        )
    return _appkey(request), _image(request)


def _appkey(request: ReceivedRequest) -> str | None:
    values = {value.strip() for value in request.texts_named("appkey")}
    if len(values) > 1:
        raise InvalidRequest("appkey was given more than once with different values")
    return values.pop() if values else None


def _image(request: ReceivedRequest) -> bytes:
    files = request.fields_named("imagefile")
    encoded = request.fields_named("image_base64")
    given = len(files) + len(encoded) + (request.image_body is not None)
    if given == 0:
        raise InvalidRequest("imagefile is required: send the image as a multipart file part")
    if given > 1:
        raise InvalidRequest(
            "send exactly one image: one imagefile part, one image_base64 field, or the body"
        )
    if request.image_body is not None:
        return request.image_body
    if files:
        if not files[0].in_multipart:
            raise InvalidRequest(
                "imagefile must be a multipart file part; send base64 text as image_base64"
            )
        if not files[0].value:
            raise InvalidRequest("imagefile is empty (0 bytes)")
        return files[0].value
    return decode_base64_image(encoded[0].text, "image_base64")


def _respond(http_status: int, code: int, description: str, texts: list[str] | None) -> Response:
    body = {
        "DataStatus": {
            "statusCode": code,
            "statusDescription": description,
            "responseDateTime": datetime.now(timezone.utc).isoformat(timespec="seconds"),
            "dataTotalCount": len(texts) if texts is not None else 0,
        },
        "Data": {"resultText": texts} if texts is not None else None,
    }
    return json_response(http_status, body)
