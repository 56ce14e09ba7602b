"""The page workers: recognition away from the handler, under a deadline and a memory cap."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor

import pytest
from PIL import Image

from faulty_engines import Aborts, Blocks, Crashes, Killed, engine_setting
from helpers import data_image, encode, process_state, transparent_40_megapixel_png
from ocr_api.config import MIN_WORKER_MEMORY_MB, Settings
from ocr_api.errors import ImageNeedsTooMuchMemory, RecognitionFailed, RecognitionTimedOut, RecognitionUnavailable
from ocr_api.ocr import ImageLimits, RecognitionOptions, Recognizer
from ocr_api.ocr.deadline import deadline_in
from ocr_api.ocr.tesseract import Tesseract
from ocr_api.service.page_workers import IsolatedRecognizer
from ocr_api.service.worker_process import WorkerLimits
from ocr_api.service.worker_protocol import RecognizerSettings
from ocr_tools.hostile_files import pdf_with_an_inline_image, pdf_with_costly_shading

pytestmark = pytest.mark.tesseract

LIMITS = ImageLimits(max_bytes=10 * 1024 * 1024, max_pixels=40_000_000)


@pytest.fixture
def isolated(tessdata_dir):
    recognizers = []

    def make(
        engine: str = Settings.engine,
        memory_mb: int = 700,
        decode_seconds: float = 10.0,
        workers: int = 1,
        models: str = tessdata_dir,
        languages: str = "eng",
    ):
        settings = RecognizerSettings(
            tessdata_dir=models,
            max_image_bytes=LIMITS.max_bytes,
            max_image_pixels=LIMITS.max_pixels,
            languages=languages,
            max_recognition_pixels=12_000_000,
            engine=engine,
        )
        recognizer = IsolatedRecognizer(settings, WorkerLimits(memory_mb * 1024 * 1024, decode_seconds), workers)
        recognizers.append(recognizer)
        return recognizer

    yield make
    for recognizer in recognizers:
        recognizer.close()


def test_a_worker_reads_exactly_what_the_handler_would_read_itself(isolated, tessdata_dir):
    # GIVEN a real page with a turned copy, read in a worker and in this process
    page = data_image("tesseract-test/phototest-rotated-R.png")
    options = RecognitionOptions(correct_orientation=True)
    in_process = Recognizer(Tesseract(tessdata_dir), LIMITS, "eng", max_recognition_pixels=12_000_000)
    # THEN the results are equal, boxes, corners, words and angle included
    assert isolated().recognize(page, deadline_in(60), options) == in_process.recognize(page, deadline_in(60), options)


def test_pages_of_one_request_are_read_in_parallel_workers(isolated):
    recognizer = isolated(workers=2)
    pages = [data_image("tesseract-test/phototest.tif"), encode(Image.new("L", (80, 40), 255), "PNG")]
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
    assert (
        "12 point text" in recognizer.recognize(data_image("tesseract-test/phototest.tif"), deadline_in(60)).full_text
    )
    assert len(recognizer.worker_processes()) == 2


def test_the_worker_has_none_of_the_functions_secrets(isolated, monkeypatch):
    # GIVEN the function's AWS credentials in its environment
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "not-for-decoders")
    # WHEN a worker reads a page
    recognizer = isolated()
    recognizer.recognize(data_image("tesseract-test/phototest.tif"), deadline_in(60))
    # THEN the process that read it has neither credentials nor the table's name
    [worker] = recognizer.worker_processes()
    environment = open(f"/proc/{worker}/environ", "rb").read().split(b"\0")
    assert not any(name.startswith((b"AWS_", b"APPKEYS_TABLE=")) for name in environment)
    assert b"MALLOC_ARENA_MAX=1" in environment and b"OMP_THREAD_LIMIT=1" in environment


def test_a_worker_keeps_its_models_loaded_across_pages(isolated, tessdata_dir):
    # GIVEN a worker that has read a Chinese page once (its default models loaded before the
    # first page, chi_sim alone for the re-read of Latin misreads on first use)
    recognizer = isolated(languages="chi_sim+eng")
    pages = [data_image("tesseract-test/phototest.tif"), data_image("zh-rendered/document_06.jpg")]
    for page in pages:
        recognizer.recognize(page, deadline_in(60))
    [worker] = recognizer.worker_processes()
    read_before = _bytes_read(worker)
    # WHEN it reads the same pages again
    for page in pages:
        recognizer.recognize(page, deadline_in(60))
    # THEN the same process read them, and read no model again: only the pages came in
    assert recognizer.worker_processes() == [worker]
    smallest_model = min(
        os.path.getsize(os.path.join(tessdata_dir, f"{name}.traineddata")) for name in ("eng", "chi_sim")
    )
    assert _bytes_read(worker) - read_before < sum(map(len, pages)) + smallest_model // 2


def _bytes_read(pid: int) -> int:
    for line in open(f"/proc/{pid}/io"):
        if line.startswith("rchar:"):
            return int(line.split()[1])
    raise AssertionError("no rchar")


# The engine's faults, in the worker's process: each answered, the worker replaced.


@pytest.mark.parametrize("fault", [Crashes, Aborts, Killed], ids=["segfault", "abort", "killed"])
def test_an_engine_that_takes_its_worker_down_fails_that_page_only(isolated, fault):
    # GIVEN a stand-in engine that crashes its worker on every read, and then the real one
    crashing = isolated(engine_setting(fault))
    # WHEN a page is read
    with pytest.raises(RecognitionFailed, match="recognition engine failed"):
        crashing.recognize(data_image("tesseract-test/phototest.tif"), deadline_in(60))
    # THEN the worker is started again, ready for the next page
    assert len(crashing.worker_processes()) == 1


@pytest.mark.parametrize(
    "sent, seconds, error, says",
    [
        (signal.SIGSEGV, 60, RecognitionFailed, "recognition engine failed"),
        # Stopped, as a deadlocked or swapped-out process would be: it never answers.
        (signal.SIGSTOP, 3, RecognitionTimedOut, "did not finish"),
    ],
    ids=["crashes", "hangs"],
)
def test_a_worker_that_crashes_or_hangs_mid_page_is_answered_and_replaced(
    isolated, reading_signal, sent, seconds, error, says
):
    # GIVEN a ready worker whose engine holds each page until it is released
    recognizer = isolated(engine_setting(Blocks))
    recognizer.wait_until_ready(deadline_in(30))
    [worker] = recognizer.worker_processes()
    with ThreadPoolExecutor(1) as pool:
        reading = pool.submit(recognizer.recognize, data_image("tesseract-test/phototest.tif"), deadline_in(seconds))
        # WHEN it crashes or stops in the middle of the page
        os.kill(reading_signal.wait_for_reader(), sent)
        # THEN the page fails as the engine's failure, or as out of time
        with pytest.raises(error, match=says):
            reading.result()
    # AND the worker is gone, and a new one reads the next page
    reading_signal.release()
    assert not os.path.exists(f"/proc/{worker}") or process_state(worker) == "Z"
    assert (
        "12 point text" in recognizer.recognize(data_image("tesseract-test/phototest.tif"), deadline_in(60)).full_text
    )
    assert worker not in recognizer.worker_processes()


def test_a_worker_without_its_models_says_so_and_every_page_is_unavailable(isolated, tmp_path):
    # GIVEN workers whose models directory is empty
    recognizer = isolated(models=str(tmp_path))
    # WHEN pages come
    for _ in range(2):
        with pytest.raises(RecognitionUnavailable, match="not available"):
            recognizer.recognize(data_image("tesseract-test/phototest.tif"), deadline_in(30))
    # THEN no worker is left running without its models
    assert recognizer.worker_processes() == []


@pytest.mark.parametrize(
    "limits, pdf, error, says",
    [
        # A 14 KB PDF whose page takes PDFium minutes to render, given 2 s to decode
        (
            {"decode_seconds": 2.0},
            pdf_with_costly_shading,
            RecognitionTimedOut,
            "decoding the image took more time than allowed",
        ),
        # A PDF drawing a 30000x30000 inline image, which PDFium decodes as it loads the page, in a
        # content stream written in hex, which the look for inline images does not read: PDFium
        # aborts when the memory cap refuses it, the documented 413 for a page that needs too much
        # memory
        (
            {"memory_mb": 700},
            lambda: pdf_with_an_inline_image(content_filter="ASCIIHexDecode"),
            ImageNeedsTooMuchMemory,
            "more memory",
        ),
    ],
    ids=["renders past its time", "inline image over the memory cap"],
)
def test_a_pdf_page_that_stops_its_worker_while_decoding_is_answered_and_the_worker_replaced(
    isolated, limits, pdf, error, says
):
    # GIVEN a worker that has read a page
    recognizer = isolated(**limits)
    recognizer.recognize(data_image("tesseract-test/phototest.tif"), deadline_in(60))
    [before] = recognizer.worker_processes()
    # WHEN the PDF is read
    with pytest.raises(error, match=says):
        recognizer.recognize(pdf(), deadline_in(60), RecognitionOptions(pdf_page=1))
    # THEN its worker is gone, and a new one reads the next page
    assert not os.path.exists(f"/proc/{before}")
    assert (
        "12 point text" in recognizer.recognize(data_image("tesseract-test/phototest.tif"), deadline_in(60)).full_text
    )
    assert recognizer.worker_processes() != [before]


def test_a_page_over_the_memory_cap_is_refused_and_the_worker_replaced(isolated):
    recognizer = isolated(memory_mb=300)
    with pytest.raises(ImageNeedsTooMuchMemory, match="more memory"):
        recognizer.recognize(transparent_40_megapixel_png("RGBA"), deadline_in(60))
    assert (
        "12 point text" in recognizer.recognize(data_image("tesseract-test/phototest.tif"), deadline_in(60)).full_text
    )


class CountingDeepEngine:
    """A ``DeepReader`` that reads every page as nothing, counting the pages."""

    def __init__(self) -> None:
        self.pages = 0

    def start(
        self, page: bytes, languages: str, layout: str, deadline: float, find_orientation: bool, find_tables: bool
    ):
        self.pages += 1
        return self

    def result(self) -> tuple[list, float, None]:
        return [], 0.0, None

    def close(self) -> None:
        pass


@pytest.mark.parametrize("misbehaves", ["huge_frame", "deep_reads", "page_of_no_size", "out_of_turn"])
def test_a_worker_that_sends_more_than_a_page_needs_is_stopped_and_replaced(misbehaves, tessdata_dir):
    # GIVEN a worker gone bad (it reads hostile bytes, so the handler does not trust it): it
    # announces a 1 GB frame, hands the deep engine pages without end or one of no size, or
    # answers out of turn
    deep = CountingDeepEngine()
    settings = RecognizerSettings(
        tessdata_dir=tessdata_dir,
        max_image_bytes=LIMITS.max_bytes,
        max_image_pixels=LIMITS.max_pixels,
        languages=misbehaves,
        max_recognition_pixels=12_000_000,
        engine=Settings.engine,
        deep_engine=True,
    )
    recognizer = IsolatedRecognizer(
        settings, WorkerLimits(700 * 1024 * 1024, 10.0), 1, deep_engine=deep, worker_module="hostile_worker"
    )
    try:
        recognizer.start()
        [before] = recognizer.worker_processes()
        # WHEN it is given a page, THEN the page fails as the engine's failure, no more deep
        # readings were made than a page needs, and the worker was replaced
        with pytest.raises(RecognitionFailed):
            recognizer.recognize(b"a page", deadline_in(30))
        assert deep.pages <= 1
        assert recognizer.worker_processes() != [before]
    finally:
        recognizer.close()


def test_the_handler_that_starts_workers_is_not_dumpable(tessdata_dir):
    # Workers run as the handler's user: a dumpable handler's /proc/PID/environ (the function's
    # AWS credentials) and memory would be theirs to read. A non-dumpable process's /proc files
    # belong to root and it cannot be traced (proc(5), ptrace(2)).
    handler = (
        "import ctypes, time\n"
        "from ocr_api.service.page_workers import IsolatedRecognizer\n"
        "from ocr_api.service.worker_process import WorkerLimits\n"
        "from ocr_api.service.worker_protocol import RecognizerSettings\n"
        "libc = ctypes.CDLL(None)\n"
        "print(libc.prctl(3, 0, 0, 0, 0))\n"  # PR_GET_DUMPABLE before any worker
        f"settings = RecognizerSettings({tessdata_dir!r}, 10**7, 10**7, 'eng', None,"
        " 'ocr_api.ocr.tesseract:Tesseract')\n"
        "workers = IsolatedRecognizer(settings, WorkerLimits(700 * 2**20, 10.0), 1)\n"
        "workers.start()\n"
        "print(libc.prctl(3, 0, 0, 0, 0))\n"
        "workers.close()\n"
    )
    answer = subprocess.run(
        [sys.executable, "-c", handler],
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, "PYTHONPATH": os.pathsep.join(p for p in sys.path if p)},
    )
    assert answer.stdout.split() == ["1", "0"], answer.stderr


@pytest.mark.parametrize("mode", ["LA", "RGBA"])
def test_a_40_megapixel_transparent_page_is_read_in_the_smallest_worker_cap(isolated, mode):
    # GIVEN a worker with the least memory any deployment gives one, its models loaded
    recognizer = isolated(memory_mb=MIN_WORKER_MEMORY_MB, languages="chi_sim+eng")
    # WHEN a transparent page at the pixel limit comes, THEN it is read, not refused
    assert recognizer.recognize(transparent_40_megapixel_png(mode), deadline_in(60)).lines == ()


def test_a_page_goes_to_a_ready_worker_before_one_still_loading(isolated):
    # GIVEN one ready worker, and a second one just started (still loading its models)
    recognizer = isolated(workers=2)
    recognizer.start(count=1)
    recognizer.wait_until_ready(deadline_in(30), count=1)
    [ready] = recognizer.worker_processes()
    recognizer.start()
    [loading] = [pid for pid in recognizer.worker_processes() if pid != ready]
    read_before = _bytes_read(ready)
    # WHEN a page comes
    page = data_image("tesseract-test/phototest.tif")
    recognizer.recognize(page, deadline_in(60))
    # THEN the ready worker read it
    assert _bytes_read(ready) - read_before >= len(page)
    assert loading in recognizer.worker_processes()


def test_the_lambda_init_starts_one_worker_before_any_request(tessdata_dir):
    # GIVEN the function's environment, in a fresh interpreter as Lambda's INIT runs it
    probe = (
        "import time, ocr_api.app as app; workers = app.service.recognizer; "
        "started = workers.worker_processes(); workers.wait_until_ready(time.monotonic() + 30, count=1); "
        "print(len(started), workers.worker_processes() == started); app.service.close()"
    )
    environment = {
        **os.environ,
        "APPKEYS_TABLE": "t",
        "AWS_DEFAULT_REGION": "us-east-1",
        "POWERTOOLS_TRACE_DISABLED": "true",
        "TESSDATA_PREFIX": tessdata_dir,
    }
    # WHEN the handler is imported
    done = subprocess.run([sys.executable, "-c", probe], env=environment, capture_output=True, text=True, timeout=60)
    # THEN one page worker was started by the import itself, and it became ready
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["1", "True"]
