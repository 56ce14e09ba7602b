"""Files past the request limit, over HTTP: POST /v1/uploads, the file sent to S3 (the local
server's moto, with S3's checks of the form) with the form as answered, then read by upload_id."""

from __future__ import annotations

import io
import json
import random
import re
import subprocess

import pytest
from PIL import Image

from helpers import data_image, data_truth, encode
from ocr_tools.scoring import cer
from upload_forms import offer, read_upload, send_to_s3, uploaded, uploaded_with_form

pytestmark = pytest.mark.http

RECEIPT = "sroie/000.jpg"


def phone_photo_of_9_mb() -> bytes:
    """The receipt photographed on a table: 12 megapixels with grain, about 9 MB as a JPEG,
    twice what a request through API Gateway can carry."""
    receipt = Image.open(io.BytesIO(data_image(RECEIPT))).convert("RGB")
    table = Image.merge("RGB", [Image.effect_noise((4000, 3000), 60).point(lambda v: v * 0.6 + 50) for _ in range(3)])
    receipt = receipt.resize((receipt.width * 2900 // receipt.height, 2900), Image.Resampling.LANCZOS)
    grain = Image.merge("RGB", [Image.effect_noise(receipt.size, 40) for _ in range(3)])
    table.paste(Image.blend(receipt, grain, 0.08), ((table.width - receipt.width) // 2, 50))
    return encode(table, "JPEG", quality=96)


def test_the_printed_upload_example_reads_the_demo_image(local_server):
    # GIVEN the three lines the server printed, run as printed
    lines = re.search(r"read it by upload_id:\n((?:  .*\n){3})", local_server.banner)[1]
    output = subprocess.run(["bash", "-c", lines], capture_output=True, text=True, timeout=120)
    # THEN the last one answers with the demo image's text
    body = json.loads(output.stdout.strip().splitlines()[-1])
    assert body["code"] == 0, output
    assert body["results"][0]["blocks"][0]["text"] == "图片文字识别 OCR 示例"


def test_a_photo_twice_what_a_request_carries_is_uploaded_then_read_by_reference(local_server):
    # GIVEN a 9 MB photo, uploaded straight to S3 with the answered form
    photo = phone_photo_of_9_mb()
    assert 8_000_000 < len(photo) < 12_000_000
    upload_id = uploaded(local_server, local_server.appkey, photo)
    # WHEN it is read by upload_id
    status, body = read_upload(local_server, local_server.appkey, upload_id)
    # THEN the receipt's text comes back, in the photo's own pixels
    assert status == 200, body
    [result] = body["results"]
    assert (result["image_name"], result["width"], result["height"]) == (upload_id, 4000, 3000)
    assert cer(result["text"], data_truth(RECEIPT), ignore_case=True) < 0.15


def test_a_page_of_a_30_mb_pdf_is_read_by_reference(local_server):
    # GIVEN a 30-page scanned PDF of about 30 MB: the receipt on page 17, noise elsewhere
    noise = random.Random(7)
    pages = [Image.effect_noise((1240, 1754), 60 + noise.randrange(20)).convert("RGB") for _ in range(30)]
    pages[16] = Image.open(io.BytesIO(data_image(RECEIPT))).convert("RGB")
    document = io.BytesIO()
    pages[0].save(document, "PDF", save_all=True, append_images=pages[1:], resolution=150, quality=75)
    assert len(document.getvalue()) > 25_000_000
    upload_id = uploaded(local_server, local_server.appkey, document.getvalue(), "application/pdf")
    # WHEN page 17 is read by upload_id
    status, body = read_upload(local_server, local_server.appkey, upload_id, pdf_page="17", engine="tesseract")
    # THEN it is the receipt
    assert status == 200, body
    assert cer(body["results"][0]["text"], data_truth(RECEIPT), ignore_case=True) < 0.2


def test_s3_refuses_a_file_over_the_maximum_and_one_of_another_type(local_server):
    status, answer = offer(local_server, local_server.appkey)
    assert status == 201 and answer["max_bytes"] == 50 * 1024 * 1024
    status, error = send_to_s3(answer["upload"], b"\xff\xd8" + b"\0" * answer["max_bytes"])
    assert (status, "<Code>EntityTooLarge</Code>" in error) == (400, True)
    other_type = {**answer["upload"], "fields": {**answer["upload"]["fields"], "Content-Type": "text/html"}}
    assert send_to_s3(other_type, data_image(RECEIPT))[0] == 403
    # AND nothing was stored under the upload's id
    status, body = read_upload(local_server, local_server.appkey, answer["upload_id"])
    assert (status, body["error"]) == (404, "upload_not_found")


def test_another_key_can_neither_read_an_upload_nor_send_to_its_form(local_server):
    # GIVEN a file the demo key uploaded, and a second key
    first = uploaded_with_form(local_server, local_server.appkey, data_image(RECEIPT))
    upload_id = first["upload_id"]
    other_key, _ = local_server.create_key("another tenant", plan="standard")
    # THEN the other key is told there is no such upload, and is not charged
    status, body = read_upload(local_server, other_key, upload_id)
    assert (status, body["error"]) == (404, "upload_not_found")
    # AND its own form cannot be pointed at the first key's object
    status, answer = offer(local_server, other_key)
    first_keys_object = first["upload"]["fields"]["key"]
    tampered = {**answer["upload"], "fields": {**answer["upload"]["fields"], "key": first_keys_object}}
    assert send_to_s3(tampered, b"overwrite")[0] == 403
    status, body = read_upload(local_server, local_server.appkey, upload_id, engine="tesseract")
    assert status == 200 and body["results"][0]["text"]


def test_an_upload_request_names_a_type_the_api_reads(local_server):
    status, body = offer(local_server, local_server.appkey, "text/html")
    assert (status, body["error"]) == (400, "invalid_request")
    assert "content_type must be one of" in body["message"]
