"""How each API dialect is called and how it answers: one client per dialect for the tests, the
fuzzer and the load test.

Each ``Endpoint`` knows its path, where its clients send the key and the image, and the answers
its page in docs/api/ documents: ``read`` checks an answer against its envelope and says what it
said (an ``Answer``), and ``situations`` maps what happened (a success, the engine failing, a quota
met, ...) to the HTTP status and business code the docs give for it.
"""

from __future__ import annotations

import base64
import functools
import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from ocr_local.apigateway import build_event
from ocr_local.events import EVENTS_APPKEY
from ocr_local.forms import multipart_form
from ocr_local.template import ApiSpec

# The key events carry unless a caller gives another; ``invoke`` and the fuzzer register it.
DEFAULT_APPKEY = EVENTS_APPKEY


class ContractViolation(AssertionError):
    """An answer outside what the docs give for its endpoint, or a server-side failure."""


# What can happen to a call, each with its documented answer on every endpoint.
OK, UNSUPPORTED_IMAGE, RATE_LIMITED, QUOTA_EXCEEDED = "ok", "unsupported image", "rate limited", "quota exceeded"
ENGINE_FAILED, OUT_OF_TIME, STORE_UNAVAILABLE = "engine failed", "out of time", "store unavailable"
OVER_MEMORY, ENGINE_UNAVAILABLE = "over memory", "engine unavailable"


@dataclass(frozen=True)
class Answer:
    """What an answer said, once it was found to hold the contract."""

    # A short name for the outcome, e.g. "415/101" or "200 FailedOperation.ImageDecodeFailed".
    label: str
    # The dialect reported a failure on the server's side (a 5xx or its own code for one).
    server_side: bool
    # The human-readable descriptions it carried: where a leak would show.
    messages: tuple[str, ...]
    status: int = 200
    # The business code (statusCode, error, Error.Code, ...); None for a Tencent success.
    code: int | str | None = None
    # A success's text lines, image by image; and each image's own report where the dialect
    # gives one (universal's results, tupu's fileList entries, Tencent's Response).
    texts: tuple[tuple[str, ...], ...] | None = None
    reports: tuple[dict, ...] = ()

    @property
    def message(self) -> str:
        return self.messages[0] if self.messages else ""

    def text(self) -> str:
        """The first image's text, its lines joined with spaces."""
        return " ".join(self.texts[0]) if self.texts else ""


@dataclass(frozen=True)
class HttpRequest:
    """A request as a client sends it: path, body, headers and query string."""

    path: str
    body: bytes
    headers: tuple[tuple[str, str], ...]
    query: tuple[tuple[str, str], ...] = ()
    # How many images it carries (several on universal and tupu).
    images: int = 1


@dataclass(frozen=True)
class Endpoint:
    name: str
    path: str
    # The HTTP statuses the docs give for this endpoint.
    statuses: frozenset[int]
    # The body fields it reads: what structured fuzzing draws field names from.
    fields: tuple[str, ...]
    # Where its clients send the key.
    key_query: str | None = None
    key_header: str | None = None
    headers: tuple[tuple[str, str], ...] = ()
    # How an image can be sent: "file" (a multipart part), "body" (the body itself), "base64".
    image_ways: tuple[str, ...] = ("file",)
    file_field: str | None = None
    base64_field: str | None = None
    # The business code of a success.
    success_code: int | None = 0
    # What happened -> (HTTP status, business code), as its page in docs/api/ gives them.
    situations: dict[str, tuple[int, int | str | None]] = field(default_factory=dict)

    def request(
        self,
        appkey: str | None = DEFAULT_APPKEY,
        *,
        content_type: str | None = None,
        body: bytes = b"",
        query: Sequence[tuple[str, str]] = (),
        headers: Sequence[tuple[str, str]] = (),
        images: int = 1,
    ) -> HttpRequest:
        """A request to this endpoint with the key where its clients send it (none: no key)."""
        # The key before any header the caller adds: a second key a test sends comes after it.
        query, all_headers = list(query), list(self.headers)
        if appkey is not None and self.key_query:
            query.append((self.key_query, appkey))
        if appkey is not None and self.key_header:
            all_headers.append((self.key_header, appkey))
        if content_type is not None:
            all_headers.append(("Content-Type", content_type))
        return HttpRequest(self.path, body, (*all_headers, *headers), tuple(query), images)

    def image_request(
        self,
        image: bytes,
        way: str = "",
        appkey: str | None = DEFAULT_APPKEY,
        is_pdf: bool = False,
        filename: str = "upload.bin",
        part_type: str = "application/octet-stream",
    ) -> HttpRequest:
        """The image sent one of the ways this endpoint takes one (its first by default)."""
        way = way or self.image_ways[0]
        if way == "file":
            content_type, body = multipart_form(files=[(self.file_field, filename, part_type, image)])
            return self.request(appkey, content_type=content_type, body=body)
        if way == "body":
            return self.request(appkey, content_type="application/octet-stream", body=image)
        document: dict[str, Any] = {self.base64_field: base64.b64encode(image).decode("ascii")}
        if is_pdf and self.name == "tencent":
            document["IsPdf"] = True
        return self.request(appkey, content_type="application/json", body=json.dumps(document).encode())

    def event(self, *, with_key: bool = True, **request) -> dict:
        """An API Gateway event for this endpoint (``request``'s arguments), as a REST API with
        the template's binary media types builds it."""
        return as_event(self.request(DEFAULT_APPKEY if with_key else None, **request))

    def image_event(self, image: bytes, way: str, is_pdf: bool = False) -> dict:
        return as_event(self.image_request(image, way, is_pdf=is_pdf))

    def read(self, status: int, body: Any) -> Answer:
        """What the answer said; ``ContractViolation`` where it is not this dialect's envelope."""
        return _READERS[self.name](status, body)

    def situation_of(self, answer: Answer, among: Sequence[str] | None = None) -> str | None:
        """The documented situation an answer is (of ``among``), or None."""
        for situation in among or self.situations:
            if self.situations.get(situation) == (answer.status, answer.code):
                return situation
        return None


def as_event(request: HttpRequest) -> dict:
    spec = api_spec()
    return build_event(
        method="POST",
        path=request.path,
        resource=request.path,
        stage=spec.stage,
        query=list(request.query),
        headers=list(request.headers),
        body=request.body,
        binary_media_types=spec.binary_media_types,
    )


def _gugudata_reader(field_names: tuple[str, str, str, str, str], codes: dict[int, set[int]], server_codes: set[int]):
    code_name, description_name, time_name, total_name, texts_name = field_names

    def read(status: int, body: Any) -> Answer:
        _expect_keys(body, {"DataStatus", "Data"}, "the body")
        data_status = body["DataStatus"]
        _expect_keys(data_status, {code_name, description_name, time_name, total_name}, "DataStatus")
        code, description = data_status[code_name], data_status[description_name]
        require(code in codes.get(status, ()), f"{code_name} {code!r} does not go with HTTP {status}")
        require(isinstance(description, str) and description, f"{description_name} is empty")
        require(_is_iso_datetime(data_status[time_name]), f"{time_name} is not ISO 8601 with offset")
        total = data_status[total_name]
        if code == 100:
            _expect_keys(body["Data"], {texts_name}, "Data")
            texts = body["Data"][texts_name]
            require(_is_list_of(texts, str), f"{texts_name} is not a list of strings")
            require(total == len(texts), f"{total_name} {total!r} is not the number of lines")
            return Answer(f"{status}/{code}", False, (description,), status, code, (tuple(texts),))
        require(body["Data"] is None and total == 0, "an error carries data")
        return Answer(f"{status}/{code}", code in server_codes, (description,), status, code)

    return read


_UNIVERSAL_ERRORS = {
    400: {"invalid_request"},
    401: {"missing_appkey", "invalid_appkey"},
    403: {"forbidden"},
    413: {"image_too_large"},
    # The docs' table names unsupported_image; openapi.yaml adds the name for a body type the
    # endpoint does not read.
    415: {"unsupported_image", "unsupported_content_type"},
    429: {"rate_limited", "quota_exceeded"},
    502: {"download_failed", "recognition_failed"},
    503: {"unavailable"},
}
_UNIVERSAL_RESULT = {"image_name", "width", "height", "angle", "engine", "text", "blocks"}


def _read_universal(status: int, body: Any) -> Answer:
    if status == 200:
        _expect_keys(body, {"code", "message", "request_id", "results"}, "the body")
        require(body["code"] == 0 and body["message"] == "success", "a success without code 0")
        results = body["results"]
        require(isinstance(results, list) and results, "results is empty")
        for result in results:
            require(
                isinstance(result, dict)
                and _UNIVERSAL_RESULT <= set(result)
                and set(result) <= _UNIVERSAL_RESULT | {"markdown"},
                f"a result is {result!r}",
            )
            require(_is_list_of(result["blocks"], dict), "blocks is not a list of objects")
        texts = tuple(tuple(result["text"].splitlines()) for result in results)
        return Answer("200", False, (), status, 0, texts, tuple(results))
    _expect_keys(body, {"code", "error", "message", "request_id"}, "the error body")
    require(body["code"] == status, f"code {body['code']!r} is not the HTTP status {status}")
    require(
        body["error"] in _UNIVERSAL_ERRORS.get(status, ()),
        f"error {body['error']!r} is not documented for HTTP {status}",
    )
    require(isinstance(body["message"], str) and body["message"], "message is empty")
    return Answer(f"{status} {body['error']}", status >= 500, (body["message"],), status, body["error"])


def _read_tupu(status: int, body: Any) -> Answer:
    envelope = {"code", "message", "timestamp", "nonce"}
    require(
        isinstance(body, dict) and isinstance(body.get("timestamp"), int) and isinstance(body.get("nonce"), str),
        "not tupu's envelope",
    )
    if status == 200:
        _expect_keys(body, envelope | {"data"}, "the body")
        require(body["code"] == 0 and body["message"] == "success", "a success without code 0")
        _expect_keys(body["data"], {"fileList"}, "data")
        for entry in body["data"]["fileList"]:
            require(
                isinstance(entry, dict) and {"name", "objects"} <= set(entry) <= {"name", "objects", "tag"},
                f"a fileList entry is {entry!r}",
            )
        files = tuple(body["data"]["fileList"])
        texts = tuple(tuple(item["text"] for item in entry["objects"]) for entry in files)
        return Answer("200", False, (), status, 0, texts, files)
    _expect_keys(body, envelope, "the error body")
    require(body["code"] == status, f"code {body['code']!r} is not the HTTP status {status}")
    require(isinstance(body["message"], str) and body["message"], "message is empty")
    return Answer(str(status), status >= 500, (body["message"],), status, body["code"])


_TENCENT_ERRORS = {
    "InvalidAction",
    "NoSuchVersion",
    "UnknownParameter",
    "InvalidParameterValue.InvalidParameterValueLimit",
    "FailedOperation.EmptyImageError",
    "FailedOperation.ImageDecodeFailed",
    "FailedOperation.ImageNoText",
    "FailedOperation.ImageSizeTooLarge",
    "LimitExceeded.TooLargeFileError",
    "FailedOperation.DownLoadError",
    "FailedOperation.OcrFailed",
    "FailedOperation.EngineRecognizeTimeout",
    "AuthFailure.SecretIdNotFound",
    "AuthFailure.InvalidAuthorization",
    "AuthFailure.SignatureFailure",
    "AuthFailure.SignatureExpire",
    "AuthFailure.UnauthorizedOperation",
    "RequestLimitExceeded",
    "ResourcesSoldOut.ChargeStatusException",
    "InternalError",
}
# Tencent's codes for what the other dialects answer with a 5xx.
_TENCENT_SERVER_SIDE = {
    "FailedOperation.DownLoadError",
    "FailedOperation.OcrFailed",
    "FailedOperation.EngineRecognizeTimeout",
    "InternalError",
}


def _read_tencent(status: int, body: Any) -> Answer:
    _expect_keys(body, {"Response"}, "the body")
    response = body["Response"]
    require(isinstance(response, dict) and isinstance(response.get("RequestId"), str), "no RequestId")
    if "Error" in response:
        _expect_keys(response, {"Error", "RequestId"}, "Response")
        _expect_keys(response["Error"], {"Code", "Message"}, "Error")
        code, message = response["Error"]["Code"], response["Error"]["Message"]
        require(code in _TENCENT_ERRORS, f"the error code {code!r} is not documented")
        require(isinstance(message, str) and message, "Message is empty")
        return Answer(f"200 {code}", code in _TENCENT_SERVER_SIDE, (message,), status, code)
    _expect_keys(response, {"TextDetections", "Angle", "Angel", "RequestId"}, "Response")
    # An image without text is Tencent's error ImageNoText, never an empty success.
    require(_is_list_of(response["TextDetections"], dict) and response["TextDetections"], "TextDetections is empty")
    texts = (tuple(detection["DetectedText"] for detection in response["TextDetections"]),)
    return Answer("200", False, (), status, None, texts, (response,))


ENDPOINTS: dict[str, Endpoint] = {
    endpoint.name: endpoint
    for endpoint in (
        Endpoint(
            "gugudata-v1",
            "/v1/imagerecognition/ocr",
            frozenset({200, 400, 401, 403, 413, 415, 429, 500, 503}),
            ("appkey", "imagefile", "image_base64"),
            key_query="appkey",
            image_ways=("file", "body", "base64"),
            file_field="imagefile",
            base64_field="image_base64",
            success_code=100,
            situations={
                OK: (200, 100),
                UNSUPPORTED_IMAGE: (415, 101),
                RATE_LIMITED: (429, 102),
                QUOTA_EXCEEDED: (429, 103),
                ENGINE_FAILED: (500, 110),
                OUT_OF_TIME: (503, 110),
                STORE_UNAVAILABLE: (503, 110),
                OVER_MEMORY: (413, 101),
                ENGINE_UNAVAILABLE: (503, 110),
            },
        ),
        Endpoint(
            "gugudata-legacy",
            "/imagerecognition/imagestreamocr",
            frozenset({200, 429}),
            ("appkey", "imagefile", "image_base64"),
            key_query="appkey",
            image_ways=("file", "body", "base64"),
            file_field="imagefile",
            base64_field="image_base64",
            success_code=100,
            situations={
                OK: (200, 100),
                UNSUPPORTED_IMAGE: (200, 501),
                RATE_LIMITED: (429, 502),
                QUOTA_EXCEEDED: (200, 505),
                ENGINE_FAILED: (200, -1),
                OUT_OF_TIME: (200, -1),
                STORE_UNAVAILABLE: (200, -1),
                OVER_MEMORY: (200, 501),
                ENGINE_UNAVAILABLE: (200, -1),
            },
        ),
        Endpoint(
            "universal",
            "/v1/ocr/universal",
            frozenset({200, 400, 401, 403, 413, 415, 429, 502, 503}),
            (
                "file",
                "url",
                "image_base64",
                "image_name",
                "need_location",
                "return_markdown",
                "enable_cls",
                "single_line",
                "languages",
                "enable_slicing",
                "pdf_page",
            ),
            key_header="x-api-key",
            image_ways=("file", "body", "base64"),
            file_field="file",
            base64_field="image_base64",
            situations={
                OK: (200, 0),
                UNSUPPORTED_IMAGE: (415, "unsupported_image"),
                RATE_LIMITED: (429, "rate_limited"),
                QUOTA_EXCEEDED: (429, "quota_exceeded"),
                ENGINE_FAILED: (502, "recognition_failed"),
                OUT_OF_TIME: (503, "unavailable"),
                STORE_UNAVAILABLE: (503, "unavailable"),
                OVER_MEMORY: (413, "image_too_large"),
                ENGINE_UNAVAILABLE: (503, "unavailable"),
            },
        ),
        Endpoint(
            "tupu",
            "/v3/recognition/general-ocr",
            frozenset({200, 400, 401, 403, 413, 415, 429, 500, 502, 503}),
            ("image", "tag", "referer"),
            key_query="key",
            image_ways=("file",),
            file_field="image",
            situations={
                OK: (200, 0),
                UNSUPPORTED_IMAGE: (415, 415),
                # tupu answers 429 for both.
                RATE_LIMITED: (429, 429),
                QUOTA_EXCEEDED: (429, 429),
                ENGINE_FAILED: (500, 500),
                OUT_OF_TIME: (503, 503),
                STORE_UNAVAILABLE: (503, 503),
                OVER_MEMORY: (413, 413),
                ENGINE_UNAVAILABLE: (503, 503),
            },
        ),
        Endpoint(
            "tencent",
            "/",
            frozenset({200}),
            (
                "ImageBase64",
                "ImageUrl",
                "IsPdf",
                "PdfPageNumber",
                "EnableDetectText",
                "ConfigID",
                "EnableDetectSplit",
                "IsWords",
            ),
            key_header="x-api-key",
            headers=(("X-TC-Action", "GeneralAccurateOCR"), ("X-TC-Version", "2018-11-19")),
            image_ways=("base64",),
            base64_field="ImageBase64",
            success_code=None,
            situations={
                OK: (200, None),
                UNSUPPORTED_IMAGE: (200, "FailedOperation.ImageDecodeFailed"),
                RATE_LIMITED: (200, "RequestLimitExceeded"),
                QUOTA_EXCEEDED: (200, "ResourcesSoldOut.ChargeStatusException"),
                ENGINE_FAILED: (200, "FailedOperation.OcrFailed"),
                OUT_OF_TIME: (200, "FailedOperation.EngineRecognizeTimeout"),
                STORE_UNAVAILABLE: (200, "InternalError"),
                OVER_MEMORY: (200, "FailedOperation.ImageSizeTooLarge"),
                ENGINE_UNAVAILABLE: (200, "InternalError"),
            },
        ),
    )
}

_READERS = {
    "gugudata-v1": _gugudata_reader(
        ("statusCode", "statusDescription", "responseDateTime", "dataTotalCount", "resultText"),
        {
            200: {100},
            400: {101},
            413: {101},
            415: {101},
            401: {104},
            403: {103},
            429: {102, 103},
            500: {110},
            503: {110},
        },
        server_codes={110},
    ),
    "gugudata-legacy": _gugudata_reader(
        ("StatusCode", "StatusDescription", "ResponseDateTime", "DataTotalCount", "ResultText"),
        {200: {100, -1, 501, 503, 504, 505, 900}, 429: {502}},
        server_codes={-1, 900},
    ),
    "universal": _read_universal,
    "tupu": _read_tupu,
    "tencent": _read_tencent,
}


def require(condition: bool, problem: str) -> None:
    """Raises ``ContractViolation`` with ``problem`` unless ``condition`` holds."""
    if not condition:
        raise ContractViolation(problem)


def _expect_keys(value: Any, keys: set[str], where: str) -> None:
    require(
        isinstance(value, dict) and set(value) == keys,
        f"{where} has {sorted(value) if isinstance(value, dict) else value!r}, not {sorted(keys)}",
    )


def _is_list_of(value: Any, kind: type) -> bool:
    return isinstance(value, list) and all(isinstance(item, kind) for item in value)


def _is_iso_datetime(value: Any) -> bool:
    try:
        return datetime.fromisoformat(value).tzinfo is not None
    except (TypeError, ValueError):
        return False


@functools.cache
def api_spec() -> ApiSpec:
    from ocr_local.environment import LOCAL_RESOURCE_NAMES
    from ocr_local.template import load_template

    return load_template(resource_names=LOCAL_RESOURCE_NAMES)
