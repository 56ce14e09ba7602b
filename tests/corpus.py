"""Bad and awkward inputs for every endpoint, and the answer the docs give for each.

``CASES`` says how each input is built (deterministically: Pillow, hand-made bytes, hand-made
PDFs) and how it travels in each endpoint's request format. ``EXPECTED`` is the whole contract
in one table: for every case and endpoint, the HTTP status and the dialect's business code, or
``None`` where the case cannot be said in that endpoint's format. Where the docs' tables do not
name a case, the cell holds the answer chosen for it, with the reason in a comment above its
row. ``expectation_table()`` prints the same table as Markdown (``python tests/corpus.py``).

Business codes: gugudata v1 ``statusCode`` and legacy ``StatusCode`` (100 is success);
universal ``error`` (``0``, the body's ``code``, on success); tupu ``code`` (0 on success);
Tencent ``Response.Error.Code`` (``None``: no error, text detections came back).
"""

from __future__ import annotations

import base64
import hashlib
import io
import json
import struct
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache

from PIL import Image

from helpers import data_image, data_truth, encode
from ocr_local.forms import multipart_form
from ocr_tools.api_clients import ENDPOINTS as CLIENTS
from ocr_tools.api_clients import HttpRequest
from ocr_tools.hostile_files import (
    jpeg_with_many_scans,
    pdf_with_a_huge_image,
    pdf_with_an_inline_image,
    pdf_with_costly_shading,
    png_pdf_polyglot,
    png_saying_pdf,
)
from ocr_tools.pdf_files import pdf_file

V1, LEGACY, UNIVERSAL, TUPU, TENCENT = "gugudata-v1", "gugudata-legacy", "universal", "tupu", "tencent"
ENDPOINTS = (V1, LEGACY, UNIVERSAL, TUPU, TENCENT)
PATHS = {name: CLIENTS[name].path for name in ENDPOINTS}
SUCCESS_CODES = {name: CLIENTS[name].success_code for name in ENDPOINTS}
# The field each endpoint reads an uploaded image from (Tencent reads base64 in JSON).
IMAGE_FIELDS = {name: CLIENTS[name].file_field for name in ENDPOINTS if CLIENTS[name].file_field}

PHOTOTEST = "tesseract-test/phototest.tif"
PDF_LINES = ("Quarterly report 2026", "Total due 4217 EUR")


# What the expected text of a success is: a real page's ground truth, or nothing at all.
PAGE_TEXT = data_truth(PHOTOTEST)
PDF_TEXT = "\n".join(PDF_LINES)
NO_TEXT = ""


# ------------------------------------------------------------------------------------------
# The expectations. Rows: cases; columns: endpoints; each cell (HTTP status, business code).
# ------------------------------------------------------------------------------------------

_PARAM = "InvalidParameterValue.InvalidParameterValueLimit"
_DECODE = "FailedOperation.ImageDecodeFailed"
_SIZE = "FailedOperation.ImageSizeTooLarge"
_DOWNLOAD = "FailedOperation.DownLoadError"
_TIMEOUT = "FailedOperation.EngineRecognizeTimeout"
_UNKNOWN = "UnknownParameter"

#                                 gugudata v1   gugudata legacy  universal                 tupu        tencent
EXPECTED: dict[str, tuple] = {
    # Bytes that are no usable image.
    "zero_bytes": (
        (400, 101),
        (200, 501),
        (400, "invalid_request"),
        (400, 400),
        (200, "FailedOperation.EmptyImageError"),
    ),
    "truncated_jpeg": ((415, 101), (200, 501), (415, "unsupported_image"), (415, 415), (200, _DECODE)),
    "truncated_png": ((415, 101), (200, 501), (415, "unsupported_image"), (415, 415), (200, _DECODE)),
    "text_file_named_png": ((415, 101), (200, 501), (415, "unsupported_image"), (415, 415), (200, _DECODE)),
    # How the body is labelled and framed. Universal names a body type it does not read
    # unsupported_content_type; Tencent reads only JSON, so any other body is a bad parameter.
    "png_body_as_text_plain": ((415, 101), (200, 501), (415, "unsupported_content_type"), (415, 415), (200, _PARAM)),
    # The bytes decide the format, never a label.
    "png_labelled_as_jpeg": ((200, 100), (200, 100), (200, 0), (200, 0), (200, None)),
    "multipart_labelled_json": ((400, 101), (200, 501), (400, "invalid_request"), (400, 400), (200, _PARAM)),
    "multipart_without_boundary": ((400, 101), (200, 501), (400, "invalid_request"), (400, 400), (200, _PARAM)),
    "multipart_broken_boundary": ((400, 101), (200, 501), (400, "invalid_request"), (400, 400), (200, _PARAM)),
    # Fields given twice, or without what they need. Universal and tupu take several images; a
    # JSON name given twice is refused, not silently narrowed to its last value; tupu reads a
    # part without a file name as an image URL, as docs/api/universal.md says.
    "image_field_twice": ((400, 101), (200, 501), (200, 0), (200, 0), (200, _PARAM)),
    "key_twice_different_values": ((400, 101), (200, 501), (400, "invalid_request"), (400, 400), (200, _PARAM)),
    "option_twice": (None, None, (400, "invalid_request"), (400, 400), (200, _PARAM)),
    "file_part_without_filename": ((200, 100), (200, 100), (200, 0), (400, 400), None),
    # Base64 and data URIs. A data URI declaring a PDF reaches the decoder, which reads it where
    # PDFs are read.
    "base64_with_junk": ((400, 101), (200, 501), (400, "invalid_request"), None, (200, _PARAM)),
    "data_uri_text_plain": ((415, 101), (200, 501), (415, "unsupported_image"), None, (200, _DECODE)),
    "data_uri_pdf": ((415, 101), (200, 501), (200, 0), None, (200, _DECODE)),
    # Dimensions. tupu refuses a GIF by its format before it looks at its size.
    "png_bomb_60000x60000": ((413, 101), (200, 501), (413, "image_too_large"), (413, 413), (200, _SIZE)),
    "gif_bomb_60000x60000": ((413, 101), (200, 501), (413, "image_too_large"), (415, 415), (200, _SIZE)),
    "one_pixel": ((200, 100), (200, 100), (200, 0), (200, 0), (200, "FailedOperation.ImageNoText")),
    "one_row_60000x1": ((413, 101), (200, 501), (413, "image_too_large"), (413, 413), (200, _SIZE)),
    # Valid images in forms that need converting: the text must come out right. A TIFF's second
    # page is a page, not an animation frame, so tupu reads its first page too.
    "animated_gif": ((200, 100), (200, 100), (200, 0), (415, 415), (200, None)),
    "multipage_tiff": ((200, 100), (200, 100), (200, 0), (200, 0), (200, None)),
    "cmyk_jpeg": ((200, 100), (200, 100), (200, 0), (200, 0), (200, None)),
    "sixteen_bit_png": ((200, 100), (200, 100), (200, 0), (200, 0), (200, None)),
    "exif_rotated_jpeg": ((200, 100), (200, 100), (200, 0), (200, 0), (200, None)),
    # PDFs: read where PDFs are accepted (universal; Tencent with IsPdf), not images elsewhere.
    # PDFium cannot open a PDF without pages, so it cannot be told from a damaged one: 415. A PDF
    # encrypted with an empty open password opens without one, as in any reader.
    "pdf_zero_pages": ((415, 101), (200, 501), (415, "unsupported_image"), (415, 415), (200, _DECODE)),
    "pdf_encrypted": ((415, 101), (200, 501), (415, "unsupported_image"), (415, 415), (200, _DECODE)),
    "pdf_encrypted_no_password": ((415, 101), (200, 501), (200, 0), (415, 415), (200, None)),
    # Image URLs, fetched from the test image server (allowed by the local server's allow-list).
    # The body is Content-Length bytes long: what follows it is not read, nor counted.
    "url_redirect_loop": (None, None, (502, "download_failed"), (502, 502), (200, _DOWNLOAD)),
    "url_never_answers": (None, None, (502, "download_failed"), (502, 502), (200, _DOWNLOAD)),
    "url_longer_than_declared": (None, None, (200, 0), (200, 0), (200, None)),
    # Image URLs to internal addresses, on a server without an allow-list.
    "url_loopback_ipv4": (None, None, (400, "invalid_request"), (400, 400), (200, _PARAM)),
    "url_private_10": (None, None, (400, "invalid_request"), (400, 400), (200, _PARAM)),
    "url_metadata_169_254": (None, None, (400, "invalid_request"), (400, 400), (200, _PARAM)),
    "url_loopback_ipv6": (None, None, (400, "invalid_request"), (400, 400), (200, _PARAM)),
    # Round two: found by a red-team pass. Field counts are bounded before anything walks
    # them; unknown names are listed short.
    "json_100000_names": ((400, 101), (200, 501), (400, "invalid_request"), (400, 400), (200, _PARAM)),
    "sixty_long_unknown_names": ((400, 101), (200, 501), (400, "invalid_request"), (400, 400), (200, _UNKNOWN)),
    "page_number_5000_digits": (None, None, (400, "invalid_request"), None, (200, _PARAM)),
    # One format decision from the bytes, the same on every route: a signature at byte 0 wins.
    "png_whose_text_says_pdf": ((200, 100), (200, 100), (200, 0), (200, 0), (200, None)),
    "png_pdf_polyglot": ((200, 100), (200, 100), (200, 0), (200, 0), (200, None)),
    # Decoding and rendering under a time limit and the pixel limit: a page too costly to
    # decode is stopped (503, not charged); an image inside a PDF is held to the pixel limit.
    "pdf_image_26000x26000": ((415, 101), (200, 501), (413, "image_too_large"), (415, 415), (200, _SIZE)),
    "pdf_costly_shading": ((415, 101), (200, 501), (503, "unavailable"), (415, 415), (200, _TIMEOUT)),
    "jpeg_8000_scans": ((503, 110), (200, -1), (503, "unavailable"), (503, 503), (200, _TIMEOUT)),
    # Downloads end at one deadline, however the server dribbles.
    "url_trickled_headers": (None, None, (502, "download_failed"), (502, 502), (200, _DOWNLOAD)),
    "url_endless_100_continue": (None, None, (502, "download_failed"), (502, 502), (200, _DOWNLOAD)),
    # Every IPv6 form of an internal IPv4, and a name that does not resolve, get one answer.
    "url_ipv4_mapped_loopback": (None, None, (400, "invalid_request"), (400, 400), (200, _PARAM)),
    "url_ipv4_compatible_loopback": (None, None, (400, "invalid_request"), (400, 400), (200, _PARAM)),
    "url_nat64_metadata": (None, None, (400, "invalid_request"), (400, 400), (200, _PARAM)),
    "url_site_local_ipv6": (None, None, (400, "invalid_request"), (400, 400), (200, _PARAM)),
    "url_host_that_does_not_resolve": (None, None, (400, "invalid_request"), (400, 400), (200, _PARAM)),
    # Round three. A shape no engine reads a line from is refused by its header (engines spent
    # minutes and gigabytes on it); a strip too thin for any line is read as no text at once.
    "png_hairline_2000x1": ((413, 101), (200, 501), (413, "image_too_large"), (413, 413), (200, _SIZE)),
    "png_strip_600x6": ((200, 100), (200, 100), (200, 0), (200, 0), (200, "FailedOperation.ImageNoText")),
    "json_million_tiny_objects": ((400, 101), (200, 501), (400, "invalid_request"), (400, 400), (200, _PARAM)),
    # PDFium decodes a page's inline images as it loads the page: their sizes are read from the
    # content streams first, and one over the pixel limit is refused before PDFium sees it.
    "pdf_inline_image_30000x30000": ((415, 101), (200, 501), (413, "image_too_large"), (415, 415), (200, _SIZE)),
    # A download that ends short of its Content-Length is our failed download, given back.
    "url_body_cut_short": (None, None, (502, "download_failed"), (502, 502), (200, _DOWNLOAD)),
}


def expected(case: str, endpoint: str) -> tuple[int, int | str | None] | None:
    return EXPECTED[case][ENDPOINTS.index(endpoint)]


# ------------------------------------------------------------------------------------------
# Requests
# ------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Target:
    """What a request needs from the running test: a valid key and the image server."""

    appkey: str
    image_base_url: str


def authenticated(
    endpoint: str,
    target: Target,
    body: bytes,
    content_type: str | None,
    query: tuple[tuple[str, str], ...] = (),
    headers: tuple[tuple[str, str], ...] = (),
    images: int = 1,
) -> HttpRequest:
    """A request to ``endpoint`` with the key where its clients send it."""
    return CLIENTS[endpoint].request(
        target.appkey, content_type=content_type, body=body, query=query, headers=headers, images=images
    )


# A fixed boundary keeps every body the same from run to run.
BOUNDARY = "corpus-7c1d2e9f4a6b8d03"


def multipart_request(endpoint, target, fields=(), files=(), content_type=None, **options) -> HttpRequest:
    form_type, body = multipart_form(fields=list(fields), files=list(files), boundary=BOUNDARY)
    return authenticated(endpoint, target, body, content_type or form_type, **options)


def json_request(endpoint, target, document: dict | str, **options) -> HttpRequest:
    text = document if isinstance(document, str) else json.dumps(document)
    return authenticated(endpoint, target, text.encode("utf-8"), "application/json", **options)


def upload(
    endpoint: str,
    target: Target,
    data: bytes,
    filename: str,
    part_type: str = "image/png",
    pdf: bool = False,
) -> HttpRequest:
    """``data`` sent the way the endpoint's clients send an image file."""
    if endpoint == TENCENT:
        document = {"ImageBase64": base64.b64encode(data).decode("ascii")}
        if pdf:
            document["IsPdf"] = True
        return json_request(endpoint, target, document)
    return multipart_request(endpoint, target, files=[(IMAGE_FIELDS[endpoint], filename, part_type, data)])


def by_url(endpoint: str, target: Target, url: str) -> HttpRequest | None:
    if endpoint == UNIVERSAL:
        return json_request(endpoint, target, {"url": url})
    if endpoint == TUPU:
        return multipart_request(endpoint, target, fields=[("image", url)])
    if endpoint == TENCENT:
        return json_request(endpoint, target, {"ImageUrl": url})
    return None


def base64_field(endpoint: str, target: Target, text: str) -> HttpRequest | None:
    """``text`` in the endpoint's base64 image field, in a JSON body."""
    if endpoint in (V1, LEGACY, UNIVERSAL):
        return json_request(endpoint, target, {"image_base64": text})
    if endpoint == TENCENT:
        return json_request(endpoint, target, {"ImageBase64": text})
    return None


# ------------------------------------------------------------------------------------------
# Payloads: every one built the same way on every run.
# ------------------------------------------------------------------------------------------


@cache
def page() -> Image.Image:
    """A real page with known text, in 8-bit grey."""
    return Image.open(io.BytesIO(data_image(PHOTOTEST))).convert("L")


@cache
def page_png() -> bytes:
    return encode(page(), "PNG")


@cache
def page_jpeg() -> bytes:
    return encode(page(), "JPEG", quality=90)


def truncated(data: bytes) -> bytes:
    return data[: len(data) // 2]


def png_declaring(width: int, height: int) -> bytes:
    """A complete, tiny PNG whose header declares ``width`` x ``height`` bilevel pixels."""

    def chunk(kind: bytes, payload: bytes) -> bytes:
        return struct.pack(">I", len(payload)) + kind + payload + struct.pack(">I", zlib.crc32(kind + payload))

    header = struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(b"\0" * 64)) + chunk(b"IEND", b"")
    )


def gif_declaring(width: int, height: int) -> bytes:
    """A tiny GIF whose screen and one frame declare ``width`` x ``height`` pixels."""
    screen = b"GIF89a" + struct.pack("<HHBBB", width, height, 0x80, 0, 0) + b"\0\0\0\xff\xff\xff"
    frame = b"," + struct.pack("<HHHHB", 0, 0, width, height, 0) + b"\x02\x02\x44\x01\x00"
    return screen + frame + b";"


@cache
def animated_gif() -> bytes:
    # The second frame is blank: only reading the first frame gives the page's text.
    blank = Image.new("L", page().size, 255)
    return encode(page(), "GIF", save_all=True, append_images=[blank], duration=500, loop=0)


@cache
def multipage_tiff() -> bytes:
    bilevel = page().convert("1")
    return encode(bilevel, "TIFF", save_all=True, append_images=[Image.new("1", bilevel.size, 1)])


@cache
def cmyk_jpeg() -> bytes:
    return encode(page().convert("CMYK"), "JPEG", quality=90)


@cache
def sixteen_bit_png() -> bytes:
    # Full 16-bit range: a plain conversion to 8 bits would clip the whole page to white.
    return encode(page().convert("I").point(lambda value: value * 257).convert("I;16"), "PNG")


@cache
def exif_rotated_jpeg() -> bytes:
    """The page stored turned a quarter anticlockwise, with EXIF orientation 6 to turn it back."""
    exif = Image.Exif()
    exif[0x0112] = 6
    return encode(page().transpose(Image.Transpose.ROTATE_90), "JPEG", quality=90, exif=exif)


# A hand-made PDF: catalog, pages, one page of Helvetica text; optionally RC4-encrypted with
# the standard security handler (revision 2, 40-bit), as old PDF writers still produce.
_PASSWORD_PADDING = bytes.fromhex("28BF4E5E4E758A4164004E56FFFA01082E2E00B6D0683E802F0CA9FE6453697A")
_PDF_ID = hashlib.md5(b"bad-input corpus").digest()


def _rc4(key: bytes, data: bytes) -> bytes:
    state, j = list(range(256)), 0
    for i in range(256):
        j = (j + state[i] + key[i % len(key)]) % 256
        state[i], state[j] = state[j], state[i]
    out, i, j = bytearray(), 0, 0
    for byte in data:
        i = (i + 1) % 256
        j = (j + state[i]) % 256
        state[i], state[j] = state[j], state[i]
        out.append(byte ^ state[(state[i] + state[j]) % 256])
    return bytes(out)


def text_pdf(user_password: bytes | None = None) -> bytes:
    """One 6x2-inch page of PDF_LINES. With a user password it is encrypted; an empty
    password encrypts it too, but any reader opens it without asking."""
    first, second = (line.encode() for line in PDF_LINES)
    content = b"BT /F1 24 Tf 36 90 Td 36 TL (%s) Tj (%s) ' ET" % (first, second)
    trailer = b"/ID [<%s> <%s>] " % (_PDF_ID.hex().encode(), _PDF_ID.hex().encode())
    encryption = []
    if user_password is not None:
        permissions = -4
        owner_key = hashlib.md5((b"owner" + _PASSWORD_PADDING)[:32]).digest()[:5]
        owner_entry = _rc4(owner_key, (user_password + _PASSWORD_PADDING)[:32])
        key = hashlib.md5(
            (user_password + _PASSWORD_PADDING)[:32] + owner_entry + struct.pack("<i", permissions) + _PDF_ID
        ).digest()[:5]
        user_entry = _rc4(key, _PASSWORD_PADDING)
        # Each object has its own key: the file key with the object number and generation.
        content = _rc4(hashlib.md5(key + struct.pack("<I", 4)[:3] + b"\0\0").digest()[:10], content)
        encryption = [
            b"<< /Filter /Standard /V 1 /R 2 /O <%s> /U <%s> /P %d >>"
            % (owner_entry.hex().encode(), user_entry.hex().encode(), permissions)
        ]
        trailer += b"/Encrypt 6 0 R "
    return pdf_file(
        [
            b"<< /Type /Catalog /Pages 2 0 R >>",
            b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
            b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 432 144] /Contents 4 0 R"
            b" /Resources << /Font << /F1 5 0 R >> >> >>",
            b"<< /Length %d >>\nstream\n%s\nendstream" % (len(content), content),
            b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
            *encryption,
        ],
        trailer,
    )


def zero_page_pdf() -> bytes:
    return pdf_file([b"<< /Type /Catalog /Pages 2 0 R >>", b"<< /Type /Pages /Kids [] /Count 0 >>"])


def data_uri(media_type: str, data: bytes) -> str:
    return f"data:{media_type};base64,{base64.b64encode(data).decode('ascii')}"


# ------------------------------------------------------------------------------------------
# The cases
# ------------------------------------------------------------------------------------------

# Builds the case's request for an endpoint; None where its request format cannot say it.
Build = Callable[[str, Target], HttpRequest | None]


@dataclass(frozen=True)
class Case:
    name: str
    # What is sent, in a few words (the Markdown table's first column).
    what: str
    build: Build
    # For errors: what the message must say (a regex), here or on the endpoints named in
    # says_on, so that it tells the client what was wrong.
    says: str = ""
    says_on: tuple[tuple[str, str], ...] = ()
    # For successes: the text that must come back (NO_TEXT: none), and the image's upright size
    # (PDF pages: None, their pixels are PDFium's rendering).
    reads: str | None = None
    size: tuple[int, int] | None = None
    # True: sent to the server without an allow-list, as deployed.
    strict: bool = False

    def message_pattern(self, endpoint: str) -> str:
        return dict(self.says_on).get(endpoint, self.says)


def image_case(name, what, payload: Callable[[], bytes], filename, part_type="image/png", pdf=False, **details) -> Case:
    def build(endpoint: str, target: Target) -> HttpRequest:
        return upload(endpoint, target, payload(), filename, part_type, pdf)

    return Case(name, what, build, **details)


def url_case(name, what, url: str, **details) -> Case:
    """``url`` may hold {images} (the test image server) and {port} (its port)."""

    def build(endpoint: str, target: Target) -> HttpRequest | None:
        port = target.image_base_url.rsplit(":", 1)[1]
        return by_url(endpoint, target, url.format(images=target.image_base_url, port=port))

    return Case(name, what, build, **details)


def _png_body_as_text_plain(endpoint: str, target: Target) -> HttpRequest:
    return authenticated(endpoint, target, page_png(), "text/plain")


def _png_labelled_as_jpeg(endpoint: str, target: Target) -> HttpRequest:
    if endpoint == TENCENT:
        return json_request(endpoint, target, {"ImageBase64": data_uri("image/jpeg", page_png())})
    return upload(endpoint, target, page_png(), "page.jpg", part_type="image/jpeg")


def _multipart_labelled_json(endpoint: str, target: Target) -> HttpRequest:
    field = IMAGE_FIELDS.get(endpoint, "ImageBase64")
    return multipart_request(
        endpoint, target, files=[(field, "page.png", "image/png", page_png())], content_type="application/json"
    )


def _multipart_without_boundary(endpoint: str, target: Target) -> HttpRequest:
    field = IMAGE_FIELDS.get(endpoint, "ImageBase64")
    return multipart_request(
        endpoint, target, files=[(field, "page.png", "image/png", page_png())], content_type="multipart/form-data"
    )


def _multipart_broken_boundary(endpoint: str, target: Target) -> HttpRequest:
    field = IMAGE_FIELDS.get(endpoint, "ImageBase64")
    return multipart_request(
        endpoint,
        target,
        files=[(field, "page.png", "image/png", page_png())],
        content_type="multipart/form-data; boundary=not-the-boundary-in-the-body",
    )


def _image_field_twice(endpoint: str, target: Target) -> HttpRequest:
    # One blank pixel each: where repeating is allowed, two empty results come back quickly.
    pixel = one_pixel_png()
    if endpoint == TENCENT:
        encoded = base64.b64encode(pixel).decode("ascii")
        return json_request(endpoint, target, f'{{"ImageBase64": "{encoded}", "ImageBase64": "{encoded}"}}')
    field = IMAGE_FIELDS[endpoint]
    return multipart_request(
        endpoint, target, files=[(field, "a.png", "image/png", pixel), (field, "b.png", "image/png", pixel)], images=2
    )


def _key_twice(endpoint: str, target: Target) -> HttpRequest:
    other = "0123456789abcdef0123456789abcdef"
    files = [(IMAGE_FIELDS.get(endpoint, "imagefile"), "pixel.png", "image/png", one_pixel_png())]
    if endpoint in (V1, LEGACY):
        return multipart_request(endpoint, target, files=files, query=(("appkey", other),))
    if endpoint == TUPU:
        return multipart_request(endpoint, target, files=files, query=(("key", other),))
    if endpoint == UNIVERSAL:
        # API Gateway checks the first x-api-key; the function must not quietly use another.
        return multipart_request(endpoint, target, files=files, headers=(("x-api-key", other),))
    encoded = base64.b64encode(one_pixel_png()).decode("ascii")
    return json_request(endpoint, target, {"ImageBase64": encoded}, query=(("appkey", other),))


def _option_twice(endpoint: str, target: Target) -> HttpRequest | None:
    if endpoint in (UNIVERSAL, TUPU):
        option = {UNIVERSAL: "need_location", TUPU: "referer"}[endpoint]
        values = {UNIVERSAL: ("true", "false"), TUPU: ("https://a.example/", "https://b.example/")}[endpoint]
        return multipart_request(
            endpoint,
            target,
            fields=[(option, value) for value in values],
            files=[(IMAGE_FIELDS[endpoint], "pixel.png", "image/png", one_pixel_png())],
        )
    if endpoint == TENCENT:
        encoded = base64.b64encode(one_pixel_png()).decode("ascii")
        return json_request(
            endpoint, target, f'{{"ImageBase64": "{encoded}", "ConfigID": "OCR", "ConfigID": "MulOCR"}}'
        )
    return None  # gugudata takes no options


def _file_part_without_filename(endpoint: str, target: Target) -> HttpRequest | None:
    if endpoint == TENCENT:
        return None
    return multipart_request(endpoint, target, files=[(IMAGE_FIELDS[endpoint], None, "image/png", page_png())])


def _base64_with_junk(endpoint: str, target: Target) -> HttpRequest | None:
    encoded = base64.b64encode(page_png()).decode("ascii")
    return base64_field(endpoint, target, encoded[:100] + "*!$%" + encoded[100:])


def _data_uri_text_plain(endpoint: str, target: Target) -> HttpRequest | None:
    return base64_field(endpoint, target, data_uri("text/plain", b"Meeting notes: bring the scanner.\n"))


def _data_uri_pdf(endpoint: str, target: Target) -> HttpRequest | None:
    return base64_field(endpoint, target, data_uri("application/pdf", text_pdf()))


# The one answer for a host that does not resolve and one that is internal.
NOT_PUBLIC = "does not resolve to a public address"


def _many_json_names(endpoint: str, target: Target) -> HttpRequest:
    return json_request(endpoint, target, {f"name{index:06d}": "x" for index in range(100_000)})


def _million_tiny_objects(endpoint: str, target: Target) -> HttpRequest:
    field = "ImageBase64" if endpoint == TENCENT else "image_base64"
    return json_request(endpoint, target, '{"' + field + '": [' + ",".join(["{}"] * 1_000_000) + "]}")


def _sixty_long_unknown_names(endpoint: str, target: Target) -> HttpRequest:
    names = {f"{index:02d}" + "n" * 198: "x" for index in range(60)}
    if endpoint == TENCENT:
        return json_request(endpoint, target, {"ImageBase64": base64.b64encode(one_pixel_png()).decode(), **names})
    return json_request(endpoint, target, names)


def _page_number_of_5000_digits(endpoint: str, target: Target) -> HttpRequest | None:
    encoded = base64.b64encode(text_pdf()).decode("ascii")
    if endpoint == UNIVERSAL:
        return json_request(endpoint, target, {"image_base64": encoded, "pdf_page": "9" * 5000})
    if endpoint == TENCENT:
        return json_request(endpoint, target, {"ImageBase64": encoded, "IsPdf": True, "PdfPageNumber": "9" * 5000})
    return None


@cache
def _pdf_with_a_huge_image() -> bytes:
    return pdf_with_a_huge_image()


@cache
def one_pixel_png() -> bytes:
    return encode(Image.new("L", (1, 1), 255), "PNG")


def on_pdf_readers(says: str) -> tuple[tuple[str, str], ...]:
    """``says_on`` for the endpoints that read PDFs (Tencent with IsPdf)."""
    return ((UNIVERSAL, says), (TENCENT, says))


CASES: tuple[Case, ...] = (
    image_case("zero_bytes", "an image file of 0 bytes", lambda: b"", "empty.png", says="empty"),
    image_case(
        "truncated_jpeg",
        "the first half of a JPEG",
        lambda: truncated(page_jpeg()),
        "page.jpg",
        "image/jpeg",
        says="truncated or corrupt",
    ),
    image_case(
        "truncated_png",
        "the first half of a PNG",
        lambda: truncated(page_png()),
        "page.png",
        says="truncated or corrupt",
    ),
    image_case(
        "text_file_named_png",
        "a text file named .png",
        lambda: b"Meeting notes\n- bring the scanner\n",
        "notes.png",
        says="not a supported image",
    ),
    Case(
        "png_body_as_text_plain",
        "a PNG as the body, Content-Type text/plain",
        _png_body_as_text_plain,
        says="text/plain",
    ),
    Case(
        "png_labelled_as_jpeg",
        "a PNG labelled image/jpeg (part type, or data URI)",
        _png_labelled_as_jpeg,
        reads=PAGE_TEXT,
        size=(640, 480),
    ),
    Case(
        "multipart_labelled_json", "a multipart body labelled application/json", _multipart_labelled_json, says="JSON"
    ),
    Case(
        "multipart_without_boundary",
        "multipart/form-data without boundary=",
        _multipart_without_boundary,
        says="boundary",
    ),
    Case("multipart_broken_boundary", "a boundary= the body does not use", _multipart_broken_boundary, says="boundary"),
    Case(
        "image_field_twice",
        "the image field twice (1x1 images)",
        _image_field_twice,
        says="once|one image",
        reads=NO_TEXT,
        size=(1, 1),
    ),
    Case(
        "key_twice_different_values",
        "the key twice, different values (x-api-key twice on universal)",
        _key_twice,
        says="different values",
    ),
    Case(
        "option_twice",
        "an option twice (need_location, referer, ConfigID)",
        _option_twice,
        says="more than once|2 times",
    ),
    Case(
        "file_part_without_filename",
        "the image as a part without filename=",
        _file_part_without_filename,
        says="file name",
        reads=PAGE_TEXT,
        size=(640, 480),
    ),
    Case("base64_with_junk", "base64 with *!$% in it", _base64_with_junk, says="base64"),
    Case("data_uri_text_plain", "data:text/plain;base64,...", _data_uri_text_plain, says="text/plain"),
    Case(
        "data_uri_pdf",
        "data:application/pdf;base64,... (a readable PDF)",
        _data_uri_pdf,
        says="not a supported image",
        reads=PDF_TEXT,
    ),
    image_case(
        "png_bomb_60000x60000",
        "a 69-byte PNG declaring 60000x60000",
        lambda: png_declaring(60000, 60000),
        "bomb.png",
        says="too many pixels",
    ),
    image_case(
        "gif_bomb_60000x60000",
        "a 35-byte GIF declaring 60000x60000",
        lambda: gif_declaring(60000, 60000),
        "bomb.gif",
        "image/gif",
        says="too many pixels",
        says_on=((TUPU, "send PNG, JPEG, TIFF, WEBP"),),
    ),
    image_case("one_pixel", "a 1x1 white PNG", one_pixel_png, "pixel.png", says="no text", reads=NO_TEXT, size=(1, 1)),
    image_case(
        "one_row_60000x1",
        "a 60000x1 PNG",
        lambda: encode(Image.new("L", (60000, 1), 255), "PNG"),
        "row.png",
        says="60000x1",
    ),
    image_case(
        "animated_gif",
        "an animated GIF: the page, then a blank frame",
        animated_gif,
        "page.gif",
        "image/gif",
        says="send PNG, JPEG, TIFF, WEBP",
        reads=PAGE_TEXT,
        size=(640, 480),
    ),
    image_case(
        "multipage_tiff",
        "a 2-page TIFF: the page, then a blank page",
        multipage_tiff,
        "page.tif",
        "image/tiff",
        reads=PAGE_TEXT,
        size=(640, 480),
    ),
    image_case(
        "cmyk_jpeg", "the page as a CMYK JPEG", cmyk_jpeg, "page.jpg", "image/jpeg", reads=PAGE_TEXT, size=(640, 480)
    ),
    image_case(
        "sixteen_bit_png",
        "the page as a 16-bit grey PNG",
        sixteen_bit_png,
        "page.png",
        reads=PAGE_TEXT,
        size=(640, 480),
    ),
    image_case(
        "exif_rotated_jpeg",
        "the page stored sideways, EXIF orientation 6",
        exif_rotated_jpeg,
        "page.jpg",
        "image/jpeg",
        reads=PAGE_TEXT,
        size=(640, 480),
    ),
    image_case(
        "pdf_zero_pages",
        "a PDF whose page tree is empty",
        zero_page_pdf,
        "empty.pdf",
        "application/pdf",
        pdf=True,
        says="not a supported image",
        says_on=on_pdf_readers("no pages"),
    ),
    image_case(
        "pdf_encrypted",
        "a PDF encrypted with an open password (RC4)",
        lambda: text_pdf(b"secret"),
        "locked.pdf",
        "application/pdf",
        pdf=True,
        says="not a supported image",
        says_on=on_pdf_readers("the PDF is encrypted"),
    ),
    image_case(
        "pdf_encrypted_no_password",
        "a PDF encrypted with an empty open password (RC4)",
        lambda: text_pdf(b""),
        "restricted.pdf",
        "application/pdf",
        pdf=True,
        says="not a supported image",
        reads=PDF_TEXT,
    ),
    url_case("url_redirect_loop", "a URL that redirects to itself", "{images}/loop", says="redirected"),
    url_case(
        "url_never_answers", "a URL whose server never answers", "{images}/never-answers", says="longer than allowed"
    ),
    url_case(
        "url_longer_than_declared",
        "a URL sending more bytes than its Content-Length",
        "{images}/longer-than-declared",
        reads=PAGE_TEXT,
        size=(640, 480),
    ),
    url_case(
        "url_loopback_ipv4",
        "http://127.0.0.1:PORT/phototest.tif (an image that is there)",
        "http://127.0.0.1:{port}/phototest.tif",
        says=NOT_PUBLIC,
        strict=True,
    ),
    url_case("url_private_10", "http://10.0.0.1/image.png", "http://10.0.0.1/image.png", says=NOT_PUBLIC, strict=True),
    url_case(
        "url_metadata_169_254",
        "http://169.254.169.254/latest/meta-data/",
        "http://169.254.169.254/latest/meta-data/",
        says=NOT_PUBLIC,
        strict=True,
    ),
    url_case(
        "url_loopback_ipv6",
        "http://[::1]:PORT/phototest.tif",
        "http://[::1]:{port}/phototest.tif",
        says=NOT_PUBLIC,
        strict=True,
    ),
    Case(
        "json_100000_names",
        "a JSON body of 100,000 names (1.5 MB)",
        _many_json_names,
        says="more than 64 fields",
    ),
    Case(
        "sixty_long_unknown_names",
        "60 unknown names of 200 characters",
        _sixty_long_unknown_names,
        says="unknown (field|parameter).*and 55 more",
    ),
    Case(
        "page_number_5000_digits",
        "pdf_page / PdfPageNumber of 5,000 digits",
        _page_number_of_5000_digits,
        says="page number from 1",
    ),
    image_case(
        "png_whose_text_says_pdf",
        "a PNG page whose text chunk says %PDF-",
        lambda: png_saying_pdf(page_png()),
        "page.png",
        pdf=True,
        reads=PAGE_TEXT,
        size=(640, 480),
    ),
    image_case(
        "png_pdf_polyglot",
        "a PNG page carrying a whole PDF (a polyglot)",
        lambda: png_pdf_polyglot(page_png(), text_pdf()),
        "page.png",
        pdf=True,
        reads=PAGE_TEXT,
        size=(640, 480),
    ),
    image_case(
        "pdf_image_26000x26000",
        "a 0.6 MB PDF showing one 26000x26000 image",
        _pdf_with_a_huge_image,
        "huge.pdf",
        "application/pdf",
        pdf=True,
        says="not a supported image",
        says_on=on_pdf_readers("26000x26000"),
    ),
    image_case(
        "pdf_costly_shading",
        "a 14 KB PDF whose shading runs a 3,000-operator function per pixel",
        pdf_with_costly_shading,
        "shading.pdf",
        "application/pdf",
        pdf=True,
        says="not a supported image",
        says_on=on_pdf_readers("more time than allowed"),
    ),
    image_case(
        "jpeg_8000_scans",
        "a 0.3 MB progressive JPEG of 8,000 scans",
        jpeg_with_many_scans,
        "scans.jpg",
        "image/jpeg",
        says="more time than allowed",
    ),
    url_case(
        "url_trickled_headers",
        "a URL whose headers come one byte a second",
        "{images}/trickle-headers",
        says="longer than allowed",
    ),
    url_case(
        "url_endless_100_continue",
        "a URL that answers 100 Continue without end",
        "{images}/endless-continue",
        says="longer than allowed",
    ),
    url_case(
        "url_ipv4_mapped_loopback",
        "http://[::ffff:127.0.0.1]:PORT/phototest.tif",
        "http://[::ffff:127.0.0.1]:{port}/phototest.tif",
        says=NOT_PUBLIC,
        strict=True,
    ),
    url_case(
        "url_ipv4_compatible_loopback",
        "http://[::127.0.0.1]:PORT/phototest.tif",
        "http://[::127.0.0.1]:{port}/phototest.tif",
        says=NOT_PUBLIC,
        strict=True,
    ),
    url_case(
        "url_nat64_metadata",
        "http://[64:ff9b::169.254.169.254]/latest/meta-data/",
        "http://[64:ff9b::a9fe:a9fe]/latest/meta-data/",
        says=NOT_PUBLIC,
        strict=True,
    ),
    url_case(
        "url_site_local_ipv6",
        "http://[fec0::1]/image.png",
        "http://[fec0::1]/image.png",
        says=NOT_PUBLIC,
        strict=True,
    ),
    url_case(
        "url_host_that_does_not_resolve",
        "http://no-such-host.invalid/image.png",
        "http://no-such-host.invalid/image.png",
        says=NOT_PUBLIC,
        strict=True,
    ),
    image_case(
        "png_hairline_2000x1",
        "a 2000x1 PNG (a few hundred bytes)",
        lambda: encode(Image.new("L", (2000, 1), 255), "PNG"),
        "hairline.png",
        says="at most 100 times",
    ),
    image_case(
        "png_strip_600x6",
        "a 600x6 black strip",
        lambda: encode(Image.new("L", (600, 6), 0), "PNG"),
        "strip.png",
        says="no text",
        reads=NO_TEXT,
    ),
    Case(
        "json_million_tiny_objects",
        "a JSON body of a million empty objects (2 MB)",
        _million_tiny_objects,
        says="more than 64 fields",
    ),
    image_case(
        "pdf_inline_image_30000x30000",
        "an 0.9 MB PDF whose content draws a 30000x30000 inline image",
        pdf_with_an_inline_image,
        "inline.pdf",
        "application/pdf",
        pdf=True,
        says="not a supported image",
        says_on=on_pdf_readers("30000x30000"),
    ),
    url_case(
        "url_body_cut_short",
        "a URL that sends half the bytes its Content-Length announces",
        "{images}/short-body",
        says="announced",
    ),
)


def _check_cases_against_the_table() -> None:
    assert [case.name for case in CASES] == list(EXPECTED), "CASES and EXPECTED must list the same cases"
    for case in CASES:
        succeeds = [
            outcome[1] == SUCCESS_CODES[endpoint]
            for endpoint in ENDPOINTS
            if (outcome := expected(case.name, endpoint))
        ]
        assert case.reads is not None or not any(succeeds), f"{case.name}: what text must it read?"
        assert case.says or all(succeeds), f"{case.name}: what must its errors say?"


_check_cases_against_the_table()


def pairs() -> list[tuple[Case, str]]:
    """Every (case, endpoint) that can be said in the endpoint's request format."""
    return [(case, endpoint) for case in CASES for endpoint in ENDPOINTS if expected(case.name, endpoint)]


def expectation_table() -> str:
    """EXPECTED as Markdown, for docs/reliability.md."""
    names = {V1: "gugudata v1", LEGACY: "gugudata legacy", UNIVERSAL: "universal", TUPU: "tupu", TENCENT: "Tencent"}
    rows = [
        "| input | " + " | ".join(names[endpoint] for endpoint in ENDPOINTS) + " |",
        "|---|" + "---|" * len(ENDPOINTS),
    ]
    for case in CASES:
        cells = []
        for endpoint in ENDPOINTS:
            outcome = expected(case.name, endpoint)
            if outcome is None:
                cells.append("n/a")
            elif outcome[1] == SUCCESS_CODES[endpoint]:
                cells.append(f"{outcome[0]} success" + (", no text" if case.reads == NO_TEXT else ""))
            else:
                cells.append(f"{outcome[0]} `{outcome[1]}`")
        rows.append(f"| {case.what} | " + " | ".join(cells) + " |")
    return "\n".join(rows)


if __name__ == "__main__":
    print(expectation_table())
