"""Every endpoint holds a key to its plan, wherever the key is sent; failures on our side cost
no quota; the usage endpoint reports; metrics count without keys; logs never hold a key."""

from __future__ import annotations

import base64
import json
import logging
import urllib.parse

import pytest
from PIL import Image, ImageDraw

from faulty_engines import Crashes, engine_setting
from helpers import encode, transparent_40_megapixel_png
from ocr_local.apigateway import build_event
from ocr_local.events import EVENTS_APPKEY, load_event
from ocr_local.forms import multipart_form

# A small image with a word on it: quick to read on every endpoint.
WORD = Image.new("L", (160, 48), 255)
ImageDraw.Draw(WORD).text((10, 14), "HELLO 42", fill=0)
PNG = encode(WORD, "PNG")
PNG_B64 = base64.b64encode(PNG).decode()
TENCENT = [("X-TC-Action", "GeneralAccurateOCR"), ("X-TC-Version", "2018-11-19")]


def _multipart(path, part, secret, query_name=None, extra_fields=(), headers=()):
    content_type, body = multipart_form(fields=list(extra_fields), files=[(part, "word.png", "image/png", PNG)])
    query = [(query_name, secret)] if query_name else []
    return dict(path=path, query=query, headers=[("Content-Type", content_type), *headers], body=body)


def _json(path, document, query=(), headers=()):
    return dict(
        path=path,
        query=list(query),
        headers=[("Content-Type", "application/json"), *headers],
        body=json.dumps(document).encode(),
    )


# Each way a key reaches us: the request, then how that dialect says "rate" and "quota".
KEY_LOCATIONS = {
    "v1 query": lambda k: _multipart("/v1/imagerecognition/ocr", "imagefile", k, "appkey"),
    "v1 form field": lambda k: dict(
        path="/v1/imagerecognition/ocr",
        query=[],
        headers=[("Content-Type", "application/x-www-form-urlencoded")],
        body=urllib.parse.urlencode({"appkey": k, "image_base64": PNG_B64}).encode(),
    ),
    "v1 multipart field": lambda k: _multipart(
        "/v1/imagerecognition/ocr", "imagefile", k, extra_fields=[("appkey", k)]
    ),
    "v1 json field": lambda k: _json("/v1/imagerecognition/ocr", {"appkey": k, "image_base64": PNG_B64}),
    "legacy query": lambda k: _multipart("/imagerecognition/imagestreamocr", "imagefile", k, "appkey"),
    "tupu query": lambda k: _multipart("/v3/recognition/general-ocr", "image", k, "key"),
    "universal header": lambda k: _multipart("/v1/ocr/universal", "file", k, headers=[("x-api-key", k)]),
    "tencent header": lambda k: _json("/", {"ImageBase64": PNG_B64}, headers=[*TENCENT, ("x-api-key", k)]),
    "tencent query": lambda k: _json("/", {"ImageBase64": PNG_B64}, query=[("appkey", k)], headers=TENCENT),
}


def refusal(path: str, status: int, body: dict):
    """The dialect's way of saying no, as (HTTP status, its code)."""
    if "DataStatus" in body:
        return status, body["DataStatus"].get("statusCode", body["DataStatus"].get("StatusCode"))
    if "Response" in body:
        return status, body["Response"].get("Error", {}).get("Code", "success")
    if "nonce" in body:
        return status, body["code"]
    return status, body.get("error", "success")


RATE_REFUSAL = {
    "/v1/imagerecognition/ocr": (429, 102),
    "/imagerecognition/imagestreamocr": (429, 502),
    "/v3/recognition/general-ocr": (429, 429),
    "/v1/ocr/universal": (429, "rate_limited"),
    "/": (200, "RequestLimitExceeded"),
}
QUOTA_REFUSAL = {
    "/v1/imagerecognition/ocr": (429, 103),
    "/imagerecognition/imagestreamocr": (200, 505),
    "/v3/recognition/general-ocr": (429, 429),
    "/v1/ocr/universal": (429, "quota_exceeded"),
    "/": (200, "ResourcesSoldOut.ChargeStatusException"),
}


@pytest.fixture
def send(invoke, spec):
    def call(request: dict, method="POST") -> tuple[int, dict]:
        event = build_event(
            method=method,
            resource=request["path"],
            stage=spec.stage,
            binary_media_types=spec.binary_media_types,
            **request,
        )
        response = invoke(event)
        return response["statusCode"], json.loads(response["body"])

    return call


def usage_of(service, secret):
    return service.access.usage(service.access.check(secret, None))


@pytest.mark.parametrize("location", KEY_LOCATIONS)
def test_the_quota_holds_wherever_the_key_is_sent(location, send, add_key, add_plan, service):
    secret = add_key(f"k-quota-{location.replace(' ', '-')}-000", plan=add_plan("two-calls", trial_calls=2))
    request = KEY_LOCATIONS[location](secret)
    clock = [1_800_000_000.0]
    service.access.clock = lambda: clock[0]
    for _ in range(2):
        status, body = send(request)
        assert refusal(request["path"], status, body)[1] in (100, 0, "success"), body
        clock[0] += 1
    status, body = send(request)
    assert refusal(request["path"], status, body) == QUOTA_REFUSAL[request["path"]]
    today = usage_of(service, secret).today
    assert (today.calls, today.outcomes["ok"], today.outcomes["quota_exceeded"]) == (2, 2, 1)


@pytest.mark.parametrize("location", KEY_LOCATIONS)
def test_the_rate_holds_wherever_the_key_is_sent(location, send, add_key, add_plan, service):
    secret = add_key(f"k-rate-{location.replace(' ', '-')}-0000", plan=add_plan("one-a-second", requests_per_second=1))
    request = KEY_LOCATIONS[location](secret)
    service.access.clock = lambda: 1_800_000_100.0
    send(request)
    status, body = send(request)
    assert refusal(request["path"], status, body) == RATE_REFUSAL[request["path"]]
    assert usage_of(service, secret).today.outcomes["rate_limited"] == 1


def test_a_failure_on_our_side_costs_no_quota_and_the_next_call_works(
    send, add_key, add_plan, service, reconfigure, tmp_path
):
    # GIVEN a key with one call a day
    secret = add_key("k-refund-by-http-0000", plan=add_plan("one-a-day", daily_quota=1))
    request = KEY_LOCATIONS["v1 query"](secret)
    # WHEN Tesseract crashes on its call
    crashed = reconfigure(engine=engine_setting(Crashes))
    assert refusal(request["path"], *send(request)) == (500, 110)
    # THEN the same key's next call succeeds, and only then is the day's call used
    reconfigure()
    assert refusal(request["path"], *send(request)) == (200, 100)
    assert refusal(request["path"], *send(request)) == (429, 103)
    today = usage_of(crashed, secret).today
    assert today.as_json() == {
        "calls": 1,
        "requests": 1,
        "job_pages": 0,
        "ok": 1,
        "client_error": 0,
        "server_error": 1,
        "rate_limited": 0,
        "quota_exceeded": 1,
    }


def test_a_bad_image_after_admission_is_charged(send, add_key, add_plan, service):
    secret = add_key("k-bad-image-charged-0", plan=add_plan("one-a-day", daily_quota=1))
    content_type, body = multipart_form(files=[("imagefile", "a.png", "image/png", b"not a picture")])
    request = dict(
        path="/v1/imagerecognition/ocr", query=[("appkey", secret)], headers=[("Content-Type", content_type)], body=body
    )
    assert refusal(request["path"], *send(request)) == (415, 101)
    assert usage_of(service, secret).today.as_json()["client_error"] == 1
    assert refusal(request["path"], *send(request)) == (429, 103)


def test_usage_endpoint_reports_the_keys_plan_and_calls(send, invoke, add_key, add_plan, service):
    secret = add_key("k-usage-endpoint-0000", plan=add_plan("small", daily_quota=5, monthly_quota=100))
    send(KEY_LOCATIONS["v1 query"](secret))
    usage = dict(path="/v1/usage", query=[], headers=[("x-api-key", secret)], body=b"")
    for _ in range(2):  # asking does not use the quota
        status, report = send(usage, method="GET")
    assert status == 200 and report["code"] == 0 and report["request_id"]
    assert report["plan"] == {
        "name": "small",
        "requests_per_second": 100,
        "burst": None,
        "daily_quota": 5,
        "monthly_quota": 100,
        "trial_calls": None,
    }
    assert report["today"]["calls"] == report["this_month"]["calls"] == report["today"]["ok"] == 1
    assert report["remaining"] == {"today": 4, "this_month": 99, "trial": None}
    assert report["key_id"] == service.access.check(secret, None).key_id and secret not in json.dumps(report)
    # the events/ file works as sam local invoke would send it
    response = invoke(load_event("usage"))
    assert response["statusCode"] == 200 and json.loads(response["body"])["plan"]["name"] == "standard"


def test_usage_endpoint_errors(send, service):
    status, body = send(dict(path="/v1/usage", query=[], headers=[], body=b""), method="GET")
    assert (status, body["error"]) == (401, "missing_appkey")
    status, body = send(
        dict(path="/v1/usage", query=[("appkey", EVENTS_APPKEY)], headers=[("x-api-key", EVENTS_APPKEY)], body=b""),
        method="GET",
    )
    assert (status, body["error"]) == (400, "invalid_request")
    # the key sent twice with different values: which one is meant is not for us to guess
    status, body = send(
        dict(path="/v1/usage", query=[], headers=[("x-api-key", EVENTS_APPKEY), ("x-api-key", "f" * 32)], body=b""),
        method="GET",
    )
    assert (status, body["error"]) == (400, "invalid_request")


def emitted_metrics(output: str) -> list[dict]:
    """The CloudWatch embedded-metric documents the handler printed."""
    documents = []
    for line in output.splitlines():
        if line.startswith("{") and '"_aws"' in line:
            documents.append(json.loads(line))
    return documents


def test_metrics_count_by_endpoint_and_outcome_with_no_key_dimension(send, add_key, capsys):
    secret = add_key("k-metrics-00000000000")
    send(KEY_LOCATIONS["v1 query"](secret))
    send(KEY_LOCATIONS["tupu query"]("unknown-key-000000000"))
    documents = emitted_metrics(capsys.readouterr().out)
    assert len(documents) == 3
    pages, success, refused = documents
    # Pages by the engine that read them: a metric of its own, with the engine its only dimension.
    [directive] = pages["_aws"]["CloudWatchMetrics"]
    assert set(directive["Dimensions"][0]) <= {"Engine", "service"} and "Engine" in directive["Dimensions"][0]
    assert (pages["Engine"], pages["PagesRead"]) == ("tesseract", [1.0])
    [directive] = success["_aws"]["CloudWatchMetrics"]
    assert directive["Namespace"] == "OcrApi"
    # Only these dimensions (Powertools adds the service's name on Lambda): never a key.
    [dimensions] = directive["Dimensions"]
    assert {"Endpoint", "Outcome"} <= set(dimensions) <= {"Endpoint", "Outcome", "service"}
    names = {metric["Name"] for metric in directive["Metrics"]}
    assert names == {"Requests", "RecognitionTime", "Images", "ImageBytes", "ImageMegapixels"}
    assert (success["Endpoint"], success["Outcome"], success["Requests"]) == ("gugudata-v1", "ok", [1.0])
    assert success["ImageBytes"] == [len(PNG)] and success["RecognitionTime"][0] > 0
    assert (refused["Endpoint"], refused["Outcome"]) == ("tupu", "unauthorized")
    assert {m["Name"] for m in refused["_aws"]["CloudWatchMetrics"][0]["Metrics"]} == {"Requests"}
    for document in documents:
        assert secret not in json.dumps(document) and "key" not in " ".join(document).lower()


def test_logs_hold_neither_keys_nor_image_bytes(send, add_key, caplog, reconfigure, tmp_path):
    # GIVEN every log record kept, at debug level, with all its fields
    secret = add_key("k-never-logged-00000000")
    caplog.set_level(logging.DEBUG)
    # WHEN requests succeed, are refused, and fail
    for location in ("v1 query", "v1 json field", "universal header", "tencent header"):
        send(KEY_LOCATIONS[location](secret))
    send(KEY_LOCATIONS["v1 query"]("no-such-key-in-the-table-0"))
    reconfigure(engine=engine_setting(Crashes))
    send(KEY_LOCATIONS["tupu query"](secret))
    # THEN the logs say what happened without a key or a byte of the image
    logs = "\n".join(json.dumps(record.__dict__, default=str) for record in caplog.records)
    assert '"error": "AppKeyUnknown"' in logs and '"error": "RecognitionFailed"' in logs
    for secret_text in (secret, "no-such-key-in-the-table-0", PNG_B64[:40], PNG_B64[-40:], str(PNG[8:40])):
        assert secret_text not in logs


@pytest.mark.parametrize(
    "path, part, key_in",
    [
        ("/v1/ocr/universal", "file", "header"),
        ("/v3/recognition/general-ocr", "image", "key"),
    ],
)
def test_several_images_use_a_call_each(path, part, key_in, send, add_key, add_plan, service):
    # GIVEN a key with a trial of 4 calls
    secret = add_key(f"k-images-{part}-00000000", plan=add_plan("four", trial_calls=4))
    content_type, body = multipart_form(files=[(part, f"word{i}.png", "image/png", PNG) for i in range(3)])
    request = dict(
        path=path,
        query=[("key", secret)] if key_in == "key" else [],
        headers=[("Content-Type", content_type), *([("x-api-key", secret)] if key_in == "header" else [])],
        body=body,
    )
    # WHEN it sends three images in one request, then the same again
    first, second = send(request), send(request)
    # THEN the first reads all three for three calls; the second does not fit in the one left
    results = first[1]["results"] if "results" in first[1] else first[1]["data"]["fileList"]
    assert first[0] == 200 and len(results) == 3
    assert refusal(path, *second) == QUOTA_REFUSAL[path]
    assert "3 images need 3 calls" in json.dumps(second[1])
    report = usage_of(service, secret)
    assert (report.today.calls, report.today.requests, report.trial_calls_used) == (3, 1, 3)


@pytest.mark.parametrize(
    "options, says",
    [
        ([("languages", "xyz")], "unknown language"),
        ([("languages", "all"), ("engine", "ppocr")], "ppocr engine"),
        ([("engine", "fastest")], "engine must be one of"),
    ],
)
def test_options_no_page_can_be_read_with_are_refused_before_the_key_is_charged(
    options, says, send, add_key, add_plan, service
):
    # GIVEN a key, and three images asked to be read in a language or by an engine that reads none
    secret = add_key("k-options-refused-000", plan=add_plan("four", trial_calls=4))
    content_type, body = multipart_form(
        fields=options, files=[("file", f"w{i}.png", "image/png", PNG) for i in range(3)]
    )
    request = dict(
        path="/v1/ocr/universal", query=[], headers=[("Content-Type", content_type), ("x-api-key", secret)], body=body
    )
    # WHEN it is sent
    status, answer = send(request)
    # THEN it is a 400 saying why, and the key was charged nothing
    assert (status, answer["error"]) == (400, "invalid_request") and says in answer["message"]
    report = usage_of(service, secret)
    assert (report.today.calls, report.trial_calls_used) == (0, 0)


@pytest.mark.parametrize(
    "path, part, key_in",
    [
        ("/v1/ocr/universal", "file", "header"),
        ("/v3/recognition/general-ocr", "image", "key"),
    ],
)
def test_pages_read_before_a_later_page_fails_are_charged_and_only_the_rest_given_back(
    path, part, key_in, send, add_key, add_plan, reconfigure
):
    # GIVEN a key with a trial of 4 calls, page workers of 300 MB, and a request of two pages
    # and a transparent 40-megapixel page that needs more memory than that (413: a failure
    # whose call is given back)
    service = reconfigure(worker_memory_mb=300)
    secret = add_key(f"k-partial-{part}-00000", plan=add_plan("four", trial_calls=4))
    files = [(part, f"w{i}.png", "image/png", PNG) for i in range(2)]
    files.append((part, "big.png", "image/png", transparent_40_megapixel_png("RGBA")))
    content_type, body = multipart_form(files=files)
    request = dict(
        path=path,
        query=[("key", secret)] if key_in == "key" else [],
        headers=[("Content-Type", content_type), *([("x-api-key", secret)] if key_in == "header" else [])],
        body=body,
    )
    # WHEN it is sent
    status, answer = send(request)
    # THEN the request answers the big page's error, and the two pages read are the calls it costs
    assert status == 413, answer
    report = usage_of(service, secret)
    assert (report.today.calls, report.today.requests, report.trial_calls_used) == (2, 1, 2)
    assert report.today.outcomes["client_error"] == 1
