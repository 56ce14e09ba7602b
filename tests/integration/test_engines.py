"""Choosing the engine: tesseract, ppocr or auto, through the real handler, with the deep-learning
engine's function answering boto3's real Invoke calls on loopback; and the function itself."""

from __future__ import annotations

import base64
import json

import pytest
from PIL import Image

from dialects import poster
from helpers import data_image, data_truth
from ocr_api.handlers import deep_engine as deep_engine_function
from ocr_api.ocr.deadline import deadline_in
from ocr_api.ocr.images import ImageLimits, prepare_image
from ocr_api.ocr.page_transfer import MAX_PAGE_BYTES, decode_page, encode_page, lines_on_upload
from ocr_api.ocr.ppocr import PAGE_SIDE, PpOcr
from ocr_local.events import EVENTS_APPKEY
from ocr_local.lambda_runtime import LocalLambdaContext
from ocr_tools.scoring import cer

pytestmark = [pytest.mark.tesseract, pytest.mark.ppocr]

PATH = "/v1/ocr/universal"
RECEIPT = "sroie/036.jpg"
CLEAN_PAGE = "tesseract-test/phototest.tif"


@pytest.fixture
def deep_service(reconfigure, with_deep_engine):
    """The handler of a deployment with the deep-learning engine, its default engine auto."""
    return reconfigure(
        deep_engine_function=with_deep_engine.deep_engine_function,
        lambda_endpoint_url=with_deep_engine.lambda_endpoint_url,
    )


@pytest.fixture
def call(invoke, spec):
    post = poster(invoke, spec, PATH)

    def send(image: str, key=EVENTS_APPKEY, **fields):
        return post(
            headers=[("x-api-key", key)],
            files=[("file", image.rsplit("/", 1)[-1], "application/octet-stream", data_image(image))],
            fields=list(fields.items()),
        )

    return send


def reading(answer) -> tuple[str, str]:
    status, body = answer
    assert status == 200, body
    [result] = body["results"]
    return result["engine"], result["text"]


def test_ppocr_reads_a_receipt_better_than_tesseract(deep_service, call):
    engine, deep_text = reading(call(RECEIPT, engine="ppocr"))
    assert engine == "ppocr"
    _, tesseract_text = reading(call(RECEIPT, engine="tesseract"))
    truth = data_truth(RECEIPT)
    assert cer(deep_text, truth, ignore_case=True) < 0.08 < cer(tesseract_text, truth, ignore_case=True)


def test_auto_reads_a_receipt_as_well_as_ppocr_naming_the_engine_of_each_line(deep_service, call):
    status, body = call(RECEIPT)
    [result] = body["results"]
    assert status == 200 and result["engine"] == "ppocr"
    assert cer(result["text"], data_truth(RECEIPT), ignore_case=True) < 0.08
    assert {block["engine"] for block in result["blocks"]} <= {"tesseract", "ppocr"}


@pytest.mark.slow
def test_auto_reads_columns_in_tesseracts_order_better_than_either_engine_alone(deep_service, call):
    # GIVEN a two-column magazine page: PP-OCR reads its lines better, but across the columns
    page = "tesseract-test/8087_054.3B.tif"
    truth = data_truth(page)
    errors = {engine: cer(reading(call(page, engine=engine))[1], truth) for engine in ("auto", "tesseract", "ppocr")}
    # THEN auto keeps Tesseract's column order with the better line readings
    assert errors["auto"] < errors["tesseract"] < errors["ppocr"], errors


def test_ppocr_reads_a_turned_page_upright_with_boxes_on_the_upload(deep_service, call):
    # GIVEN the clean page turned a quarter (PP-OCR alone reads it as nonsense)
    status, body = call("tesseract-test/phototest-rotated-L.png", engine="ppocr")
    [result] = body["results"]
    # THEN it was turned upright first, and every box lies on the uploaded (turned) pixels
    assert result["engine"] == "ppocr" and result["angle"] in (90.0, -90.0, 270.0)
    assert cer(result["text"], data_truth(CLEAN_PAGE)) < 0.02
    for block in result["blocks"]:
        assert 0 <= block["x"] and block["x"] + block["width"] <= result["width"] + 2
        assert 0 <= block["y"] and block["y"] + block["height"] <= result["height"] + 2
        assert block["height"] > block["width"]  # lines of a page turned a quarter stand upright


def test_languages_ppocr_does_not_read_go_to_tesseract_under_auto(deep_service, call):
    assert reading(call(RECEIPT, languages="eng+chi_sim_vert"))[0] == "tesseract"


@pytest.mark.parametrize(
    "fields, says",
    [
        ({"engine": "ppocr", "languages": "chi_sim_vert"}, "ppocr engine reads"),
        ({"engine": "paddle"}, "engine must be one of"),
    ],
)
def test_bad_engine_requests_are_400(deep_service, call, fields, says):
    status, body = call(CLEAN_PAGE, **fields)
    assert status == 400 and body["error"] == "invalid_request" and says in body["message"], body


def test_ppocr_where_it_is_not_deployed_is_400_and_not_charged(service, call, store):
    status, body = call(CLEAN_PAGE, engine="ppocr")
    assert status == 400 and "not deployed" in body["message"]
    assert call(CLEAN_PAGE)[0] == 200  # auto is Tesseract alone here
    assert reading(call(CLEAN_PAGE, engine="auto"))[0] == "tesseract"


# The deep-learning engine's function, called as the API function calls it.


def test_the_function_reads_the_page_it_is_sent(spec):
    page = prepare_image(data_image(RECEIPT), ImageLimits(10_000_000, 40_000_000))
    data, size = encode_page(page, PAGE_SIDE)
    answer = deep_engine_function.handler(
        {"page": base64.b64encode(data).decode(), "languages": "eng", "layout": "auto", "seconds": 20},
        LocalLambdaContext(spec.functions["DeepEngineFunction"]),
    )
    text = "\n".join(line["text"] for line in answer["lines"])
    assert size == page.image.size and answer["angle"] == 0
    assert cer(text, data_truth(RECEIPT), ignore_case=True) < 0.08


@pytest.mark.parametrize(
    "event",
    [
        {},
        {"page": "not base64!", "languages": "eng", "seconds": 5},
        {"page": base64.b64encode(b"GIF89a not a page").decode(), "languages": "eng", "seconds": 5},
        {"page": "", "languages": "eng", "layout": "sideways", "seconds": 5},
    ],
)
def test_the_function_refuses_what_the_api_function_never_sends(spec, event):
    answer = deep_engine_function.handler(event, LocalLambdaContext(spec.functions["DeepEngineFunction"]))
    assert answer["error"]["kind"] == "RecognitionFailed"
    assert "/" not in json.dumps(answer)


def test_a_40_megapixel_photo_travels_under_the_invoke_limit():
    # GIVEN the biggest page the service reads: 12 megapixels after scaling, noisy colour
    noisy = Image.effect_noise((4000, 3000), 80).convert("RGB")
    page = prepare_image(_jpeg(noisy), ImageLimits(50_000_000, 40_000_000), max_recognition_pixels=12_000_000)
    # WHEN it is encoded for the deep engine THEN it fits in Invoke's payload as base64
    data, size = encode_page(page, PAGE_SIDE)
    assert len(base64.b64encode(data)) < 6 * 1024 * 1024 and len(data) <= MAX_PAGE_BYTES
    decoded = decode_page(data, PAGE_SIDE * PAGE_SIDE)
    assert decoded.image.size == size == (PAGE_SIDE, PAGE_SIDE * 3 // 4)


def test_lines_read_on_a_smaller_copy_come_back_where_they_are_on_the_page():
    # GIVEN the page read whole, and read from a copy sent at half its size
    page = prepare_image(data_image(CLEAN_PAGE), ImageLimits(10_000_000, 40_000_000))
    engine = PpOcr()
    whole = engine.read_lines(page, "eng", deadline_in(20))
    half, size = encode_page(page, max(page.image.size) // 2)
    back = lines_on_upload(engine.read_lines(decode_page(half, 10**6), "eng", deadline_in(20)), size, page.image.size)
    # THEN the lines found on both lie in the same places, within a few pixels
    assert size[0] == page.image.size[0] // 2 and [line.text for line in back][:3] == [line.text for line in whole][:3]
    for mine, theirs in zip(back[:3], whole[:3]):
        assert abs(mine.box.left - theirs.box.left) <= 6 and abs(mine.box.top - theirs.box.top) <= 6
        assert abs(mine.box.width - theirs.box.width) <= 12


def _jpeg(image) -> bytes:
    import io

    buffer = io.BytesIO()
    image.save(buffer, "JPEG", quality=90)
    return buffer.getvalue()
