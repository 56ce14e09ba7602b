"""The native "Universal OCR" endpoint: ``POST /v1/ocr/universal``.

Every input source and option the core offers: files, image URLs, base64 or data URIs, several
images per request, PDF pages, orientation correction, single-line and multilingual modes,
slicing of tall pages, word boxes, tables and Markdown. The JSON is made for drawing: each text
block carries its rectangle and its four corners in pixels of the image as uploaded.
"""

from __future__ import annotations

from dataclasses import dataclass

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.router import APIGatewayRouter

from ocr_api.dialects.endpoints import Dialect, Endpoint
from ocr_api.dialects.fields import (
    ReceivedRequest,
    check_image_count,
    decode_base64_image,
    flag,
    header_values,
    one_key,
    pdf_page,
    read_request,
    refuse_unknown_fields,
)
from ocr_api.dialects.responses import ErrorCodes, json_response, request_id
from ocr_api.errors import (
    AppKeyForbidden,
    AppKeyMissing,
    AppKeyUnknown,
    DownloadFailed,
    ImageTooLarge,
    InternalError,
    InvalidRequest,
    JobNotFound,
    QuotaExceeded,
    RateLimited,
    RecognitionFailed,
    RecognitionUnavailable,
    ServiceError,
    UnsupportedContentType,
    UnsupportedImage,
    UploadExpired,
    UploadNotFound,
)
from ocr_api.ocr import RecognitionOptions, RecognitionResult
from ocr_api.ocr.markdown import to_markdown
from ocr_api.ocr.recognizer import ENGINE_CHOICES
from ocr_api.ocr.result import BoundingBox, Quad
from ocr_api.ocr.tables import Table, places_of_lines, table_html
from ocr_api.service.budget import Budget
from ocr_api.service.ocr_service import OcrService
from ocr_api.service.request import ImageSource, ImageUrl, OcrRequest, UploadRef

API_NAME = "universal"
PATH = "/v1/ocr/universal"

_SOURCES = ("file", "url", "image_base64", "upload_id")
_BOOLEANS = {
    "need_location": True,
    "return_markdown": False,
    "enable_cls": False,
    "single_line": False,
    "enable_slicing": False,
    "return_tables": False,
}
# The fields of how to read and how to write results, which jobs take too.
READING_FIELDS = {*_BOOLEANS, "languages", "engine"}
_BODY_FIELDS = {*_SOURCES, *READING_FIELDS, "image_name", "pdf_page"}

# Error names clients can branch on, most specific class first.
error_name = ErrorCodes(
    {
        InternalError: "internal_error",
        InvalidRequest: "invalid_request",
        ImageTooLarge: "image_too_large",
        UnsupportedImage: "unsupported_image",
        UnsupportedContentType: "unsupported_content_type",
        AppKeyMissing: "missing_appkey",
        AppKeyUnknown: "invalid_appkey",
        AppKeyForbidden: "forbidden",
        RateLimited: "rate_limited",
        QuotaExceeded: "quota_exceeded",
        DownloadFailed: "download_failed",
        RecognitionFailed: "recognition_failed",
        RecognitionUnavailable: "unavailable",
        UploadExpired: "upload_expired",
        UploadNotFound: "upload_not_found",
        JobNotFound: "job_not_found",
    },
    server_error="unavailable",
)


@dataclass(frozen=True)
class UniversalRequest:
    ocr: OcrRequest
    names: list[str]
    need_location: bool
    return_markdown: bool
    return_tables: bool


def render_error(err: ServiceError, request_id: str | None) -> Response:
    body = error_body(err)
    return json_response(body["code"], {**body, "request_id": request_id})


def error_body(err: ServiceError) -> dict:
    """The error as this API writes it: its HTTP status as ``code``, its name and message."""
    # Here a failed recognition is the upstream engine's fault: 502, like a failed download.
    status = 502 if isinstance(err, RecognitionFailed) else err.http_status
    return {"code": status, "error": error_name(err), "message": err.description}


def routes(service: OcrService) -> APIGatewayRouter:
    router = APIGatewayRouter()

    @router.post(PATH)
    def recognize() -> Response:
        budget = Budget.for_request(router.lambda_context, service.settings)
        request = read(router.current_event, service.settings.max_images_per_request)
        return _answer(service.recognize(request.ocr, budget), request, request_id(router.current_event))

    return router


DIALECT = Dialect(routes, {("POST", PATH): Endpoint(API_NAME, render_error)})


def read(event, max_images: int) -> UniversalRequest:
    request = read_request(event)
    if "appkey" in request.query or "appkey" in request.field_names():
        # API Gateway checks this route's key, and it looks only at the header.
        raise InvalidRequest("send the key in the x-api-key header, not as appkey")
    refuse_unknown_fields(request, set(), _BODY_FIELDS, f"; this API reads {', '.join(sorted(_BODY_FIELDS))}")
    images, default_names = _images(request)
    check_image_count(len(images), max_images)
    names = request.texts_named("image_name")
    if names and len(names) != len(images):
        raise InvalidRequest(f"{len(names)} image_name value(s) for {len(images)} image(s)")
    options = read_options(request)
    return UniversalRequest(
        ocr=OcrRequest(
            api=API_NAME,
            caller=one_key(header_values(event, "x-api-key"), "the appkey"),
            images=tuple(images),
            options=RecognitionOptions(**options.recognition, pdf_page=pdf_page(request, "pdf_page")),
        ),
        names=names or default_names,
        need_location=options.need_location,
        return_markdown=options.return_markdown,
        return_tables=options.recognition["find_tables"],
    )


@dataclass(frozen=True)
class ReadingOptions:
    """How to read (RecognitionOptions' fields, as JSON) and how to write the results."""

    recognition: dict
    need_location: bool
    return_markdown: bool

    def as_json(self) -> dict:
        return {**self.recognition, "need_location": self.need_location, "return_markdown": self.return_markdown}


def read_options(request: ReceivedRequest) -> ReadingOptions:
    """This API's options of reading, and of writing results (jobs take them too)."""
    flags = {name: flag(request, name, default) for name, default in _BOOLEANS.items()}
    # enable_cls true: always correct; false: never; absent: only a doubtful first reading.
    orientation = flags["enable_cls"] if request.fields_named("enable_cls") else None
    languages = request.single_text("languages")
    engine = request.single_text("engine")
    if engine is not None and engine.strip() not in ENGINE_CHOICES:
        raise InvalidRequest(f"engine must be one of {', '.join(ENGINE_CHOICES)}")
    return ReadingOptions(
        recognition={
            "languages": languages.strip() if languages is not None else None,
            "single_line": flags["single_line"],
            "correct_orientation": orientation,
            "slice_large_images": flags["enable_slicing"],
            "engine": engine.strip() if engine is not None else None,
            "find_tables": flags["return_tables"],
        },
        need_location=flags["need_location"],
        return_markdown=flags["return_markdown"],
    )


def _images(request: ReceivedRequest) -> tuple[list[ImageSource], list[str]]:
    given = [source for source in _SOURCES if request.fields_named(source)]
    if request.image_body is not None:
        given.append("body")
    if not given:
        raise InvalidRequest("send an image: file (multipart), url, image_base64, or upload_id")
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
        return [ImageUrl(text) for text in texts], list(texts)
    if given == ["upload_id"]:
        return [UploadRef(text) for text in texts], list(texts)
    decoded = [decode_base64_image(text, "image_base64") for text in texts]
    return decoded, [f"image_{i}" for i in range(1, len(decoded) + 1)]


def _answer(results: list[RecognitionResult], request: UniversalRequest, request_id: str | None) -> Response:
    return json_response(
        200,
        {
            "code": 0,
            "message": "success",
            "request_id": request_id,
            "results": [
                result_json(result, name, request.need_location, request.return_markdown, request.return_tables)
                for result, name in zip(results, request.names)
            ],
        },
    )


def result_json(
    result: RecognitionResult, name: str, need_location: bool, markdown: bool, tables: bool = False
) -> dict:
    """One image's result as this API writes it (a job's pages too)."""
    blocks = []
    places = places_of_lines(result.tables) if tables else {}
    for index, (line, paragraph) in enumerate(zip(result.lines, result.paragraph_numbers())):
        block = {"text": line.text, "confidence": line.confidence, "paragraph": paragraph, "engine": line.engine}
        if index in places:
            block["table"], block["cell"] = places[index]
        if need_location:
            block.update(_location(line.box, line.quad))
        block["words"] = [
            {
                "text": word.text,
                "confidence": word.confidence,
                **(_location(word.box, word.quad) if need_location else {}),
            }
            for word in line.words
        ]
        blocks.append(block)
    body = {
        "image_name": name,
        "width": result.image_width,
        "height": result.image_height,
        "angle": result.angle,
        "engine": result.engine,
        "text": result.full_text,
        "blocks": blocks,
    }
    if tables:
        body["tables"] = [_table_json(table, need_location) for table in result.tables]
    if markdown:
        body["markdown"] = to_markdown(result)
    return body


def _table_json(table: Table, need_location: bool) -> dict:
    cells = []
    for cell in table.cells:
        written = {
            "row": cell.row,
            "column": cell.column,
            "row_span": cell.row_span,
            "column_span": cell.column_span,
            "text": cell.text,
            "confidence": cell.confidence,
        }
        if need_location and cell.box is not None:
            written.update(_location(cell.box, cell.box.corners))
        cells.append(written)
    body = {"rows": table.rows, "columns": table.columns, "confidence": table.confidence}
    if need_location and table.box is not None:
        body.update(_location(table.box, table.box.corners))
    return {**body, "cells": cells, "html": table_html(table)}


def _location(box: BoundingBox, quad: Quad) -> dict:
    return {
        "x": box.left,
        "y": box.top,
        "width": box.width,
        "height": box.height,
        "points": [list(point) for point in quad],
    }
