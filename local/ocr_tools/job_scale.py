"""``python -m ocr_tools.job_scale``: how fast a job reads a long document, measured locally.

A PDF of ``--pages`` pages, made of the pages the tests carry (receipts, magazine scans, Chinese
documents and photos, screenshots, in turn), uploaded to the local server and read as one job
per engine by the job worker's instances (``--instances``, two by default: the local stand-in
for a reserved concurrency of two). For each engine: the job's time from start to its last page
and the pages per minute; the docs scale that up (docs/api/jobs.md).
"""

from __future__ import annotations

import argparse
import io
import json
import time
import urllib.request

from PIL import Image

from ocr_local.forms import multipart_form
from ocr_local.server_process import ServerProcess
from ocr_tools.eval_set import TEST_DATA

PAGE_SOURCES = (
    "sroie/000.jpg",
    "tesseract-test/phototest.tif",
    "zh-rendered/document_01.jpg",
    "zh-rendered/screenshot_01.png",
    "sroie/036.jpg",
    "tesseract-test/8071_093.3B.tif",
    "zh-rendered/photo_03.jpg",
    "zh-rendered/document_02.jpg",
    "tess4j/eurotext_deskew.png",
    "zh-rendered/screenshot_02.png",
)


def document(pages: int) -> bytes:
    """The test pages in turn as one PDF, each at 150 dpi-ish (greyscale JPEG inside)."""
    images = []
    for index in range(pages):
        image = Image.open(TEST_DATA / PAGE_SOURCES[index % len(PAGE_SOURCES)]).convert("L")
        images.append(image)
    buffer = io.BytesIO()
    images[0].save(buffer, "PDF", save_all=True, append_images=images[1:], resolution=150, quality=85)
    return buffer.getvalue()


def upload(server: ServerProcess, data: bytes) -> str:
    status, _, body = server.send(
        "POST",
        "/v1/uploads",
        json.dumps({"content_type": "application/pdf"}).encode(),
        {"Content-Type": "application/json", "x-api-key": server.appkey},
    )
    offer = json.loads(body)
    assert status == 201, offer
    content_type, form = multipart_form(
        fields=list(offer["upload"]["fields"].items()), files=[("file", "doc.pdf", "application/pdf", data)]
    )
    request = urllib.request.Request(offer["upload"]["url"], form, {"Content-Type": content_type}, method="POST")
    with urllib.request.urlopen(request, timeout=120) as answer:
        assert answer.status == 204
    return offer["upload_id"]


def run_job(server: ServerProcess, upload_id: str, engine: str, timeout: float) -> dict:
    started = time.monotonic()
    status, _, body = server.send(
        "POST",
        "/v1/ocr/jobs",
        json.dumps({"upload_id": upload_id, "engine": engine}).encode(),
        {"Content-Type": "application/json", "x-api-key": server.appkey},
    )
    job = json.loads(body)
    assert status == 202, job
    while time.monotonic() - started < timeout:
        answer = json.loads(
            server.send("GET", f"/v1/ocr/jobs/{job['job_id']}", headers={"x-api-key": server.appkey})[2]
        )
        if answer["status"] != "IN_PROGRESS":
            seconds = time.monotonic() - started
            return {
                "engine": engine,
                "status": answer["status"],
                "pages": answer["pages_total"],
                "seconds": round(seconds, 1),
                "pages_per_minute": round(answer["pages_done"] * 60 / seconds, 1),
            }
        time.sleep(0.5)
    raise SystemExit(f"the {engine} job did not finish in {timeout} s")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m ocr_tools.job_scale", description=__doc__)
    parser.add_argument("--pages", type=int, default=60)
    parser.add_argument("--instances", type=int, default=2)
    parser.add_argument("--engines", default="tesseract,auto,ppocr")
    args = parser.parse_args(argv)
    data = document(args.pages)
    server = ServerProcess(instances=args.instances)
    try:
        upload_id = upload(server, data)
        print(f"{args.pages} pages, {len(data) / 1e6:.1f} MB; {args.instances} job worker instance(s)")
        print("| engine | status | pages | seconds | pages per minute |")
        print("|---|---|---:|---:|---:|")
        for engine in args.engines.split(","):
            row = run_job(server, upload_id, engine, timeout=args.pages * 30)
            print(
                f"| {row['engine']} | {row['status']} | {row['pages']} | {row['seconds']} | {row['pages_per_minute']} |"
            )
    finally:
        server.stop()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
