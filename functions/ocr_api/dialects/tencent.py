"""Tencent Cloud GeneralAccurateOCR and RecognizeTableAccurateOCR (API 3.0 style): ``POST /``
with ``X-TC-Action`` naming one of them.

JSON in, Tencent's ``{"Response": {...}}`` out as ``application/json`` exactly (Tencent's SDKs
read an error only under that type), errors as Tencent writes them (HTTP 200 with
``Response.Error``). A caller signs with TC3-HMAC-SHA256 and a SecretId/SecretKey pair issued for
its appkey, as every Tencent SDK does, or gives the appkey itself (``x-api-key`` or ``appkey``).

RecognizeTableAccurateOCR answers the page's tables (``TableDetections``, Type 1 ruled or 2
unruled, their cells' corners as row and column indexes with the bottom-right ones exclusive, as
Tencent writes them), the text outside them as one more detection of Type 0, a line per cell,
and the tables as an Excel workbook (``Data``, base64), a sheet each.
"""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.router import APIGatewayRouter

from ocr_api.dialects import fields
from ocr_api.dialects.endpoints import Dialect, Endpoint
from ocr_api.dialects.fields import flag
from ocr_api.dialects.responses import ErrorCodes, json_response, request_id
from ocr_api.errors import (
    AppKeyForbidden,
    AppKeyMissing,
    AppKeyUnknown,
    AuthorizationMalformed,
    DownloadFailed,
    EmptyImage,
    ImageTooLarge,
    ImageTooManyBytes,
    InvalidRequest,
    NoTextFound,
    QuotaExceeded,
    RateLimited,
    RecognitionFailed,
    RecognitionTimedOut,
    SecretIdUnknown,
    ServiceError,
    SignatureExpired,
    SignatureMismatch,
    UnsupportedContentType,
    UnsupportedImage,
)
from ocr_api.ocr import RecognitionOptions, RecognitionResult
from ocr_api.ocr.recognizer import ALL_LANGUAGES, AUTO
from ocr_api.ocr.result import BoundingBox, Quad
from ocr_api.ocr.tables import Table, places_of_lines, workbook
from ocr_api.service.budget import Budget
from ocr_api.service.ocr_service import OcrService
from ocr_api.service.request import Caller, ImageSource, ImageUrl, OcrRequest, SignedRequest

API_NAME = "tencent"
PATH = "/"
ACTION = "GeneralAccurateOCR"
TABLE_ACTION = "RecognizeTableAccurateOCR"
VERSION = "2018-11-19"
# Each action's parameters, as Tencent documents them.
_FIELDS = {
    ACTION: {
        "ImageBase64",
        "ImageUrl",
        "IsPdf",
        "PdfPageNumber",
        "EnableDetectText",
        "ConfigID",
        "EnableDetectSplit",
        "IsWords",
    },
    TABLE_ACTION: {"ImageBase64", "ImageUrl", "PdfPageNumber", "UseNewModel"},
}
# TableDetections' Type: text outside tables, a ruled table, an unruled one.
_TEXT, _RULED, _UNRULED = 0, 1, 2


class UnknownAction(InvalidRequest):
    """X-TC-Action names an action this endpoint does not serve."""


class UnknownParameter(InvalidRequest):
    """The body has a field the action does not take."""


class UnknownVersion(InvalidRequest):
    """X-TC-Version names a version of the OCR API other than the one served."""


# Tencent's error codes, most specific class first.
error_code = ErrorCodes(
    {
        UnknownAction: "InvalidAction",
        UnknownVersion: "NoSuchVersion",
        AuthorizationMalformed: "AuthFailure.InvalidAuthorization",
        SignatureMismatch: "AuthFailure.SignatureFailure",
        SignatureExpired: "AuthFailure.SignatureExpire",
        SecretIdUnknown: "AuthFailure.SecretIdNotFound",
        UnknownParameter: "UnknownParameter",
        EmptyImage: "FailedOperation.EmptyImageError",
        InvalidRequest: "InvalidParameterValue.InvalidParameterValueLimit",
        # Tencent reads JSON only; a body in another type is a bad parameter, not our failure.
        UnsupportedContentType: "InvalidParameterValue.InvalidParameterValueLimit",
        ImageTooManyBytes: "LimitExceeded.TooLargeFileError",
        # Over the pixel limit, or needing more memory than a page worker has.
        ImageTooLarge: "FailedOperation.ImageSizeTooLarge",
        UnsupportedImage: "FailedOperation.ImageDecodeFailed",
        NoTextFound: "FailedOperation.ImageNoText",
        DownloadFailed: "FailedOperation.DownLoadError",
        RecognitionTimedOut: "FailedOperation.EngineRecognizeTimeout",
        RecognitionFailed: "FailedOperation.OcrFailed",
        AppKeyMissing: "AuthFailure.SecretIdNotFound",
        AppKeyUnknown: "AuthFailure.SecretIdNotFound",
        AppKeyForbidden: "AuthFailure.UnauthorizedOperation",
        RateLimited: "RequestLimitExceeded",
        QuotaExceeded: "ResourcesSoldOut.ChargeStatusException",
    },
    server_error="InternalError",
)


def render_error(err: ServiceError, request_id: str | None) -> Response:
    # Tencent's errors all travel as HTTP 200.
    return _tencent_json(
        {
            "Response": {
                "Error": {"Code": error_code(err), "Message": err.description},
                "RequestId": request_id,
            }
        }
    )


def routes(service: OcrService) -> APIGatewayRouter:
    router = APIGatewayRouter()

    @router.post(PATH)
    def tencent_action() -> Response:
        budget = Budget.for_request(router.lambda_context, service.settings)
        request = read(router.current_event)
        [result] = service.recognize(request.ocr, budget)
        if request.action == TABLE_ACTION:
            return _table_answer(result, request_id(router.current_event))
        return _answer(result, request_id(router.current_event))

    return router


DIALECT = Dialect(routes, {("POST", PATH): Endpoint(API_NAME, render_error)})


@dataclass(frozen=True)
class TencentRequest:
    action: str
    ocr: OcrRequest


def read(event) -> TencentRequest:
    action = event.headers.get("x-tc-action") or ""
    if action not in _FIELDS:
        raise UnknownAction(f"the action {action[:60]!r} is not served here; use {ACTION} or {TABLE_ACTION}")
    # Absent is taken as the one version there is: clients that send x-api-key may leave it out.
    # X-TC-Region, X-TC-Language, X-TC-RequestClient and X-TC-Token are accepted and not needed.
    version = (event.headers.get("x-tc-version") or VERSION).strip()
    if version != VERSION:
        raise UnknownVersion(f"the version {version[:40]!r} of {action} does not exist; use {VERSION}")
    request = fields.read_request(event)
    if request.image_body is not None or any(field.in_multipart for field in request.fields):
        raise InvalidRequest("send the parameters as a JSON body")
    fields.refuse_unknown_fields(request, {"appkey"}, _FIELDS[action], error=UnknownParameter, noun="parameter")
    url, encoded = request.single_text("ImageUrl"), request.single_text("ImageBase64")
    if url is None and encoded is None:
        raise InvalidRequest("ImageBase64 or ImageUrl is required")
    # When both are given, Tencent uses the URL.
    source: ImageSource = ImageUrl(url) if url is not None else fields.decode_base64_image(encoded, "ImageBase64")
    if action == TABLE_ACTION:
        return TencentRequest(action, _table_request(event, request, source))
    config = request.single_text("ConfigID") or "OCR"
    if config not in ("OCR", "MulOCR"):
        raise InvalidRequest(f"ConfigID must be OCR or MulOCR, not {config[:40]!r}")
    # An empty PdfPageNumber, like an absent one, means the first page.
    page = fields.pdf_page(request, "PdfPageNumber", blank_is_absent=True)
    flag(request, "IsWords", False)  # accepted: words always come back
    options = RecognitionOptions(
        languages=ALL_LANGUAGES if config == "MulOCR" else None,
        single_line=not flag(request, "EnableDetectText", True),
        slice_large_images=flag(request, "EnableDetectSplit", False),
        pdf_page=page if flag(request, "IsPdf", False) else None,
    )
    return TencentRequest(
        action,
        OcrRequest(
            api=API_NAME,
            caller=_caller(event, request),
            images=(source,),
            options=options,
            # Tencent answers an image without text with an error, not an empty list.
            text_required=True,
        ),
    )


def _table_request(event, request: fields.ReceivedRequest, source: ImageSource) -> OcrRequest:
    """RecognizeTableAccurateOCR: an image or a PDF's page (the file says which), read by both
    engines with its tables found (UseNewModel is accepted: there is one model here)."""
    flag(request, "UseNewModel", False)
    return OcrRequest(
        api=API_NAME,
        caller=_caller(event, request),
        images=(source,),
        options=RecognitionOptions(
            pdf_page=fields.pdf_page(request, "PdfPageNumber", blank_is_absent=True) or 1,
            engine=AUTO,
            find_tables=True,
        ),
        text_required=True,
    )


def _caller(event, request: fields.ReceivedRequest) -> Caller:
    """The request's signature when it has an Authorization header, else its appkey."""
    if (event.headers.get("authorization") or "").strip():
        return SignedRequest.received(event.http_method, dict(event.headers or {}), fields.body_bytes(event))
    return fields.one_key([*request.query.get("appkey", []), *fields.header_values(event, "x-api-key")], "the appkey")


def _tencent_json(body: dict) -> Response:
    return json_response(200, body, content_type="application/json")


def _answer(result: RecognitionResult, request_id: str | None) -> Response:
    return _tencent_json(
        {
            "Response": {
                "TextDetections": _detections(result),
                "Angle": result.angle,
                # Tencent's older, misspelt name for the same value; clients still read it.
                "Angel": result.angle,
                "RequestId": request_id,
            }
        }
    )


def _detections(result: RecognitionResult) -> list[dict]:
    detections = []
    for line, paragraph in zip(result.lines, result.paragraph_numbers()):
        detections.append(
            {
                "DetectedText": line.text,
                "Confidence": round(line.confidence * 100),
                "Polygon": _polygon(line.quad),
                "AdvancedInfo": json.dumps({"Parag": {"ParagNo": paragraph}}),
                "ItemPolygon": _item_polygon(line.box),
                "Words": [{"Confidence": round(word.confidence * 100), "Character": word.text} for word in line.words],
                "WordCoordPoint": [{"WordCoordinate": _polygon(word.quad)} for word in line.words],
            }
        )
    return detections


def _table_answer(result: RecognitionResult, request_id: str | None) -> Response:
    detections = [_table_detection(table) for table in result.tables]
    in_tables = places_of_lines(result.tables)
    outside = [line for index, line in enumerate(result.lines) if index not in in_tables]
    if outside:
        detections.append(_text_detection(outside))
    return _tencent_json(
        {
            "Response": {
                "TableDetections": detections,
                "Data": base64.b64encode(workbook(list(result.tables))).decode("ascii"),
                "PdfPageSize": 0,
                "Angle": result.angle,
                "RequestId": request_id,
            }
        }
    )


def _table_detection(table: Table) -> dict:
    return {
        "Cells": [
            _cell(cell.row, cell.column, cell.row_span, cell.column_span, cell.text, cell.confidence, cell.box)
            for cell in table.cells
        ],
        "Type": _RULED if table.ruled else _UNRULED,
        "TableCoordPoint": _polygon(table.box.corners) if table.box is not None else [],
    }


def _text_detection(lines: list) -> dict:
    """The text outside every table, as Tencent gives it: one more detection, a line per row."""
    return {
        "Cells": [_cell(row, 0, 1, 1, line.text, line.confidence, line.box) for row, line in enumerate(lines)],
        "Type": _TEXT,
        "TableCoordPoint": _polygon(BoundingBox.enclosing([line.box for line in lines]).corners),
    }


def _cell(row: int, column: int, row_span: int, column_span: int, text: str, confidence: float, box) -> dict:
    return {
        "ColTl": column,
        "RowTl": row,
        "ColBr": column + column_span,
        "RowBr": row + row_span,
        "Text": text,
        "Type": "body",
        "Confidence": round(confidence * 100, 2) if text else 0,
        "Polygon": _polygon(box.corners) if box is not None else [],
    }


def _polygon(quad: Quad) -> list[dict]:
    return [{"X": x, "Y": y} for x, y in quad]


def _item_polygon(box: BoundingBox) -> dict:
    return {"X": box.left, "Y": box.top, "Width": box.width, "Height": box.height}
