"""Tencent Cloud GeneralAccurateOCR: X-TC-Action, JSON, Tencent's Response and error codes."""

from __future__ import annotations

import base64
import io
import json

import pytest
from PIL import Image

from dialects import poster
from faulty_engines import Crashes, Hangs, engine_setting
from helpers import data_image, data_truth, encode
from ocr_api.keys import KeyStatus
from ocr_local.events import EVENTS_APPKEY, load_event
from ocr_tools.scoring import cer

PHOTOTEST = data_image("tesseract-test/phototest.tif")
PHOTOTEST_B64 = base64.b64encode(PHOTOTEST).decode()
ACTION = [("X-TC-Action", "GeneralAccurateOCR"), ("X-TC-Version", "2018-11-19")]


@pytest.fixture
def call(invoke, spec):
    post = poster(invoke, spec, "/")

    def send(body, key=EVENTS_APPKEY, headers=ACTION):
        extra = [("x-api-key", key)] if key else []
        status, answer = post(json_body=body, headers=[*headers, *extra])
        assert status == 200, answer  # Tencent answers every call with HTTP 200
        return answer["Response"]

    return send


def assert_error(response, code):
    assert response["Error"]["Code"] == code, response
    assert response["Error"]["Message"] and response["RequestId"]
    assert "TextDetections" not in response


def test_success_has_tencents_fields_and_types(call):
    response = call({"ImageBase64": PHOTOTEST_B64})
    assert set(response) == {"TextDetections", "Angle", "Angel", "RequestId"}
    assert isinstance(response["Angle"], float) and response["RequestId"]
    detections = response["TextDetections"]
    assert cer("\n".join(d["DetectedText"] for d in detections), data_truth("tesseract-test/phototest.tif")) <= 0.02
    first = detections[0]
    assert set(first) == {
        "DetectedText",
        "Confidence",
        "Polygon",
        "AdvancedInfo",
        "ItemPolygon",
        "Words",
        "WordCoordPoint",
    }
    assert isinstance(first["Confidence"], int) and 50 <= first["Confidence"] <= 100
    assert [set(point) for point in first["Polygon"]] == [{"X", "Y"}] * 4
    box = first["ItemPolygon"]
    assert set(box) == {"X", "Y", "Width", "Height"}
    assert first["Polygon"][0] == {"X": box["X"], "Y": box["Y"]}
    assert json.loads(first["AdvancedInfo"]) == {"Parag": {"ParagNo": 1}}
    assert json.loads(detections[4]["AdvancedInfo"]) == {"Parag": {"ParagNo": 2}}
    assert first["Words"][0] == {"Confidence": first["Words"][0]["Confidence"], "Character": "This"}
    assert len(first["WordCoordPoint"]) == len(first["Words"])
    assert len(first["WordCoordPoint"][0]["WordCoordinate"]) == 4


def test_image_url_wins_over_base64(call, reconfigure, image_server):
    reconfigure(url_allowed_networks=("127.0.0.1/32",))
    blank = base64.b64encode(encode(Image.new("L", (40, 20), 255), "PNG")).decode()
    response = call({"ImageUrl": image_server.url("/phototest.tif"), "ImageBase64": blank})
    assert response["TextDetections"][0]["DetectedText"].startswith("This is")


def test_pdf_page(call):
    pdf = io.BytesIO()
    blank = Image.new("L", (640, 480), 255)
    blank.save(pdf, format="PDF", save_all=True, append_images=[Image.open(io.BytesIO(PHOTOTEST))])
    encoded = base64.b64encode(pdf.getvalue()).decode()
    response = call({"ImageBase64": encoded, "IsPdf": True, "PdfPageNumber": 2})
    assert response["TextDetections"][0]["DetectedText"].startswith("This is")
    assert_error(call({"ImageBase64": encoded}), "FailedOperation.ImageDecodeFailed")
    assert_error(
        call({"ImageBase64": encoded, "IsPdf": True, "PdfPageNumber": 5}),
        "InvalidParameterValue.InvalidParameterValueLimit",
    )


def test_single_line_and_multilingual_modes(call):
    line = Image.open(io.BytesIO(PHOTOTEST)).crop((30, 85, 600, 128))
    response = call({"ImageBase64": base64.b64encode(encode(line, "PNG")).decode(), "EnableDetectText": False})
    assert len(response["TextDetections"]) == 1
    response = call({"ImageBase64": PHOTOTEST_B64, "ConfigID": "MulOCR", "EnableDetectSplit": True, "IsWords": True})
    assert response["TextDetections"][0]["DetectedText"].startswith("This is")


def test_event_file(invoke):
    body = json.loads(invoke(load_event("tencent-general-accurate-ocr"))["body"])
    assert body["Response"]["TextDetections"][0]["DetectedText"].startswith("This is")


@pytest.mark.parametrize(
    "body, code",
    [
        ({}, "InvalidParameterValue.InvalidParameterValueLimit"),
        ({"ImageBase64": PHOTOTEST_B64, "ConfigID": "Other"}, "InvalidParameterValue.InvalidParameterValueLimit"),
        ({"ImageBase64": "%%%"}, "InvalidParameterValue.InvalidParameterValueLimit"),
        ({"ImageBase64": PHOTOTEST_B64, "Scene": "doc"}, "UnknownParameter"),
        ({"ImageBase64": ""}, "FailedOperation.EmptyImageError"),
        ({"ImageBase64": base64.b64encode(b"plain text").decode()}, "FailedOperation.ImageDecodeFailed"),
        (
            {"ImageBase64": base64.b64encode(encode(Image.new("L", (300, 100), 255), "PNG")).decode()},
            "FailedOperation.ImageNoText",
        ),
        (
            {"ImageBase64": base64.b64encode(encode(Image.new("1", (10_000, 10_000), 1), "PNG")).decode()},
            "FailedOperation.ImageSizeTooLarge",
        ),
    ],
    ids=[
        "no-image",
        "bad-config",
        "bad-base64",
        "unknown-parameter",
        "empty",
        "not-an-image",
        "no-text",
        "too-many-pixels",
    ],
)
def test_request_and_image_errors(call, body, code):
    assert_error(call(body), code)


def test_unknown_action(call):
    assert_error(call({"ImageBase64": PHOTOTEST_B64}, headers=[("X-TC-Action", "GeneralBasicOCR")]), "InvalidAction")
    assert_error(call({"ImageBase64": PHOTOTEST_B64}, headers=[]), "InvalidAction")


def test_size_download_and_engine_errors(call, reconfigure, image_server, tmp_path):
    reconfigure(max_image_bytes=20_000, url_allowed_networks=("127.0.0.1/32",))
    assert_error(call({"ImageBase64": PHOTOTEST_B64}), "LimitExceeded.TooLargeFileError")
    assert_error(call({"ImageUrl": image_server.url("/missing")}), "FailedOperation.DownLoadError")
    reconfigure(engine=engine_setting(Crashes))
    assert_error(call({"ImageBase64": PHOTOTEST_B64}), "FailedOperation.OcrFailed")
    reconfigure(engine=engine_setting(Hangs), max_recognition_seconds=1)
    assert_error(call({"ImageBase64": PHOTOTEST_B64}), "FailedOperation.EngineRecognizeTimeout")
    reconfigure(tessdata_dir=str(tmp_path / "no-models"))
    assert_error(call({"ImageBase64": PHOTOTEST_B64}), "InternalError")


def test_key_errors(call, add_key, add_plan, service):
    assert_error(call({"ImageBase64": PHOTOTEST_B64}, key=None), "AuthFailure.SecretIdNotFound")
    assert_error(call({"ImageBase64": PHOTOTEST_B64}, key="unknown-key-0000000"), "AuthFailure.SecretIdNotFound")
    disabled = add_key("k-tc-disabled-000000", status=KeyStatus.DISABLED)
    assert_error(call({"ImageBase64": PHOTOTEST_B64}, key=disabled), "AuthFailure.UnauthorizedOperation")
    small = base64.b64encode(encode(Image.new("L", (40, 20), 255), "PNG")).decode()
    limited = add_key("k-tc-one-per-second", plan=add_plan("one-a-second", requests_per_second=1))
    service.access.clock = lambda: 99.0
    call({"ImageBase64": small}, key=limited)
    assert_error(call({"ImageBase64": small}, key=limited), "RequestLimitExceeded")
    quota = add_key("k-tc-quota-one-000000", plan=add_plan("one-call", trial_calls=1))
    service.access.clock = lambda: 100.0
    call({"ImageBase64": small}, key=quota)
    assert_error(call({"ImageBase64": small}, key=quota), "ResourcesSoldOut.ChargeStatusException")
