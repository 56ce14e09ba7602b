"""Fuzzing the handler with hostile requests and damaged images, on every endpoint.

Whatever arrives, the answer must be JSON in the endpoint's documented envelope with a
documented status, never a server-side failure (a 5xx, or the dialect's own code for one), and
must show nothing of the server's insides: ``ocr_tools.fuzz.check_answer``. Every request goes
through the real Lambda handler with the key store in moto and the real Tesseract.

The "ci" profile keeps this bounded and repeatable; ``HYPOTHESIS_PROFILE=long`` searches
further. ``python -m ocr_local fuzz`` is the coverage-guided counterpart (atheris).
"""

from __future__ import annotations

import base64
import io
import json
import logging
import re
import struct
import subprocess
import sys
import time
import zlib
from dataclasses import dataclass
from urllib.parse import quote, urlencode

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st
from PIL import Image

from ocr_api.keys.model import hash_appkey
from ocr_api.ocr.images import ImageLimits, prepare_image
from ocr_local.events import EVENTS_APPKEY
from ocr_local.forms import multipart_form
from ocr_tools.api_clients import ENDPOINTS, Answer, ContractViolation, Endpoint
from ocr_tools.fuzz import (
    FUZZ_APPKEY,
    MAGIC_NUMBERS,
    FuzzRun,
    LoggedTraceback,
    check_answer,
    image_input,
    parsing_input,
    seed_images,
    sent_text,
)

pytestmark = [
    pytest.mark.tesseract,
    pytest.mark.reliability,
    # Damaged images make Pillow warn about every bad tag it skips: expected here, and noise.
    pytest.mark.filterwarnings("ignore::UserWarning:PIL"),
]

ENDPOINT_NAMES = tuple(ENDPOINTS)
LOCAL_NETWORK = ("127.0.0.1/32",)
# Strategies cannot see fixtures: image URLs name the test image server by this placeholder,
# which each request swaps for the server's address. Its /to-private redirects to 10.0.0.1,
# which the fetcher refuses: a real download, and no image to recognise.
IMAGE_SERVER = "http://images.placeholder"


# Parsing is cheap (no Tesseract): more examples, spread over the five endpoints.
PARSING_EXAMPLES_FACTOR = 8


def scaled(factor: int) -> settings:
    """The loaded profile, with ``factor`` times its examples: for tests spread over endpoints."""
    return settings(max_examples=settings.default.max_examples * factor)


@dataclass(frozen=True)
class Request:
    """A request as a client shapes it, made into an API Gateway event for one endpoint."""

    content_type: str | None
    body: bytes = b""
    query: tuple[tuple[str, str], ...] = ()
    headers: tuple[tuple[str, str], ...] = ()
    with_key: bool = True
    # When set, the event's body is this text marked isBase64Encoded, whatever it holds.
    base64_text: str | None = None

    def event(self, endpoint: Endpoint, image_server: str) -> dict:
        def local(text: str) -> str:
            return text.replace(IMAGE_SERVER, image_server)

        event = endpoint.event(
            content_type=self.content_type,
            body=self.body.replace(IMAGE_SERVER.encode(), image_server.encode()),
            query=[(name, local(value)) for name, value in self.query],
            headers=[(name, local(value)) for name, value in self.headers],
            with_key=self.with_key,
        )
        if self.base64_text is not None:
            event["body"], event["isBase64Encoded"] = self.base64_text, True
        return event


@pytest.fixture
def answer(invoke, store, add_plan, reconfigure, image_server):
    """Sends a request to an endpoint through the handler and checks the answer's contract.

    The key (the events/ key, which the service fixture registers) moves to a plan whose rate
    no test reaches: a 429 would hide what lies behind the key. Image URLs may reach the test
    image server on loopback.
    """
    store.set_plan(hash_appkey(FUZZ_APPKEY), add_plan("fuzzing", requests_per_second=100_000), None)
    reconfigure(url_allowed_networks=LOCAL_NETWORK)
    tracebacks = LoggedTraceback()
    service_logger = logging.getLogger("ocr_api")
    service_logger.addHandler(tracebacks)

    def send(endpoint_name: str, request: Request | dict) -> Answer:
        endpoint = ENDPOINTS[endpoint_name]
        event = request if isinstance(request, dict) else request.event(endpoint, image_server.base_url)
        tracebacks.last = None
        response = invoke(event)
        try:
            return check_answer(endpoint, response, sent_text(event))
        except ContractViolation as violation:
            # The handler answers an unexpected error with a bare 500; its trace was logged.
            logged = f"\n\nthe service logged:\n{tracebacks.last}" if tracebacks.last else ""
            raise ContractViolation(f"{endpoint_name}: {violation}{logged}") from None

    yield send
    service_logger.removeHandler(tracebacks)


# --- What hostile clients send ----------------------------------------------------------------

# Every code point but surrogates: what API Gateway can hand over in a header or a query.
TEXT = st.text(max_size=24)
# JSON escapes can carry lone surrogates ("\ud800") into a parsed string: half of these are.
JSON_TEXT = st.text(st.one_of(st.characters(), st.characters(categories=["Cs"])), max_size=24)
ODD_VALUES = (
    "",
    " ",
    "\t",
    "\x00",
    "true",
    "TRUE",
    "False",
    "yes",
    "1",
    "0",
    "-1",
    "+1",
    "01",
    "1.5",
    "\u00b2",
    "\u0661",
    "\U0001d7d9",
    "\u216b",
    "9" * 30,
    "1e400",
    "NaN",
    "Infinity",
    "all",
    "eng",
    "chi_sim+eng",
    "+",
    "eng+",
    "../eng",
    "OCR",
    "MulOCR",
    "null",
    "[]",
    "{}",
    "data:",
    "data:image/png;base64,",
    "data:text/plain;base64,QUJD",
    "data:image/png,raw",
    "data:application/pdf;base64,JVBERi0xLjQK",
    "=",
    "====",
    "QQ",
    "QUJD",
    "_-_-",
    "http://",
    "https://",
    "ftp://example.com/a.png",
    "file:///etc/passwd",
    "http://10.0.0.1/a.png",
    "http://169.254.169.254/latest/meta-data/",
    "http://[::1]/a.png",
    "http://[::ffff:10.0.0.1]/",
    "http://user:secret@10.0.0.1/",
    "http://10.0.0.1:99999/",
    "http://[zz]/",
    "http://[::1/",
    f"{IMAGE_SERVER}/to-private",
    f"{IMAGE_SERVER}/to-metadata",
    EVENTS_APPKEY,
    f" {EVENTS_APPKEY} ",
)
BASE64_TEXTS = st.one_of(
    st.binary(max_size=48).map(lambda data: base64.b64encode(data).decode()),
    st.binary(max_size=48).map(lambda data: base64.urlsafe_b64encode(data).decode().rstrip("=")),
    st.binary(max_size=48).map(lambda data: "data:image/png;base64," + base64.b64encode(data).decode()),
    st.text("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/=-_ \n\r:;,.", max_size=40),
)
# An image URL on the test image server, with whatever a client puts in its query.
IMAGE_SERVER_URLS = TEXT.map(lambda query: f"{IMAGE_SERVER}/to-private?{query}")
VALUES = st.one_of(st.sampled_from(ODD_VALUES), TEXT, BASE64_TEXTS, IMAGE_SERVER_URLS)
# Values near what a field expects: what slips past a check that is almost right.
_NEAR_VALUES = {
    "boolean": ("true", "false", "TRUE", "False", " true ", "1", "0", "yes", "", "tru\u0435"),
    "number": ("1", "2", "0", "-1", "01", "+1", " 1 ", "1.0", "1e3", "0x1", "9" * 30, ""),
    # What str.isdigit() calls a digit and int() may not read: superscripts, other scripts.
    "digits": ("\u00b2", "\u0661", "\U0001d7d9", "\u216b", "\uff11", "\u2460"),
    "text": ("\u4f8b\u5b50", "line\nbreak", "\r\nX-Injected: 1", "tab\there", "\x7f", "\u00e9", "x" * 300, "", " "),
    "language": (
        "eng",
        "chi_sim",
        "osd",
        "eng+eng",
        "+eng",
        "eng+",
        "ENG",
        "../eng",
        "all",
        "ALL",
        "OCR",
        "MulOCR",
        "ocr",
        "",
    ),
}
_FIELD_KINDS = {
    **dict.fromkeys(
        [
            "need_location",
            "return_markdown",
            "enable_cls",
            "single_line",
            "enable_slicing",
            "IsPdf",
            "EnableDetectText",
            "EnableDetectSplit",
            "IsWords",
        ],
        "boolean",
    ),
    **dict.fromkeys(["pdf_page", "PdfPageNumber"], "number"),
    **dict.fromkeys(["languages", "ConfigID"], "language"),
    **dict.fromkeys(["tag", "image_name", "referer", "appkey"], "text"),
}


def field_values(name: str) -> st.SearchStrategy[str]:
    """Mostly a value near what the field expects; else anything."""
    kind = _FIELD_KINDS.get(name)
    if kind is None:
        return VALUES
    near = st.sampled_from(_NEAR_VALUES[kind])
    if kind == "text":
        near = st.one_of(near, TEXT, IMAGE_SERVER_URLS)
    elif kind == "number":
        near = st.one_of(near, st.sampled_from(_NEAR_VALUES["digits"]))
    return st.one_of(near, near, VALUES)


ALL_FIELDS = sorted({name for endpoint in ENDPOINTS.values() for name in endpoint.fields} | {"appkey", "key"})
# Not images, though some start like one: the parsing tests never wait for Tesseract.
NOT_IMAGES = st.one_of(
    st.binary(min_size=1, max_size=64),
    st.tuples(st.sampled_from(MAGIC_NUMBERS), st.binary(max_size=32)).map(b"".join),
)


def field_names(endpoint: Endpoint) -> st.SearchStrategy[str]:
    own = st.sampled_from(endpoint.fields)
    # Mostly the endpoint's own fields, so that their values get checked, not only their names.
    return st.one_of(own, own, own, st.sampled_from(ALL_FIELDS), TEXT)


def on_every_endpoint(requests_for) -> st.SearchStrategy[tuple[str, Request]]:
    return st.sampled_from(ENDPOINT_NAMES).flatmap(lambda name: st.tuples(st.just(name), requests_for(ENDPOINTS[name])))


@dataclass(frozen=True)
class FormField:
    name: str
    value: bytes
    # A file part in a multipart body; elsewhere the field is text like any other.
    filename: str | None = None


_URL_FIELDS = {"universal": "url", "tupu": "image", "tencent": "ImageUrl"}


def image_sources(endpoint: Endpoint, files: bool = True) -> st.SearchStrategy[FormField]:
    """The image field the endpoint needs, so that a request gets past "no image" to the rest."""
    sources = []
    if files and endpoint.file_field:
        sources.append(NOT_IMAGES.map(lambda data: FormField(endpoint.file_field, data, "upload.png")))
    if endpoint.base64_field:
        encoded = NOT_IMAGES.map(lambda data: base64.b64encode(data).decode())
        sources.append(
            st.one_of(encoded, encoded, encoded, BASE64_TEXTS).map(
                lambda text: FormField(endpoint.base64_field, text.encode())
            )
        )
    if endpoint.name in _URL_FIELDS:
        sources.append(IMAGE_SERVER_URLS.map(lambda url: FormField(_URL_FIELDS[endpoint.name], url.encode())))
    return st.one_of(sources)


# Hypothesis draws the simplest choice (0, the first element) more often than chance would, so
# rare branches below sit on the highest value of a draw, and usual ones come first.


@st.composite
def field_plans(draw, endpoint: Endpoint, files: bool = True) -> list[FormField]:
    """Mostly the image and a few of the endpoint's other fields with odd values, in any order;
    sometimes no image, sometimes a field the endpoint does not read."""
    fields = [draw(image_sources(endpoint, files))] if draw(st.integers(0, 3)) < 3 else []
    own = st.sampled_from(endpoint.fields).flatmap(
        lambda name: field_values(name).map(lambda value: FormField(name, value.encode()))
    )
    fields += draw(st.lists(own, max_size=3))
    if draw(st.integers(0, 4)) == 4:
        foreign = st.one_of(st.sampled_from(ALL_FIELDS), TEXT)
        fields.append(draw(st.builds(FormField, foreign, VALUES.map(str.encode))))
    return draw(st.permutations(fields))


def weighted(usual, *unusual) -> st.SearchStrategy:
    """``usual`` at least half the time, else one of the ``unusual`` ones."""
    return st.sampled_from([usual] * max(3, len(unusual)) + list(unusual))


@st.composite
def multipart_parts(draw, field: FormField) -> bytes:
    """One part, headers and content, as a broken or hostile client may write it."""
    # Field names that are no UTF-8 at all.
    name = field.name.encode() if draw(st.integers(0, 5)) < 5 else draw(st.binary(min_size=1, max_size=12))
    filename = field.filename
    if draw(st.integers(0, 5)) == 5:
        filename = draw(st.one_of(TEXT, st.sampled_from(["", "a.png", "../../etc/passwd", 'a"b.png'])))
    file_part = b"" if filename is None else b'; filename="' + filename.encode() + b'"'
    disposition = draw(
        weighted(
            b'Content-Disposition: form-data; name="' + name + b'"' + file_part,
            b"Content-Disposition: form-data; name=" + name + file_part,
            b'content-disposition:form-data;name="' + name + b"\";filename*=UTF-8''" + quote(filename or "").encode(),
            b"Content-Disposition: form-data" + file_part,
            b'Content-Disposition: attachment; name="' + name + b'"',
            b"",
        )
    )
    extra_headers = draw(
        st.lists(
            st.one_of(
                st.sampled_from(
                    [
                        b"Content-Type: image/png",
                        b"Content-Type: text/plain; charset=latin-1",
                        b"Content-Length: 3",
                        b"Content-Length: -1",
                        b"Content-Transfer-Encoding: base64",
                        b"no colon here",
                        b" folded continuation",
                        b"X-Empty:",
                    ]
                ),
                st.binary(max_size=24),
            ),
            max_size=2,
        )
    )
    headers = [line for line in [disposition, *extra_headers] if line]
    return b"\r\n".join(headers) + b"\r\n\r\n" + field.value


@st.composite
def multipart_requests(draw, endpoint: Endpoint) -> Request:
    # As clients write them: a token, or RFC 2046's wider alphabet between quotes.
    token = st.text("abcXYZ0123456789'+_-.", min_size=1, max_size=70)
    quoted = st.text("abcXYZ0123456789'()+_,-./:=? ", min_size=1, max_size=70).map(lambda text: f'"{text}"')
    hostile = st.one_of(
        st.sampled_from(["", " ", "a b", '"', "--", "x" * 200, "\u00e9", "\u00ff\u00fe", '"unclosed']),
        st.text(min_size=1, max_size=24),
    )
    written = draw(st.one_of(token, token, token, quoted, quoted, hostile))
    boundary = written[1:-1] if len(written) > 1 and written[0] == written[-1] == '"' else written
    parts = [draw(multipart_parts(field)) for field in draw(field_plans(endpoint))]
    if parts and draw(st.integers(0, 4)) == 4:
        parts.append(draw(st.sampled_from(parts)))  # the same part twice
    if draw(st.integers(0, 4)) == 4:
        parts.insert(draw(st.integers(0, len(parts))), draw(st.binary(max_size=40)))  # no headers at all
    newline = draw(weighted(b"\r\n", b"\n"))
    delimiter = b"--" + boundary.encode()
    body = draw(weighted(b"", b"preamble\r\n", b"\r\n"))
    body += b"".join(delimiter + newline + part + newline for part in parts)
    body += draw(weighted(delimiter + b"--\r\n", delimiter + b"--", b"", delimiter))
    body += draw(weighted(b"", b"epilogue", b"\r\n--" + boundary.encode() + b"--\r\n"))
    content_type = draw(
        weighted(
            f"multipart/form-data; boundary={written}",
            f'multipart/form-data; boundary="{boundary}"',
            "multipart/form-data",
            f"Multipart/Form-Data; BOUNDARY={written}; charset=latin-1",
            f"multipart/form-data; boundary={written}; boundary=other",
            f"multipart/form-data; boundary*=UTF-8''{quote(boundary)}",
        )
    )
    return Request(content_type, body)


@st.composite
def form_requests(draw, endpoint: Endpoint) -> Request:
    fields = draw(field_plans(endpoint, files=False))
    pairs = [(field.name, field.value.decode()) for field in fields]
    # ':' and '/' stay as they are, so the image server placeholder can be found and swapped.
    body = urlencode(pairs, safe=":/").encode()
    junk = draw(
        st.one_of(
            st.sampled_from([b"", b"&", b"&&", b"=", b"a", b"%", b"%zz", b"%ff%fe", b"a=b=c", b";", b"\xff\xfe"]),
            st.binary(max_size=16),
        )
    )
    body = junk + body if draw(st.booleans()) else body + junk
    content_type = draw(
        weighted(
            "application/x-www-form-urlencoded",
            "application/x-www-form-urlencoded; charset=utf-8",
            "APPLICATION/X-WWW-FORM-URLENCODED",
            "application/x-www-form-urlencoded; charset=latin-1",
        )
    )
    return Request(content_type, body)


JSON_LEAVES = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(10**40), max_value=10**40),
    st.floats(allow_nan=True, allow_infinity=True),
    JSON_TEXT,
    VALUES,
)
JSON_VALUES = st.recursive(
    JSON_LEAVES,
    lambda children: st.one_of(st.lists(children, max_size=4), st.dictionaries(JSON_TEXT, children, max_size=4)),
    max_leaves=10,
)
# Text no encoder writes: numbers past Python's digit limit, deep nesting, lone surrogates.
RAW_JSON = (
    '{"pdf_page": ' + "9" * 5000 + "}",
    '{"PdfPageNumber": 1' + "0" * 400 + "}",
    "[",
    "{",
    '"x"',
    "\ufeff{}",
    '{"a": 1} trailing',
    '{"a": NaN, "b": -Infinity}',
    '{"x": "\\ud800"}',
    '{"x": "\\udfff\\ud800"}',
    '{"x": "\\u0000"}',
    "1" * 5000,
    "[" * 5000 + "]" * 5000,
)


@st.composite
def json_documents(draw, endpoint: Endpoint):
    fields = draw(field_plans(endpoint, files=False))
    document = {}
    for field in fields:
        # Sometimes any JSON at all where a field's value goes: objects, lists, numbers, nulls.
        document[field.name] = draw(JSON_VALUES) if draw(st.integers(0, 3)) == 3 else field.value.decode()
    if draw(st.integers(0, 3)) == 3:
        document[draw(JSON_TEXT)] = draw(JSON_TEXT)
    return document


@st.composite
def json_requests(draw, endpoint: Endpoint) -> Request:
    document = draw(JSON_VALUES if draw(st.integers(0, 5)) == 5 else json_documents(endpoint))
    # Mostly \u escapes, as most encoders write them; else the characters themselves.
    text = json.dumps(document, ensure_ascii=draw(st.integers(0, 3)) < 3)
    if draw(st.integers(0, 7)) == 7:
        text = draw(st.sampled_from(RAW_JSON))
    # A lone surrogate written raw (ensure_ascii=False) is bytes no UTF-8 decoder accepts.
    body = text.encode("utf-8", "surrogatepass")
    content_type = draw(
        weighted(
            "application/json",
            "application/json; charset=utf-8",
            "Application/JSON",
            "application/json; charset=utf-16",
        )
    )
    return Request(content_type, body)


CONTENT_TYPES = st.one_of(
    st.sampled_from(
        [
            "image/png",
            "image/*",
            "image/",
            "IMAGE/PNG",
            "image/svg+xml",
            "application/octet-stream",
            "application/pdf",
            "text/plain",
            "text/html; charset=utf-8",
            "application/xml",
            "multipart/mixed",
            "multipart/form-data; boundary=",
            "application/x-www-form-urlencoded;",
            "application/json;;;",
            ";",
            "",
            " ",
            "*/*",
            'image/png; name="a\\"b"',
            "\x00",
        ]
    ),
    TEXT,
    st.tuples(TEXT, TEXT).map("; ".join),
)
# HTTP cannot carry line breaks or NUL in a header value.
HEADER_VALUES = VALUES.filter(lambda value: not any(character in value for character in "\r\n\x00"))
HEADER_NAMES = st.one_of(
    st.sampled_from(
        [
            "Content-Type",
            "content-type",
            "X-Api-Key",
            "x-api-key",
            "X-TC-Action",
            "x-tc-action",
            "Content-Encoding",
            "Content-Length",
            "Transfer-Encoding",
        ]
    ),
    st.text("abcdefghijklmnopqrstuvwxyz-ABCXYZ0123456789_.", min_size=1, max_size=16),
)


@st.composite
def raw_body_requests(draw, endpoint: Endpoint) -> Request:
    extra_headers = draw(st.lists(st.tuples(HEADER_NAMES, HEADER_VALUES), max_size=3))
    return Request(draw(CONTENT_TYPES), draw(NOT_IMAGES), headers=tuple(extra_headers))


@st.composite
def base64_flag_requests(draw, endpoint: Endpoint) -> Request:
    text = draw(
        st.one_of(
            BASE64_TEXTS,
            TEXT,
            st.sampled_from(["=", "A", "AB=", "A===", "====", "QUJD\n", "QUJD====", "Q U J D"]),
        )
    )
    content_type = draw(
        st.one_of(
            st.sampled_from(
                [
                    "image/png",
                    "application/octet-stream",
                    "multipart/form-data; boundary=x",
                    "application/json",
                    "application/x-www-form-urlencoded",
                ]
            ),
            CONTENT_TYPES,
        )
    )
    return Request(content_type, base64_text=text)


@st.composite
def query_requests(draw, endpoint: Endpoint) -> Request:
    names = st.one_of(st.sampled_from(["appkey", "key", "x-api-key", "Appkey", "appkey[]"]), field_names(endpoint))
    query = draw(st.lists(st.tuples(names, VALUES), max_size=5))
    headers = draw(st.lists(st.tuples(HEADER_NAMES, HEADER_VALUES), max_size=3))
    # A body the endpoint reads, so that what is checked is the query and the headers.
    if endpoint.base64_field:
        image = base64.b64encode(draw(NOT_IMAGES)).decode()
        content_type, body = "application/json", json.dumps({endpoint.base64_field: image}).encode()
    else:
        content_type, body = multipart_form(fields=[("image", f"{IMAGE_SERVER}/to-private")])
    return Request(content_type, body, tuple(query), tuple(headers), with_key=draw(st.booleans()))


# --- Inputs that fuzzing found failures with: examples below, and regression tests ----------------

# A part header byte that is no UTF-8: the answer named the decoder's exception and echoed bytes.
PART_HEADER_NOT_UTF8 = Request(
    "multipart/form-data; boundary=0",
    b'--0\r\nContent-Disposition: form-data; name="imagefile"; filename="upload.png"\r\n\x80\r\n\r\n\x00\r\n--0--\r\n',
)
# JSON nested deeper than Python recurses: RecursionError, a 500.
DEEP_JSON = Request("application/json", b"[" * 5000 + b"]" * 5000)
# A lone surrogate escape: text that cannot be encoded, a 500.
LONE_SURROGATE_JSON = Request("application/json", b'{"x": "\\ud800"}')
# A control character in an image URL: http.client refused the request line, a 502.
URL_WITH_CONTROL_CHARACTER = Request(
    "application/x-www-form-urlencoded", f"image={IMAGE_SERVER}/to-private%3F%1B".encode()
)
# A Referer in Chinese: http.client could not encode the header, a 500.
CHINESE_REFERER = Request(
    "application/x-www-form-urlencoded",
    f"image={IMAGE_SERVER}/to-private%3F&referer=%E4%BE%8B%E5%AD%90".encode(),
)
# A superscript two is a digit to str.isdigit() and no number to int(): it was a 500.
SUPERSCRIPT_PAGE = {
    "universal": Request("application/json", json.dumps({"image_base64": "QUJD", "pdf_page": "\u00b2"}).encode()),
    "tencent": Request("application/json", json.dumps({"ImageBase64": "QUJD", "PdfPageNumber": "\u00b2"}).encode()),
}


def bilevel_page_whose_first_pixels_pack_to_white_space() -> bytes:
    # One black pixel third from the left on the top row: as PBM, its raster starts with 0x20,
    # which Leptonica skipped as white space, and Tesseract failed on a good page (a 5xx).
    page = Image.open(io.BytesIO(seed_images()["png-bilevel"]))
    page.load()
    page.putpixel((2, 0), 0)
    buffer = io.BytesIO()
    page.save(buffer, format="PNG")
    return buffer.getvalue()


def pdf_with_a_damaged_page() -> bytes:
    # The document opens; its one page object is no page: PDFium fails to load it (a 500).
    return seed_images()["pdf-text"].replace(b"/Type /Page ", b"/Type /Pxge ", 1)


# --- Request parsing -----------------------------------------------------------------------------


@scaled(PARSING_EXAMPLES_FACTOR)
@given(case=on_every_endpoint(multipart_requests))
@example(case=("gugudata-v1", PART_HEADER_NOT_UTF8))
def test_hostile_multipart_bodies_get_documented_answers(answer, case):
    answer(*case)


@scaled(PARSING_EXAMPLES_FACTOR)
@given(case=on_every_endpoint(form_requests))
@example(case=("tupu", URL_WITH_CONTROL_CHARACTER))
@example(case=("tupu", CHINESE_REFERER))
def test_urlencoded_junk_gets_documented_answers(answer, case):
    answer(*case)


@scaled(PARSING_EXAMPLES_FACTOR)
@given(case=on_every_endpoint(json_requests))
@example(case=("gugudata-v1", LONE_SURROGATE_JSON))
@example(case=("universal", DEEP_JSON))
@example(case=("universal", SUPERSCRIPT_PAGE["universal"]))
@example(case=("tencent", SUPERSCRIPT_PAGE["tencent"]))
def test_json_documents_of_any_shape_get_documented_answers(answer, case):
    answer(*case)


# Signed requests (TC3-HMAC-SHA256) to the Tencent route, their header values hostile: a timestamp
# of 400 zeros or of other scripts' digits was an InternalError with a trace in the log.
TIMESTAMPS = st.one_of(
    st.sampled_from(
        [
            "1" + "0" * 400,
            "9" * 5000,
            "\u0661\u0667\u0668",
            "\uff11\uff17",
            "-1",
            "1e9",
            "0",
            "",
            str(int(time.time())),
            " " + str(int(time.time())) + " ",
        ]
    ),
    st.integers(-(10**20), 10**20).map(str),
    TEXT,
)
ONE_PIXEL_PNG = base64.b64encode(
    bytes.fromhex(
        "89504e470d0a1a0a0000000d4948445200000001000000010800000000"
        "3a7e9b550000000a4944415478016360000000020001e221bc330000000049454e44ae426082"
    )
).decode()
CREDENTIALS = st.one_of(
    st.sampled_from(["AKID" + "0" * 32, "AKID" + "a" * 3000, "AKID", ""]),
    TEXT.map(lambda text: "AKID" + text),
)


@st.composite
def signed_requests(draw, endpoint: Endpoint) -> Request:
    date = time.strftime("%Y-%m-%d", time.gmtime())
    service = draw(st.sampled_from(["ocr", "cvm", "x", "", "ocr/extra"]))
    authorization = (
        f"TC3-HMAC-SHA256 Credential={draw(CREDENTIALS)}/{date}/{service}/tc3_request, "
        f"SignedHeaders=content-type;host, Signature={'0' * 64}"
    )
    headers = (("Authorization", authorization), ("X-TC-Timestamp", draw(TIMESTAMPS)), ("Host", "ocr.example.com"))
    return Request(
        "application/json", json.dumps({"ImageBase64": ONE_PIXEL_PNG}).encode(), headers=headers, with_key=False
    )


@scaled(PARSING_EXAMPLES_FACTOR)
@given(request=signed_requests(ENDPOINTS["tencent"]))
def test_signed_requests_with_hostile_headers_get_documented_answers(answer, request):
    # None holds a valid signature: each is refused as an authentication failure, never as ours.
    result = answer("tencent", request)
    assert result.label.startswith("200 AuthFailure.") and not result.server_side, result


@scaled(PARSING_EXAMPLES_FACTOR)
@given(case=on_every_endpoint(raw_body_requests))
def test_any_content_type_and_body_get_documented_answers(answer, case):
    answer(*case)


@scaled(PARSING_EXAMPLES_FACTOR)
@given(case=on_every_endpoint(base64_flag_requests))
def test_bodies_marked_base64_that_are_not_get_documented_answers(answer, case):
    answer(*case)


@scaled(PARSING_EXAMPLES_FACTOR)
@given(case=on_every_endpoint(query_requests))
def test_odd_query_strings_and_headers_get_documented_answers(answer, case):
    answer(*case)


# --- Image decoding -------------------------------------------------------------------------------

FORMATS = ("png", "jpeg", "gif", "bmp", "tiff", "webp", "heif", "avif", "pdf")
# The universal endpoint first: it reads every format, PDFs too.
IMAGE_TARGETS = [
    (name, way)
    for name in ("universal", "tupu", "tencent", "gugudata-v1", "gugudata-legacy")
    for way in ENDPOINTS[name].image_ways
]
_MAGIC_LENGTH = 8
_INTERESTING_INTS = (
    0,
    1,
    2,
    0x7F,
    0x80,
    0xFF,
    0x100,
    0x7FFF,
    0x8000,
    0xFFFF,
    0x10000,
    0x7FFFFFFF,
    0x80000000,
    0xFFFFFFFF,
)


@st.composite
def damaged(draw, seeds: list[bytes]) -> bytes:
    """A valid small image with one to three damages: flipped bits, a header number rewritten,
    cut short, spliced onto another image's tail, bytes put in, taken out or repeated."""
    data = bytearray(draw(st.sampled_from(seeds)))
    every_seed = list(seed_images().values())
    for _ in range(draw(st.integers(1, 3))):
        # Past the magic number, mostly: damage there only makes another unknown format.
        last = max(len(data) - 1, 0)
        at = draw(st.integers(min(_MAGIC_LENGTH, last), last))
        kind = draw(st.sampled_from(["flip", "number", "cut", "splice", "insert", "delete", "repeat"]))
        if kind == "flip" and data:
            data[min(at, len(data) - 1)] ^= 1 << draw(st.integers(0, 7))
        elif kind == "number":
            # Headers hold sizes, offsets and counts near the start.
            at = draw(st.integers(2, 96))
            width, order = draw(st.sampled_from([(4, ">"), (4, "<"), (2, ">"), (2, "<"), (1, "<")]))
            value = draw(st.one_of(st.sampled_from(_INTERESTING_INTS), st.integers(0, 2 ** (8 * width) - 1)))
            data[at : at + width] = struct.pack(order + {1: "B", 2: "H", 4: "I"}[width], value % 2 ** (8 * width))
        elif kind == "cut":
            data = data[: len(data) - draw(st.integers(1, max(len(data) - 1, 1)))]
        elif kind == "splice":
            other = draw(st.sampled_from(every_seed))
            data = data[:at] + other[draw(st.integers(0, len(other) - 1)) :]
        elif kind == "insert":
            data[at:at] = draw(st.binary(min_size=1, max_size=16))
        elif kind == "delete":
            del data[at : at + draw(st.integers(1, 64))]
        elif kind == "repeat":
            data[at:at] = data[at : at + draw(st.integers(1, 64))] * draw(st.integers(1, 4))
    if data.startswith(b"\x89PNG") and draw(st.integers(0, 3)) < 3:
        # Damage that PNG's checksums would catch first goes deeper when they are made right.
        data = _with_png_checksums_fixed(data)
    return bytes(data)


def _with_png_checksums_fixed(data: bytearray) -> bytearray:
    offset = 8
    while offset + 12 <= len(data):
        (length,) = struct.unpack(">I", data[offset : offset + 4])
        end = offset + 8 + length
        if end + 4 > len(data):
            break
        data[end : end + 4] = struct.pack(">I", zlib.crc32(data[offset + 4 : end]))
        offset = end + 4
    return data


def _send_image(answer, target: tuple[str, str], image: bytes, is_pdf: bool) -> Answer:
    name, way = target
    return answer(name, ENDPOINTS[name].image_event(image, way, is_pdf=is_pdf))


@pytest.mark.parametrize("format", FORMATS)
@given(data=st.data())
def test_damaged_images_get_documented_answers(answer, format, data):
    seeds = [image for name, image in seed_images().items() if name.startswith(format)]
    image = data.draw(damaged(seeds), label="image")
    target = data.draw(st.sampled_from(IMAGE_TARGETS), label="endpoint and way")
    _send_image(answer, target, image, is_pdf=format == "pdf")


@scaled(2)
@given(
    image=st.tuples(st.sampled_from(MAGIC_NUMBERS), st.binary(max_size=2048)).map(b"".join),
    target=st.sampled_from(IMAGE_TARGETS),
)
def test_random_bytes_behind_magic_numbers_get_documented_answers(answer, image, target):
    _send_image(answer, target, image, is_pdf=image.startswith(b"%PDF"))


@pytest.mark.parametrize("name", sorted(seed_images()))
def test_every_seed_image_decodes(name):
    # The damage above starts from these; each must be a readable image of its format first.
    page = prepare_image(seed_images()[name], ImageLimits(max_bytes=10**6, max_pixels=10**6), pdf_page=1)
    assert page.source_format == name.split("-")[0].upper()
    assert max(page.original_size) <= 200  # small, so that Tesseract is quick


# --- Regressions: what fuzzing found, now answered as documented ----------------------------------

# How each dialect answers a bad request (the tables of docs/api/).
BAD_REQUEST = {
    "gugudata-v1": "400/101",
    "gugudata-legacy": "200/501",
    "universal": "400 invalid_request",
    "tupu": "400",
    "tencent": "200 InvalidParameterValue.InvalidParameterValueLimit",
}


def test_a_part_header_that_is_no_utf8_is_a_bad_request_without_the_decoders_details(answer):
    result = answer("gugudata-v1", PART_HEADER_NOT_UTF8)
    assert result.label == BAD_REQUEST["gugudata-v1"]
    [message] = result.messages
    assert message.startswith("the multipart body is malformed: ")
    assert "Error" not in message and "\\x80" not in message


def test_json_nested_deeper_than_python_recurses_is_a_bad_request(answer):
    result = answer("universal", DEEP_JSON)
    assert result.label == BAD_REQUEST["universal"]
    assert "nested too deeply" in result.messages[0]


@pytest.mark.parametrize("endpoint", ENDPOINT_NAMES)
def test_a_lone_surrogate_escape_in_json_is_a_bad_request(answer, endpoint):
    result = answer(endpoint, LONE_SURROGATE_JSON)
    assert result.label == BAD_REQUEST[endpoint]
    assert "lone surrogate" in result.messages[0]


@pytest.mark.parametrize("endpoint", ["universal", "tencent"])
def test_a_superscript_page_number_is_a_bad_request(answer, endpoint):
    result = answer(endpoint, SUPERSCRIPT_PAGE[endpoint])
    assert result.label == BAD_REQUEST[endpoint]
    assert "must be a page number" in result.messages[0]


def test_image_urls_go_out_percent_encoded_whatever_they_hold(answer, image_server):
    url = f"{IMAGE_SERVER}/to-private?q=\x1b \u4f8b%41"
    result = answer("universal", Request("application/json", json.dumps({"url": url}).encode()))
    # The image server answered with a redirect to a private address, which was refused.
    assert result.label == BAD_REQUEST["universal"] and "does not resolve to a public address" in result.messages[0]
    path, _ = image_server.requests[-1]
    assert path == "/to-private?q=%1B%20%E4%BE%8B%41"


def test_a_referer_in_any_script_goes_out_percent_encoded_on_one_line(answer, image_server):
    fields = [("image", f"{IMAGE_SERVER}/to-private"), ("referer", "https://\u4f8b.cn/\u9875\r\nX-Injected: 1")]
    result = answer("tupu", Request(*multipart_form(fields=fields)))
    assert result.label == BAD_REQUEST["tupu"] and "does not resolve to a public address" in result.messages[0]
    _, headers = image_server.requests[-1]
    assert headers["Referer"] == "https://%E4%BE%8B.cn/%E9%A1%B5%0D%0AX-Injected:%201"
    assert "X-Injected" not in headers


@pytest.mark.parametrize(
    "target, label",
    [
        (("universal", "file"), "415 unsupported_image"),
        (("tencent", "base64"), "200 FailedOperation.ImageDecodeFailed"),
    ],
)
def test_a_pdf_whose_page_is_damaged_is_refused_as_unreadable(answer, target, label):
    result = _send_image(answer, target, pdf_with_a_damaged_page(), is_pdf=True)
    assert result.label == label
    assert "page 1 of the PDF is damaged" in result.messages[0]


@pytest.mark.parametrize("target, label", [(("universal", "file"), "200"), (("gugudata-v1", "body"), "200/100")])
def test_a_bilevel_page_whose_first_pixels_pack_to_white_space_is_read(answer, target, label):
    result = _send_image(answer, target, bilevel_page_whose_first_pixels_pack_to_white_space(), is_pdf=False)
    assert result.label == label


# --- The atheris command's harness ---------------------------------------------------------------


def test_the_fuzz_harness_saves_an_input_the_handler_fails_on(spec, tmp_path):
    def failing_handler(event, context):
        raise KeyError("boom")

    run = FuzzRun(
        "parsing", 60, tmp_path, failing_handler, spec.functions["OcrFunction"], LoggedTraceback(), io.StringIO()
    )
    data = parsing_input("tupu", 0, b"", b"application/json", b"{}")
    run.one_input(data)
    assert run.failures == 1
    [saved] = tmp_path.glob("parsing-failure-*.bin")
    assert saved.read_bytes() == data
    event = json.loads(saved.with_suffix(".event.json").read_text())
    assert event["path"] == ENDPOINTS["tupu"].path
    assert "KeyError" in saved.with_suffix(".txt").read_text()


def test_the_fuzz_harness_counts_a_5xx_answer_as_a_failure(spec, tmp_path):
    def unavailable(event, context):
        return {
            "statusCode": 503,
            "headers": {"Content-Type": "application/json"},
            "body": json.dumps({"code": 503, "error": "unavailable", "message": "x", "request_id": "r"}),
        }

    run = FuzzRun("images", 60, tmp_path, unavailable, spec.functions["OcrFunction"], LoggedTraceback(), io.StringIO())
    run.one_input(image_input("universal", "file", seed_images()["png-grey"]))
    assert run.failures == 1 and list(run.failure_kinds)[0].startswith("universal: ContractViolation")


@pytest.mark.slow
def test_a_short_atheris_run_finds_nothing(tmp_path):
    # The command end to end, briefly: longer runs are `python -m ocr_local fuzz --seconds N`.
    pytest.importorskip("atheris")
    finished = subprocess.run(
        [sys.executable, "-m", "ocr_local", "fuzz", "--seconds", "2", "--out", str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert finished.returncode == 0, finished.stdout + finished.stderr[-5000:]
    for target in ("parsing", "images"):
        assert re.search(rf"fuzz target {target}: \d+ executions in \d+ s .*, 0 failure", finished.stdout)
