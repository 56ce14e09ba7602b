"""The engine seam: ``Recognizer`` drives any ``OcrEngine`` by page layout names and one
deadline, and knows nothing else of it. A scripted engine stands in for Tesseract here."""

from __future__ import annotations

import pytest
from PIL import Image

from ocr_api.errors import InvalidRequest
from ocr_api.ocr import ImageLimits, PageLayout, RecognitionOptions, Recognizer
from ocr_api.ocr.deadline import deadline_in

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


def test_orientation_is_asked_of_the_engine_with_the_same_deadline():
    engine = ScriptedEngine([line("seam")])
    deadline = deadline_in(30)
    Recognizer(engine, LIMITS, "eng").recognize(PAGE, deadline, RecognitionOptions(correct_orientation=True))
    assert engine.orientation_checks == [deadline]
