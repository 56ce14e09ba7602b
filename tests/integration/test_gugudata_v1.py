"""The gugudata v1 contract through the real Lambda handler: events/ files and the code table."""

from __future__ import annotations

import base64
import json
from datetime import datetime

import pytest
from PIL import Image

from helpers import data_image, data_truth, encode
from ocr_api.keys import KeyStatus
from ocr_local.apigateway import build_event
from ocr_local.events import EVENTS_APPKEY, load_event
from ocr_local.forms import multipart_form
from ocr_tools.scoring import cer

PATH = "/v1/imagerecognition/ocr"
PHOTOTEST = data_image("tesseract-test/phototest.tif")
BLANK_PNG = encode(Image.new("L", (64, 32), 255), "PNG")


def post(spec, *, query=None, content_type=None, body=b"", headers=()):
    all_headers = list(headers) + ([("Content-Type", content_type)] if content_type else [])
    return build_event(
        method="POST",
        path=PATH,
        resource=PATH,
        stage=spec.stage,
        query=query,
        headers=all_headers,
        body=body,
        binary_media_types=spec.binary_media_types,
    )


def upload(spec, image=PHOTOTEST, appkey=EVENTS_APPKEY, filename="page.tif"):
    content_type, body = multipart_form(files=[("imagefile", filename, "image/tiff", image)])
    return post(spec, query=[("appkey", appkey)] if appkey else None, content_type=content_type, body=body)


def answer(response: dict) -> tuple[int, int, dict]:
    body = json.loads(response["body"])
    return response["statusCode"], body["DataStatus"]["statusCode"], body


def assert_error(response, http_status, code, says):
    status, business, body = answer(response)
    assert (status, business) == (http_status, code), body
    assert body["Data"] is None and body["DataStatus"]["dataTotalCount"] == 0
    description = body["DataStatus"]["statusDescription"]
    assert says in description
    for leak in ("Traceback", "/work", "/tmp", ".py", EVENTS_APPKEY):
        assert leak not in response["body"]


# events/ files: the same ones `python -m ocr_local invoke` and `sam local invoke -e` take.


def test_event_multipart_upload_returns_the_text(invoke):
    status, code, body = answer(invoke(load_event("v1-ocr-multipart")))
    assert (status, code) == (200, 100)
    lines = body["Data"]["resultText"]
    assert body["DataStatus"]["dataTotalCount"] == len(lines) == 8
    assert cer("\n".join(lines), data_truth("tesseract-test/phototest.tif")) <= 0.02


def test_event_with_appkey_as_a_multipart_field(invoke):
    status, code, body = answer(invoke(load_event("v1-ocr-multipart-appkey-field")))
    assert (status, code) == (200, 100)
    assert body["Data"]["resultText"][0] == "古台摇落后，秋入望乡心。"


def test_event_base64_data_uri_in_json(invoke):
    status, code, body = answer(invoke(load_event("v1-ocr-base64-json")))
    assert (status, code) == (200, 100)
    assert "20 个周年纪念日。" in body["Data"]["resultText"]


def test_event_raw_image_body(invoke):
    status, code, body = answer(invoke(load_event("v1-ocr-raw-image")))
    assert (status, code) == (200, 100)
    assert body["Data"]["resultText"][0] == "This is alot of 12 point text to test the"


def test_event_missing_appkey(invoke):
    assert_error(invoke(load_event("v1-ocr-missing-appkey")), 401, 104, "appkey")


def test_event_not_an_image(invoke):
    assert_error(invoke(load_event("v1-ocr-not-an-image")), 415, 101, "not a supported image")


def test_event_too_large_image(invoke):
    assert_error(invoke(load_event("v1-ocr-too-large")), 413, 101, "the limit is 40000000 pixels")


def test_event_demo(invoke):
    status, code, body = answer(invoke(load_event("v1-ocr-demo")))
    assert (status, code) == (200, 100)
    assert body["Data"]["resultText"] == [
        "图片文字识别 OCR 示例",
        "Image to text in one API call",
        "支持中文、English 和数字 2026",
    ]


def test_success_envelope_has_exactly_the_contract_fields(invoke):
    response = invoke(load_event("v1-ocr-multipart"))
    body = json.loads(response["body"])
    assert set(body) == {"DataStatus", "Data"}
    assert set(body["DataStatus"]) == {"statusCode", "statusDescription", "responseDateTime", "dataTotalCount"}
    assert set(body["Data"]) == {"resultText"}
    assert datetime.fromisoformat(body["DataStatus"]["responseDateTime"]).utcoffset() is not None
    assert response["multiValueHeaders"]["Content-Type"] == ["application/json; charset=utf-8"]


def test_image_without_text_is_success_with_no_lines(invoke, spec):
    status, code, body = answer(invoke(upload(spec, image=BLANK_PNG)))
    assert (status, code) == (200, 100)
    assert body["Data"]["resultText"] == [] and body["DataStatus"]["dataTotalCount"] == 0


def test_appkey_in_a_urlencoded_form_with_base64(invoke, spec):
    form = f"appkey={EVENTS_APPKEY}&image_base64={base64.b64encode(BLANK_PNG).decode()}"
    response = invoke(post(spec, content_type="application/x-www-form-urlencoded", body=form.encode()))
    assert answer(response)[:2] == (200, 100)


# The code table, row by row.

BAD_REQUESTS = {
    "missing imagefile": dict(query=[("appkey", EVENTS_APPKEY)]),
    "empty imagefile": dict(
        query=[("appkey", EVENTS_APPKEY)], multipart=dict(files=[("imagefile", "a.png", "image/png", b"")])
    ),
    "imagefile as text in JSON": dict(
        query=[("appkey", EVENTS_APPKEY)], content_type="application/json", body=b'{"imagefile": "abc"}'
    ),
    "malformed multipart": dict(
        query=[("appkey", EVENTS_APPKEY)], content_type="multipart/form-data; boundary=zz", body=b"--zz\r\nbroken"
    ),
    "bad base64": dict(
        query=[("appkey", EVENTS_APPKEY)], content_type="application/json", body=b'{"image_base64": "%%%"}'
    ),
    "unknown field": dict(
        query=[("appkey", EVENTS_APPKEY), ("lang", "en")],
        multipart=dict(files=[("imagefile", "a.png", "image/png", BLANK_PNG)]),
    ),
    "unknown body field": dict(
        query=[("appkey", EVENTS_APPKEY)],
        multipart=dict(fields=[("mode", "fast")], files=[("imagefile", "a.png", "image/png", BLANK_PNG)]),
    ),
    "two images": dict(
        query=[("appkey", EVENTS_APPKEY)],
        multipart=dict(fields=[("image_base64", "QUJD")], files=[("imagefile", "a.png", "image/png", BLANK_PNG)]),
    ),
    "imagefile twice": dict(
        query=[("appkey", EVENTS_APPKEY)], multipart=dict(files=[("imagefile", "a.png", "image/png", BLANK_PNG)] * 2)
    ),
    "conflicting appkeys": dict(
        query=[("appkey", EVENTS_APPKEY)],
        multipart=dict(fields=[("appkey", "another-key")], files=[("imagefile", "a.png", "image/png", BLANK_PNG)]),
    ),
}

EXPECTED_WORDS = {
    "missing imagefile": "imagefile is required",
    "empty imagefile": "empty",
    "imagefile as text in JSON": "multipart file part",
    "malformed multipart": "malformed",
    "bad base64": "not valid base64",
    "unknown field": "unknown field(s): lang",
    "unknown body field": "unknown field(s): mode",
    "two images": "exactly one image",
    "imagefile twice": "exactly one image",
    "conflicting appkeys": "different values",
}


@pytest.mark.parametrize("case", list(BAD_REQUESTS))
def test_bad_input_is_400_with_code_101(invoke, spec, case):
    options = dict(BAD_REQUESTS[case])
    if "multipart" in options:
        options["content_type"], options["body"] = multipart_form(**options.pop("multipart"))
    assert_error(invoke(post(spec, **options)), 400, 101, EXPECTED_WORDS[case])


def test_image_over_the_byte_limit_is_413(invoke, spec, reconfigure):
    reconfigure(max_image_bytes=20_000)
    assert_error(invoke(upload(spec)), 413, 101, "the limit is 20000 bytes")


def test_unsupported_body_type_is_415(invoke, spec):
    response = invoke(post(spec, query=[("appkey", EVENTS_APPKEY)], content_type="text/plain", body=b"hi"))
    assert_error(response, 415, 101, "text/plain")


def test_truncated_image_is_415(invoke, spec):
    assert_error(invoke(upload(spec, image=PHOTOTEST[:5000])), 415, 101, "truncated or corrupt")


def test_unknown_appkey_is_401(invoke, spec):
    assert_error(invoke(upload(spec, appkey="not-a-registered-key-000")), 401, 104, "not valid")


@pytest.mark.parametrize(
    "overrides, says",
    [
        (dict(status=KeyStatus.DISABLED), "disabled"),
        (dict(expires_at=datetime.fromisoformat("2020-01-01T00:00:00+00:00")), "expired"),
        (dict(allowed_apis=frozenset({"tupu"})), "not allowed"),
    ],
    ids=["disabled", "expired", "other-api"],
)
def test_forbidden_appkey_is_403(invoke, spec, add_key, overrides, says):
    secret = add_key("k-forbidden-0000000000", **overrides)
    assert_error(invoke(upload(spec, appkey=secret)), 403, 103, says)


def test_over_the_rate_is_429(invoke, spec, add_key, add_plan, service):
    secret = add_key("k-one-per-second-00000", plan=add_plan("one-a-second", requests_per_second=1))
    service.access.clock = lambda: 42.0
    assert answer(invoke(upload(spec, image=BLANK_PNG, appkey=secret)))[:2] == (200, 100)
    assert_error(invoke(upload(spec, image=BLANK_PNG, appkey=secret)), 429, 102, "more than 1 requests per second")


def test_tesseract_models_missing_is_503(invoke, spec, reconfigure, tmp_path):
    reconfigure(tessdata_dir=str(tmp_path / "no-models"))
    assert_error(invoke(upload(spec)), 503, 110, "not available")


def test_unexpected_error_is_500_without_details(invoke, spec, service, monkeypatch):
    def explode(*args, **kwargs):
        raise ValueError("secret internal detail at /opt/code.py")

    monkeypatch.setattr(service.recognizer, "recognize_many", explode)
    response = invoke(upload(spec))
    assert_error(response, 500, 110, "internal error")
    assert "secret internal detail" not in response["body"]


def test_appkeys_never_reach_the_logs(invoke, spec, add_key, capfd, caplog):
    caplog.set_level("DEBUG")
    # GIVEN requests with a valid key, a disabled key and an unknown key
    valid = add_key("k-logged-never-valid-0001")
    disabled = add_key("k-logged-never-disabled-2", status=KeyStatus.DISABLED)
    for appkey in (valid, disabled, "k-logged-never-unknown-03"):
        invoke(upload(spec, image=BLANK_PNG, appkey=appkey))
    # THEN the function logged its requests, but no key appears anywhere in what it wrote
    logged = "".join(capfd.readouterr()) + caplog.text
    assert "request refused" in logged
    for appkey in (valid, disabled, "k-logged-never-unknown-03"):
        assert appkey not in logged
