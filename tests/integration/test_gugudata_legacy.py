"""gugudata's legacy imagestreamocr contract: PascalCase, HTTP 200 with business codes."""

from __future__ import annotations

import json
from datetime import datetime

import pytest
from PIL import Image

from dialects import poster
from faulty_engines import Crashes, engine_setting
from helpers import data_image, data_truth, encode
from ocr_api.keys import KeyStatus
from ocr_local.apigateway import build_event
from ocr_local.events import EVENTS_APPKEY, load_event
from ocr_tools.scoring import cer

PATH = "/imagerecognition/imagestreamocr"
PHOTOTEST = data_image("tesseract-test/phototest.tif")
BLANK = encode(Image.new("L", (40, 20), 255), "PNG")


@pytest.fixture
def call(invoke, spec):
    post = poster(invoke, spec, PATH)

    def upload(image=PHOTOTEST, appkey=EVENTS_APPKEY):
        return post(
            files=[("imagefile", "page.tif", "image/tiff", image)], query=[("appkey", appkey)] if appkey else []
        )

    return upload


def assert_code(answer, http_status, code):
    status, body = answer
    assert (status, body["DataStatus"]["StatusCode"]) == (http_status, code), body
    assert body["Data"] is None and body["DataStatus"]["DataTotalCount"] == 0
    assert body["DataStatus"]["StatusDescription"]


def test_success_has_exactly_the_pascal_case_fields(call):
    status, body = call()
    assert status == 200
    assert set(body) == {"DataStatus", "Data"}
    assert set(body["DataStatus"]) == {"StatusCode", "StatusDescription", "ResponseDateTime", "DataTotalCount"}
    assert body["DataStatus"]["StatusCode"] == 100
    assert isinstance(body["DataStatus"]["DataTotalCount"], int)
    assert datetime.fromisoformat(body["DataStatus"]["ResponseDateTime"]).utcoffset() is not None
    texts = body["Data"]["ResultText"]
    assert body["DataStatus"]["DataTotalCount"] == len(texts) == 8
    assert cer("\n".join(texts), data_truth("tesseract-test/phototest.tif")) <= 0.02


def test_event_file(invoke):
    response = invoke(load_event("legacy-imagestreamocr-multipart"))
    assert json.loads(response["body"])["DataStatus"]["StatusCode"] == 100


def test_demo(invoke, spec):
    event = build_event(method="GET", path=PATH + "/demo", resource=PATH + "/demo", stage=spec.stage)
    body = json.loads(invoke(event)["body"])
    assert body["DataStatus"]["StatusCode"] == 100 and len(body["Data"]["ResultText"]) == 3


def test_parameter_errors_are_501(call, invoke, spec):
    assert_code(call(image=b"not an image"), 200, 501)
    assert_code(call(image=encode(Image.new("1", (10_000, 10_000), 1), "PNG")), 200, 501)
    assert_code(poster(invoke, spec, PATH)(fields=[("imagefile", "")], query=[("appkey", EVENTS_APPKEY)]), 200, 501)


def test_wrong_or_missing_key_is_504(call):
    assert_code(call(appkey="not-a-key-000000000000"), 200, 504)
    assert_code(call(appkey=None), 200, 504)


@pytest.mark.parametrize("overrides", [dict(status=KeyStatus.DISABLED), dict(allowed_apis=frozenset({"gugudata-v1"}))])
def test_expired_or_not_permitted_key_is_503(call, add_key, overrides):
    assert_code(call(appkey=add_key("k-legacy-forbidden-0000", **overrides)), 200, 503)


def test_rate_limit_is_502_with_http_429(call, add_key, add_plan, service):
    secret = add_key("k-legacy-rate-000000000", plan=add_plan("one-a-second", requests_per_second=1))
    service.access.clock = lambda: 77.0
    assert call(image=BLANK, appkey=secret)[0] == 200
    assert_code(call(image=BLANK, appkey=secret), 429, 502)


def test_request_count_over_the_quota_is_505(call, add_key, add_plan, service):
    secret = add_key("k-legacy-quota-00000000", plan=add_plan("two-a-day", daily_quota=2))
    service.access.clock = lambda: 1_800_000_000.0  # one day, whenever the test runs
    assert call(image=BLANK, appkey=secret)[1]["DataStatus"]["StatusCode"] == 100
    assert call(image=BLANK, appkey=secret)[1]["DataStatus"]["StatusCode"] == 100
    assert_code(call(image=BLANK, appkey=secret), 200, 505)


def test_engine_failure_is_minus_1(call, reconfigure, tmp_path):
    reconfigure(engine=engine_setting(Crashes))
    assert_code(call(), 200, -1)
    reconfigure(tessdata_dir=str(tmp_path / "no-models"))
    assert_code(call(), 200, -1)


def test_unexpected_error_is_900(call, service, monkeypatch):
    monkeypatch.setattr(service.recognizer, "recognize_many", lambda *a, **k: 1 / 0)
    assert_code(call(), 200, 900)
