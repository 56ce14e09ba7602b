"""Tencent Cloud GeneralAccurateOCR (API 3.0 style): ``POST /`` with ``X-TC-Action``.

JSON in, Tencent's ``{"Response": {...}}`` out, errors as Tencent writes them (HTTP 200 with
``Response.Error``). Authentication is this service's appkey (``x-api-key`` header or
``appkey`` query); Tencent's TC3-HMAC-SHA256 request signing is not implemented.
"""

from __future__ import annotations

import json
import time

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
from ocr_api.api.sources import load_images, one_appkey
from ocr_api.errors import (
    AppKeyForbidden,
    AppKeyMissing,
    AppKeyUnknown,
    DownloadFailed,
    EmptyImage,
    ImageTooLarge,
    ImageTooManyBytes,
    InvalidRequest,
    QuotaExceeded,
    RateLimited,
    RecognitionFailed,
    RecognitionTimedOut,
    ServiceError,
    UnsupportedContentType,
    UnsupportedImage,
)
from ocr_api.ocr import RecognitionOptions, RecognitionResult
from ocr_api.ocr.recognizer import ALL_LANGUAGES
from ocr_api.ocr.result import BoundingBox, Quad

API_NAME = "tencent"
PATH = "/"
ACTION = "GeneralAccurateOCR"
VERSION = "2018-11-19"
_FIELDS = {"ImageBase64", "ImageUrl", "IsPdf", "PdfPageNumber", "EnableDetectText", "ConfigID",
           "EnableDetectSplit", "IsWords"}


class UnknownAction(InvalidRequest):
    """X-TC-Action names an action this endpoint does not serve."""


class UnknownParameter(InvalidRequest):
    """The body has a field GeneralAccurateOCR does not take."""


class NoTextFound(ServiceError):
    """Tencent answers an image without text with an error, not an empty list."""

    http_status = 422  # never shown: Tencent's errors all travel as HTTP 200


# Tencent's error codes, most specific class first.
_ERROR_CODES = (
    (UnknownAction, "InvalidAction"),
    (UnknownParameter, "UnknownParameter"),
    (EmptyImage, "FailedOperation.EmptyImageError"),
    (InvalidRequest, "InvalidParameterValue.InvalidParameterValueLimit"),
    # Tencent reads JSON only; a body in another type is a bad parameter, not our failure.
    (UnsupportedContentType, "InvalidParameterValue.InvalidParameterValueLimit"),
    (ImageTooManyBytes, "LimitExceeded.TooLargeFileError"),
    # Over the pixel limit, or needing more memory than a page worker has.
    (ImageTooLarge, "FailedOperation.ImageSizeTooLarge"),
    (UnsupportedImage, "FailedOperation.ImageDecodeFailed"),
    (NoTextFound, "FailedOperation.ImageNoText"),
    (DownloadFailed, "FailedOperation.DownLoadError"),
    (RecognitionTimedOut, "FailedOperation.EngineRecognizeTimeout"),
    (RecognitionFailed, "FailedOperation.OcrFailed"),
    (AppKeyMissing, "AuthFailure.SecretIdNotFound"),
    (AppKeyUnknown, "AuthFailure.SecretIdNotFound"),
    (AppKeyForbidden, "AuthFailure.UnauthorizedOperation"),
    (RateLimited, "RequestLimitExceeded"),
    (QuotaExceeded, "ResourcesSoldOut.ChargeStatusException"),
    (ServiceError, "InternalError"),
)

router = APIGatewayRouter()


def render_error(err: ServiceError) -> Response:
    code = next(code for kind, code in _ERROR_CODES if isinstance(err, kind))
    return json_response(200, {"Response": {
        "Error": {"Code": code, "Message": err.description},
        "RequestId": _request_id(),
    }})


@router.post(PATH, middlewares=[rendering_errors_with(render_error, API_NAME)])
def general_accurate_ocr() -> Response:
    action = router.current_event.headers.get("x-tc-action") or ""
    if action != ACTION:
        raise UnknownAction(f"the action {action[:60]!r} is not served here; use {ACTION}")
    deps = dependencies.current()
    deadline = recognition_deadline(router.lambda_context, deps.settings)
    request = read_request(router.current_event)
    source, options = _read(request)
    admit(
        router,
        one_appkey([*request.query.get("appkey", []), *header_values(router.current_event, "x-api-key")]),
        API_NAME,
    )
    [image] = load_images([source], deps.fetcher, deadline)
    result = deps.recognizer.recognize(image, deadline - time.monotonic(), options)
    if not result.lines:
        raise NoTextFound("no text was found in the image")
    return json_response(200, {"Response": {
        "TextDetections": _detections(result),
        "Angle": result.angle,
        # Tencent's older, misspelt name for the same value; clients still read it.
        "Angel": result.angle,
        "RequestId": _request_id(),
    }})


def _read(request: ReceivedRequest) -> tuple[bytes | str, RecognitionOptions]:
    if request.image_body is not None or any(field.in_multipart for field in request.fields):
        raise InvalidRequest("send the parameters as a JSON body")
    unknown = (request.field_names() - _FIELDS) | (set(request.query) - {"appkey"})
    if unknown:
        raise UnknownParameter(unknown_fields(unknown, noun="parameter"))
    url, encoded = request.single_text("ImageUrl"), request.single_text("ImageBase64")
    if url is None and encoded is None:
        raise InvalidRequest("ImageBase64 or ImageUrl is required")
    # When both are given, Tencent uses the URL.
    source: bytes | str = url if url is not None else decode_base64_image(encoded, "ImageBase64")
    config = request.single_text("ConfigID") or "OCR"
    if config not in ("OCR", "MulOCR"):
        raise InvalidRequest(f"ConfigID must be OCR or MulOCR, not {config[:40]!r}")
    # An empty PdfPageNumber, like an absent one, means the first page.
    page = page_number(request.single_text("PdfPageNumber") or None, "PdfPageNumber") or 1
    _flag(request, "IsWords", False)  # accepted: words always come back
    return source, RecognitionOptions(
        languages=ALL_LANGUAGES if config == "MulOCR" else None,
        single_line=not _flag(request, "EnableDetectText", True),
        slice_large_images=_flag(request, "EnableDetectSplit", False),
        pdf_page=page if _flag(request, "IsPdf", False) else None,
    )


def _flag(request: ReceivedRequest, name: str, default: bool) -> bool:
    value = request.single_text(name)
    if value is None:
        return default
    if value not in ("true", "false"):
        raise InvalidRequest(f"{name} must be a boolean")
    return value == "true"


def _detections(result: RecognitionResult) -> list[dict]:
    detections = []
    for line, paragraph in zip(result.lines, result.paragraph_numbers()):
        detections.append({
            "DetectedText": line.text,
            "Confidence": round(line.confidence * 100),
            "Polygon": _polygon(line.quad),
            "AdvancedInfo": json.dumps({"Parag": {"ParagNo": paragraph}}),
            "ItemPolygon": _item_polygon(line.box),
            "Words": [{"Confidence": round(word.confidence * 100), "Character": word.text}
                      for word in line.words],
            "WordCoordPoint": [{"WordCoordinate": _polygon(word.quad)} for word in line.words],
        })
    return detections


def _polygon(quad: Quad) -> list[dict]:
    return [{"X": x, "Y": y} for x, y in quad]


def _item_polygon(box: BoundingBox) -> dict:
    return {"X": box.left, "Y": box.top, "Width": box.width, "Height": box.height}


def _request_id() -> str:
    return router.current_event.request_context.request_id
