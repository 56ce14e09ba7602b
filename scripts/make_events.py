"""Writes events/*.json: real API Gateway events, built as the local server builds them.

Run from the project root: python scripts/make_events.py
"""

from __future__ import annotations

import base64
import hashlib
import io
import json

from PIL import Image

from ocr_local.apigateway import build_event
from ocr_local.events import EVENTS_APPKEY, EVENTS_DIR
from ocr_local.forms import multipart_form
from ocr_local.template import PROJECT_ROOT, load_template
from ocr_tools.eval_set import TEST_DATA

PATH = "/v1/imagerecognition/ocr"
UNIVERSAL = "/v1/ocr/universal"
BOUNDARY = "------------------------3f1c9a2b7d5e4c60"
HEADERS = [("Host", "127.0.0.1:3000"), ("User-Agent", "curl/7.88.1"), ("Accept", "*/*")]


def main() -> None:
    spec = load_template()
    phototest = (TEST_DATA / "tesseract-test" / "phototest.tif").read_bytes()
    chinese = (TEST_DATA / "zh-rendered" / "screenshot_02.png").read_bytes()

    def post(name, query, content_type, body, path=PATH, headers=()):
        event = build_event(
            method="POST",
            path=path,
            resource=path,
            stage=spec.stage,
            query=query,
            headers=HEADERS + [*headers, ("Content-Type", content_type), ("Content-Length", str(len(body)))],
            body=body,
            binary_media_types=spec.binary_media_types,
            request_id=f"00000000-0000-4000-8000-{hashlib.sha256(name.encode()).hexdigest()[:12]}",
        )
        _write(name, event)

    key = [("appkey", EVENTS_APPKEY)]
    post(
        "v1-ocr-multipart",
        key,
        *multipart_form(files=[("imagefile", "phototest.tif", "image/tiff", phototest)], boundary=BOUNDARY),
    )
    post(
        "v1-ocr-multipart-appkey-field",
        [],
        *multipart_form(
            fields=key, files=[("imagefile", "screenshot_02.png", "image/png", chinese)], boundary=BOUNDARY
        ),
    )
    post(
        "v1-ocr-base64-json",
        key,
        "application/json",
        json.dumps({"image_base64": "data:image/png;base64," + base64.b64encode(chinese).decode()}).encode(),
    )
    post("v1-ocr-raw-image", key, "image/tiff", phototest)
    post(
        "v1-ocr-missing-appkey",
        [],
        *multipart_form(files=[("imagefile", "phototest.tif", "image/tiff", phototest)], boundary=BOUNDARY),
    )
    post(
        "v1-ocr-not-an-image",
        key,
        *multipart_form(
            files=[("imagefile", "notes.png", "image/png", b"these are notes, not a picture\n")], boundary=BOUNDARY
        ),
    )
    post(
        "v1-ocr-too-large",
        key,
        *multipart_form(files=[("imagefile", "huge.png", "image/png", _pixel_bomb())], boundary=BOUNDARY),
    )
    turned = (TEST_DATA / "tesseract-test" / "phototest-rotated-L.png").read_bytes()
    post(
        "universal-multipart-cls",
        [],
        *multipart_form(
            fields=[("enable_cls", "true"), ("return_markdown", "true")],
            files=[("file", "phototest-rotated-L.png", "image/png", turned)],
            boundary=BOUNDARY,
        ),
        path=UNIVERSAL,
        headers=[("x-api-key", EVENTS_APPKEY)],
    )
    post(
        "legacy-imagestreamocr-multipart",
        key,
        *multipart_form(files=[("imagefile", "phototest.tif", "image/tiff", phototest)], boundary=BOUNDARY),
        path="/imagerecognition/imagestreamocr",
    )
    post(
        "tupu-general-ocr-multipart",
        [("key", EVENTS_APPKEY)],
        *multipart_form(
            fields=[("tag", "sample")], files=[("image", "phototest.tif", "image/tiff", phototest)], boundary=BOUNDARY
        ),
        path="/v3/recognition/general-ocr",
    )
    tencent = json.dumps({"ImageBase64": base64.b64encode(phototest).decode()}).encode()
    post(
        "tencent-general-accurate-ocr",
        [],
        "application/json",
        tencent,
        path="/",
        headers=[("X-TC-Action", "GeneralAccurateOCR"), ("X-TC-Version", "2018-11-19"), ("x-api-key", EVENTS_APPKEY)],
    )
    _write(
        "usage",
        build_event(
            method="GET",
            path="/v1/usage",
            resource="/v1/usage",
            stage=spec.stage,
            headers=[*HEADERS, ("x-api-key", EVENTS_APPKEY)],
            request_id="00000000-0000-4000-8000-000000000002",
        ),
    )
    _write(
        "v1-ocr-demo",
        build_event(
            method="GET",
            path=PATH + "/demo",
            resource=PATH + "/demo",
            stage=spec.stage,
            headers=HEADERS,
            request_id="00000000-0000-4000-8000-000000000001",
        ),
    )


def _pixel_bomb() -> bytes:
    """A few kilobytes of PNG that would decode to 100 megapixels."""
    buffer = io.BytesIO()
    Image.new("1", (10_000, 10_000), 1).save(buffer, format="PNG", optimize=True)
    return buffer.getvalue()


def _write(name: str, event: dict) -> None:
    event["requestContext"]["requestTimeEpoch"] = 1763700000000
    event["requestContext"]["requestTime"] = "21/Nov/2025:04:40:00 +0000"
    path = EVENTS_DIR / f"{name}.json"
    path.write_text(json.dumps(event, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    print(f"wrote {path.relative_to(PROJECT_ROOT)} ({path.stat().st_size} bytes)")


if __name__ == "__main__":
    main()
