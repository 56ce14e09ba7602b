"""The engine seam: ``Recognizer`` drives any ``OcrEngine`` by page layout names and one
deadline, and knows nothing else of it. A scripted engine stands in for Tesseract here."""

from __future__ import annotations

import time

import pytest
from PIL import Image

from fakes import ScriptedEngine, line
from helpers import encode
from ocr_api.errors import InvalidRequest, RecognitionTimedOut, RecognitionUnavailable
from ocr_api.ocr import ImageLimits, PageLayout, RecognitionOptions, Recognizer
from ocr_api.ocr.deadline import deadline_in
from ocr_api.ocr.in_process import recognize_in_process
from ocr_api.ocr.recognizer import MIN_TEXT_SIDE

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
    recognizer = Recognizer(tesseract, LIMITS, "eng", deep_languages=deep.installed_languages)
    thin = encode(Image.new("L", (600, MIN_TEXT_SIDE - 1), 0), "PNG")
    result = recognize_in_process(
        recognizer, deep, thin, deadline_in(30), RecognitionOptions(engine=engine_name, single_line=True)
    )
    assert (result.lines, result.image_width, result.image_height) == ((), 600, MIN_TEXT_SIDE - 1)
    assert tesseract.reads == deep.reads == [] and tesseract.orientation_checks == []


def test_orientation_is_asked_of_the_engine_with_the_same_deadline():
    engine = ScriptedEngine([line("seam")])
    deadline = deadline_in(30)
    Recognizer(engine, LIMITS, "eng").recognize(PAGE, deadline, RecognitionOptions(correct_orientation=True))
    assert engine.orientation_checks == [deadline]


# Choosing the engine: Tesseract (the engine, which also judges orientation), PP-OCR (the deep
# engine, when deployed), or auto.


def engines(tesseract_lines: list, deep_lines: list, deep_fails: Exception | None = None, languages: tuple = ("eng",)):
    """Tesseract (which also reads "fake") and the deep engine, both reading ``languages``, the
    deployment's default, under auto."""
    tesseract = ScriptedEngine(tesseract_lines, installed_languages=(*languages, "fake"))
    deep = ScriptedEngine(deep_lines, installed_languages=languages, fails_with=deep_fails)
    recognizer = Recognizer(tesseract, LIMITS, "+".join(languages), deep_languages=languages, default_engine="auto")
    return tesseract, deep, recognizer


def test_auto_hands_the_page_to_the_deep_engine_before_tesseract_reads_with_half_the_time_left():
    # GIVEN a recognizer whose deep engine reads elsewhere
    tesseract, _, recognizer = engines([line("tesseract reading")], [])
    handed, deadline = [], deadline_in(30)

    def hand_over(task):
        handed.append((task, list(tesseract.reads)))

    # WHEN a page is read under auto
    before = time.monotonic()
    recognizer.recognize(PAGE, deadline, hand_over=hand_over)
    after = time.monotonic()
    # THEN the page went out once, before Tesseract read a line, undecided about its orientation
    # (the deep engine judges that itself) and with half the time left, so that a slow deep
    # engine never costs Tesseract's reading its answer
    [(task, reads_before)] = handed
    assert reads_before == [] and tesseract.reads and tesseract.orientation_checks == []
    assert (task.alone, task.find_orientation, task.languages, task.layout) == (False, True, "eng", PageLayout.AUTO)
    assert (before + deadline) / 2 <= task.deadline <= (after + deadline) / 2
    assert task.page.image.size == (400, 200)


def test_auto_keeps_per_region_the_reading_more_likely_right_and_names_its_engine():
    # GIVEN Tesseract reading speckle as symbols in one place and a line beside it alone, and
    # PP-OCR reading the first place well and a line Tesseract missed
    garbled = line("~.,;:'|_ !i", 0.35, top=10)
    speckle = line("'. ~", 0.41, top=60)
    deep_good = line("Invoice 2024", 0.98, "ppocr", top=10)
    deep_only = line("Thank you", 0.97, "ppocr", top=110)
    _, _, recognizer = engines([garbled, speckle], [deep_good, deep_only])
    deep = ScriptedEngine([deep_good, deep_only], installed_languages=("eng",))
    # WHEN the page is read under auto
    result = recognize_in_process(recognizer, deep, PAGE, deadline_in(30))
    # THEN each place keeps the better reading, in reading order, each line naming its engine;
    # Tesseract's speckle is dropped (which reading wins where both read text: test_fusion.py)
    assert [(line.text, line.engine) for line in result.lines] == [("Invoice 2024", "ppocr"), ("Thank you", "ppocr")]
    assert deep.orientation_allowed == [True]


def chinese_and_english_engines(deep_fails: Exception | None = None):
    return engines(
        [line("tesseract reading", 0.3)], [line("deep reading", 0.99, "ppocr")], deep_fails, ("chi_sim", "eng")
    )


def test_beside_ppocr_tesseract_leaves_chinese_to_ppocr():
    # GIVEN a deployment reading Chinese and English
    tesseract, deep, recognizer = chinese_and_english_engines()
    # WHEN a page is read under auto
    result = recognize_in_process(recognizer, deep, PAGE, deadline_in(30))
    # THEN Tesseract read it in English only, PP-OCR in both, and the result names both
    assert [languages for languages, _, _ in tesseract.reads] == ["eng"]
    assert [languages for languages, _, _ in deep.reads] == ["chi_sim+eng"] and result.languages == "chi_sim+eng"
    # and alone, Tesseract reads in both languages
    tesseract.reads.clear()
    recognizer.recognize(PAGE, deadline_in(30), RecognitionOptions(engine="tesseract"))
    assert [languages for languages, _, _ in tesseract.reads] == ["chi_sim+eng"]


def test_under_auto_a_failing_deep_engine_has_tesseract_read_the_page_alone():
    tesseract, deep, recognizer = chinese_and_english_engines(deep_fails=RecognitionUnavailable("throttled"))
    result = recognize_in_process(recognizer, deep, PAGE, deadline_in(30))
    assert (result.engine, result.texts) == ("tesseract", ["tesseract reading"]) and deep.reads
    # first its part beside PP-OCR, then the whole page in every language
    assert [languages for languages, _, _ in tesseract.reads] == ["eng", "chi_sim+eng"]


def test_under_auto_with_no_time_left_to_read_alone_tesseracts_part_is_the_answer():
    tesseract, deep, recognizer = chinese_and_english_engines(deep_fails=RecognitionTimedOut("slow"))
    read_lines = tesseract.read_lines

    def out_of_time_after_one_reading(image, languages, deadline, layout=PageLayout.AUTO):
        if tesseract.reads:
            raise RecognitionTimedOut("no time is left")
        return read_lines(image, languages, deadline, layout)

    tesseract.read_lines = out_of_time_after_one_reading
    result = recognize_in_process(recognizer, deep, PAGE, deadline_in(30))
    assert (result.engine, result.texts) == ("tesseract", ["tesseract reading"])
    assert [languages for languages, _, _ in tesseract.reads] == ["eng"]


def test_the_models_of_the_default_reading_are_loaded_up_front():
    loaded = []
    tesseract, _, recognizer = chinese_and_english_engines()
    tesseract.load = loaded.append
    recognizer.load()
    # Under auto, Tesseract's part beside PP-OCR; elsewhere the whole set
    assert loaded == ["eng"]
    for deep_languages, default_engine in ((None, "auto"), (("chi_sim", "eng"), "tesseract"), (("eng",), "auto")):
        loaded.clear()
        recognizer = Recognizer(
            tesseract, LIMITS, "chi_sim+eng", deep_languages=deep_languages, default_engine=default_engine
        )
        recognizer.load()
        assert loaded == ["chi_sim+eng"]


def test_languages_the_deep_engine_does_not_read_stay_with_tesseract():
    tesseract, deep, recognizer = engines([line("tesseract reading", 0.5)], [line("deep reading", 0.99, "ppocr")])
    result = recognize_in_process(
        recognizer, deep, PAGE, deadline_in(30), RecognitionOptions(languages="fake", engine="auto")
    )
    assert result.engine == "tesseract" and not deep.reads
    with pytest.raises(InvalidRequest, match="ppocr engine reads eng only"):
        recognizer.recognize(PAGE, deadline_in(30), RecognitionOptions(languages="fake", engine="ppocr"))


def test_ppocr_without_a_deep_engine_is_a_bad_request_and_auto_is_tesseract():
    recognizer = Recognizer(ScriptedEngine([line("seam", 0.5)]), LIMITS, "eng", default_engine="auto")
    handed = []
    assert recognizer.recognize(PAGE, deadline_in(30), hand_over=handed.append).engine == "tesseract"
    assert handed == []
    with pytest.raises(InvalidRequest, match="not deployed"):
        recognizer.recognize(PAGE, deadline_in(30), RecognitionOptions(engine="ppocr"))


@pytest.mark.parametrize("correct_orientation, turns", [(None, True), (False, False)])
def test_ppocr_reads_alone_and_turns_the_page_itself(correct_orientation, turns):
    tesseract, deep, recognizer = engines([line("tesseract reading", 0.5)], [line("deep reading", 0.99, "ppocr")])
    result = recognize_in_process(
        recognizer,
        deep,
        PAGE,
        deadline_in(30),
        RecognitionOptions(engine="ppocr", correct_orientation=correct_orientation),
    )
    assert (result.engine, result.texts) == ("ppocr", ["deep reading"])
    assert tesseract.reads == [] and tesseract.orientation_checks == [] and deep.orientation_allowed == [turns]


def test_tables_go_to_the_deep_engine_with_the_page_and_need_it_to_read():
    # GIVEN a deployment whose deep engine reads English, under auto
    _, _, recognizer = engines([line("tesseract reading")], [])
    handed = []
    # WHEN tables are asked for, THEN the page goes to the deep engine saying so
    recognizer.recognize(PAGE, deadline_in(30), RecognitionOptions(find_tables=True), hand_over=handed.append)
    assert [task.find_tables for task in handed] == [True]
    # AND asking for them where the deep engine would not read is the client's error
    for options, says in [
        (RecognitionOptions(find_tables=True, engine="tesseract"), "use engine auto or ppocr"),
        (RecognitionOptions(find_tables=True, languages="fake"), "tables are found in eng text only"),
    ]:
        with pytest.raises(InvalidRequest, match=says):
            recognizer.recognize(PAGE, deadline_in(30), options, hand_over=handed.append)
    alone = Recognizer(ScriptedEngine([line("seam", 0.5)]), LIMITS, "eng", default_engine="auto")
    with pytest.raises(InvalidRequest, match="not deployed here"):
        alone.recognize(PAGE, deadline_in(30), RecognitionOptions(find_tables=True))
