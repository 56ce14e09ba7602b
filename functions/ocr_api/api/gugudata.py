"""What gugudata's two contracts (v1 and the legacy imagestreamocr) read alike.

The same fields in the same shapes: ``appkey`` in the query, a form or a multipart field;
the image as the multipart file ``imagefile``, as ``image_base64``, or as the body itself.
Each contract writes its own envelope and codes.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timezone
from importlib import resources
from weakref import WeakKeyDictionary

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.router import APIGatewayRouter

from ocr_api import dependencies
from ocr_api.api.deadline import recognition_seconds
from ocr_api.api.metering import admit
from ocr_api.api.requests import ReceivedRequest, decode_base64_image, read_request, unknown_fields
from ocr_api.api.responses import json_response, rendering_errors_with
from ocr_api.errors import EmptyImage, InvalidRequest, ServiceError
from ocr_api.ocr import Recognizer

SUCCESS = 100


@dataclass(frozen=True)
class Envelope:
    """How one gugudata contract writes its answers: field names, codes, HTTP statuses."""

    # DataStatus's fields, then Data's: status code, description, date time, total, texts.
    field_names: tuple[str, str, str, str, str]
    business_code: Callable[[ServiceError], int]
    http_status: Callable[[ServiceError], int]

    def success(self, texts: list[str], description: str = "success") -> Response:
        return self._respond(200, SUCCESS, description, texts)

    def error(self, err: ServiceError) -> Response:
        return self._respond(self.http_status(err), self.business_code(err), err.description, None)

    def _respond(self, status: int, code: int, description: str, texts: list[str] | None) -> Response:
        code_name, description_name, time_name, total_name, texts_name = self.field_names
        return json_response(status, {
            "DataStatus": {
                code_name: code,
                description_name: description,
                time_name: datetime.now(timezone.utc).isoformat(timespec="seconds"),
                total_name: len(texts) if texts is not None else 0,
            },
            "Data": {texts_name: texts} if texts is not None else None,
        })


def build_router(api_name: str, path: str, demo_path: str, envelope: Envelope) -> APIGatewayRouter:
    """The recognition route and its demo, answering in ``envelope``."""
    router = APIGatewayRouter()

    @router.post(path, middlewares=[rendering_errors_with(envelope.error, api_name)])
    def recognize() -> Response:
        appkey, image = read_fields(read_request(router.current_event))
        deps = dependencies.current()
        admit(router, appkey, api_name)
        budget = recognition_seconds(router.lambda_context, deps.settings)
        return envelope.success(deps.recognizer.recognize(image, budget).texts)

    @router.get(demo_path, middlewares=[rendering_errors_with(envelope.error, f"{api_name}-demo")])
    def demo() -> Response:
        deps = dependencies.current()
        budget = recognition_seconds(router.lambda_context, deps.settings)
        return envelope.success(demo_texts(deps.recognizer, budget), "success (demo image)")

    return router

_QUERY_FIELDS = {"appkey"}
_BODY_FIELDS = {"appkey", "imagefile", "image_base64"}


def read_fields(request: ReceivedRequest) -> tuple[str | None, bytes]:
    """The appkey (None when absent) and the image bytes."""
    unknown = (set(request.query) - _QUERY_FIELDS) | (request.field_names() - _BODY_FIELDS)
    if unknown:
        raise InvalidRequest(f"{unknown_fields(unknown)}; this API reads appkey, imagefile and image_base64")
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
            raise EmptyImage("imagefile is empty (0 bytes)")
        return files[0].value
    return decode_base64_image(encoded[0].text, "image_base64")


# The demo image never changes, so a warm container recognises it once per recognizer.
_demo_results: WeakKeyDictionary[Recognizer, list[str]] = WeakKeyDictionary()


def demo_texts(recognizer: Recognizer, budget: float) -> list[str]:
    if recognizer not in _demo_results:
        image = resources.files("ocr_api.api").joinpath("demo.png").read_bytes()
        _demo_results[recognizer] = recognizer.recognize(image, budget).texts
    return _demo_results[recognizer]
