"""The native "Universal OCR" endpoint: ``POST /v1/ocr/universal``.

Every input source and option the core offers: files, image URLs, base64 or data URIs, several
images per request, PDF pages, orientation correction, single-line and multilingual modes,
slicing of tall pages, word boxes and Markdown. The JSON is made for drawing: each text block
carries its rectangle and its four corners in pixels of the image as uploaded.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.router import APIGatewayRouter

from ocr_api import dependencies
from ocr_api.api.deadline import recognition_deadline
from ocr_api.api.metering import admit
from ocr_api.api.requests import (
    ReceivedRequest,
    decode_base64_image,
    header_values,
    page_number,
    read_request,
    unknown_fields,
)
from ocr_api.api.responses import json_response, rendering_errors_with
from ocr_api.api.sources import ImageSource, load_images, one_appkey
from ocr_api.errors import (
    AppKeyForbidden,
    AppKeyMissing,
    AppKeyUnknown,
    DownloadFailed,
    ImageTooLarge,
    InternalError,
    InvalidRequest,
    QuotaExceeded,
    RateLimited,
    RecognitionFailed,
    RecognitionUnavailable,
    ServiceError,
    UnsupportedContentType,
    UnsupportedImage,
)
from ocr_api.ocr import RecognitionOptions, RecognitionResult
from ocr_api.ocr.markdown import to_markdown
from ocr_api.ocr.result import BoundingBox, Quad

API_NAME = "universal"
PATH = "/v1/ocr/universal"

_SOURCES = ("file", "url", "image_base64")
_BOOLEANS = {
    "need_location": True,
    "return_markdown": False,
    "enable_cls": False,
    "single_line": False,
    "enable_slicing": False,
}
_BODY_FIELDS = {*_SOURCES, *_BOOLEANS, "image_name", "languages", "pdf_page"}

# Error names clients can branch on, most specific class first.
_ERROR_NAMES = (
    (InvalidRequest, "invalid_request"),
    (ImageTooLarge, "image_too_large"),
    (UnsupportedImage, "unsupported_image"),
    (UnsupportedContentType, "unsupported_content_type"),
    (AppKeyMissing, "missing_appkey"),
    (AppKeyUnknown, "invalid_appkey"),
    (AppKeyForbidden, "forbidden"),
    (RateLimited, "rate_limited"),
    (QuotaExceeded, "quota_exceeded"),
    (DownloadFailed, "download_failed"),
    (RecognitionFailed, "recognition_failed"),
    (RecognitionUnavailable, "unavailable"),
    (ServiceError, "unavailable"),
)

router = APIGatewayRouter()


@dataclass(frozen=True)
class UniversalRequest:
    appkey: str | None
    # Exactly one kind of source; each entry is one image: bytes, or a URL to fetch.
    images: list[ImageSource]
    names: list[str]
    need_location: bool
    return_markdown: bool
    options: RecognitionOptions


def render_error(err: ServiceError) -> Response:
    # Here a failed recognition is the upstream engine's fault: 502, like a failed download.
    status = 502 if isinstance(err, RecognitionFailed) else err.http_status
    name = "internal_error" if isinstance(err, InternalError) else _error_name(err)
    return json_response(
        status,
        {"code": status, "error": name, "message": err.description, "request_id": _request_id()},
    )


@router.post(PATH, middlewares=[rendering_errors_with(render_error, API_NAME)])
def recognize() -> Response:
    deps = dependencies.current()
    deadline = recognition_deadline(router.lambda_context, deps.settings)
    request = _read(read_request(router.current_event), deps.settings.max_images_per_request)
    admit(router, request.appkey, API_NAME, calls=len(request.images))
    images = load_images(request.images, deps.fetcher, deadline)
    results = deps.recognizer.recognize_many(images, deadline - time.monotonic(), request.options)
    return json_response(200, {
        "code": 0,
        "message": "success",
        "request_id": _request_id(),
        "results": [
            _result_json(result, name, request.need_location, request.return_markdown)
            for result, name in zip(results, request.names)
        ],
    })


def _read(request: ReceivedRequest, max_images: int) -> UniversalRequest:
    if "appkey" in request.query or "appkey" in request.field_names():
        # API Gateway checks this route's key, and it looks only at the header.
        raise InvalidRequest("send the key in the x-api-key header, not as appkey")
    unknown = set(request.query) | (request.field_names() - _BODY_FIELDS)
    if unknown:
        raise InvalidRequest(f"{unknown_fields(unknown)}; this API reads {', '.join(sorted(_BODY_FIELDS))}")
    images, default_names = _images(request)
    if len(images) > max_images:
        raise InvalidRequest(f"{len(images)} images were sent; at most {max_images} per request")
    names = request.texts_named("image_name")
    if names and len(names) != len(images):
        raise InvalidRequest(f"{len(names)} image_name value(s) for {len(images)} image(s)")
    flags = {name: _boolean(request, name, default) for name, default in _BOOLEANS.items()}
    # enable_cls true: always correct; false: never; absent: only a doubtful first reading.
    orientation = flags["enable_cls"] if request.fields_named("enable_cls") else None
    languages = _single_text(request, "languages")
    return UniversalRequest(
        appkey=one_appkey(header_values(router.current_event, "x-api-key")),
        images=images,
        names=names or default_names,
        need_location=flags["need_location"],
        return_markdown=flags["return_markdown"],
        options=RecognitionOptions(
            languages=languages,
            single_line=flags["single_line"],
            correct_orientation=orientation,
            slice_large_images=flags["enable_slicing"],
            pdf_page=page_number(request.single_text("pdf_page"), "pdf_page") or 1,
        ),
    )


def _images(request: ReceivedRequest) -> tuple[list[ImageSource], list[str]]:
    given = [source for source in _SOURCES if request.fields_named(source)]
    if request.image_body is not None:
        given.append("body")
    if not given:
        raise InvalidRequest("send an image: file (multipart), url, or image_base64")
    if len(given) > 1:
        raise InvalidRequest(f"send one kind of source, not {' and '.join(given)}")
    if given == ["body"]:
        return [request.image_body], ["image_1"]
    fields = request.fields_named(given[0])
    if given == ["file"]:
        if any(not field.in_multipart for field in fields):
            raise InvalidRequest("file must be a multipart file part; send base64 as image_base64")
        if any(not field.value for field in fields):
            raise InvalidRequest("a file part is empty (0 bytes)")
        return [field.value for field in fields], [field.filename or f"image_{i}" for i, field in enumerate(fields, 1)]
    texts = [field.text.strip() for field in fields]
    if given == ["url"]:
        return list(texts), list(texts)
    decoded = [decode_base64_image(text, "image_base64") for text in texts]
    return decoded, [f"image_{i}" for i in range(1, len(decoded) + 1)]


def _boolean(request: ReceivedRequest, name: str, default: bool) -> bool:
    text = _single_text(request, name)
    if text is None:
        return default
    if text.lower() in ("true", "false"):
        return text.lower() == "true"
    raise InvalidRequest(f"{name} must be true or false, not {text[:40]!r}")


def _single_text(request: ReceivedRequest, name: str) -> str | None:
    text = request.single_text(name)
    return text.strip() if text is not None else None


def _result_json(result: RecognitionResult, name: str, need_location: bool, markdown: bool) -> dict:
    blocks = []
    for line, paragraph in zip(result.lines, result.paragraph_numbers()):
        block = {"text": line.text, "confidence": line.confidence, "paragraph": paragraph}
        if need_location:
            block.update(_location(line.box, line.quad))
        block["words"] = [
            {"text": word.text, "confidence": word.confidence,
             **(_location(word.box, word.quad) if need_location else {})}
            for word in line.words
        ]
        blocks.append(block)
    body = {
        "image_name": name,
        "width": result.image_width,
        "height": result.image_height,
        "angle": result.angle,
        "text": result.full_text,
        "blocks": blocks,
    }
    if markdown:
        body["markdown"] = to_markdown(result)
    return body


def _location(box: BoundingBox, quad: Quad) -> dict:
    return {
        "x": box.left,
        "y": box.top,
        "width": box.width,
        "height": box.height,
        "points": [list(point) for point in quad],
    }


def _error_name(err: ServiceError) -> str:
    return next(name for kind, name in _ERROR_NAMES if isinstance(err, kind))


def _request_id() -> str | None:
    return router.current_event.request_context.request_id
