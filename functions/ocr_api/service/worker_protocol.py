"""How the handler and a page worker talk: length-prefixed frames on the worker's stdin and
stdout (JSON, and the image bytes raw), what a worker is started with, and how a page's result
or its error travels back (errors as ``ServiceError.as_json`` writes them)."""

from __future__ import annotations

import os
import select
import struct
from dataclasses import dataclass

from ocr_api.errors import ServiceError, error_from_json
from ocr_api.ocr.deadline import seconds_left
from ocr_api.ocr.page_transfer import line_from_json
from ocr_api.ocr.recognizer import TESSERACT
from ocr_api.ocr.result import RecognitionResult

FRAME_HEADER = struct.Struct(">I")
TOO_MUCH_MEMORY = "the image needs more memory to decode than this service allows"


@dataclass(frozen=True)
class RecognizerSettings:
    """What a worker builds its ``Recognizer`` from."""

    tessdata_dir: str
    max_image_bytes: int
    max_image_pixels: int
    languages: str
    max_recognition_pixels: int | None
    # The engine's class, as "module:name", built with ``tessdata_dir``.
    engine: str
    # Whether PP-OCR can be asked (through the handler), and the engine a request gets by default.
    deep_engine: bool = False
    default_engine: str = TESSERACT


def send_frame(stream, payload: bytes) -> None:
    stream.write(FRAME_HEADER.pack(len(payload)) + payload)
    stream.flush()


class FrameTooLarge(Exception):
    """A worker announced a frame larger than any it has reason to send."""


def receive_frame(stream, until: float | None, max_bytes: int | None = None) -> bytes:
    """One frame; ``TimeoutError`` when it is not whole by ``until``, ``EOFError`` on a closed
    pipe, ``FrameTooLarge`` when it announces more than ``max_bytes``."""
    header = _read_exactly(stream.fileno(), FRAME_HEADER.size, until)
    (length,) = FRAME_HEADER.unpack(header)
    if max_bytes is not None and length > max_bytes:
        raise FrameTooLarge(length)
    return _read_exactly(stream.fileno(), length, until)


def _read_exactly(descriptor: int, size: int, until: float | None) -> bytes:
    chunks, left = [], size
    while left:
        if until is not None:
            wait = seconds_left(until)
            if wait <= 0 or not select.select([descriptor], [], [], wait)[0]:
                raise TimeoutError
        chunk = os.read(descriptor, min(left, 1 << 20))
        if not chunk:
            raise EOFError
        chunks.append(chunk)
        left -= len(chunk)
    return b"".join(chunks)


def result_from_json(document: dict) -> RecognitionResult:
    return RecognitionResult(**{**document, "lines": tuple(line_from_json(line) for line in document["lines"])})


def result_or_error(reply: dict) -> RecognitionResult:
    """The page's result from a worker's reply, or the error it reports raised (an error of a
    kind no service error has is an internal error)."""
    if "result" in reply:
        return result_from_json(reply["result"])
    raise error_from_json(reply.get("error"))


def error_reply(err: ServiceError) -> dict:
    return {"error": err.as_json()}
