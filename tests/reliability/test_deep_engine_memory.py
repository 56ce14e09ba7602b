"""The deep engine within its memory on every hostile page that reaches it: each page of the
bad-input corpus that the API function would send on (decoded and held to the limits as its page
workers do it), and pages at the limits of shape, read by the real handler in a local instance
capped at the template's memory, as Lambda caps it. Each answer's instance peak is printed."""

from __future__ import annotations

import base64
import json
import time

import pytest
from PIL import Image, ImageDraw, ImageFont

from corpus import CASES, SUCCESS_CODES, TENCENT, UNIVERSAL, Target, expected
from helpers import encode, transparent_40_megapixel_png
from ocr_api.errors import ServiceError
from ocr_api.ocr import ImageLimits, prepare_image
from ocr_api.ocr.page_transfer import encode_page
from ocr_api.ocr.ppocr import PAGE_SIDE
from ocr_api.ocr.recognizer import MIN_TEXT_SIDE
from ocr_local.lambda_endpoint import LocalLambdaEndpoint
from ocr_local.lambda_runtime import LambdaInstances
from ocr_local.template import FunctionSpec

pytestmark = [pytest.mark.ppocr, pytest.mark.reliability, pytest.mark.slow]

LIMITS = ImageLimits(max_bytes=10 * 1024 * 1024, max_pixels=40_000_000)


def text_page(width: int, height: int) -> bytes:
    """Lines of text filling a page of that shape."""
    image = Image.new("L", (width, height), 255)
    size = max(6, min(width, height, 60) * 0.6)
    font = ImageFont.load_default(size=size)
    line = "Total due 4217 EUR, paid. " * max(1, int(width / (size * 13)))
    draw = ImageDraw.Draw(image)
    for top in range(0, max(1, height - int(size)), int(size * 1.6)):
        draw.text((2, top), line, fill=0, font=font)
    return encode(image, "PNG")


def hostile_pages() -> dict[str, bytes]:
    """Every image of the corpus that is read (the others are refused, or stopped while decoding,
    before any engine), and pages at the limits the core lets through."""
    pages = {}
    for case in CASES:
        if expected(case.name, UNIVERSAL) != (200, SUCCESS_CODES[UNIVERSAL]):
            continue
        request = case.build(TENCENT, Target("k", "http://127.0.0.1:1"))
        if request is None or not request.body.startswith(b"{"):
            continue
        try:
            encoded = json.loads(request.body).get("ImageBase64")
        except ValueError:
            continue  # a body built to be malformed
        if isinstance(encoded, str):
            pages[case.name] = base64.b64decode(encoded.split(",")[-1] + "===", validate=False)
    pages.update(
        {
            "line 100:1 (4000x40)": text_page(4000, 40),
            "column 1:100 (40x4000)": text_page(40, 4000),
            "line 100:1 (32000x320)": text_page(32000, 320),
            "strip 100:1 (800x8)": text_page(800, MIN_TEXT_SIDE),
            "dense 2000x2000": text_page(2000, 2000),
            "transparent 40 megapixels": transparent_40_megapixel_png("RGBA"),
        }
    )
    return pages


def deep_engine_events() -> dict[str, dict]:
    """The Invoke events the API function would send for each page that reaches the deep engine."""
    events = {}
    for name, data in hostile_pages().items():
        try:
            page = prepare_image(data, LIMITS, pdf_page=1, max_recognition_pixels=12_000_000)
        except ServiceError:
            continue  # refused before any engine
        if min(page.image.size) < MIN_TEXT_SIDE:
            continue  # read as no text, with no engine
        encoded, _ = encode_page(page, PAGE_SIDE)
        for layout in ("auto", "single_line"):
            events[f"{name}, {layout}"] = {
                "page": base64.b64encode(encoded).decode(),
                "languages": "chi_sim+eng",
                "layout": layout,
                "seconds": 25,
            }
    return events


@pytest.fixture(scope="module")
def measured_deep_engine(spec):
    deep = spec.functions["DeepEngineFunction"]
    measured = FunctionSpec(
        logical_id="MeasuredDeepEngine",
        handler="local_functions.deep_engine_measured",
        timeout_seconds=deep.timeout_seconds,
        memory_mb=deep.memory_mb,
        environment={},
        package_type=deep.package_type,
    )
    instances = LambdaInstances(measured, {}, 1)
    # Invoked directly, not over HTTP: the endpoint answers as Lambda does, its port unused.
    endpoint = LocalLambdaEndpoint(("127.0.0.1", 0), {measured.logical_id: instances})
    yield measured, endpoint
    endpoint.server_close()
    instances.close()


def test_the_deep_engine_stays_within_its_memory_on_every_hostile_page(measured_deep_engine, capsys):
    function, endpoint = measured_deep_engine
    assert function.package_type == "Image" and function.memory_mb == 3008
    events = deep_engine_events()
    assert len(events) >= 24
    rows = []
    for name, event in events.items():
        started = time.monotonic()
        status, headers, answer = endpoint.invoke(function.logical_id, event)
        # Every page is answered by the handler itself (lines, or its own error), never by
        # Lambda stopping the instance
        assert status == 200 and "X-Amz-Function-Error" not in headers, (name, answer)
        assert "lines" in answer or answer["error"]["kind"] in ("RecognitionTimedOut", "RecognitionFailed"), answer
        rows.append((name, answer["peak_mb"], time.monotonic() - started))
    with capsys.disabled():
        print("\ndeep engine, peak resident MB of its instance so far, seconds:")
        for name, peak, seconds in rows:
            print(f"  {name}: {peak} MB, {seconds:.1f} s")
    assert max(peak for _, peak, _ in rows) < function.memory_mb
