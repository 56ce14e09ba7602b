"""The real Tesseract on real images, and every way the one Tesseract call can fail."""

from __future__ import annotations

import io
import os
import re

import pytest
from PIL import Image

from helpers import data_image, data_truth, encode
from ocr_api.errors import RecognitionFailed, RecognitionTimedOut, RecognitionUnavailable
from ocr_api.ocr import ImageLimits, RecognitionOptions, Recognizer
from ocr_api.ocr import tesseract as tesseract_module
from ocr_api.ocr.deadline import deadline_in
from ocr_api.ocr.images import PreparedImage, prepare_image
from ocr_api.ocr.result import join_words
from ocr_api.ocr.tesseract import Tesseract
from ocr_local.environment import system_tessdata_dir
from ocr_tools.scoring import cer

LIMITS = ImageLimits(max_bytes=10 * 1024 * 1024, max_pixels=40_000_000)
HAN = re.compile(r"[\u4e00-\u9fff]")

# The layer proof runs these with the system's Tesseract hidden (scripts/prove_layer_layout.sh).
pytestmark = [pytest.mark.tesseract, pytest.mark.layer]


@pytest.fixture(scope="module")
def recognizer(tessdata_dir) -> Recognizer:
    return Recognizer(Tesseract(tessdata_dir), LIMITS, "chi_sim+eng")


def test_english_page_is_read_almost_exactly(recognizer):
    result = recognizer.recognize(data_image("tesseract-test/phototest.tif"), deadline_in(30))
    assert cer(result.full_text, data_truth("tesseract-test/phototest.tif")) <= 0.02
    assert result.texts[0] == "This is alot of 12 point text to test the"


def test_lines_come_in_reading_order_with_boxes_and_confidence(recognizer):
    result = recognizer.recognize(data_image("tesseract-test/phototest.tif"), deadline_in(30))
    assert (result.image_width, result.image_height) == (640, 480)
    tops = [line.box.top for line in result.lines]
    assert tops == sorted(tops)
    for line in result.lines:
        assert 0 <= line.box.left and line.box.left + line.box.width <= result.image_width
        assert 0 <= line.box.top and line.box.top + line.box.height <= result.image_height
        assert 0.5 < line.confidence <= 1.0
        assert line.block >= 1 and line.paragraph >= 1 and line.line >= 1


def test_chinese_screenshot_is_read_as_chinese(recognizer):
    result = recognizer.recognize(data_image("zh-rendered/screenshot_02.png"), deadline_in(30))
    truth = data_truth("zh-rendered/screenshot_02.png")
    assert result.texts[0] == truth.splitlines()[0]
    # Plain tesseract scores 0.143 here: it reads one line of verse with the English model.
    assert cer(result.full_text, truth) <= 0.10
    # Chinese words are joined without the spaces Tesseract puts between them.
    assert not re.search(r"[\u4e00-\u9fff] [\u4e00-\u9fff]", result.full_text)
    assert len(HAN.findall(result.full_text)) > 80


def test_mixed_chinese_and_english_line_keeps_both(recognizer):
    result = recognizer.recognize(data_image("zh-rendered/screenshot_02.png"), deadline_in(30))
    assert "20 个周年纪念日。" in result.texts


def test_blank_and_one_pixel_images_have_no_lines(recognizer):
    assert recognizer.recognize(encode(Image.new("L", (400, 200), 255), "PNG"), deadline_in(30)).lines == ()
    assert recognizer.recognize(encode(Image.new("L", (1, 1), 255), "PNG"), deadline_in(30)).lines == ()


def test_tesseract_reads_in_this_thread_alone(recognizer):
    # GIVEN the threads this process has, with the models already loaded
    recognizer.recognize(data_image("tesseract-test/phototest.tif"), deadline_in(30))
    before = threading_now()
    # WHEN a page is read
    recognizer.recognize(data_image("zh-rendered/document_02.jpg"), deadline_in(60))
    # THEN no thread was started for it (the library has no OpenMP)
    assert threading_now() == before


def threading_now() -> set[str]:
    return set(os.listdir("/proc/self/task"))


def test_words_are_joined_with_spaces_only_where_the_script_has_them():
    assert join_words(["Image", "to", "text"]) == "Image to text"
    assert join_words(["图片", "文字", "识别"]) == "图片文字识别"
    assert join_words(["支持", "English", "和", "2026"]) == "支持 English 和 2026"
    assert join_words(["你好", "，", "世界"]) == "你好，世界"


# How the engine fails: its models, its pages, its time. (Crashes happen in a page worker's
# process: tests/integration/test_page_worker.py.)

PAGE = encode(Image.new("L", (100, 50), 255), "PNG")


def test_a_missing_models_directory_is_unavailable(tmp_path):
    recognizer = Recognizer(Tesseract(str(tmp_path / "nowhere")), LIMITS, "eng")
    with pytest.raises(RecognitionUnavailable, match="not available"):
        recognizer.recognize(PAGE, deadline_in(10))
    with pytest.raises(RecognitionUnavailable):
        recognizer.recognize(PAGE, deadline_in(10), RecognitionOptions(languages="all"))


@pytest.mark.parametrize("model", [None, b"not a model"], ids=["missing", "damaged"])
def test_a_missing_or_damaged_model_is_unavailable(tmp_path, model):
    if model is not None:
        (tmp_path / "eng.traineddata").write_bytes(model)
    with pytest.raises(RecognitionUnavailable, match="not available"):
        Recognizer(Tesseract(str(tmp_path)), LIMITS, "eng").recognize(PAGE, deadline_in(10))


def test_a_page_tesseract_refuses_is_a_failed_recognition(tessdata_dir):
    empty = PreparedImage(Image.new("L", (0, 0)), "PNG", None)
    with pytest.raises(RecognitionFailed, match="failed on this image"):
        Tesseract(tessdata_dir).read_lines(empty, "eng", deadline_in(10))


def test_tesseract_stops_itself_at_the_deadline_and_reads_on(tessdata_dir, monkeypatch):
    # GIVEN a page that takes over a second to read, and a clock on which a millisecond is left
    # when Tesseract starts and none once it stops: its own timer, not this machine's speed,
    # decides that it stops
    engine = Tesseract(tessdata_dir)
    engine.load("chi_sim+eng")
    recognizer = Recognizer(engine, LIMITS, "chi_sim+eng")
    left = iter([0.001, 0.0])
    monkeypatch.setattr(tesseract_module, "seconds_left", lambda deadline: next(left))
    # WHEN it reads the page
    with pytest.raises(RecognitionTimedOut, match="did not finish"):
        engine.read_lines(prepare_image(data_image("zh-rendered/document_01.jpg"), LIMITS), "chi_sim+eng", 0.0)
    monkeypatch.undo()
    # THEN the same engine reads the next page whole
    result = recognizer.recognize(data_image("tesseract-test/phototest.tif"), deadline_in(30))
    assert cer(result.full_text, data_truth("tesseract-test/phototest.tif")) <= 0.02


def test_no_time_left_fails_before_reading(recognizer):
    with pytest.raises(RecognitionTimedOut, match="no time"):
        recognizer.recognize(PAGE, deadline_in(0))


def test_language_sets_are_kept_loaded_up_to_their_number(tessdata_dir):
    # GIVEN an engine that keeps two language sets
    engine = Tesseract(tessdata_dir, kept_language_sets=2)
    page = Recognizer(engine, LIMITS, "eng")
    for languages in ("eng", "chi_sim", "eng", "chi_sim+eng"):
        page.recognize(
            data_image("tesseract-test/phototest.tif"), deadline_in(30), RecognitionOptions(languages=languages)
        )
    # THEN the least recently used one was let go
    assert list(engine._loaded) == ["eng", "chi_sim+eng"]


def test_temporary_files_are_removed(tmp_path, monkeypatch, recognizer):
    monkeypatch.setenv("TMPDIR", str(tmp_path))
    import tempfile

    monkeypatch.setattr(tempfile, "tempdir", None)
    recognizer.recognize(data_image("tesseract-test/phototest.tif"), deadline_in(30))
    assert list(tmp_path.iterdir()) == []


class CountingEngine(Tesseract):
    """The real engine, counting the Tesseract runs a recognition makes, by kind."""

    def __init__(self) -> None:
        super().__init__(system_tessdata_dir())
        self.reads = 0
        self.orientation_checks = 0

    def read_lines(self, *args, **kwargs):
        self.reads += 1
        return super().read_lines(*args, **kwargs)

    def detect_orientation(self, *args, **kwargs):
        self.orientation_checks += 1
        return super().detect_orientation(*args, **kwargs)


def test_slicing_reads_strips_and_keeps_each_line_once():
    # GIVEN six pages stacked into a 640x2880 image, read in strips
    page = Image.open(io.BytesIO(data_image("tesseract-test/phototest.tif"))).convert("L")
    tall = Image.new("L", (640, 480 * 6), 255)
    for index in range(6):
        tall.paste(page, (0, 480 * index))
    engine = CountingEngine()
    result = Recognizer(engine, LIMITS, "eng").recognize(
        encode(tall, "PNG"), deadline_in(60), RecognitionOptions(slice_large_images=True)
    )
    # THEN two overlapping strips were read, and the merge kept all 48 lines once, in order
    assert engine.reads == 2
    assert len(result.lines) == 48
    tops = [line.box.top for line in result.lines]
    assert tops == sorted(tops) and len(set(tops)) == 48


def test_a_doubtful_reading_is_retried_upright_by_default():
    # GIVEN a page turned 90° left, read with default options
    turned = data_image("tesseract-test/phototest-rotated-L.png")
    result = Recognizer(Tesseract(system_tessdata_dir()), LIMITS, "eng").recognize(turned, deadline_in(60))
    # THEN the confident upright reading wins, and its angle is reported
    assert result.angle == -90.0
    assert cer(result.full_text, data_truth("tesseract-test/phototest.tif")) <= 0.02


def test_orientation_can_be_switched_off():
    turned = data_image("tesseract-test/phototest-rotated-L.png")
    result = Recognizer(Tesseract(system_tessdata_dir()), LIMITS, "eng").recognize(
        turned, deadline_in(60), RecognitionOptions(correct_orientation=False)
    )
    assert result.angle == 0.0
    assert cer(result.full_text, data_truth("tesseract-test/phototest.tif")) > 0.5


def test_confident_and_blank_pages_pay_for_no_orientation_check():
    engine = CountingEngine()
    recognizer = Recognizer(engine, LIMITS, "eng")
    recognizer.recognize(data_image("tesseract-test/phototest.tif"), deadline_in(60))
    recognizer.recognize(encode(Image.new("L", (400, 300), 255), "PNG"), deadline_in(60))
    assert engine.orientation_checks == 0


def test_images_over_the_recognition_cap_are_read_smaller_with_boxes_on_the_upload():
    # GIVEN phototest enlarged three times (2.8 megapixels) and a cap of 1 megapixel
    page = Image.open(io.BytesIO(data_image("tesseract-test/phototest.tif"))).convert("L")
    big = page.resize((1920, 1440), Image.Resampling.LANCZOS)
    upright = Recognizer(Tesseract(system_tessdata_dir()), LIMITS, "eng").recognize(
        encode(page, "PNG"), deadline_in(60)
    )
    for format in ("PNG", "JPEG"):
        engine = CountingEngine()
        result = Recognizer(engine, LIMITS, "eng", max_recognition_pixels=1_000_000).recognize(
            encode(big, format, **({"quality": 95} if format == "JPEG" else {})), deadline_in(60)
        )
        # THEN the text is the same, and every box is the upright page's, three times larger
        assert cer(result.full_text, data_truth("tesseract-test/phototest.tif")) <= 0.03
        assert (result.image_width, result.image_height) == (1920, 1440)
        for small, large in zip(upright.lines, result.lines):
            assert abs(large.box.left - 3 * small.box.left) <= 12
            assert abs(large.box.top - 3 * small.box.top) <= 12
            assert abs(large.box.width - 3 * small.box.width) <= 24


def test_chinese_lines_misread_as_latin_are_read_again_in_chinese():
    # GIVEN a document page where plain chi_sim+eng turns whole lines of verse into Latin junk
    engine = CountingEngine()
    result = Recognizer(engine, LIMITS, "chi_sim+eng").recognize(
        data_image("zh-rendered/document_06.jpg"), deadline_in(60)
    )
    # THEN one extra run re-reads those lines with chi_sim alone, and the page reads right
    assert engine.reads == 2
    assert cer(result.full_text, data_truth("zh-rendered/document_06.jpg")) <= 0.15
    assert all(HAN.search(line.text) for line in result.lines)


def test_pages_without_chinese_are_not_read_twice():
    engine = CountingEngine()
    Recognizer(engine, LIMITS, "chi_sim+eng").recognize(data_image("sroie/000.jpg"), deadline_in(60))
    assert engine.reads == 1


@pytest.mark.parametrize("photo", ["zh-rendered/photo_03.jpg", "zh-rendered/photo_05.jpg"])
def test_latin_misreads_on_a_grey_photo_are_read_again_in_chinese(recognizer, photo):
    # GIVEN phone photos of verse on grey paper, where chi_sim+eng returns a whole line, or
    # phrases inside Chinese lines, as Latin junk (CER about 0.15 read once)
    result = recognizer.recognize(data_image(photo), deadline_in(60))
    # THEN those lines are read again in Chinese, each cut-out on its own background
    assert cer(result.full_text, data_truth(photo)) <= 0.06
