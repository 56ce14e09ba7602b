"""The API against openapi.yaml, by schemathesis over real HTTP to the local server.

Every operation of the document the local server serves gets schemathesis's examples, coverage
and fuzzing requests, valid and invalid (fuzzing examples per operation: the hypothesis profile
in conftest.py; ``HYPOTHESIS_PROFILE=long`` for the longer search). No answer may be a 5xx, and
every answer's status, content type and body must be as documented. Part of the requests carry
the local server's demo appkey, and images that decode (a line of text, a blank page), so they
get past the key check to the function's own checks, decoding and real Tesseract.
"""

from __future__ import annotations

import base64
import functools
import json
import threading
from collections import Counter, defaultdict
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer

import pytest
import schemathesis
from hypothesis import strategies as st
from PIL import Image, ImageDraw, ImageFont
from schemathesis.checks import (
    content_type_conformance,
    not_a_server_error,
    response_schema_conformance,
    status_code_conformance,
)
from schemathesis.transport.serialization import Binary

from helpers import encode

pytestmark = [pytest.mark.http, pytest.mark.tesseract, pytest.mark.reliability, pytest.mark.slow]

CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]
# Body fields that carry an image as base64 or as a URL to download it from.
BASE64_FIELDS = {"image_base64", "ImageBase64"}
URL_FIELDS = {"url", "ImageUrl", "image"}


def _tiny_images() -> dict[str, bytes]:
    """A line of text in PNG and JPEG, and a blank PNG: each read by Tesseract in a moment."""
    page = Image.new("L", (150, 36), 255)
    ImageDraw.Draw(page).text((6, 5), "OCR 2026", font=ImageFont.load_default(size=22), fill=0)
    return {
        "text.png": encode(page, "PNG"),
        "text.jpg": encode(page, "JPEG", quality=90),
        "blank.png": encode(Image.new("L", (24, 16), 255), "PNG"),
    }


TINY_IMAGES = _tiny_images()


class _QuietFileHandler(SimpleHTTPRequestHandler):
    def log_message(self, *args) -> None:
        pass


@pytest.fixture(scope="module")
def image_urls(tmp_path_factory):
    """The tiny images over HTTP on 127.0.0.1, which the local server may download from."""
    directory = tmp_path_factory.mktemp("tiny-images")
    for name, data in TINY_IMAGES.items():
        (directory / name).write_bytes(data)
    server = ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(_QuietFileHandler, directory=str(directory)))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield {name: f"http://127.0.0.1:{server.server_port}/{name}" for name in TINY_IMAGES}
    server.shutdown()
    server.server_close()


@pytest.fixture
def answers():
    """What each operation answered: printed (``-s``) and held to having reached recognition."""
    statuses: defaultdict[str, Counter] = defaultdict(Counter)
    successes: Counter = Counter()
    yield statuses, successes
    print("\nschemathesis requests per operation (HTTP status: count):")
    for operation, counts in sorted(statuses.items()):
        print(f"  {operation}: {counts.total()}  {dict(sorted(counts.items()))}, successes {successes[operation]}")
    # Without answers that succeeded, the run never got past the key check or the decoding.
    assert set(successes) == set(statuses), f"operations without a single success: {set(statuses) - set(successes)}"


def _json_or_text(response):
    try:
        return response.json()
    except ValueError:
        return {"code": 0}  # a job's text, the one answer that is not JSON


def is_success(body) -> bool:
    """Whether a 200 answer is a result, not an error in a 200 envelope (gugudata legacy, Tencent)."""
    if "Response" in body:
        return "Error" not in body["Response"]
    if "DataStatus" in body:
        return body["Data"] is not None
    return body.get("code") == 0


@pytest.fixture(scope="module")
def existing_job(local_server, image_urls) -> str:
    """A job of the demo key's, so that the operations on a job reach one."""
    document = json.dumps({"url": image_urls["text.png"], "engine": "tesseract"}).encode()
    status, _, body = local_server.send(
        "POST", "/v1/ocr/jobs", document, {"Content-Type": "application/json", "x-api-key": local_server.appkey}
    )
    assert status == 202, body
    return json.loads(body)["job_id"]


@pytest.fixture(scope="module")
def api_schema(local_server, image_urls, existing_job):
    schema = schemathesis.openapi.from_url(f"{local_server.base_url}/openapi.json")
    encoded = {name: base64.b64encode(data).decode("ascii") for name, data in TINY_IMAGES.items()}
    schemes = schema.raw_schema["components"]["securitySchemes"]

    def with_valid_key(case, image: str | None):
        """The case with the demo appkey wherever the operation takes a key, our image URLs, and
        if it is valid, ``image`` (a name in TINY_IMAGES; None: as generated) in its base64 fields."""
        for requirement in case.operation.definition.raw.get("security", []):
            for scheme in map(schemes.get, requirement):
                if scheme["name"] == "Authorization":
                    continue  # a TC3 signature is made per request, not a key; the appkey does
                part = "headers" if scheme["in"] == "header" else "query"
                if getattr(case, part) is None:
                    setattr(case, part, {})
                getattr(case, part)[scheme["name"]] = local_server.appkey
        if case.path_parameters and "job_id" in case.path_parameters:
            case.path_parameters["job_id"] = existing_job
        if isinstance(case.body, dict) and case.operation.label == "POST /v1/ocr/jobs":
            # A job on our image: a generated upload_id names no upload, a generated callback
            # URL no receiver (both are refused as documented in the negative cases).
            for name in ("upload_id", "callback_url"):
                case.body.pop(name, None)
            case.body["url"] = image_urls["text.png"]
        if isinstance(case.body, dict):
            if "appkey" in case.body:
                case.body["appkey"] = local_server.appkey
            url = image_urls[image or "text.png"]
            base64_image = encoded[image] if image and case.meta.generation.mode.is_positive else None
            for name, value in case.body.items():
                case.body[name] = with_sources(name, value, base64_image, url)
        return case

    @schema.hook
    def map_case(context, case):
        # Coverage and examples are long fixed lists: the invalid requests carry the key, to test
        # what the function refuses; the valid ones (each a Tesseract run with it) test the key check.
        if case.meta is None or case.meta.phase.name == "fuzzing" or case.meta.generation.mode.is_positive:
            return case
        return with_valid_key(case, None)

    @schema.hook
    def flatmap_case(context, case):
        # Fuzzing: about half the requests carry the key; a valid one also some image, or its own.
        if case.meta is None or case.meta.phase.name != "fuzzing":
            return st.just(case)
        choices = st.tuples(st.booleans(), st.sampled_from([None, *encoded]))
        return choices.map(lambda choice: with_valid_key(case, choice[1]) if choice[0] else case)

    return schema


def with_sources(field: str, value, base64_image: str | None, url: str):
    """A body field's value with our image sources in it, in its own shape (one value or a list)."""
    if isinstance(value, list):
        return [with_sources(field, item, base64_image, url) for item in value]
    if isinstance(value, Binary | bytes):
        # File parts and raw bodies: schemathesis sends small real images for image/* itself.
        return value
    if isinstance(value, str) and field in URL_FIELDS:
        # A generated URL would send the server to the internet, where a failed download is a 502.
        return url
    if isinstance(value, str) and field in BASE64_FIELDS and base64_image:
        return base64_image
    return value


@pytest.fixture(autouse=True)
def _node_id_for_schemathesis(request):
    # schemathesis 4.32 reads and renames the test's ``_nodeid``, which pytest 9 no longer has.
    request.node._nodeid = request.node.nodeid


schema = schemathesis.pytest.from_fixture("api_schema")


@schema.parametrize()
def test_the_api_answers_as_documented(case, answers):
    statuses, successes = answers
    response = case.call(timeout=60)
    statuses[case.operation.label][response.status_code] += 1
    case.validate_response(response, checks=CHECKS)
    # 201: an upload offered or a webhook secret made; 202: a job started.
    if response.status_code in (200, 201, 202) and is_success(_json_or_text(response)):
        successes[case.operation.label] += 1
