"""The local server over real HTTP: what README and the API pages promise, and what API Gateway would do."""

from __future__ import annotations

import base64
import json
import os
import re
import shlex
import subprocess
from concurrent.futures import ThreadPoolExecutor

import pytest
from PIL import Image

from helpers import data_image, data_truth, encode
from image_server import ImageServer
from ocr_local.forms import multipart_form
from ocr_tools.scoring import cer

# The layer proof runs these with the system's Tesseract hidden (scripts/prove_layer_layout.sh).
pytestmark = [pytest.mark.http, pytest.mark.layer]

PATH = "/v1/imagerecognition/ocr"
BLANK_PNG = encode(Image.new("L", (64, 32), 255), "PNG")


@pytest.fixture(scope="module")
def server(local_server):
    return local_server


def codes(answer):
    status, body = answer
    return status, body["DataStatus"]["statusCode"] if body and "DataStatus" in body else None


def test_the_printed_curl_line_returns_the_text_of_the_image(server):
    # GIVEN the curl command exactly as the server printed it
    output = subprocess.run(shlex.split(server.curl_line), capture_output=True, text=True, timeout=60)
    # THEN it returns the text of the demo image
    body = json.loads(output.stdout)
    assert body["DataStatus"]["statusCode"] == 100
    assert body["Data"]["resultText"][0] == "图片文字识别 OCR 示例"


def test_multipart_upload_of_a_real_page(server):
    status, body = server.upload(data_image("tesseract-test/phototest.tif"), filename="phototest.tif")
    assert status == 200
    assert cer("\n".join(body["Data"]["resultText"]), data_truth("tesseract-test/phototest.tif")) <= 0.02


def test_base64_json_and_raw_bodies(server):
    chinese = data_image("zh-rendered/screenshot_02.png")
    as_json = json.dumps({"appkey": server.appkey, "image_base64": base64.b64encode(chinese).decode()})
    status, body = server.request("POST", PATH, as_json.encode(), {"Content-Type": "application/json"})
    assert status == 200 and body["Data"]["resultText"][0] == "古台摇落后，秋入望乡心。"
    status, body = server.request(
        "POST", PATH, chinese, {"Content-Type": "image/png"}, query=[("appkey", server.appkey)]
    )
    assert status == 200 and "20个周年纪念日。" in [line.replace(" ", "") for line in body["Data"]["resultText"]]


def test_demo_needs_no_appkey(server):
    status, body = server.request("GET", PATH + "/demo")
    assert status == 200 and body["DataStatus"]["dataTotalCount"] == 3


def test_routes_outside_the_template_are_refused_like_api_gateway(server):
    assert server.request("GET", "/v1/other") == (403, {"message": "Missing Authentication Token"})
    assert server.request("GET", PATH) == (403, {"message": "Missing Authentication Token"})


def test_multi_value_query_parameters_reach_the_handler(server):
    content_type, body = multipart_form(files=[("imagefile", "a.png", "image/png", BLANK_PNG)])
    answer = server.request(
        "POST", PATH, body, {"Content-Type": content_type}, query=[("appkey", server.appkey), ("appkey", "other")]
    )
    assert codes(answer) == (400, 101)


def test_wrong_and_missing_keys(server):
    assert codes(server.upload(BLANK_PNG, appkey="0" * 32)) == (401, 104)
    content_type, body = multipart_form(files=[("imagefile", "a.png", "image/png", BLANK_PNG)])
    assert codes(server.request("POST", PATH, body, {"Content-Type": content_type})) == (401, 104)


def test_body_over_api_gateways_10_mb_is_413_before_the_function(server):
    body = b"\0" * (10 * 1024 * 1024 + 1)
    status, answer = server.request(
        "POST", PATH, body, {"Content-Type": "image/png"}, query=[("appkey", server.appkey)]
    )
    assert status == 413 and "DataStatus" not in answer


def test_event_over_lambdas_6_mb_is_413_before_the_function(server):
    # 5 MB of image grows past 6 MB once API Gateway base64-encodes it into the event.
    body = os.urandom(5 * 1024 * 1024)
    status, answer = server.request(
        "POST", PATH, body, {"Content-Type": "image/png"}, query=[("appkey", server.appkey)]
    )
    assert status == 413 and "DataStatus" not in answer


def test_four_megabytes_still_reach_the_function(server):
    body = os.urandom(4 * 1024 * 1024)
    answer = server.request("POST", PATH, body, {"Content-Type": "image/png"}, query=[("appkey", server.appkey)])
    assert codes(answer) == (415, 101)


def test_concurrent_requests_are_served_by_separate_instances(server):
    page = data_image("tesseract-test/phototest.tif")
    with ThreadPoolExecutor(4) as pool:
        answers = list(pool.map(lambda _: server.upload(page), range(4)))
    assert [status for status, _ in answers] == [200] * 4
    assert len({json.dumps(body["Data"]) for _, body in answers}) == 1


def test_key_command_plans_hold_in_the_running_server(server):
    # GIVEN a plan of one call in all, and a key on it, made with the key command in the running
    # server's store (a trial: no clock decides it; the rate per second is decided by an
    # injected clock in test_metering)
    server.keys("plans", "create", "one-call", "--trial", "1")
    appkey, _ = server.create_key("once", plan="one-call")
    # WHEN it calls twice
    first, then = codes(server.upload(BLANK_PNG, appkey)), codes(server.upload(BLANK_PNG, appkey))
    # THEN the first passes and the second is refused with 429 / 103
    assert first == (200, 100)
    assert then == (429, 103)


UNIVERSAL = "/v1/ocr/universal"


def test_universal_endpoint_with_a_file_and_options(server):
    turned = data_image("tesseract-test/phototest-rotated-R.png")
    content_type, body = multipart_form(
        fields=[("enable_cls", "true"), ("return_markdown", "true")],
        files=[("file", "turned.png", "image/png", turned)],
    )
    status, answer = server.request("POST", UNIVERSAL, body, {"Content-Type": content_type, "x-api-key": server.appkey})
    assert status == 200
    [result] = answer["results"]
    assert result["angle"] == 90.0 and result["markdown"].startswith(result["blocks"][0]["text"])
    assert cer(result["text"], data_truth("tesseract-test/phototest.tif")) <= 0.02
    # The page's two paragraphs, as Tesseract found them, whichever engine read their lines
    assert result["markdown"].count("\n\n") == 1 and len(result["blocks"]) > 2


def test_universal_endpoint_fetches_urls_it_is_allowed_to(server):
    images = ImageServer()
    try:
        document = json.dumps({"url": images.url("/phototest.tif")}).encode()
        status, answer = server.request(
            "POST", UNIVERSAL, document, {"Content-Type": "application/json", "x-api-key": server.appkey}
        )
        assert status == 200 and answer["results"][0]["blocks"][0]["text"].startswith("This is")
        # 10.0.0.0/8 is not on the server's allow-list: refused before any connection
        document = json.dumps({"url": "http://10.1.2.3/a.png"}).encode()
        status, answer = server.request(
            "POST", UNIVERSAL, document, {"Content-Type": "application/json", "x-api-key": server.appkey}
        )
        assert (status, answer["error"]) == (400, "invalid_request")
    finally:
        images.stop()


def test_legacy_tupu_and_tencent_clients_work_over_http(server):
    page = data_image("tesseract-test/phototest.tif")
    # gugudata legacy
    content_type, body = multipart_form(files=[("imagefile", "p.tif", "image/tiff", page)])
    status, answer = server.request(
        "POST",
        "/imagerecognition/imagestreamocr",
        body,
        {"Content-Type": content_type},
        query=[("appkey", server.appkey)],
    )
    assert status == 200 and answer["DataStatus"]["StatusCode"] == 100
    assert answer["Data"]["ResultText"][0].startswith("This is")
    # tupu
    content_type, body = multipart_form(fields=[("tag", "t1")], files=[("image", "p.tif", "image/tiff", page)])
    status, answer = server.request(
        "POST", "/v3/recognition/general-ocr", body, {"Content-Type": content_type}, query=[("key", server.appkey)]
    )
    assert status == 200 and answer["code"] == 0
    assert answer["data"]["fileList"][0]["tag"] == "t1"
    # Tencent Cloud API 3.0
    document = json.dumps({"ImageBase64": base64.b64encode(page).decode()}).encode()
    status, answer = server.request(
        "POST",
        "/",
        document,
        {
            "Content-Type": "application/json",
            "X-TC-Action": "GeneralAccurateOCR",
            "X-TC-Version": "2018-11-19",
            "x-api-key": server.appkey,
        },
    )
    assert status == 200
    assert answer["Response"]["TextDetections"][0]["DetectedText"].startswith("This is")


def test_api_gateway_checks_the_key_on_native_routes(server):
    content_type, body = multipart_form(files=[("file", "a.png", "image/png", BLANK_PNG)])
    forbidden = (403, {"message": "Forbidden"})
    # no key, a key in the query only, an unknown key: API Gateway answers before the function
    assert server.request("POST", UNIVERSAL, body, {"Content-Type": content_type}) == forbidden
    assert (
        server.request("POST", UNIVERSAL, body, {"Content-Type": content_type}, query=[("appkey", server.appkey)])
        == forbidden
    )
    assert server.request("GET", "/v1/usage", headers={"x-api-key": "f" * 32}) == forbidden
    # a disabled key is refused at the gateway too, and works again once enabled
    created = server.keys("create", "--name", "gateway check")
    appkey, key_id = re.search(r"appkey: (\w+)", created)[1], re.search(r"key id: (\w+)", created)[1]
    assert server.request("GET", "/v1/usage", headers={"x-api-key": appkey})[0] == 200
    server.keys("disable", key_id)
    assert server.request("GET", "/v1/usage", headers={"x-api-key": appkey}) == forbidden
    server.keys("enable", key_id)
    status, report = server.request("GET", "/v1/usage", headers={"x-api-key": appkey})
    assert status == 200 and report["plan"]["name"] == "standard"


def test_concurrent_requests_on_one_key_are_counted_exactly(server):
    # GIVEN a key whose plan allows 25 calls in all (and a rate no burst here reaches)
    server.keys("plans", "create", "twenty-five", "--rps", "1000", "--trial", "25")
    appkey, key_id = server.create_key("concurrency", plan="twenty-five")
    # WHEN 8 clients send 60 requests at once, through both Lambda instances
    with ThreadPoolExecutor(8) as pool:
        answers = list(pool.map(lambda _: codes(server.upload(BLANK_PNG, appkey)), range(60)))
    # THEN exactly 25 passed, every other one was refused for the quota, and nothing was lost
    assert answers.count((200, 100)) == 25
    assert answers.count((429, 103)) == 35
    report = json.loads(server.keys("usage", key_id, "--json"))
    assert report["trial_calls_used"] == 25 and report["remaining"]["trial"] == 0
    assert report["today"] == {
        "calls": 25,
        "requests": 25,
        "job_pages": 0,
        "ok": 25,
        "client_error": 0,
        "server_error": 0,
        "rate_limited": 0,
        "quota_exceeded": 35,
    }
    status, seen_by_owner = server.request("GET", "/v1/usage", headers={"x-api-key": appkey})
    assert status == 200 and seen_by_owner["today"] == report["today"]
