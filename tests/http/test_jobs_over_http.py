"""Jobs over HTTP through the local server: a PDF uploaded, its pages queued in moto's SQS and
read by the job worker's warm instances (the local stand-in for Lambda's SQS event source),
polled until done, its pages in page order, its text as one download."""

from __future__ import annotations

import io
import json
import re
import subprocess
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from PIL import Image, ImageDraw

from helpers import data_image
from image_server import ImageServer
from ocr_api.jobs.webhooks import verify
from upload_forms import offer, uploaded

pytestmark = pytest.mark.http

PAGES = 30
# Long enough for the slowest machine to read 30 pages; a finished job ends the wait at once.
JOB_WAIT_SECONDS = 300


def report(pages: int) -> bytes:
    """A PDF of ``pages`` pages, each saying which page it is: short pages (a strip of A4's
    width, rendered at 300 dpi as 2480x600), so that 30 of them are quick to read."""
    drawn = []
    for number in range(1, pages + 1):
        page = Image.new("L", (1240, 300), 255)
        ImageDraw.Draw(page).text((120, 110), f"Report page {number} of {pages}", fill=0, font_size=64)
        drawn.append(page)
    document = io.BytesIO()
    drawn[0].save(document, "PDF", save_all=True, append_images=drawn[1:], resolution=150)
    return document.getvalue()


def says_page(text: str, number: int) -> bool:
    # Tesseract may read "page 5" as "page5": the words are what matters, not the spaces.
    return re.search(rf"page\s*{number}\s*of\s*{PAGES}\b", text) is not None


def get(server, path: str, appkey: str, query=None) -> tuple[int, dict, bytes]:
    return server.send("GET", path, headers={"x-api-key": appkey}, query=query)


def start_job(server, appkey: str, **fields) -> tuple[int, dict, dict]:
    status, headers, body = server.send(
        "POST", "/v1/ocr/jobs", json.dumps(fields).encode(), {"Content-Type": "application/json", "x-api-key": appkey}
    )
    return status, headers, json.loads(body)


def finished(server, appkey: str, job_id: str) -> dict:
    """Polls the job as a client would, honouring Retry-After, until it is no longer in progress."""
    until = time.monotonic() + JOB_WAIT_SECONDS
    while time.monotonic() < until:
        status, headers, body = get(server, f"/v1/ocr/jobs/{job_id}", appkey)
        answer = json.loads(body)
        assert status == 200, answer
        if answer["status"] != "IN_PROGRESS":
            assert "Retry-After" not in headers
            return answer
        assert int(headers["Retry-After"]) > 0
        time.sleep(0.5)
    raise AssertionError(f"the job did not finish in {JOB_WAIT_SECONDS} s")


def test_a_30_page_pdf_job_succeeds_with_every_page_in_page_order(local_server):
    # GIVEN a 30-page PDF, uploaded
    upload_id = uploaded(local_server, local_server.appkey, report(PAGES), "application/pdf")
    # WHEN a job is started on it
    status, headers, started = start_job(local_server, local_server.appkey, upload_id=upload_id, engine="tesseract")
    assert status == 202, started
    job_id = started["job_id"]
    assert headers["Location"] == f"/v1/ocr/jobs/{job_id}"
    # THEN it succeeds with every page read once
    done = finished(local_server, local_server.appkey, job_id)
    assert (done["status"], done["pages_total"], done["pages_done"], done["pages_failed"]) == ("SUCCEEDED", 30, 30, 0)
    # AND its pages come ten at a time, in page order (1, 2, ... 10, not 1, 10, 100, 2), each its own text
    pages, token = [], None
    while True:
        query = [("max_results", "10")] + ([("next_token", token)] if token else [])
        answer = json.loads(get(local_server, f"/v1/ocr/jobs/{job_id}", local_server.appkey, query)[2])
        pages += answer["pages"]
        token = answer["next_token"]
        if token is None:
            break
    assert [page["page"] for page in pages] == list(range(1, PAGES + 1))
    for page in pages:
        assert says_page(page["result"]["text"], page["page"]), page
    # AND the whole text is one download, the pages in order
    status, headers, text = get(local_server, f"/v1/ocr/jobs/{job_id}/text", local_server.appkey)
    assert (status, headers["X-Job-Status"]) == (200, "SUCCEEDED")
    texts = text.decode().split("\f")
    assert len(texts) == PAGES and all(says_page(texts[n - 1], n) for n in range(1, PAGES + 1))


def test_a_job_on_a_url_downloads_it_once_and_reads_it(local_server):
    images = ImageServer()
    try:
        status, _, started = start_job(local_server, local_server.appkey, url=images.url("/phototest.tif"))
        assert status == 202, started
        done = finished(local_server, local_server.appkey, started["job_id"])
        assert (done["status"], done["pages_total"], done["pages_done"]) == ("SUCCEEDED", 1, 1)
        [page] = json.loads(get(local_server, f"/v1/ocr/jobs/{started['job_id']}", local_server.appkey)[2])["pages"]
        assert page["result"]["blocks"][0]["text"].startswith("This is")
        assert [path for path, _ in images.requests].count("/phototest.tif") == 1
    finally:
        images.stop()


def test_another_key_cannot_see_a_job(local_server):
    upload_id = uploaded(local_server, local_server.appkey, report(1), "application/pdf")
    _, _, started = start_job(local_server, local_server.appkey, upload_id=upload_id, engine="tesseract")
    other_key, _ = local_server.create_key("another tenant of jobs", plan="standard")
    for path in (f"/v1/ocr/jobs/{started['job_id']}", f"/v1/ocr/jobs/{started['job_id']}/text"):
        status, _, body = get(local_server, path, other_key)
        assert (status, json.loads(body)["error"]) == (404, "job_not_found")
    # AND it cannot start a job on the first key's upload either
    status, _, refused = start_job(local_server, other_key, upload_id=upload_id)
    assert (status, refused["error"]) == (404, "upload_not_found")


def test_the_printed_job_example_ends_with_the_demo_image_read(local_server):
    # GIVEN the upload lines and the job lines the server printed, run as printed
    upload = re.search(r"read it by upload_id:\n((?:  .*\n){2})", local_server.banner)[1]
    job = re.search(r"then its pages in page order\):\n((?:  .*\n){2})", local_server.banner)[1]
    start_line, poll_line = job.splitlines()
    script = upload + start_line + "\n" + f"for _ in $(seq {JOB_WAIT_SECONDS}); do\n{poll_line} > /tmp/$$.job\n"
    script += "grep -q IN_PROGRESS /tmp/$$.job || break; sleep 1; done; cat /tmp/$$.job; rm /tmp/$$.job\n"
    output = subprocess.run(["bash", "-c", script], capture_output=True, text=True, timeout=JOB_WAIT_SECONDS + 60)
    # THEN the job's one page is the demo image's text
    answer = json.loads(output.stdout.strip().splitlines()[-1])
    assert answer["status"] == "SUCCEEDED", output
    assert answer["pages"][0]["result"]["blocks"][0]["text"] == "图片文字识别 OCR 示例"


def test_a_job_request_is_checked_before_anything_is_queued(local_server):
    for fields, says in [
        ({}, "send one source"),
        ({"upload_id": "upl_" + "0" * 32, "url": "https://example.com/a.pdf"}, "send one source"),
        ({"upload_id": "upl_" + "0" * 32, "pages": "3-1"}, "is not a range"),
        ({"upload_id": "upl_" + "0" * 32, "pages": "1-5000"}, "more than 1000 pages"),
        ({"upload_id": "upl_" + "0" * 32, "client_request_token": "has spaces"}, "client_request_token"),
        ({"upload_id": "upl_" + "0" * 32, "languages": "klingon"}, "unknown language"),
        ({"upload_id": "upl_" + "0" * 32, "return_tables": True, "engine": "tesseract"}, "auto or ppocr"),
    ]:
        status, _, answer = start_job(local_server, local_server.appkey, **fields)
        assert (status, answer["error"]) == (400, "invalid_request"), fields
        assert says in answer["message"]
    status, _, answer = start_job(local_server, local_server.appkey, upload_id="upl_" + "0" * 32)
    assert (status, answer["error"]) == (404, "upload_not_found")
    status, _, answer = start_job(local_server, local_server.appkey, url="http://169.254.169.254/latest/meta-data/")
    assert (status, answer["error"]) == (400, "invalid_request")
    assert "does not resolve to a public address" in answer["message"]
    # An upload the form never sent is not there either.
    status, form = offer(local_server, local_server.appkey, "application/pdf")
    status, answer = start_job(local_server, local_server.appkey, upload_id=form["upload_id"])[0::2]
    assert (status, answer["error"]) == (404, "upload_not_found")


def test_a_job_finds_each_pages_tables(local_server):
    # GIVEN a PDF of two table pages (an English ruled one, a Chinese one ruled at its header)
    pages = [Image.open(io.BytesIO(data_image(f"tables/table_0{n}.png"))).convert("RGB") for n in (1, 2)]
    pdf = io.BytesIO()
    pages[0].save(pdf, format="PDF", save_all=True, append_images=pages[1:])
    upload_id = uploaded(local_server, local_server.appkey, pdf.getvalue(), "application/pdf")
    # WHEN a job reads it with return_tables
    status, _, started = start_job(local_server, local_server.appkey, upload_id=upload_id, return_tables=True)
    assert status == 202, started
    done = finished(local_server, local_server.appkey, started["job_id"])
    # THEN every page has its table, with the grid the page was drawn with
    assert done["status"] == "SUCCEEDED"
    for page, number in zip(done["pages"], (1, 2)):
        truth = json.loads(data_image(f"tables/table_0{number}.json"))
        [table] = page["result"]["tables"]
        assert (table["rows"], table["columns"]) == (truth["rows"], truth["columns"])


class CallbackReceiver:
    """A webhook receiver on 127.0.0.1 that fails its first delivery (HTTP 500) and takes the
    rest, keeping each delivery's headers and body."""

    def __init__(self) -> None:
        self.deliveries: list[tuple[dict, bytes, int]] = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                status = 500 if not receiver.deliveries else 204
                receiver.deliveries.append(({k.lower(): v for k, v in self.headers.items()}, body, status))
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.url = f"http://127.0.0.1:{self.server.server_port}/hooks/ocr"

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def create_webhook_secret(server, appkey: str) -> str:
    status, _, body = server.send("POST", "/v1/webhook-secret", headers={"x-api-key": appkey})
    answer = json.loads(body)
    assert status == 201, answer
    return answer["webhook_secret"]


def test_a_finished_job_calls_back_signed_and_is_retried_when_the_receiver_fails(local_server):
    # GIVEN a key with a webhook secret, and a receiver whose first answer is a 500
    appkey, _ = local_server.create_key("callbacks", plan="standard")
    secret = create_webhook_secret(local_server, appkey)
    receiver = CallbackReceiver()
    try:
        upload_id = uploaded(local_server, appkey, report(2), "application/pdf")
        status, _, started = start_job(
            local_server, appkey, upload_id=upload_id, engine="tesseract", job_tag="t-7", callback_url=receiver.url
        )
        assert status == 202, started
        # WHEN the job ends, and its callback is tried until delivered
        done = finished(local_server, appkey, started["job_id"])
        until = time.monotonic() + JOB_WAIT_SECONDS
        while done["callback"]["status"] == "pending" and time.monotonic() < until:
            time.sleep(0.5)
            done = json.loads(get(local_server, f"/v1/ocr/jobs/{started['job_id']}", appkey)[2])
        # THEN it was delivered on the second attempt, both attempts said the same, signed
        assert done["callback"] == {
            "url": receiver.url,
            "status": "delivered",
            "attempts": 2,
            "last_error": "the callback URL answered HTTP 500",
        }
        assert [status for _, _, status in receiver.deliveries] == [500, 204]
        for headers, body, _ in receiver.deliveries:
            assert verify(secret, headers, body, time.time())
            assert not verify(secret, headers, body + b" ", time.time())
            sent = json.loads(body)
            assert (sent["job_id"], sent["status"], sent["job_tag"], sent["pages_done"]) == (
                started["job_id"],
                "SUCCEEDED",
                "t-7",
                2,
            )
        assert receiver.deliveries[0][0]["webhook-id"] == receiver.deliveries[1][0]["webhook-id"] == started["job_id"]
    finally:
        receiver.stop()


@pytest.mark.parametrize(
    "callback_url, says",
    [
        ("https://169.254.169.254/latest/meta-data/", "does not resolve to a public address"),
        ("https://10.0.0.8/hook", "does not resolve to a public address"),
        ("http://example.com/hook", "must start with https://"),
        ("ftp://example.com/hook", "must start with http:// or https://"),
    ],
)
def test_a_callback_to_a_private_address_or_without_tls_is_refused(local_server, callback_url, says):
    create_webhook_secret(local_server, local_server.appkey)
    status, _, answer = start_job(
        local_server, local_server.appkey, upload_id="upl_" + "0" * 32, callback_url=callback_url
    )
    assert (status, answer["error"]) == (400, "invalid_request")
    assert says in answer["message"]
