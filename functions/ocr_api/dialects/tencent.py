"""Tencent Cloud GeneralAccurateOCR (API 3.0 style): ``POST /`` with ``X-TC-Action``.

JSON in, Tencent's ``{"Response": {...}}`` out as ``application/json`` exactly (Tencent's SDKs
read an error only under that type), errors as Tencent writes them (HTTP 200 with
``Response.Error``). A caller signs with TC3-HMAC-SHA256 and a SecretId/SecretKey pair issued for
its appkey, as every Tencent SDK does, or gives the appkey itself (``x-api-key`` or ``appkey``).
"""

from __future__ import annotations

import json

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
from ocr_api.ocr.recognizer import ALL_LANGUAGES
from ocr_api.ocr.result import BoundingBox, Quad
from ocr_api.service.budget import Budget
from ocr_api.service.ocr_service import OcrService
from ocr_api.service.request import Caller, ImageSource, ImageUrl, OcrRequest, SignedRequest

API_NAME = "tencent"
PATH = "/"
ACTION = "GeneralAccurateOCR"
VERSION = "2018-11-19"
_FIELDS = {
    "ImageBase64",
    "ImageUrl",
    "IsPdf",
    "PdfPageNumber",
    "EnableDetectText",
    "ConfigID",
    "EnableDetectSplit",
    "IsWords",
}


class UnknownAction(InvalidRequest):
    """X-TC-Action names an action this endpoint does not serve."""


class UnknownParameter(InvalidRequest):
    """The body has a field GeneralAccurateOCR does not take."""


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
    def general_accurate_ocr() -> Response:
        budget = Budget.for_request(router.lambda_context, service.settings)
        [result] = service.recognize(read(router.current_event), budget)
        return _answer(result, request_id(router.current_event))

    return router


DIALECT = Dialect(routes, {("POST", PATH): Endpoint(API_NAME, render_error)})


def read(event) -> OcrRequest:
    action = event.headers.get("x-tc-action") or ""
    if action != ACTION:
        raise UnknownAction(f"the action {action[:60]!r} is not served here; use {ACTION}")
    # Absent is taken as the one version there is: clients that send x-api-key may leave it out.
    # X-TC-Region, X-TC-Language, X-TC-RequestClient and X-TC-Token are accepted and not needed.
    version = (event.headers.get("x-tc-version") or VERSION).strip()
    if version != VERSION:
        raise UnknownVersion(f"the version {version[:40]!r} of {ACTION} does not exist; use {VERSION}")
    request = fields.read_request(event)
    if request.image_body is not None or any(field.in_multipart for field in request.fields):
        raise InvalidRequest("send the parameters as a JSON body")
    fields.refuse_unknown_fields(request, {"appkey"}, _FIELDS, error=UnknownParameter, noun="parameter")
    url, encoded = request.single_text("ImageUrl"), request.single_text("ImageBase64")
    if url is None and encoded is None:
        raise InvalidRequest("ImageBase64 or ImageUrl is required")
    # When both are given, Tencent uses the URL.
    source: ImageSource = ImageUrl(url) if url is not None else fields.decode_base64_image(encoded, "ImageBase64")
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
    return OcrRequest(
        api=API_NAME,
        caller=_caller(event, request),
        images=(source,),
        options=options,
        # Tencent answers an image without text with an error, not an empty list.
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


def _polygon(quad: Quad) -> list[dict]:
    return [{"X": x, "Y": y} for x, y in quad]


def _item_polygon(box: BoundingBox) -> dict:
    return {"X": box.left, "Y": box.top, "Width": box.width, "Height": box.height}
