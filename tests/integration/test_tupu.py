"""tupu general-ocr: files or URLs, tags, referer, normalised corners, tupu's envelope."""

from __future__ import annotations

import io
import json

import pytest
from PIL import Image

from dialects import poster
from faulty_engines import RefusesThePage, engine_setting
from helpers import data_image, data_truth, encode
from ocr_local.events import EVENTS_APPKEY, load_event
from ocr_tools.scoring import cer

PATH = "/v3/recognition/general-ocr"
PHOTOTEST = data_image("tesseract-test/phototest.tif")
CHINESE = data_image("zh-rendered/screenshot_02.png")


@pytest.fixture
def call(invoke, spec):
    post = poster(invoke, spec, PATH)

    def send(files=(), fields=(), key=EVENTS_APPKEY, **kwargs):
        return post(files=files, fields=fields, query=[("key", key)] if key else [], **kwargs)

    return send


def image(data=PHOTOTEST, name="phototest.tif"):
    return ("image", name, "application/octet-stream", data)


def assert_error(answer, status, says):
    code, body = answer
    assert code == status and body["code"] == status, body
    assert says in body["message"]
    assert isinstance(body["timestamp"], int) and body["nonce"]
    assert "data" not in body


def test_success_has_tupus_fields_and_types(call):
    status, body = call(files=[image()])
    assert status == 200
    assert set(body) == {"code", "message", "timestamp", "nonce", "data"}
    assert (body["code"], body["message"]) == (0, "success")
    assert isinstance(body["timestamp"], int) and isinstance(body["nonce"], str)
    [entry] = body["data"]["fileList"]
    assert entry["name"] == "phototest.tif" and "tag" not in entry
    objects = entry["objects"]
    assert cer("\n".join(o["text"] for o in objects), data_truth("tesseract-test/phototest.tif")) <= 0.02
    first = objects[0]
    assert set(first) == {"location", "degree", "text", "category", "scores"}
    assert first["category"] == 0 and 0 < first["scores"] <= 1 and first["degree"] == 0
    (x0, y0), (x1, y1), (x2, y2), (x3, y3) = first["location"]
    assert all(0 <= v <= 1 for v in (x0, y0, x1, y1, x2, y2, x3, y3))
    # clockwise from top-left: top edge, then down the right, back along the bottom
    assert x0 < x1 and y1 < y2 and x2 > x3 and (y0, x3) == (y1, x0)
    assert x0 == pytest.approx(36 / 640, abs=0.01) and y0 == pytest.approx(92 / 480, abs=0.01)


def test_several_files_with_tags_filled_by_the_last(call):
    status, body = call(
        files=[image(), image(CHINESE, "poem.png"), image(CHINESE, "again.png")],
        fields=[("tag", "room-1"), ("tag", "room-2")],
    )
    assert status == 200
    files = body["data"]["fileList"]
    assert [(f["name"], f["tag"]) for f in files] == [
        ("phototest.tif", "room-1"),
        ("poem.png", "room-2"),
        ("again.png", "room-2"),
    ]
    assert files[1]["objects"][0]["text"] == "古台摇落后，秋入望乡心。"


def test_urls_are_downloaded_with_the_referer(call, reconfigure, image_server):
    reconfigure(url_allowed_networks=("127.0.0.1/32",))
    url = image_server.url("/phototest.tif")
    status, body = call(fields=[("image", url), ("referer", "https://shop.example/item/1")])
    assert status == 200 and body["data"]["fileList"][0]["name"] == url
    _, headers = image_server.requests[-1]
    assert headers["Referer"] == "https://shop.example/item/1"


def test_a_turned_page_reports_its_lines_slant(call):
    status, body = call(files=[image(data_image("tesseract-test/phototest-rotated-R.png"), "r.png")])
    assert status == 200
    objects = body["data"]["fileList"][0]["objects"]
    assert objects[0]["text"].startswith("This is")
    # Turned 90° clockwise: the top edge of every line points straight down.
    assert all(o["degree"] == 90.0 for o in objects)


def test_event_file(invoke):
    body = json.loads(invoke(load_event("tupu-general-ocr-multipart"))["body"])
    assert body["code"] == 0 and body["data"]["fileList"][0]["objects"]


@pytest.mark.parametrize(
    "files, fields, says",
    [
        ((), (), "image is required"),
        ((image(),), (("image", "http://example.com/a.png"),), "cannot be mixed"),
        ((image(),), (("tag", "a"), ("tag", "b")), "2 tags for 1 image"),
        ((image(),), (("colour", "red"),), "unknown field(s): colour"),
    ],
    ids=["no-image", "mixed", "too-many-tags", "unknown-field"],
)
def test_bad_requests_are_400(call, files, fields, says):
    assert_error(call(files=list(files), fields=list(fields)), 400, says)


def frames(format, **options):
    first, second = Image.new("L", (60, 30), 255), Image.new("L", (60, 30), 0)
    buffer = io.BytesIO()
    first.save(buffer, format=format, save_all=True, append_images=[second], **options)
    return buffer.getvalue()


@pytest.mark.parametrize(
    "data, says",
    [
        (encode(Image.new("L", (60, 30), 255), "GIF"), "send PNG, JPEG, TIFF, WEBP"),
        (frames("GIF", duration=100, loop=0), "send PNG, JPEG, TIFF, WEBP"),
        (frames("WEBP", duration=100), "animated images are not accepted"),
        (encode(Image.new("RGB", (60, 30), "white"), "BMP"), "send PNG, JPEG, TIFF, WEBP"),
        (b"plain text", "not a supported image"),
    ],
    ids=["gif", "animated-gif", "animated-webp", "bmp", "text"],
)
def test_only_still_png_jpeg_tiff_webp_are_read(call, data, says):
    assert_error(call(files=[image(data, "x.img")]), 415, says)


def test_the_per_image_size_rule_is_configurable(call, reconfigure):
    reconfigure(tupu_max_image_bytes=20_000)
    assert_error(call(files=[image()]), 413, "the limit is 20000 bytes")


def test_key_errors(call, add_key):
    from ocr_api.keys import KeyStatus

    assert_error(call(files=[image()], key=None), 401, "required")
    assert_error(call(files=[image()], key="wrong-key-000000000"), 401, "not valid")
    assert_error(call(files=[image()], key=add_key("k-tupu-off-0000000", status=KeyStatus.DISABLED)), 403, "disabled")


def test_download_and_engine_failures(call, reconfigure, image_server, tmp_path):
    reconfigure(url_allowed_networks=("127.0.0.1/32",))
    assert_error(call(fields=[("image", image_server.url("/missing"))]), 502, "HTTP 404")
    assert_error(
        call(fields=[("image", "http://169.254.169.254/latest/meta-data/")]),
        400,
        "does not resolve to a public address",
    )
    reconfigure(engine=engine_setting(RefusesThePage))
    assert_error(call(files=[image()]), 500, "failed")
