"""Fuzzing request parsing and image decoding through the real Lambda handler.

    python -m ocr_local fuzz [--seconds 60] [--target parsing|images|all]

atheris (libFuzzer, coverage-guided over the Python code of ``ocr_api``, ``multipart`` and
Pillow) mutates bytes; each input becomes one API Gateway event for one of the five endpoints
and goes through the real handler in-process, with the key store in moto and the real
Tesseract. A failure is an unhandled exception, a server-side answer (a 5xx, or the dialect's
own code for one) or an answer outside the endpoint's documented envelope. Each distinct
failure is saved under ``build/fuzz/`` as the raw input, a replayable event
(``python -m ocr_local invoke build/fuzz/....event.json``) and a report; the command then
exits 1. The corpus grows in ``build/fuzz/corpus/<target>/``, so later runs start from it.

Targets:
- ``parsing``: the input chooses the endpoint, whether the key is sent, the query string, the
  Content-Type and the body (and whether API Gateway marked it base64).
- ``images``: the input is an image, sent the ways each endpoint takes one; seeded with small
  images of every accepted format and a PDF.

Image URLs never leave the machine: while fuzzing, every host name resolves to a private
address, which the fetcher refuses (400) before connecting.

The endpoints, their request builders and answer readers come from ``api_clients``, which the
other tests and the load test share; the answer contract (``check_answer``: documented, not
server-side, nothing of the service's insides) is shared with ``tests/reliability/test_fuzz.py``,
the bounded hypothesis run.
"""

from __future__ import annotations

import argparse
import base64
import functools
import hashlib
import io
import json
import logging
import os
import re
import subprocess
import sys
import time
import traceback
import warnings
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO
from urllib.parse import parse_qsl

from ocr_local.forms import multipart_form
from ocr_local.lambda_runtime import LocalLambdaContext
from ocr_local.template import PROJECT_ROOT
from ocr_tools.api_clients import DEFAULT_APPKEY, ENDPOINTS, Answer, ContractViolation, Endpoint, api_spec, require
from ocr_tools.hostile_files import jpeg_with_many_scans, pdf_with_costly_shading, png_pdf_polyglot, png_saying_pdf
from ocr_tools.pdf_files import pdf_file

TARGETS = ("parsing", "images")
DEFAULT_OUT = PROJECT_ROOT / "build" / "fuzz"
# The key every fuzzed request carries; ``invoke`` registers it too, so saved events replay.
FUZZ_APPKEY = DEFAULT_APPKEY
# libFuzzer's longest input: room for a small image or a multipart body around one.
MAX_INPUT_BYTES = 64 * 1024


def check_answer(endpoint: Endpoint, response: Any, sent: str = "") -> Answer:
    """Raises ``ContractViolation`` unless ``response`` is a documented, client-side answer.

    ``sent`` is the request's own text: what the client sent may be echoed back (a field
    name, a bad value), so only what the server added counts as a leak.
    """
    require(
        isinstance(response, dict) and isinstance(response.get("statusCode"), int),
        f"not a proxy response: {response!r:.200}",
    )
    status, text = response["statusCode"], response.get("body") or ""
    if response.get("isBase64Encoded"):
        text = base64.b64decode(text).decode("utf-8", "replace")
    try:
        body = json.loads(text)
    except ValueError:
        raise ContractViolation(f"HTTP {status}: the body is not JSON: {text[:200]!r}") from None
    require(status < 500, f"a server-side failure: HTTP {status} {text[:300]}")
    require(status in endpoint.statuses, f"HTTP {status} is not documented for {endpoint.name}")
    headers = [
        *(response.get("headers") or {}).items(),
        *((name, value) for name, values in (response.get("multiValueHeaders") or {}).items() for value in values),
    ]
    content_type = next((value for name, value in headers if name.lower() == "content-type"), "")
    require(content_type.startswith("application/json"), f"Content-Type is {content_type!r}")
    answer = endpoint.read(status, body)
    require(not answer.server_side, f"a server-side failure: {answer.label} {text[:300]}")
    leaks = _leaks(body, answer.messages, sent)
    require(not leaks, f"the answer shows the server's insides {leaks}: {text[:300]}")
    return answer


def sent_text(event: dict) -> str:
    """Everything a client put in the request, as text: what an answer may echo."""
    body = event.get("body") or ""
    if event.get("isBase64Encoded"):
        try:
            raw = base64.b64decode(body)
            body = raw.decode("utf-8", "replace") + raw.decode("latin-1")
        except ValueError:
            pass
    return json.dumps(event, ensure_ascii=False) + body


_TRACEBACK = re.compile(r'Traceback \(most recent call last\)|File "[^"]*", line \d+')
_PATH = re.compile(r"(?:/[\w.@+-]+)+\.py\b|(?<![\w/])/(?:tmp|var|opt|usr|home|work|proc|etc|root)/[\w./-]*")
_EXCEPTION_NAME = re.compile(
    r"\b[A-Z][A-Za-z0-9]*(?:Error|Exception|Warning)\b|\b(?:KeyboardInterrupt|StopIteration)\b"
)


def _leaks(body: Any, messages: tuple[str, ...], sent: str) -> list[str]:
    found = []
    for text in _strings(body):
        found += [m.group() for m in _TRACEBACK.finditer(text)]
        found += [m.group() for m in _PATH.finditer(text)]
    # Exception names only where the server writes prose: codes such as Tencent's
    # "FailedOperation.EmptyImageError" are documented names.
    for message in messages:
        found += [m.group() for m in _EXCEPTION_NAME.finditer(message)]
    return [leak for leak in found if leak not in sent]


def _strings(value: Any):
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for item in value.values():
            yield from _strings(item)
    elif isinstance(value, list):
        for item in value:
            yield from _strings(item)


# --- Seeds: small images of every accepted format ----------------------------------------------

# Magic numbers of accepted formats, and of formats Pillow knows that the API refuses.
MAGIC_NUMBERS = (
    b"\x89PNG\r\n\x1a\n",
    b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR",
    b"\xff\xd8\xff",
    b"\xff\xd8\xff\xe0\x00\x10JFIF\x00",
    b"\xff\xd8\xff\xe1",
    b"GIF87a",
    b"GIF89a",
    b"BM",
    b"II*\x00",
    b"MM\x00*",
    b"II+\x00",
    b"RIFF\x00\x00\x00\x00WEBPVP8 ",
    b"RIFF\x00\x00\x00\x00WEBPVP8L",
    b"RIFF\x00\x00\x00\x00WEBPVP8X",
    b"\x00\x00\x00\x1cftypheic\x00\x00\x00\x00mif1heic",
    b"\x00\x00\x00\x1cftypmif1\x00\x00\x00\x00mif1heic",
    b"\x00\x00\x00\x20ftypavif\x00\x00\x00\x00avifmif1",
    b"\x00\x00\x00\x1cftypmif1\x00\x00\x00\x00mif1avif",
    b"%PDF-1.4\n",
    b"%PDF-",
    b"\x00\x00\x01\x00",
    b"8BPS",
    b"P6\n",
    b"\x97JB2",
    b"\x00\x00\x00\x0cjP  ",
)


@functools.cache
def seed_images() -> dict[str, bytes]:
    """Small images (at most 64x64 px, so Tesseract is quick) of every accepted format in the
    variants the decoder treats differently: modes, compressions, frames, EXIF turns; and a PDF.
    Keys start with the format's name: "png-...", "jpeg-...", ..., "pdf-...".
    """
    import pillow_heif
    from PIL import Image, ImageDraw

    pillow_heif.register_heif_opener()  # its encoder: the service itself only decodes
    page = Image.new("L", (48, 24), 255)
    ImageDraw.Draw(page).text((3, 6), "Ab 12", fill=0)
    rgb = page.convert("RGB")
    rgba = rgb.convert("RGBA")
    rgba.putalpha(page.point(lambda value: 255 - value))
    wide = page.convert("I").point(lambda value: value * 256)
    exif = Image.Exif()
    exif[0x0112] = 6

    def encoded(image, format: str, **options) -> bytes:
        buffer = io.BytesIO()
        image.save(buffer, format=format, **options)
        return buffer.getvalue()

    inverted = page.point(lambda value: 255 - value)
    return {
        "png-grey": encoded(page, "PNG"),
        "png-rgba": encoded(rgba, "PNG"),
        "png-palette": encoded(rgb.convert("P"), "PNG", transparency=0),
        "png-bilevel": encoded(page.convert("1"), "PNG"),
        "png-16bit": encoded(wide.convert("I;16"), "PNG"),
        "jpeg-grey": encoded(page, "JPEG", quality=80),
        "jpeg-rgb-progressive": encoded(rgb, "JPEG", progressive=True),
        "jpeg-cmyk": encoded(rgb.convert("CMYK"), "JPEG"),
        "jpeg-exif-turned": encoded(rgb, "JPEG", exif=exif, dpi=(300, 300)),
        "gif-still": encoded(page, "GIF"),
        "gif-animated": encoded(page, "GIF", save_all=True, append_images=[inverted], duration=100),
        "bmp-rgb": encoded(rgb, "BMP"),
        "bmp-bilevel": encoded(page.convert("1"), "BMP"),
        "bmp-palette": encoded(rgb.convert("P"), "BMP"),
        "tiff-grey": encoded(page, "TIFF"),
        "tiff-group4": encoded(page.convert("1"), "TIFF", compression="group4"),
        "tiff-lzw-rgb": encoded(rgb, "TIFF", compression="tiff_lzw"),
        "tiff-multipage": encoded(page, "TIFF", save_all=True, append_images=[inverted]),
        "tiff-16bit": encoded(wide.convert("I;16"), "TIFF"),
        "webp-lossy": encoded(rgb, "WEBP", quality=80),
        "webp-lossless-alpha": encoded(rgba, "WEBP", lossless=True),
        "webp-animated": encoded(rgb, "WEBP", save_all=True, append_images=[inverted.convert("RGB")], duration=100),
        "heif-rgb": encoded(rgb, "HEIF", quality=90),
        "heif-grey": encoded(page, "HEIF"),
        "heif-exif-turned": encoded(rgb, "HEIF", exif=exif.tobytes()),
        "heif-two-images": encoded(rgb, "HEIF", save_all=True, append_images=[inverted.convert("RGB")]),
        "avif-rgb": encoded(rgb, "AVIF"),
        "avif-alpha": encoded(rgba, "AVIF"),
        "avif-animated": encoded(rgb, "AVIF", save_all=True, append_images=[inverted.convert("RGB")], duration=100),
        "pdf-text": _text_pdf(),
        "pdf-image": encoded(page, "PDF", resolution=300),
        # Small, quick forms of the hostile inputs of docs/reliability.md, for the
        # fuzzers to grow: a calculator-function shading, repeated progressive scans, a PNG
        # whose text says %PDF-, and a PNG carrying a whole PDF.
        "pdf-shading-function": pdf_with_costly_shading(operators=30, width_pt=40, height_pt=18),
        "jpeg-repeated-scans": jpeg_with_many_scans(scans=20, side=48),
        "png-text-says-pdf": png_saying_pdf(encoded(page, "PNG")),
        "png-pdf-polyglot": png_pdf_polyglot(encoded(page, "PNG"), _text_pdf()),
        # Round three: a hairline at the most elongated shape accepted (100:1), read as no text;
        # mutating its header's width or height reaches the shapes refused.
        "png-hairline": encoded(Image.new("L", (200, 2), 0), "PNG"),
    }


def _text_pdf() -> bytes:
    """A one-page PDF with a line of Helvetica text, small enough to render under 100 px."""
    content = b"BT /F1 10 Tf 3 5 Td (Ab 12) Tj ET"
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 40 18] /Resources << /Font << /F1 5 0 R >> >> /Contents 4 0 R >>",
        b"<< /Length %d >>\nstream\n%s\nendstream" % (len(content), content),
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]
    return pdf_file(objects)


# --- From fuzz input bytes to events ------------------------------------------------------------

_ENDPOINT_ORDER = tuple(ENDPOINTS.values())
_NO_KEY, _BASE64_FLAG, _OTHER_ACTION, _SIGNED = 1, 2, 4, 8
_SIGNATURE_SEED = (
    b"Credential=AKID"
    + b"0" * 32
    + time.strftime("/%Y-%m-%d/", time.gmtime()).encode()
    + b"ocr/tc3_request, SignedHeaders=content-type;host, Signature="
    + b"0" * 64
)


def parsing_event(data: bytes) -> tuple[Endpoint, dict]:
    """``data``: endpoint byte, flags byte, then query line, Content-Type line and the body.

    Flags: 1 leaves the key out; 2 hands the body over as the event's text with
    ``isBase64Encoded`` set, whatever it is; 4 sends another X-TC-Action; 8 sends the query line
    as the rest of a TC3 Authorization header instead (credential, signed headers, signature),
    with the current X-TC-Timestamp.
    """
    endpoint = _ENDPOINT_ORDER[data[0] % len(_ENDPOINT_ORDER)] if data else _ENDPOINT_ORDER[0]
    flags = data[1] if len(data) > 1 else 0
    query_line, _, rest = data[2:].partition(b"\n")
    content_type_line, _, body = rest.partition(b"\n")
    query = parse_qsl(query_line.decode("utf-8", "replace"), keep_blank_values=True)
    content_type = content_type_line.decode("utf-8", "replace").strip() or None
    headers = [("X-TC-Action", "GeneralAccurateOCR ")] if flags & _OTHER_ACTION else []
    if flags & _SIGNED:
        headers += [
            ("Authorization", "TC3-HMAC-SHA256 " + query_line.decode("utf-8", "replace")),
            ("X-TC-Timestamp", str(int(time.time()))),
            ("Host", "ocr.example.com"),
        ]
        query = []
    event = endpoint.event(
        content_type=content_type, body=body, query=query, headers=headers, with_key=not flags & _NO_KEY
    )
    if flags & _BASE64_FLAG:
        event["body"] = body.decode("utf-8", "replace")
        event["isBase64Encoded"] = True
    return endpoint, event


def parsing_input(endpoint: str, flags: int, query: bytes, content_type: bytes, body: bytes) -> bytes:
    return bytes([_ENDPOINT_ORDER.index(ENDPOINTS[endpoint]), flags]) + query + b"\n" + content_type + b"\n" + body


def image_event_from_input(data: bytes) -> tuple[Endpoint, dict]:
    """``data``: endpoint byte, a byte choosing the way (bit 7: IsPdf on Tencent), the image."""
    endpoint = _ENDPOINT_ORDER[data[0] % len(_ENDPOINT_ORDER)] if data else _ENDPOINT_ORDER[0]
    choice = data[1] if len(data) > 1 else 0
    way = endpoint.image_ways[(choice & 0x7F) % len(endpoint.image_ways)]
    return endpoint, endpoint.image_event(data[2:], way, is_pdf=bool(choice & 0x80))


def image_input(endpoint: str, way: str, image: bytes, is_pdf: bool = False) -> bytes:
    index = ENDPOINTS[endpoint].image_ways.index(way)
    return bytes([_ENDPOINT_ORDER.index(ENDPOINTS[endpoint]), index | (0x80 if is_pdf else 0)]) + image


def _parsing_seeds() -> list[bytes]:
    image = b"\x89PNG\r\n\x1a\n" + bytes(range(48))
    encoded = base64.b64encode(image)
    seeds = []
    for name, endpoint in ENDPOINTS.items():
        fields = [
            (field, "true")
            for field in endpoint.fields
            if field not in (endpoint.file_field, endpoint.base64_field, "url", "ImageUrl", "image")
        ]
        files = [(endpoint.file_field, "a.png", "image/png", image)] if endpoint.file_field else []
        content_type, body = multipart_form(fields=fields, files=files)
        seeds.append(parsing_input(name, 0, b"", content_type.encode(), body))
        document = {field: "1" for field in endpoint.fields}
        if endpoint.base64_field:
            document[endpoint.base64_field] = "data:image/png;base64," + encoded.decode()
        seeds.append(parsing_input(name, 0, b"", b"application/json", json.dumps(document).encode()))
        seeds.append(
            parsing_input(
                name,
                0,
                b"a=1&a=2",
                b"application/x-www-form-urlencoded",
                b"image_base64=" + encoded.replace(b"+", b"%2B") + b"&appkey=x",
            )
        )
        seeds.append(parsing_input(name, _BASE64_FLAG, b"", b"image/png", b"iVBORw0KGgo="))
        seeds.append(parsing_input(name, _SIGNED, _SIGNATURE_SEED, b"application/json", b'{"ImageBase64": ""}'))
        seeds.append(parsing_input(name, 0, b"", b"image/png", image))
        # Round three: values nested where fields are expected, which the body's count bounds.
        seeds.append(
            parsing_input(
                name,
                0,
                b"",
                b"application/json",
                b'{"%s": [%s]}' % ((endpoint.base64_field or "image").encode(), b",".join([b"{}"] * 40)),
            )
        )
    return seeds


def _parsing_dictionary() -> list[bytes]:
    """Words libFuzzer splices into inputs: the names and values a request is made of."""
    words = {name.encode() for endpoint in ENDPOINTS.values() for name in endpoint.fields}
    words |= {
        b"appkey",
        b"key",
        FUZZ_APPKEY.encode(),
        b"true",
        b"false",
        b"1",
        b"0",
        b"-1",
        "\u00b2".encode(),
        "\u0661".encode(),
        b"\\ud800",
        b"all",
        b"eng",
        b"OCR",
        b"MulOCR",
        b"multipart/form-data; boundary=",
        b"application/x-www-form-urlencoded",
        b"application/json",
        b"image/png",
        b"application/octet-stream",
        b'Content-Disposition: form-data; name="',
        b'"; filename="',
        b"\r\n",
        b"--",
        b"data:image/png;base64,",
        b"http://",
        b"https://",
        b"10.0.0.1",
        b"[::1]",
        b"%PDF-",
    }
    return sorted(words)


def _dictionary_file(words: list[bytes]) -> str:
    return "".join('"' + "".join(f"\\x{byte:02x}" for byte in word) + '"\n' for word in words)


def _image_seeds() -> list[bytes]:
    """Each seed image once, sent to an endpoint that reads its format, the ways taking turns:
    libFuzzer mutates the leading bytes too, so it tries the other endpoints and ways itself.
    (Every seed is read by Tesseract when the corpus loads; one each keeps that short.)"""
    targets = [(endpoint.name, way) for endpoint in ENDPOINTS.values() for way in endpoint.image_ways]
    seeds = []
    for index, (name, image) in enumerate(seed_images().items()):
        is_pdf = name.startswith("pdf")
        readers = [(endpoint, way) for endpoint, way in targets if not is_pdf or endpoint in ("universal", "tencent")]
        endpoint, way = readers[index % len(readers)]
        seeds.append(image_input(endpoint, way, image, is_pdf=is_pdf))
    return seeds


# --- Running atheris ------------------------------------------------------------------------------


class LoggedTraceback(logging.Handler):
    """Keeps the last exception the service logged: the handler answers unexpected errors
    with a bare 500, and the trace behind it is what a fuzzing failure needs to show."""

    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.last: str | None = None

    def emit(self, record: logging.LogRecord) -> None:
        if record.exc_info:
            self.last = "".join(traceback.format_exception(*record.exc_info))


@dataclass
class FuzzRun:
    target: str
    seconds: float
    out_dir: Path
    handler: Any
    function: Any
    tracebacks: LoggedTraceback
    report: TextIO
    started: float = field(default_factory=time.monotonic)
    executions: int = 0
    failures: int = 0
    failure_kinds: dict[str, Path] = field(default_factory=dict)
    outcomes: Counter = field(default_factory=Counter)

    def one_input(self, data: bytes) -> None:
        if time.monotonic() - self.started >= self.seconds:
            self.finish()
        self.executions += 1
        build = parsing_event if self.target == "parsing" else image_event_from_input
        endpoint, event = build(data)
        self.tracebacks.last = None
        try:
            response = self.handler(event, LocalLambdaContext(self.function))
            answer = check_answer(endpoint, response, sent_text(event))
        except Exception as err:  # noqa: BLE001 - every failure of the handler is a finding
            self._record_failure(data, event, endpoint, err)
            return
        self.outcomes[f"{endpoint.name} {answer.label}"] += 1

    def _record_failure(self, data: bytes, event: dict, endpoint: Endpoint, err: Exception) -> None:
        self.failures += 1
        # The same bug fails many inputs: one of each is saved, told apart by where the service
        # failed, or else by how the answer broke the contract.
        logged = self.tracebacks.last
        trace = logged or "".join(traceback.format_exception(err))
        cause = _root_cause(logged) if logged else f"{type(err).__name__}: {str(err)[:80]}"
        kind = f"{endpoint.name}: {cause}"
        self.outcomes[f"{endpoint.name} FAILED"] += 1
        if kind in self.failure_kinds:
            return
        stem = self.out_dir / f"{self.target}-failure-{hashlib.sha1(data).hexdigest()[:12]}"
        stem.with_suffix(".bin").write_bytes(data)
        stem.with_suffix(".event.json").write_text(json.dumps(event, indent=2), encoding="utf-8")
        report = f"{kind}\n\n{err}\n\n{trace}"
        stem.with_suffix(".txt").write_text(report, encoding="utf-8")
        self.failure_kinds[kind] = stem
        print(f"\n=== fuzz failure ({self.target}) saved as {stem}.*\n{report}", file=sys.stderr, flush=True)

    def finish(self) -> None:
        elapsed = time.monotonic() - self.started
        lines = [
            f"\nfuzz target {self.target}: {self.executions} executions in {elapsed:.0f} s "
            f"({self.executions / max(elapsed, 1e-9):.1f}/s), {self.failures} failure(s), "
            f"{len(self.failure_kinds)} distinct",
        ]
        lines += [f"  {count:7d}  {outcome}" for outcome, count in sorted(self.outcomes.items())]
        lines += [f"  failure: {kind}\n           saved as {stem}.*" for kind, stem in self.failure_kinds.items()]
        print("\n".join(lines), file=self.report, flush=True)
        sys.stderr.flush()
        # libFuzzer owns the process: leaving now is the only way to end at our time, with our code.
        os._exit(1 if self.failures else 0)


def _root_cause(trace: str) -> str:
    """ "PdfiumError at document.py:408 get_page": the exception and the frame that raised it."""
    frames = re.findall(r'File "([^"]+)", line (\d+), in (\S+)', trace)
    exception = trace.strip().splitlines()[-1].split(":", 1)[0].rsplit(".", 1)[-1]
    if not frames:
        return exception
    path, line, function = frames[-1]
    return f"{exception} at {Path(path).name}:{line} {function}"


def _fuzz_in_this_process(target: str, seconds: float, out_dir: Path) -> None:
    import socket

    import atheris

    from ocr_local.dynamodb import LOCAL_AWS_ENVIRONMENT

    os.environ.update(LOCAL_AWS_ENVIRONMENT)
    os.environ.update(
        POWERTOOLS_TRACE_DISABLED="true", POWERTOOLS_METRICS_DISABLED="true", POWERTOOLS_LOG_LEVEL="ERROR"
    )
    # The service logs and writes metrics to stdout, thousands of lines a second while fuzzing;
    # failures are reported from the logged traces instead (LoggedTraceback).
    report = sys.stdout
    sys.stdout = open(os.devnull, "w")  # noqa: SIM115 - for the life of the process
    # Damaged images make Pillow warn about each bad tag; that is the point here.
    warnings.filterwarnings("ignore", category=UserWarning)
    # Only modules imported inside this block are instrumented: nothing may import them before.
    with atheris.instrument_imports(include=["ocr_api", "multipart", "PIL"]):
        from ocr_api.app import lambda_handler
    _offline_resolver(socket)
    function, service = _fuzzed_service()
    handler = lambda_handler(service)
    tracebacks = LoggedTraceback()
    logging.getLogger("ocr_api").addHandler(tracebacks)

    corpus = out_dir / "corpus" / target
    corpus.mkdir(parents=True, exist_ok=True)
    if not any(corpus.iterdir()):
        for seed in _parsing_seeds() if target == "parsing" else _image_seeds():
            (corpus / hashlib.sha1(seed).hexdigest()).write_bytes(seed)
    dictionary = out_dir / f"{target}.dict"
    dictionary.write_text(
        _dictionary_file(_parsing_dictionary() if target == "parsing" else list(MAGIC_NUMBERS)), encoding="ascii"
    )
    run = FuzzRun(target, seconds, out_dir, handler, function, tracebacks, report)
    atheris.Setup(
        [
            sys.argv[0],
            str(corpus),
            f"-dict={dictionary}",
            f"-max_len={MAX_INPUT_BYTES}",
            f"-artifact_prefix={out_dir}/",
            # A request has 28 s on Lambda; an input past a minute hangs.
            "-timeout=60",
            "-rss_limit_mb=4096",
            # A backstop only: the run ends itself at --seconds (FuzzRun.finish).
            f"-max_total_time={int(seconds) + 600}",
        ],
        run.one_input,
    )
    atheris.Fuzz()


def _offline_resolver(socket_module) -> None:
    """Every host name resolves to a private address, so the fetcher refuses each URL before
    it connects: fuzzing never reaches the network, whatever URL it makes up."""
    private = "10.255.255.1"

    def resolve(host, port, *args, **kwargs):
        return [(socket_module.AF_INET, socket_module.SOCK_STREAM, 6, "", (private, port or 0))]

    socket_module.getaddrinfo = resolve


def _fuzzed_service():
    """The handler's function and service on moto and the real Tesseract, with the fuzzing key on a
    plan whose rate the fuzzer cannot reach (a 429 would hide everything behind the key)."""

    import boto3
    from moto import mock_aws

    from ocr_api.adapters.dynamodb_keys import AppKeyStore
    from ocr_api.config import Settings
    from ocr_api.keys import AppKey, Plan
    from ocr_api.service.ocr_service import build_service
    from ocr_local.dynamodb import create_table
    from ocr_local.environment import LOCAL_TABLE_NAME, system_tessdata_dir, write_template_plans

    spec = api_spec()
    mock_aws().start()  # for the life of this process
    create_table(boto3.client("dynamodb"), LOCAL_TABLE_NAME, spec.table_properties)
    store = AppKeyStore(LOCAL_TABLE_NAME)
    write_template_plans(store, spec, usage_plan_ids={})
    store.put_plan(Plan("fuzzing", requests_per_second=100_000))
    store.put(AppKey.for_secret(FUZZ_APPKEY, "fuzzing", plan="fuzzing"))
    # English alone loads in half the time of chi_sim+eng; what is fuzzed is everything before.
    settings = Settings(appkeys_table=LOCAL_TABLE_NAME, languages="eng", tessdata_dir=system_tessdata_dir())
    return spec.functions["OcrFunction"], build_service(settings, store)


def run(target: str, seconds: float, out_dir: Path = DEFAULT_OUT) -> int:
    """Fuzzes each target for its share of ``seconds``, each in a fresh process: atheris must
    instrument the modules as they are first imported, and libFuzzer ends the process it runs in."""
    import importlib.util

    if importlib.util.find_spec("atheris") is None:
        print("atheris is not installed (it is a dev dependency, for Linux x86_64)", file=sys.stderr)
        return 2
    targets = TARGETS if target == "all" else (target,)
    out_dir.mkdir(parents=True, exist_ok=True)
    worst = 0
    for name in targets:
        share = seconds / len(targets)
        result = subprocess.run(
            [sys.executable, "-m", "ocr_tools.fuzz", name, "--seconds", str(share), "--out", str(out_dir)],
            check=False,
        )
        worst = max(worst, result.returncode)
    return worst


def main(argv: list[str] | None = None) -> None:
    """One target in this process (what ``run`` starts)."""
    parser = argparse.ArgumentParser(prog="python -m ocr_tools.fuzz")
    parser.add_argument("target", choices=TARGETS)
    parser.add_argument("--seconds", type=float, default=60)
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    args = parser.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    _fuzz_in_this_process(args.target, args.seconds, args.out)


if __name__ == "__main__":
    main()
