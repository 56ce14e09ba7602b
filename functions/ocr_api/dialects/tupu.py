"""tupu "general-ocr": ``POST /v3/recognition/general-ocr?key=KEY``.

``image`` is one or more files or one or more URLs (never both); ``tag`` goes with each image,
the last one filling in for images without; ``referer`` is sent when URLs are downloaded.
Only still PNG, JPEG, TIFF and WebP are read, as tupu does. Each text line comes back as four
corners normalised to the image size, clockwise from its top left, with its slant in degrees.
"""

from __future__ import annotations

import math
import secrets
import time

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.router import APIGatewayRouter

from ocr_api.dialects.endpoints import Dialect, Endpoint
from ocr_api.dialects.fields import (
    Field,
    ReceivedRequest,
    check_image_count,
    one_key,
    read_request,
    refuse_unknown_fields,
)
from ocr_api.dialects.responses import json_response
from ocr_api.errors import InvalidRequest, ServiceError
from ocr_api.ocr import RecognitionOptions, RecognitionResult
from ocr_api.ocr.result import Quad
from ocr_api.service.budget import Budget
from ocr_api.service.ocr_service import OcrService
from ocr_api.service.request import ImageSource, ImageUrl, OcrRequest

API_NAME = "tupu"
PATH = "/v3/recognition/general-ocr"
# tupu reads still PNG, JPEG, TIFF and WebP; phone photos (HEIC, AVIF) are read here too.
STILL_FORMATS = ("PNG", "JPEG", "TIFF", "WEBP", "HEIF", "AVIF")
_BODY_FIELDS = {"image", "tag", "referer"}
_QUERY_FIELDS = {"key"}


def render_error(err: ServiceError, request_id: str | None = None) -> Response:
    # tupu's envelope with a non-zero code; the code is the HTTP status the situation calls for.
    return json_response(err.http_status, _envelope(err.http_status, err.description))


def routes(service: OcrService) -> APIGatewayRouter:
    router = APIGatewayRouter()

    @router.post(PATH)
    def recognize() -> Response:
        budget = Budget.for_request(router.lambda_context, service.settings)
        request, names, tags = read(read_request(router.current_event), service.settings)
        return _answer(service.recognize(request, budget), names, tags)

    return router


DIALECT = Dialect(routes, {("POST", PATH): Endpoint(API_NAME, render_error)})


def read(request: ReceivedRequest, settings) -> tuple[OcrRequest, list[str], list[str | None]]:
    """The request, and each image's name and tag."""
    refuse_unknown_fields(request, _QUERY_FIELDS, _BODY_FIELDS, "; tupu reads image, tag, referer")
    if request.image_body is not None:
        raise InvalidRequest("send the images as multipart image fields")
    images = request.fields_named("image")
    if not images:
        raise InvalidRequest("image is required: one or more files or image URLs")
    check_image_count(len(images), settings.max_images_per_request)
    # A part with a file name is a file; a plain field is an image URL.
    files = [field for field in images if field.filename]
    if files and len(files) != len(images):
        raise InvalidRequest("files and image URLs cannot be mixed in one request")
    if files:
        sources: list[ImageSource] = [field.value for field in files]
        names = [field.filename for field in files]
    else:
        names = [_url(field) for field in images]
        sources = [ImageUrl(name) for name in names]
    tags = request.texts_named("tag")
    if len(tags) > len(images):
        raise InvalidRequest(f"{len(tags)} tags for {len(images)} image(s)")
    filled = [tags[min(index, len(tags) - 1)] if tags else None for index in range(len(images))]
    referer = request.single_text("referer")
    ocr_request = OcrRequest(
        api=API_NAME,
        caller=one_key(request.query.get("key", []), "key"),
        images=tuple(sources),
        # tupu reports each line's slant, so pages are turned upright first (on a small copy).
        options=RecognitionOptions(
            formats=STILL_FORMATS,
            still_only=True,
            max_image_bytes=settings.tupu_max_image_bytes,
            correct_orientation=True,
        ),
        referer=referer,
    )
    return ocr_request, names, filled


def _answer(results: list[RecognitionResult], names: list[str], tags: list[str | None]) -> Response:
    files = []
    for result, name, tag in zip(results, names, tags):
        entry = {
            "name": name,
            "objects": [_object(line.quad, line.text, line.confidence, result) for line in result.lines],
        }
        if tag is not None:
            entry["tag"] = tag
        files.append(entry)
    return json_response(200, {**_envelope(0, "success"), "data": {"fileList": files}})


def _url(field: Field) -> str:
    try:
        return field.text.strip()
    except InvalidRequest:
        # Bytes in a part without a file name: most likely a file sent without one.
        raise InvalidRequest(
            "an image part without a file name is read as an image URL, and this one is not "
            "text; send files with a file name (filename=) in their part"
        ) from None


def _object(quad: Quad, text: str, confidence: float, result: RecognitionResult) -> dict:
    width, height = max(result.image_width, 1), max(result.image_height, 1)
    (x0, y0), (x1, y1) = quad[0], quad[1]
    return {
        "location": [[round(x / width, 6), round(y / height, 6)] for x, y in quad],
        # The slant of the line's top edge; y grows downwards, so clockwise is positive.
        "degree": round(math.degrees(math.atan2(y1 - y0, x1 - x0)), 2),
        "text": text,
        "category": 0,
        "scores": confidence,
    }


def _envelope(code: int, message: str) -> dict:
    return {
        "code": code,
        "message": message,
        "timestamp": int(time.time() * 1000),
        "nonce": secrets.token_hex(8),
    }
