"""The deep-learning engine on its own: the pinned PP-OCR models from the installed rapidocr,
real pages from the evaluation set, no network."""

from __future__ import annotations

import hashlib
import math
import re
from pathlib import Path

import pytest
from PIL import Image, ImageDraw, ImageFont

from helpers import data_image, data_truth
from ocr_api.errors import RecognitionTimedOut, RecognitionUnavailable
from ocr_api.ocr.deadline import deadline_in
from ocr_api.ocr.engine import PageLayout
from ocr_api.ocr.images import ImageLimits, PreparedImage, prepare_image
from ocr_api.ocr.ppocr import MODEL_FILES, PpOcr, packaged_model_dir
from ocr_local.template import PROJECT_ROOT
from ocr_tools.scoring import cer

pytestmark = pytest.mark.ppocr

LIMITS = ImageLimits(max_bytes=50_000_000, max_pixels=40_000_000)


@pytest.fixture(scope="module")
def engine() -> PpOcr:
    engine = PpOcr()
    engine.load()
    return engine


def page(relative: str) -> PreparedImage:
    return prepare_image(data_image(relative), LIMITS)


def test_the_installed_models_are_the_pinned_ones():
    for name, digest in MODEL_FILES.values():
        assert hashlib.sha256((packaged_model_dir() / name).read_bytes()).hexdigest() == digest


def test_the_image_and_the_project_pin_the_same_engine():
    image = (PROJECT_ROOT / "functions" / "deep_engine" / "requirements.txt").read_text()
    project = (PROJECT_ROOT / "pyproject.toml").read_text()
    for package in ("rapidocr", "onnxruntime"):
        pinned = re.search(rf"^{package}==([\w.]+)$", image, re.MULTILINE)[1]
        assert f'"{package}=={pinned}"' in project


def test_nothing_is_downloaded(monkeypatch):
    # GIVEN a rapidocr that would fail any download
    from rapidocr.utils import download_file

    def refuse(*args, **kwargs):
        raise AssertionError("a model download was attempted")

    monkeypatch.setattr(download_file.DownloadFile, "run", refuse)
    # WHEN an engine loads and reads THEN it does so from the package's files
    engine = PpOcr()
    engine.load()
    lines = engine.read_lines(page("zh-rendered/screenshot_01.png"), "chi_sim+eng", deadline_in(30))
    assert lines


def test_a_receipt_reads_with_boxes_words_and_confidence(engine):
    lines = engine.read_lines(page("sroie/036.jpg"), "chi_sim+eng", deadline_in(30))
    text = "\n".join(line.text for line in lines)
    assert cer(text, data_truth("sroie/036.jpg"), ignore_case=True) < 0.08  # Tesseract: 0.23
    for line in lines:
        assert 0 < line.confidence <= 1
        assert line.box.width > 0 and line.box.height > 0
        assert "".join(word.text for word in line.words).replace(" ", "") == line.text.replace(" ", "")


def test_chinese_and_english_on_one_page(engine):
    lines = engine.read_lines(page("zh-rendered/screenshot_02.png"), "chi_sim+eng", deadline_in(30))
    text = "\n".join(line.text for line in lines)
    assert cer(text, data_truth("zh-rendered/screenshot_02.png")) < 0.02


def test_rotated_text_keeps_rotated_corners(engine):
    # GIVEN one line of text turned 12 degrees
    canvas = Image.new("L", (900, 400), 255)
    ImageDraw.Draw(canvas).text((120, 170), "ROTATED TEXT 2026", fill=0, font=ImageFont.load_default(size=56))
    turned = canvas.rotate(12, resample=Image.Resampling.BICUBIC, fillcolor=255)
    # WHEN it is read
    [line] = [
        line
        for line in engine.read_lines(PreparedImage(turned, "PNG", None), "eng", deadline_in(30))
        if "ROTATED" in line.text
    ]
    # THEN its corners run along the text, not along the page
    (x0, y0), (x1, y1) = line.quad[0], line.quad[1]
    slope = math.degrees(math.atan2(y0 - y1, x1 - x0))
    assert 8 < slope < 16
    assert line.quad != line.box.corners


@pytest.mark.parametrize(
    "image, angle",
    [
        ("tesseract-test/phototest.tif", 0),
        ("tesseract-test/phototest-rotated-L.png", -90),
        ("tesseract-test/phototest-rotated-R.png", 90),
        ("tesseract-test/phototest-rotated-180.png", 180),
        ("zh-rendered/rotated_05.png", 90),
    ],
)
def test_a_page_is_read_upright_however_it_stands_with_lines_on_the_page_as_given(engine, image, angle):
    # GIVEN a page upright, or turned a quarter either way, or upside down
    given = page(image)
    # WHEN it is read with its orientation found from its own lines
    lines, found = engine.read_page(given, "chi_sim+eng", deadline_in(30))
    # THEN the turn is named as the service reports it, the text reads as upright, and each
    # line lies on the page as given, standing as the page's lines stand
    assert found == angle
    assert cer("\n".join(line.text for line in lines), data_truth(image)) < 0.03
    width, height = given.image.size
    for line in lines:
        assert line.box.right <= width and line.box.bottom <= height
    long_lines = [line for line in lines if len(line.text) >= 10]
    assert long_lines and all((line.box.height > line.box.width) == (angle in (90, -90)) for line in long_lines)
    # AND without leave to turn it, the page is read as it stands
    assert engine.read_page(given, "chi_sim+eng", deadline_in(30), find_orientation=False)[1] == 0


def test_a_single_line_is_read_without_detection(engine):
    lines = engine.read_lines(
        page("cnocr-synthetic-zh/chn-00199980.jpg"), "chi_sim", deadline_in(30), PageLayout.SINGLE_LINE
    )
    assert [line.text for line in lines] == [data_truth("cnocr-synthetic-zh/chn-00199980.jpg").strip()]


def test_no_time_left_is_an_error_not_an_empty_page(engine):
    with pytest.raises(RecognitionTimedOut):
        engine.read_lines(page("sroie/036.jpg"), "eng", deadline_in(-1))


def test_missing_models_make_the_engine_unavailable(tmp_path: Path):
    with pytest.raises(RecognitionUnavailable):
        PpOcr(model_dir=str(tmp_path)).load()


def test_a_damaged_model_makes_the_engine_unavailable(tmp_path: Path):
    for name, _ in MODEL_FILES.values():
        (tmp_path / name).write_bytes(b"not an onnx model")
    with pytest.raises(RecognitionUnavailable):
        PpOcr(model_dir=str(tmp_path)).load()


def long_line(width: int, height: int) -> PreparedImage:
    """One line of text as wide as asked (the shape the core still accepts, up to 100:1)."""
    image = Image.new("L", (width, height), 255)
    font = ImageFont.load_default(size=int(height * 0.7))
    ImageDraw.Draw(image).text((4, height * 0.1), "Total due 4217 EUR, paid in full. " * 40, fill=0, font=font)
    return PreparedImage(image, "PNG", None)


@pytest.mark.parametrize("layout", [PageLayout.SINGLE_LINE, PageLayout.AUTO])
def test_a_line_a_hundred_times_longer_than_high_is_read_within_bounds(engine, layout, monkeypatch):
    # rapidocr enlarged such a page's short side to 30 px (a 2000x1 page became 60000x30, 4.2 GB)
    # or failed to resize it; what the recognition model is fed is at most 100 times as wide as high.
    recognised = recognition_runs(engine, monkeypatch)
    engine.read_lines(long_line(4000, 40), "chi_sim+eng", deadline_in(30), layout)
    shapes = [pixels.shape for batch in recognised for pixels in batch.values()]
    assert shapes and max(width / height for _, _, height, width in shapes) <= 100.5
    # And a long line of an ordinary shape is still read.
    lines = engine.read_lines(long_line(2000, 40), "chi_sim+eng", deadline_in(30), layout)
    assert any("4217" in line.text for line in lines), [line.text for line in lines]


def test_a_hairline_cut_out_is_padded_to_the_longest_line_recognition_reads():
    import numpy

    from ocr_api.ocr.ppocr import MAX_LINE_ASPECT, _padded_line

    hairline = numpy.zeros((2, 1900, 3), dtype=numpy.uint8)
    padded = _padded_line(hairline)
    assert padded.shape == (19, 1900, 3) and padded.shape[1] <= padded.shape[0] * MAX_LINE_ASPECT
    ordinary = numpy.zeros((40, 1900, 3), dtype=numpy.uint8)
    assert _padded_line(ordinary) is ordinary


def test_a_page_past_its_deadline_stops_at_the_next_stage(engine, monkeypatch):
    # GIVEN detection that ends past the page's deadline (the request gave up meanwhile)
    import time

    detector = engine._engine._load_det_model()
    detect = type(detector).__call__

    def slow_detection(self, image):
        found = detect(self, image)
        time.sleep(0.3)
        return found

    monkeypatch.setattr(type(detector), "__call__", slow_detection)
    recognised = recognition_runs(engine, monkeypatch)
    # WHEN the page is read with 0.2 s left, THEN it is out of time and recognition never starts
    with pytest.raises(RecognitionTimedOut):
        engine.read_lines(page("tesseract-test/phototest.tif"), "chi_sim+eng", deadline_in(0.2))
    assert recognised == []


def test_a_page_whose_deadline_passes_during_recognition_stops_at_the_next_line(engine, monkeypatch):
    # GIVEN recognition that takes 0.1 s a line, on a receipt of 38 lines
    recognised = recognition_runs(engine, monkeypatch, seconds_each=0.1)
    # WHEN the page is read with 0.5 s left THEN it is out of time, its lines not all read
    with pytest.raises(RecognitionTimedOut):
        engine.read_lines(page("sroie/036.jpg"), "chi_sim+eng", deadline_in(0.5))
    assert len(recognised) < 30


def test_a_page_reads_the_same_on_one_thread_as_on_two():
    # Each line is recognised alone on one thread, so a function's vCPUs change its time only
    one, two = PpOcr(threads=1), PpOcr(threads=2)
    readings = [
        [
            (line.text, line.confidence, line.box)
            for line in engine.read_lines(page("sroie/036.jpg"), "eng", deadline_in(30))
        ]
        for engine in (one, two)
    ]
    assert readings[0] and readings[0] == readings[1]


def recognition_runs(engine: PpOcr, monkeypatch, seconds_each: float = 0.0) -> list:
    """Each batch the recognition model is given from now on, taking ``seconds_each`` more."""
    import time

    runs = []
    session = engine._engine._load_rec_model().session.session
    run = session.run

    def recording_run(outputs, inputs):
        runs.append(inputs)
        time.sleep(seconds_each)
        return run(outputs, inputs)

    monkeypatch.setattr(session, "run", recording_run)
    return runs
