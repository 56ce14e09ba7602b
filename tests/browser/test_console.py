"""The web console, loaded from the local server in headless Chromium: what it shows, where it
draws, how it links, how it fails, how it uploads, and that it calls nothing but this API."""

from __future__ import annotations

import json
import os
import random
import shlex
import subprocess
import sys
from urllib.parse import urlsplit

import pytest
import requests
from PIL import Image

from helpers import TEST_DATA

pytestmark = [pytest.mark.browser, pytest.mark.http]

SCREENSHOT = TEST_DATA / "zh-rendered" / "screenshot_01.png"
TURNED = TEST_DATA / "tesseract-test" / "phototest-rotated-R.png"


def on_screen(element) -> dict:
    """Where the browser drew the element (its geometry, the stroke aside)."""
    return element.evaluate("node => node.getBoundingClientRect().toJSON()")


def test_the_page_loads_without_a_key_under_a_strict_policy(local_server):
    base = f"http://127.0.0.1:{local_server.port}"
    for path in ("/", "/console"):
        page = requests.get(base + path, timeout=10)
        assert page.status_code == 200 and page.headers["Content-Type"] == "text/html; charset=utf-8"
        policy = page.headers["Content-Security-Policy"]
        assert "default-src 'none'" in policy and "script-src 'self';" in policy and "unsafe" not in policy
        assert "frame-ancestors 'none'" in policy and page.headers["Cache-Control"] == "no-cache"
        assert page.headers["X-Content-Type-Options"] == "nosniff"
    script = requests.get(base + "/console/console.js", timeout=10)
    assert (
        script.headers["Content-Type"].startswith("text/javascript") and "immutable" in script.headers["Cache-Control"]
    )
    assert requests.get(base + "/console/demo.png", timeout=10).content.startswith(b"\x89PNG")
    assert requests.get(base + "/console/../app.py", timeout=10).status_code in (403, 404)
    assert requests.get(base + "/console/nothing.js", timeout=10).status_code == 404


def test_an_image_is_read_and_every_line_outlined_where_the_api_put_it(console):
    # GIVEN the console with a key, WHEN a screenshot is read
    console.open(console.server.appkey).read(SCREENSHOT)
    # THEN the text shown is the API's, line by line, with the engine of each
    [result] = console.answer()["results"]
    shown = console.page.locator("#lines li .text").all_text_contents()
    assert shown == [block["text"] for block in result["blocks"]] and len(shown) == 3
    assert "古台摇落后" not in " ".join(shown)  # (that is screenshot_02's)
    assert console.page.locator("#lines li .badge").first.text_content().startswith(result["blocks"][0]["engine"])
    # AND one outline per line, at the API's four corners, where the image shows them
    outlines = console.page.locator("#overlay polygon[data-line]")
    assert outlines.count() == len(result["blocks"])
    image = on_screen(console.page.locator("#image"))
    scale_x, scale_y = image["width"] / result["width"], image["height"] / result["height"]
    for outline, block in zip(outlines.all(), result["blocks"]):
        assert outline.get_attribute("points") == " ".join(f"{x},{y}" for x, y in block["points"])
        drawn = on_screen(outline)
        assert abs(drawn["x"] - (image["x"] + block["x"] * scale_x)) <= 1
        assert abs(drawn["y"] - (image["y"] + block["y"] * scale_y)) <= 1
        assert abs(drawn["width"] - block["width"] * scale_x) <= 1
        assert abs(drawn["height"] - block["height"] * scale_y) <= 1
    console.screenshot("console-reading")


def test_a_line_and_its_outline_light_up_together_on_hover_and_keyboard_focus(console):
    console.open(console.server.appkey).read(SCREENSHOT)
    page = console.page
    second_line, second_outline = page.locator("#lines li").nth(1), page.locator("#overlay polygon[data-line]").nth(1)
    second_line.hover()
    assert "active" in second_outline.get_attribute("class")
    console.screenshot("console-hover")
    page.locator("#overlay polygon[data-line]").nth(0).hover()
    assert "active" in page.locator("#lines li").nth(0).get_attribute("class")
    assert "active" not in (second_outline.get_attribute("class") or "")
    page.mouse.move(0, 0)
    page.locator("#lines li").nth(2).focus()
    assert "active" in page.locator("#overlay polygon[data-line]").nth(2).get_attribute("class")


def test_a_turned_page_is_outlined_with_the_corners_the_api_gives(console):
    console.open(console.server.appkey).read(TURNED, enable_cls="true")
    [result] = console.answer()["results"]
    assert result["angle"] in (90, -90)
    outlines = console.page.locator("#overlay polygon[data-line]").all()
    assert len(outlines) == len(result["blocks"]) > 5
    for outline, block in zip(outlines, result["blocks"]):
        assert outline.get_attribute("points") == " ".join(f"{x},{y}" for x, y in block["points"])
    # The text of a page turned a quarter stands upright in the lines, tall on the image.
    first = result["blocks"][0]
    assert first["height"] > first["width"]


def test_tables_are_shown_as_tables_and_outlined_on_the_image(console):
    console.open(console.server.appkey)
    console.page.check("#return_tables")
    console.read(TEST_DATA / "tables" / "table_01.png")
    [result] = console.answer()["results"]
    [table] = result["tables"]
    console.page.click("#tab-tables")
    shown = console.page.locator("#tables table")
    assert shown.count() == 1 and shown.locator("tr").count() == table["rows"]
    cells = shown.locator("td")
    assert cells.all_text_contents() == [cell["text"] for cell in table["cells"]]
    spanning = [cell for cell in table["cells"] if cell["column_span"] > 1]
    assert (
        spanning
        and shown.locator(f'td[colspan="{spanning[0]["column_span"]}"]').first.text_content() == (spanning[0]["text"])
    )
    region = console.page.locator("#overlay polygon.table")
    assert region.get_attribute("points") == " ".join(f"{x},{y}" for x, y in table["points"])


def test_lines_below_the_chosen_confidence_are_marked(console):
    console.open(console.server.appkey).read(SCREENSHOT)
    page = console.page
    page.eval_on_selector("#threshold", "slider => { slider.value = '1'; slider.dispatchEvent(new Event('input')); }")
    confidences = [block["confidence"] for block in console.answer()["results"][0]["blocks"]]
    doubtful = page.locator("#lines li.doubtful").count()
    assert doubtful == sum(confidence < 1 for confidence in confidences) > 0
    assert page.locator("#overlay polygon.doubtful").count() == doubtful
    page.eval_on_selector("#threshold", "slider => { slider.value = '0'; slider.dispatchEvent(new Event('input')); }")
    assert page.locator("#lines li.doubtful").count() == 0


def test_a_bad_file_shows_the_apis_own_message(console, tmp_path):
    not_an_image = tmp_path / "notes.png"
    not_an_image.write_bytes(b"these are notes, not an image")
    console.open(console.server.appkey).read(not_an_image)
    error = console.page.locator("#error")
    assert error.is_visible()
    assert "unsupported_image" in error.text_content() and "HTTP 415" in error.text_content()
    console.page.fill("#appkey", "0" * 32)
    console.read(SCREENSHOT)
    assert "Forbidden (HTTP 403)" in error.text_content()


def test_a_large_file_goes_through_the_presigned_upload(console, tmp_path):
    # GIVEN a photo of 6 MB: more than a request carries
    big = tmp_path / "large-photo.png"
    page = Image.open(SCREENSHOT).convert("RGB").resize((1800, 1200))
    noise = Image.frombytes("RGB", page.size, random.Random(3).randbytes(page.width * page.height * 3))
    Image.blend(page, noise, 0.08).save(big, format="PNG")
    assert big.stat().st_size > 4 * 1024 * 1024
    console.open(console.server.appkey).read(big)
    # THEN it was uploaded to the bucket, and read by its upload_id
    assert not console.page.locator("#error").is_visible(), console.page.text_content("#error")
    posts = [urlsplit(url) for method, url in console.requests if method == "POST"]
    assert [post.path for post in posts][:1] == ["/v1/uploads"]
    assert any(post.port == console.server.dynamodb_port for post in posts)  # the embedded S3
    assert posts[-1].path == "/v1/ocr/universal"
    assert console.page.locator("#lines li").count() >= 2


def test_every_page_of_a_pdf_is_read_as_a_job_with_its_progress(console, tmp_path):
    pages = [Image.open(TEST_DATA / "zh-rendered" / f"screenshot_0{n}.png").convert("RGB") for n in (1, 2)]
    pdf = tmp_path / "two-pages.pdf"
    pages[0].save(pdf, format="PDF", save_all=True, append_images=pages[1:])
    console.open(console.server.appkey)
    console.page.check("#all_pages")
    console.read(pdf)
    assert "2 of 2 pages read" in console.page.text_content("#status")
    badges = console.page.locator("#lines li .badge").all_text_contents()
    assert badges[0].startswith("page 1") and badges[-1].startswith("page 2")
    assert any(url.endswith("/v1/ocr/jobs") for _, url in console.requests)


def test_compare_reads_the_image_with_both_engines_side_by_side(console):
    console.open(console.server.appkey)
    console.page.set_input_files("#file", str(SCREENSHOT))
    console.page.click("#compare")
    console.wait_until_done()
    tesseract = console.page.locator("#lines-tesseract li .text").all_text_contents()
    ppocr = console.page.locator("#lines-ppocr li .text").all_text_contents()
    assert tesseract and ppocr
    assert all(
        badge.startswith("tesseract") for badge in console.page.locator("#lines-tesseract .badge").all_text_contents()
    )
    assert all(badge.startswith("ppocr") for badge in console.page.locator("#lines-ppocr .badge").all_text_contents())


def test_without_a_key_the_demo_image_is_read(console):
    console.open()
    console.page.click("#read")
    console.wait_until_done()
    assert console.page.locator("#lines li .text").first.text_content() == "图片文字识别 OCR 示例"
    assert console.page.get_attribute("#image", "src").startswith("console/demo.png")


def test_the_key_stays_in_the_tab_and_goes_to_this_api_only(console):
    console.open(console.server.appkey).read(SCREENSHOT)
    stored = console.page.evaluate("() => [sessionStorage.getItem('ocr-console-appkey'), localStorage.length]")
    assert stored == [console.server.appkey, 0]
    # Every request went to this API; the preview is the chosen file itself (a blob: URL).
    origins = {urlsplit(url)._replace(path="", query="", fragment="").geturl() for _, url in console.requests}
    assert {origin for origin in origins if not origin.startswith("blob:")} == {console.base}
    assert all(url.startswith(f"blob:{console.base}/") for _, url in console.requests if url.startswith("blob:"))


def test_the_code_it_writes_runs_as_written(console):
    console.open(console.server.appkey).read(SCREENSHOT, engine="ppocr")
    first_line = console.answer()["results"][0]["blocks"][0]["text"]
    console.page.click("#tab-code")

    def run(command: list[str]) -> str:
        # Beside the image it names, with the key where the code looks for it.
        environment = {**os.environ, "OCR_APPKEY": console.server.appkey}
        done = subprocess.run(
            command, cwd=SCREENSHOT.parent, env=environment, capture_output=True, text=True, timeout=60
        )
        assert done.returncode == 0, done.stderr
        return done.stdout

    curl = console.page.text_content("#code-curl")
    assert shlex.split(curl)[0] == "curl" and "engine=ppocr" in curl
    assert "$OCR_APPKEY" in curl and console.server.appkey not in curl
    assert json.loads(run(["bash", "-c", curl]))["results"][0]["blocks"][0]["text"] == first_line
    assert run([sys.executable, "-c", console.page.text_content("#code-python")]).splitlines()[0] == first_line
    # Tencent's SDK, with the pair issued for the key in place of the placeholders
    tencent = console.page.text_content("#code-tencent")
    tencent = tencent.replace("SECRET_ID", console.server.secret_id).replace("SECRET_KEY", console.server.secret_key)
    assert json.loads(run([sys.executable, "-c", tencent]))["TextDetections"][0]["DetectedText"] == first_line


def test_it_works_at_phone_width_and_with_the_keyboard_alone(browser, local_server, screenshot):
    context = browser.new_context(viewport={"width": 375, "height": 812}, is_mobile=True, has_touch=True)
    page = context.new_page()
    # The file chooser is answered as it opens (a listener made before the page loads: one made
    # just before the key press could miss the chooser).
    page.on("filechooser", lambda chooser: chooser.set_files(str(SCREENSHOT)))
    try:
        page.goto(f"http://127.0.0.1:{local_server.port}/console")
        page.keyboard.press("Tab")  # the key field comes first
        page.keyboard.type(local_server.appkey)
        page.keyboard.press("Tab")  # the drop zone, which opens the file chooser on Enter
        page.keyboard.press("Enter")
        page.wait_for_function("() => document.getElementById('file').files.length === 1")
        for _ in range(20):  # on through the fields and options to Read
            page.keyboard.press("Tab")
            if page.evaluate("() => document.activeElement.id") == "read":
                break
        assert page.evaluate("() => document.activeElement.id") == "read"
        page.keyboard.press("Enter")
        page.wait_for_selector("#lines li", timeout=90_000)
        assert page.evaluate("() => document.scrollingElement.scrollWidth") <= 375
        screenshot(page, "console-phone")
    finally:
        context.close()


def test_the_page_passes_an_automated_accessibility_check(browser, local_server, axe_script):
    # The check runs axe-core in the page; the page's own policy would refuse that script.
    context = browser.new_context(viewport={"width": 1280, "height": 900}, bypass_csp=True)
    page = context.new_page()
    try:
        page.goto(f"http://127.0.0.1:{local_server.port}/console")
        page.fill("#appkey", local_server.appkey)
        page.set_input_files("#file", str(SCREENSHOT))
        page.click("#read")
        page.wait_for_selector("#lines li", timeout=90_000)
        page.add_script_tag(path=str(axe_script))
        found = page.evaluate("async () => (await axe.run(document)).violations")
        assert found == [], json.dumps([(v["id"], v["help"], [n["target"] for n in v["nodes"]]) for v in found])
    finally:
        context.close()
