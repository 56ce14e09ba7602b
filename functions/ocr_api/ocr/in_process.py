"""Both engines in one process, one after the other, as the page path runs them across processes
and functions (the page travels to PP-OCR encoded as it does there): for the evaluation tools
and the tests, never for serving."""

from __future__ import annotations

from dataclasses import dataclass

from ocr_api.errors import RecognitionFailed, RecognitionTimedOut, RecognitionUnavailable, ServiceError
from ocr_api.ocr.fusion import with_deep_reading
from ocr_api.ocr.page_transfer import decode_page, encode_page, lines_on_upload
from ocr_api.ocr.ppocr import PAGE_SIDE
from ocr_api.ocr.recognizer import DeepEngineTask, RecognitionOptions, Recognizer, read_by_tesseract_alone
from ocr_api.ocr.result import RecognitionResult, TextLine


@dataclass(frozen=True)
class BothReadings:
    # The worker's result: Tesseract's reading, or none where PP-OCR reads alone.
    result: RecognitionResult
    # What PP-OCR was asked, if anything, and its lines on the upload and its angle (or its error).
    task: DeepEngineTask | None = None
    deep_lines: list[TextLine] | None = None
    deep_angle: float = 0.0
    deep_error: ServiceError | None = None


def read_both(
    recognizer: Recognizer,
    deep_engine,
    data: bytes,
    deadline: float,
    options: RecognitionOptions = RecognitionOptions(),
) -> BothReadings:
    """Each engine's reading of the page as the service makes them; ``deep_engine`` has PP-OCR's
    ``read_page``."""
    handed: list[DeepEngineTask] = []
    result = recognizer.recognize(data, deadline, options, hand_over=handed.append)
    if not handed:
        return BothReadings(result)
    [task] = handed
    sent, size = encode_page(task.page, PAGE_SIDE)
    try:
        lines, angle = deep_engine.read_page(
            decode_page(sent, PAGE_SIDE * PAGE_SIDE), task.languages, task.deadline, task.layout, task.find_orientation
        )
    except (RecognitionFailed, RecognitionTimedOut, RecognitionUnavailable) as err:
        return BothReadings(result, task, deep_error=err)
    return BothReadings(result, task, lines_on_upload(lines, size, (result.image_width, result.image_height)), angle)


def recognize_in_process(
    recognizer: Recognizer,
    deep_engine,
    data: bytes,
    deadline: float,
    options: RecognitionOptions = RecognitionOptions(),
) -> RecognitionResult:
    """The page as the service answers it."""
    both = read_both(recognizer, deep_engine, data, deadline, options)
    if both.task is None:
        return both.result
    if both.deep_error is not None:
        if both.task.alone:
            raise both.deep_error
        return read_by_tesseract_alone(recognizer.recognize, data, deadline, options, both.result)
    return with_deep_reading(both.result, both.task.alone, both.deep_lines, both.deep_angle)
