"""The page workers: recognition away from the handler, under a deadline and a memory cap."""

from __future__ import annotations

import os

import pytest
from PIL import Image

from ocr_api.errors import ImageNeedsTooMuchMemory, RecognitionTimedOut
from ocr_api.ocr import ImageLimits, RecognitionOptions, Recognizer, Tesseract
from ocr_api.ocr.deadline import deadline_in
from ocr_api.service.page_worker import IsolatedRecognizer, RecognizerSettings, WorkerLimits
from ocr_tools.hostile_files import pdf_with_costly_shading

from helpers import encode, eval_image, fake_tesseract

pytestmark = pytest.mark.tesseract

LIMITS = ImageLimits(max_bytes=10 * 1024 * 1024, max_pixels=40_000_000)


def settings_for(command: str, languages: str = "eng") -> RecognizerSettings:
    return RecognizerSettings(
        tesseract_cmd=command, tessdata_dir=os.environ.get("TESSDATA_PREFIX") or None, tesseract_threads=1,
        max_image_bytes=LIMITS.max_bytes, max_image_pixels=LIMITS.max_pixels, languages=languages,
        max_recognition_pixels=12_000_000,
    )


@pytest.fixture
def isolated(tesseract_cmd):
    recognizers = []

    def make(command: str = tesseract_cmd, memory_mb: int = 700, decode_seconds: float = 10.0, workers: int = 1):
        recognizer = IsolatedRecognizer(settings_for(command), WorkerLimits(memory_mb * 1024 * 1024, decode_seconds),
                                        workers)
        recognizers.append(recognizer)
        return recognizer

    yield make
    for recognizer in recognizers:
        recognizer.close()


def test_a_worker_reads_exactly_what_the_handler_would_read_itself(isolated, tesseract_cmd):
    # GIVEN a real page with a turned copy, read in a worker and in this process
    page = eval_image("tesseract-test/phototest-rotated-R.png")
    options = RecognitionOptions(correct_orientation=True)
    in_process = Recognizer(Tesseract(tesseract_cmd, os.environ.get("TESSDATA_PREFIX") or None), LIMITS, "eng",
                            max_recognition_pixels=12_000_000)
    # THEN the results are equal, boxes, corners, words and angle included
    assert isolated().recognize(page, deadline_in(60), options) == in_process.recognize(page, deadline_in(60), options)


def test_pages_of_one_request_are_read_in_parallel_workers(isolated):
    recognizer = isolated(workers=2)
    pages = [eval_image("tesseract-test/phototest.tif"), encode(Image.new("L", (80, 40), 255), "PNG")]
    first, blank = recognizer.recognize_many(pages, deadline_in(60))
    assert "12 point text" in first.full_text and blank.lines == ()
    assert len(recognizer.worker_processes()) == 2


def test_started_workers_say_when_they_are_ready(isolated):
    # GIVEN two workers not started yet
    recognizer = isolated(workers=2)
    assert recognizer.worker_processes() == []
    # WHEN the recognizer waits for them
    recognizer.wait_until_ready(deadline_in(30))
    # THEN both run, and the next page is read at once by one of them
    assert len(recognizer.worker_processes()) == 2
    assert "12 point text" in recognizer.recognize(eval_image("tesseract-test/phototest.tif"), deadline_in(60)).full_text
    assert len(recognizer.worker_processes()) == 2


def test_the_worker_has_none_of_the_functions_secrets(isolated, tmp_path, tesseract_cmd, monkeypatch):
    # GIVEN the function's AWS credentials in its environment
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "not-for-decoders")
    seen = tmp_path / "environment"
    command = fake_tesseract(tmp_path, f'env > "{seen}"\nexec "{tesseract_cmd}" "$@"')
    # WHEN a worker reads a page
    isolated(command).recognize(eval_image("tesseract-test/phototest.tif"), deadline_in(60))
    # THEN the Tesseract it ran saw neither credentials nor the table's name
    environment = seen.read_text()
    assert "AWS_SECRET_ACCESS_KEY" not in environment and "APPKEYS_TABLE" not in environment
    assert "MALLOC_ARENA_MAX=1" in environment


def test_a_page_that_renders_past_its_time_is_stopped_and_the_worker_replaced(isolated):
    # GIVEN a 14 KB PDF whose page takes PDFium minutes to render, and 2 s to decode
    recognizer = isolated(decode_seconds=2.0)
    recognizer.recognize(eval_image("tesseract-test/phototest.tif"), deadline_in(60))
    [before] = recognizer.worker_processes()
    # WHEN it is read
    with pytest.raises(RecognitionTimedOut, match="decoding the image took more time than allowed"):
        recognizer.recognize(pdf_with_costly_shading(), deadline_in(60), RecognitionOptions(pdf_page=1))
    # THEN its worker is gone, and a new one reads the next page
    assert not os.path.exists(f"/proc/{before}")
    assert "12 point text" in recognizer.recognize(eval_image("tesseract-test/phototest.tif"), deadline_in(60)).full_text
    assert recognizer.worker_processes() != [before]


def test_a_page_over_the_memory_cap_is_refused_and_the_worker_replaced(isolated):
    recognizer = isolated(memory_mb=300)
    with pytest.raises(ImageNeedsTooMuchMemory, match="more memory"):
        recognizer.recognize(encode(Image.new("LA", (8000, 5000), (0, 0)), "PNG"), deadline_in(60))
    assert "12 point text" in recognizer.recognize(eval_image("tesseract-test/phototest.tif"), deadline_in(60)).full_text
