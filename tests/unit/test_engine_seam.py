"""The engine seam: ``Recognizer`` drives any ``OcrEngine`` by page layout names and one
deadline, and knows nothing else of it. A scripted engine stands in for Tesseract here."""

from __future__ import annotations

import time

import pytest
from PIL import Image

from ocr_api.errors import InvalidRequest, RecognitionUnavailable
from ocr_api.ocr import ImageLimits, PageLayout, RecognitionOptions, Recognizer
from ocr_api.ocr.deadline import deadline_in
from ocr_api.ocr.recognizer import MIN_TEXT_SIDE

from fakes import ScriptedEngine, line
from helpers import encode

PAGE = encode(Image.new("L", (400, 200), 255), "PNG")
LIMITS = ImageLimits(max_bytes=10**7, max_pixels=10**7)


@pytest.mark.parametrize("single_line, layout", [(False, PageLayout.AUTO), (True, PageLayout.SINGLE_LINE)])
def test_the_engine_is_told_the_layout_and_the_one_deadline(single_line, layout):
    engine = ScriptedEngine([line("seam")])
    deadline = deadline_in(30)
    result = Recognizer(engine, LIMITS, "eng").recognize(
        PAGE, deadline, RecognitionOptions(single_line=single_line, correct_orientation=False)
    )
    assert result.texts == ["seam"]
    assert engine.reads == [("eng", deadline, layout)]


def test_languages_are_the_engines_own():
    engine = ScriptedEngine([line("seam")])
    recognizer = Recognizer(engine, LIMITS, "eng")
    assert recognizer.recognize(PAGE, deadline_in(30), RecognitionOptions(languages="all")).languages == "eng+fake"
    with pytest.raises(InvalidRequest, match="installed: eng, fake"):
        recognizer.recognize(PAGE, deadline_in(30), RecognitionOptions(languages="chi_sim"))


@pytest.mark.parametrize("engine_name", ["tesseract", "ppocr", "auto"])
def test_a_page_too_thin_for_a_line_of_text_reads_as_none_without_any_engine(engine_name):
    tesseract = ScriptedEngine([line("tesseract reading")])
    deep = ScriptedEngine([line("deep reading")], installed_languages=("eng",))
    recognizer = Recognizer(tesseract, LIMITS, "eng", deep_engine=deep)
    thin = encode(Image.new("L", (600, MIN_TEXT_SIDE - 1), 0), "PNG")
    result = recognizer.recognize(thin, deadline_in(30), RecognitionOptions(engine=engine_name, single_line=True))
    assert (result.lines, result.image_width, result.image_height) == ((), 600, MIN_TEXT_SIDE - 1)
    assert tesseract.reads == deep.reads == [] and tesseract.orientation_checks == []


def test_orientation_is_asked_of_the_engine_with_the_same_deadline():
    engine = ScriptedEngine([line("seam")])
    deadline = deadline_in(30)
    Recognizer(engine, LIMITS, "eng").recognize(PAGE, deadline, RecognitionOptions(correct_orientation=True))
    assert engine.orientation_checks == [deadline]


# Choosing the engine: Tesseract (the engine, which also judges orientation), PP-OCR (the deep
# engine, when deployed), or auto.


def engines(tesseract_confidence: float, deep_fails: Exception | None = None):
    tesseract = ScriptedEngine([line("tesseract reading", tesseract_confidence)])
    deep = ScriptedEngine([line("deep reading", 0.99)], installed_languages=("eng",), fails_with=deep_fails)
    return tesseract, deep, Recognizer(tesseract, LIMITS, "eng", deep_engine=deep, default_engine="auto")


def test_auto_keeps_a_confident_tesseract_reading_and_never_asks_the_deep_engine():
    tesseract, deep, recognizer = engines(tesseract_confidence=0.97)
    result = recognizer.recognize(PAGE, deadline_in(30))
    assert (result.engine, result.texts, deep.reads) == ("tesseract", ["tesseract reading"], [])


def test_auto_asks_the_deep_engine_on_the_upright_page_when_tesseract_is_unsure():
    tesseract, deep, recognizer = engines(tesseract_confidence=0.8)
    deadline = deadline_in(30)
    before = time.monotonic()
    result = recognizer.recognize(PAGE, deadline)
    after = time.monotonic()
    assert (result.engine, result.texts) == ("ppocr", ["deep reading"])
    # Orientation was judged (by Tesseract) before the deep engine read, with the same deadline;
    # the deep engine had half of the time left, so that Tesseract's reading can still be answered.
    [(languages, deep_deadline, layout)] = deep.reads
    assert tesseract.orientation_checks == [deadline] and (languages, layout) == ("eng", PageLayout.AUTO)
    assert (before + deadline) / 2 <= deep_deadline <= (after + deadline) / 2


def test_under_auto_a_failing_deep_engine_leaves_tesseracts_reading():
    tesseract, deep, recognizer = engines(0.8, deep_fails=RecognitionUnavailable("throttled"))
    result = recognizer.recognize(PAGE, deadline_in(30))
    assert (result.engine, result.texts) == ("tesseract", ["tesseract reading"]) and deep.reads


def test_languages_the_deep_engine_does_not_read_stay_with_tesseract():
    tesseract, deep, recognizer = engines(tesseract_confidence=0.5)
    result = recognizer.recognize(PAGE, deadline_in(30), RecognitionOptions(languages="fake", engine="auto"))
    assert result.engine == "tesseract" and not deep.reads
    with pytest.raises(InvalidRequest, match="ppocr engine reads eng only"):
        recognizer.recognize(PAGE, deadline_in(30), RecognitionOptions(languages="fake", engine="ppocr"))


def test_ppocr_without_a_deep_engine_is_a_bad_request_and_auto_is_tesseract():
    recognizer = Recognizer(ScriptedEngine([line("seam", 0.5)]), LIMITS, "eng", default_engine="auto")
    assert recognizer.recognize(PAGE, deadline_in(30)).engine == "tesseract"
    with pytest.raises(InvalidRequest, match="not deployed"):
        recognizer.recognize(PAGE, deadline_in(30), RecognitionOptions(engine="ppocr"))


def test_ppocr_reads_alone_on_a_page_turned_upright_first():
    tesseract, deep, recognizer = engines(tesseract_confidence=0.5)
    result = recognizer.recognize(PAGE, deadline_in(30), RecognitionOptions(engine="ppocr"))
    assert result.engine == "ppocr" and tesseract.reads == [] and len(tesseract.orientation_checks) == 1
