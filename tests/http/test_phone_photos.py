"""Phone photos as phones save them (HEIC, AVIF), read over HTTP on every endpoint like their JPEG."""

from __future__ import annotations

import base64
import io
import json

import pytest
from PIL import Image

from helpers import data_image, encode
from ocr_local.forms import multipart_form

pytestmark = pytest.mark.http

PHOTO = "zh-rendered/photo_03.jpg"


def as_a_phone_saves_it(format: str) -> bytes:
    """The photo stored the way a phone held upright stores it: pixels as the sensor lies, a
    quarter turn to the left, and the turn to show it upright in EXIF (HEIF writes it as the
    container's own rotation)."""
    upright = Image.open(io.BytesIO(data_image(PHOTO))).convert("RGB")
    exif = Image.Exif()
    exif[0x0112] = 6  # turn 90° clockwise to display
    return encode(upright.rotate(90, expand=True), format, quality=90, exif=exif.tobytes())


def read_on(server, endpoint: str, image: bytes) -> list[str]:
    """The lines one endpoint answers for the image, each through its own request shape."""
    key = server.appkey
    if endpoint == "gugudata-v1":
        status, answer = server.upload(image, filename="photo")
        assert (status, answer["DataStatus"]["statusCode"]) == (200, 100), answer
        return answer["Data"]["resultText"]
    if endpoint == "gugudata-legacy":
        content_type, body = multipart_form(files=[("imagefile", "photo", "image/heic", image)])
        path = "/imagerecognition/imagestreamocr"
        status, answer = server.request("POST", path, body, {"Content-Type": content_type}, query=[("appkey", key)])
        assert (status, answer["DataStatus"]["StatusCode"]) == (200, 100), answer
        return answer["Data"]["ResultText"]
    if endpoint == "tupu":
        content_type, body = multipart_form(files=[("image", "photo", "image/heic", image)])
        path = "/v3/recognition/general-ocr"
        status, answer = server.request("POST", path, body, {"Content-Type": content_type}, query=[("key", key)])
        assert (status, answer["code"]) == (200, 0), answer
        return [item["text"] for item in answer["data"]["fileList"][0]["objects"]]
    if endpoint == "tencent":
        document = json.dumps({"ImageBase64": base64.b64encode(image).decode()}).encode()
        headers = {
            "Content-Type": "application/json",
            "X-TC-Action": "GeneralAccurateOCR",
            "X-TC-Version": "2018-11-19",
            "x-api-key": key,
        }
        status, answer = server.request("POST", "/", document, headers)
        assert status == 200 and "Error" not in answer["Response"], answer
        return [item["DetectedText"] for item in answer["Response"]["TextDetections"]]
    content_type, body = multipart_form(files=[("file", "photo", "image/heic", image)])
    status, answer = server.request("POST", "/v1/ocr/universal", body, {"Content-Type": content_type, "x-api-key": key})
    assert (status, answer["code"]) == (200, 0), answer
    return [block["text"] for block in answer["results"][0]["blocks"]]


@pytest.fixture(scope="module")
def jpeg_lines() -> dict[str, list[str]]:
    """Each endpoint's reading of the JPEG, read once for both phone formats."""
    return {}


@pytest.mark.parametrize("format", ["HEIF", "AVIF"])
@pytest.mark.parametrize("endpoint", ["gugudata-v1", "gugudata-legacy", "tupu", "tencent", "universal"])
def test_a_phone_photo_reads_like_its_jpeg(local_server, jpeg_lines, endpoint, format):
    # GIVEN the photo as a JPEG, and as a phone saves it: HEIC (or AVIF), stored turned
    if endpoint not in jpeg_lines:
        jpeg_lines[endpoint] = read_on(local_server, endpoint, data_image(PHOTO))
    # WHEN the phone's file is sent to the same endpoint
    phone_lines = read_on(local_server, endpoint, as_a_phone_saves_it(format))
    # THEN it is read upright, to the same text
    assert jpeg_lines[endpoint] and phone_lines == jpeg_lines[endpoint]
