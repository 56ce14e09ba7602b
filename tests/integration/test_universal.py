"""POST /v1/ocr/universal through the real handler: every source, option and error."""

from __future__ import annotations

import base64
import csv
import io
import json

import pytest
from PIL import Image

from dialects import poster
from faulty_engines import Crashes, engine_setting
from helpers import TEST_DATA, data_image, data_truth, encode
from ocr_local.events import EVENTS_APPKEY
from ocr_tools.scoring import cer

PATH = "/v1/ocr/universal"
PHOTOTEST = data_image("tesseract-test/phototest.tif")
PHOTOTEST_TRUTH = data_truth("tesseract-test/phototest.tif")
CHINESE = data_image("zh-rendered/screenshot_02.png")
LOCAL = ("127.0.0.1/32",)


@pytest.fixture
def call(invoke, spec):
    post = poster(invoke, spec, PATH)

    def send(key=EVENTS_APPKEY, headers=(), **kwargs):
        return post(headers=[*headers, *([("x-api-key", key)] if key else [])], **kwargs)

    return send


def file_part(data=PHOTOTEST, name="phototest.tif"):
    return ("file", name, "application/octet-stream", data)


def assert_error(answer, status, error, says):
    code, body = answer
    assert code == status, body
    assert body["code"] == status and body["error"] == error
    assert says in body["message"]
    assert body["request_id"]


# Sources


def test_file_upload_returns_blocks_made_for_drawing(call):
    status, body = call(files=[file_part()])
    assert status == 200 and body["code"] == 0 and body["request_id"]
    [result] = body["results"]
    assert (result["image_name"], result["width"], result["height"], result["angle"]) == (
        "phototest.tif",
        640,
        480,
        0.0,
    )
    assert cer(result["text"], PHOTOTEST_TRUTH) <= 0.02
    first = result["blocks"][0]
    assert first["text"] == "This is alot of 12 point text to test the"
    assert 0.5 < first["confidence"] <= 1
    assert first["points"] == [
        [first["x"], first["y"]],
        [first["x"] + first["width"], first["y"]],
        [first["x"] + first["width"], first["y"] + first["height"]],
        [first["x"], first["y"] + first["height"]],
    ]
    assert [word["text"] for word in first["words"]][:3] == ["This", "is", "alot"]
    assert all({"x", "y", "width", "height", "points", "confidence"} <= set(w) for w in first["words"])
    assert [block["paragraph"] for block in result["blocks"]] == [1, 1, 1, 2, 2, 2, 2, 2]
    assert "markdown" not in result


def test_base64_and_data_uri_in_json(call):
    plain = base64.b64encode(CHINESE).decode()
    for value in (plain, "data:image/png;base64," + plain):
        status, body = call(json_body={"image_base64": value, "image_name": "poem.png"})
        assert status == 200
        assert body["results"][0]["image_name"] == "poem.png"
        assert body["results"][0]["blocks"][0]["text"] == "古台摇落后，秋入望乡心。"


def test_image_url_through_the_allow_list(call, reconfigure, image_server):
    reconfigure(url_allowed_networks=LOCAL)
    url = image_server.url("/phototest.tif")
    status, body = call(fields=[("url", url)])
    assert status == 200
    assert body["results"][0]["image_name"] == url
    assert cer(body["results"][0]["text"], PHOTOTEST_TRUTH) <= 0.02


def test_url_redirects_are_followed_and_no_credentials_are_forwarded(call, reconfigure, image_server):
    reconfigure(url_allowed_networks=LOCAL)
    status, _ = call(
        fields=[("url", image_server.url("/redirect?from=test"))],
        headers=[("Authorization", "Bearer secret"), ("Cookie", "session=1")],
    )
    assert status == 200
    path, headers = image_server.requests[-1]
    assert path == "/phototest.tif"
    assert not {"Authorization", "Cookie", "X-Api-Key"} & set(headers)
    assert EVENTS_APPKEY not in json.dumps(headers)


def test_several_images_get_one_result_each_in_order(call):
    status, body = call(files=[file_part(), file_part(CHINESE, "poem.png")])
    assert status == 200
    first, second = body["results"]
    assert (first["image_name"], second["image_name"]) == ("phototest.tif", "poem.png")
    assert first["blocks"][0]["text"].startswith("This is alot")
    assert second["blocks"][0]["text"] == "古台摇落后，秋入望乡心。"


def test_several_urls_and_names(call, reconfigure, image_server):
    reconfigure(url_allowed_networks=LOCAL)
    status, body = call(
        json_body={
            "url": [image_server.url("/phototest.tif"), image_server.url("/screenshot.png")],
            "image_name": ["a", "b"],
        }
    )
    assert status == 200
    assert [r["image_name"] for r in body["results"]] == ["a", "b"]


def test_pdf_page_made_from_a_real_image(call):
    pdf = io.BytesIO()
    page = Image.open(io.BytesIO(PHOTOTEST))
    blank = Image.new("L", page.size, 255)
    page.save(pdf, format="PDF", resolution=100, save_all=True, append_images=[blank])
    status, body = call(files=[file_part(pdf.getvalue(), "scan.pdf")])
    assert status == 200
    assert cer(body["results"][0]["text"], PHOTOTEST_TRUTH) <= 0.03
    status, body = call(files=[file_part(pdf.getvalue(), "scan.pdf")], fields=[("pdf_page", "2")])
    assert status == 200 and body["results"][0]["blocks"] == []
    assert_error(
        call(files=[file_part(pdf.getvalue(), "scan.pdf")], fields=[("pdf_page", "3")]),
        400,
        "invalid_request",
        "has 2 page(s); page 3 does not exist",
    )


def test_damaged_pdf_is_415(call):
    assert_error(call(files=[file_part(b"%PDF-1.7\n%broken", "x.pdf")]), 415, "unsupported_image", "PDF")


# Options


def test_need_location_false_drops_every_coordinate(call):
    status, body = call(files=[file_part()], fields=[("need_location", "FALSE")])
    assert status == 200
    text = json.dumps(body)
    for field in ('"x"', '"y"', '"width": 4', '"points"'):
        assert field not in text
    assert body["results"][0]["blocks"][0]["words"][0] == {"text": "This", "confidence": pytest.approx(0.96, abs=0.04)}


def test_markdown_keeps_paragraphs(call):
    status, body = call(files=[file_part()], fields=[("return_markdown", "true")])
    assert status == 200
    paragraphs = body["results"][0]["markdown"].strip().split("\n\n")
    assert len(paragraphs) == 2
    assert paragraphs[0].startswith("This is alot of 12 point text to test the ocr code")
    assert paragraphs[1].count("The quick brown dog") == 4


@pytest.mark.parametrize(
    "image, angle",
    [
        ("tesseract-test/phototest-rotated-L.png", -90.0),
        ("tesseract-test/phototest-rotated-R.png", 90.0),
        ("tesseract-test/phototest-rotated-180.png", 180.0),
    ],
)
def test_enable_cls_turns_pages_upright_and_reports_the_angle(call, image, angle):
    status, body = call(files=[file_part(data_image(image), "turned.png")], fields=[("enable_cls", "true")])
    assert status == 200
    result = body["results"][0]
    assert result["angle"] == angle
    assert cer(result["text"], PHOTOTEST_TRUTH) <= 0.02


def test_boxes_of_a_turned_page_land_on_the_uploaded_pixels(call):
    # GIVEN the upright page's boxes, and the same page turned 90° counter-clockwise
    _, upright = call(files=[file_part()])
    _, turned = call(
        files=[file_part(data_image("tesseract-test/phototest-rotated-L.png"), "l.png")],
        fields=[("enable_cls", "true")],
    )
    width = upright["results"][0]["width"]
    for before, after in zip(upright["results"][0]["blocks"], turned["results"][0]["blocks"]):
        # THEN each corner is the upright corner turned the same way: (x, y) -> (y, width - x)
        expected = [[y, width - x] for x, y in before["points"]]
        assert all(abs(a - e) <= 3 for p, q in zip(after["points"], expected) for a, e in zip(p, q))
        # and the rectangle is the upright box around those corners
        xs = [x for x, _ in after["points"]]
        assert after["x"] == min(xs) and after["width"] == max(xs) - min(xs)


def test_skewed_transparent_page_is_read_after_deskew(call):
    status, body = call(
        files=[file_part(data_image("tess4j/eurotext_deskew.png"), "skew.png")], fields=[("enable_cls", "true")]
    )
    assert status == 200
    result = body["results"][0]
    assert 15 <= result["angle"] <= 25
    assert cer(result["text"], data_truth("tess4j/eurotext_deskew.png")) <= 0.10


def test_coordinates_match_the_receipts_own_boxes(call):
    status, body = call(files=[file_part(data_image("sroie/000.jpg"), "receipt.jpg")])
    assert status == 200
    known = {}
    with open(TEST_DATA / "sroie" / "_orig" / "000.csv", encoding="utf-8") as rows:
        for row in csv.reader(rows):
            xs, ys = [int(v) for v in row[0:8:2]], [int(v) for v in row[1:8:2]]
            known[" ".join(",".join(row[8:]).split()).upper()] = (min(xs), min(ys), max(xs), max(ys))
    matched = []
    for block in body["results"][0]["blocks"]:
        box = known.get(" ".join(block["text"].split()).upper())
        if box:
            mine = (block["x"], block["y"], block["x"] + block["width"], block["y"] + block["height"])
            matched.append(_iou(mine, box))
    assert len(matched) >= 5
    assert min(matched) >= 0.5


def test_single_line_mode_reads_one_line(call):
    line = Image.open(io.BytesIO(PHOTOTEST)).crop((30, 85, 600, 128))
    status, body = call(files=[file_part(encode(line, "PNG"), "line.png")], fields=[("single_line", "true")])
    assert status == 200
    [block] = body["results"][0]["blocks"]
    assert cer(block["text"], "This is alot of 12 point text to test the") <= 0.05


def test_languages_all_and_a_named_subset(call):
    assert call(files=[file_part()], fields=[("languages", "all")])[0] == 200
    assert call(files=[file_part()], fields=[("languages", "eng")])[0] == 200
    assert_error(
        call(files=[file_part()], fields=[("languages", "klingon")]),
        400,
        "invalid_request",
        "unknown language(s) klingon",
    )


def test_slicing_reads_a_tall_page_once_per_line(call):
    # GIVEN six phototest pages stacked into one 640x2880 image
    page = Image.open(io.BytesIO(PHOTOTEST)).convert("L")
    tall = Image.new("L", (640, 480 * 6), 255)
    for index in range(6):
        tall.paste(page, (0, 480 * index))
    status, body = call(files=[file_part(encode(tall, "PNG"), "tall.png")], fields=[("enable_slicing", "true")])
    assert status == 200
    texts = [block["text"] for block in body["results"][0]["blocks"]]
    # THEN every line is there exactly six times, in page order, and boxes are on the tall image
    assert sum("point text to test the" in text for text in texts) == 6
    assert len(texts) == 48
    tops = [block["y"] for block in body["results"][0]["blocks"]]
    assert tops == sorted(tops) and tops[-1] > 2400


# Errors


@pytest.mark.parametrize(
    "request_kwargs, says",
    [
        (dict(fields=[("need_location", "true")]), "send an image"),
        (dict(files=[file_part()], fields=[("url", "http://example.com/a.png")]), "one kind of source"),
        (dict(json_body={"image_base64": "%%%"}), "not valid base64"),
        (dict(files=[file_part()], fields=[("enable_cls", "yes")]), "enable_cls must be true or false"),
        (dict(files=[file_part()], fields=[("pdf_page", "0")]), "pdf_page must be a page number"),
        (dict(files=[file_part()], fields=[("image_name", "a"), ("image_name", "b")]), "2 image_name value(s) for 1"),
        (dict(files=[file_part()] * 11), "at most 10 per request"),
        (dict(files=[file_part()], fields=[("colour", "red")]), "unknown field(s): colour"),
        (dict(json_body={"url": "ftp://example.com/a.png"}), "must start with http"),
        (dict(json_body={"url": "http://user:pw@example.com/a.png"}), "user name or password"),
        (dict(json_body={"url": "http://exa mple.com:99999/"}), "malformed"),
    ],
    ids=[
        "no-source",
        "two-sources",
        "bad-base64",
        "bad-boolean",
        "bad-page",
        "names-mismatch",
        "too-many",
        "unknown-field",
        "not-http",
        "credentials",
        "malformed-url",
    ],
)
def test_bad_requests_are_400(call, request_kwargs, says):
    assert_error(call(**request_kwargs), 400, "invalid_request", says)


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1/a.png",
        "http://localhost:8080/a.png",
        "http://10.0.0.1/a.png",
        "http://192.168.1.10/a.png",
        "http://169.254.169.254/latest/meta-data/",
        "http://[::1]/a.png",
        "http://[fd00:ec2::254]/",
        "http://[::ffff:127.0.0.1]/a.png",
        "http://0.0.0.0/",
    ],
)
def test_private_loopback_and_metadata_addresses_are_refused(call, url):
    assert_error(call(json_body={"url": url}), 400, "invalid_request", "does not resolve to a public address")


def test_redirects_to_private_addresses_are_refused(call, reconfigure, image_server):
    reconfigure(url_allowed_networks=LOCAL)
    for path in ("/to-metadata", "/to-private"):
        assert_error(
            call(json_body={"url": image_server.url(path)}),
            400,
            "invalid_request",
            "does not resolve to a public address",
        )


def test_download_failures_are_502(call, reconfigure, image_server):
    reconfigure(url_allowed_networks=LOCAL, url_timeout_seconds=1)
    for path, says in (
        ("/loop", "redirected more than 3 times"),
        ("/missing", "HTTP 404"),
        ("/slow", "took longer than allowed"),
    ):
        assert_error(call(json_body={"url": image_server.url(path)}), 502, "download_failed", says)


def test_oversized_downloads_are_413(call, reconfigure, image_server):
    reconfigure(url_allowed_networks=LOCAL)
    for path in ("/huge-declared", "/huge-streamed"):
        assert_error(call(json_body={"url": image_server.url(path)}), 413, "image_too_large", "limit")


def test_image_errors(call, reconfigure):
    assert_error(
        call(files=[file_part(b"plain text, not an image", "a.png")]), 415, "unsupported_image", "not a supported image"
    )
    bomb = encode(Image.new("1", (10_000, 10_000), 1), "PNG", optimize=True)
    assert_error(call(files=[file_part(bomb, "bomb.png")]), 413, "image_too_large", "pixels")


def test_the_key_is_the_x_api_key_header_and_its_errors(call):
    assert call(files=[file_part(encode(Image.new("L", (40, 20), 255), "PNG"))])[0] == 200
    assert_error(call(files=[file_part()], key=None), 401, "missing_appkey", "appkey")
    assert_error(call(files=[file_part()], key="wrong-key-0000000000"), 401, "invalid_appkey", "not valid")
    # API Gateway checks this route's key in the header only, so a key elsewhere is a mistake
    assert_error(call(files=[file_part()], query=[("appkey", EVENTS_APPKEY)]), 400, "invalid_request", "x-api-key")
    assert_error(call(files=[file_part()], fields=[("appkey", EVENTS_APPKEY)]), 400, "invalid_request", "x-api-key")


def test_engine_failure_is_502_and_unavailability_503(call, reconfigure, tmp_path):
    reconfigure(engine=engine_setting(Crashes))
    assert_error(call(files=[file_part()]), 502, "recognition_failed", "failed")
    reconfigure(tessdata_dir=str(tmp_path / "no-models"))
    assert_error(call(files=[file_part()]), 503, "unavailable", "not available")


def _iou(a, b) -> float:
    left, top = max(a[0], b[0]), max(a[1], b[1])
    right, bottom = min(a[2], b[2]), min(a[3], b[3])
    inter = max(0, right - left) * max(0, bottom - top)
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return inter / union if union else 0.0


def test_event_file_for_the_universal_endpoint(invoke):
    from ocr_local.events import load_event

    response = invoke(load_event("universal-multipart-cls"))
    body = json.loads(response["body"])
    assert response["statusCode"] == 200
    assert body["results"][0]["angle"] == -90.0
    assert body["results"][0]["markdown"].startswith("This is alot of 12 point text")
