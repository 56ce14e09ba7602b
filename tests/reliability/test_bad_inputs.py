"""Every case of the bad-input corpus against every endpoint, over real HTTP.

Each answer must carry exactly the HTTP status and business code the docs give (docs/reliability.md's
table is ``corpus.EXPECTED``), in the dialect's own JSON envelope, with a message that says what was
wrong and nothing of the service's insides; each success must carry the right text.
"""

from __future__ import annotations

import json
import re
from concurrent.futures import ThreadPoolExecutor

import pytest

from corpus import (
    NO_TEXT,
    SUCCESS_CODES,
    TENCENT,
    TUPU,
    UNIVERSAL,
    V1,
    Case,
    HttpRequest,
    Target,
    expected,
    pairs,
)
from ocr_tools.api_clients import ENDPOINTS, Answer
from ocr_tools.scoring import cer

pytestmark = [pytest.mark.http, pytest.mark.tesseract, pytest.mark.reliability]

# What must never reach a client: traces, source paths, library exception names, addresses.
INTERNAL_DETAIL = re.compile(
    r"Traceback|File \"|\.py\b|/work/|/tmp/|/var/task|site-packages|Errno|<class |object at 0x"
    r"|PdfiumError|MultipartError|UnidentifiedImageError|DecompressionBomb|PIL\b",
)
# Text recognised from a real page may differ from its ground truth by this much (CER).
PAGE_CER = 0.02


def read_answer(endpoint: str, http_status: int, raw: bytes) -> Answer:
    """The answer read as its dialect writes it; ContractViolation where it is not its envelope."""
    return ENDPOINTS[endpoint].read(http_status, json.loads(raw))


def assert_read_correctly(case: Case, endpoint: str, request: HttpRequest, answer: Answer) -> None:
    assert len(answer.texts) == (request.images if endpoint in (UNIVERSAL, TUPU) else 1)
    for lines in answer.texts:
        if case.reads == NO_TEXT:
            assert not lines, lines
        else:
            assert cer("\n".join(lines), case.reads) <= PAGE_CER, lines
    # Nothing was turned: the page was upright once its EXIF orientation was applied.
    for report in answer.reports or ():
        if endpoint == UNIVERSAL:
            assert report["angle"] == 0.0
            if case.size:
                assert (report["width"], report["height"]) == case.size
        elif endpoint == TUPU:
            assert all(abs(line["degree"]) < 5 for line in report["objects"])
        elif endpoint == TENCENT:
            assert report["Angle"] == 0.0


@pytest.mark.parametrize(("case", "endpoint"), pairs(), ids=[f"{case.name}-{endpoint}" for case, endpoint in pairs()])
def test_each_input_gets_its_documented_answer(case: Case, endpoint: str, request, image_server):
    # GIVEN the input in the endpoint's request format, with a valid key
    server = request.getfixturevalue("strict_local_server" if case.strict else "local_server")
    http_request = case.build(endpoint, Target(server.appkey, image_server.base_url))

    # WHEN it is sent over HTTP
    status, headers, raw = server.send(
        "POST", http_request.path, http_request.body, http_request.headers, http_request.query
    )
    content_type = headers.get("Content-Type", "")

    # THEN the answer is the documented status and code, in the dialect's JSON envelope (an input
    # that held the function to its deadline would get the deadline's answer instead)
    assert content_type.startswith("application/json")
    answer = read_answer(endpoint, status, raw)
    assert (status, answer.code) == expected(case.name, endpoint), answer.message
    # AND it shows nothing of the service's insides, nor the key
    text = raw.decode("utf-8")
    assert not INTERNAL_DETAIL.search(text), text[:500]
    assert server.appkey not in text
    # AND a success carries the page's text; an error says what was wrong
    if answer.code == SUCCESS_CODES[endpoint]:
        assert_read_correctly(case, endpoint, http_request, answer)
    else:
        assert re.search(case.message_pattern(endpoint), answer.message, re.IGNORECASE), answer.message


def test_the_instances_answer_right_after_a_page_is_stopped(local_server):
    # GIVEN a page that keeps the decoder busy until its worker is stopped
    from corpus import PATHS, Target, jpeg_with_many_scans, upload
    from ocr_local.template import PROJECT_ROOT

    target = Target(local_server.appkey, "http://127.0.0.1:1")
    stopped = upload(V1, target, jpeg_with_many_scans(), "scans.jpg", "image/jpeg")
    status, _, raw = local_server.send("POST", stopped.path, stopped.body, stopped.headers, stopped.query)
    assert status == 503, raw
    # WHEN the demo is asked for, and two real pages are read at once (one per local instance)
    demo_status, _, demo = local_server.send("GET", PATHS[V1] + "/demo", b"", (), ())
    demo_image = (PROJECT_ROOT / "functions" / "ocr_api" / "service" / "demo.png").read_bytes()
    page = upload(V1, target, demo_image, "demo.png")
    with ThreadPoolExecutor(max_workers=2) as clients:
        answers = list(
            clients.map(lambda _: local_server.send("POST", page.path, page.body, page.headers, page.query), range(2))
        )
    # THEN every answer is a success with the demo's text
    assert demo_status == 200 and "OCR" in demo.decode()
    for status, _, raw in answers:
        assert status == 200 and "Image to text in one API call" in raw.decode(), raw
