"""How the handler and a page worker talk: typed messages in length-prefixed frames on the
worker's stdin and stdout (JSON, and a page's bytes raw in a frame of their own), with errors as
``ServiceError.as_json`` writes them.

A page's exchange: ``Job`` and the page's bytes in; ``Received``, ``Decoded``, ``DeepPage`` and the
page for PP-OCR (where it reads), and ``PageRead`` out. The handler, which alone may invoke the deep
engine, does so as soon as it has the page, and weighs its reading against the worker's result.
"""

from __future__ import annotations

import json
import math
import os
import select
import struct
from dataclasses import asdict, dataclass, fields

from ocr_api.errors import ServiceError, error_from_json
from ocr_api.ocr.deadline import seconds_left
from ocr_api.ocr.page_transfer import line_from_json
from ocr_api.ocr.recognizer import TESSERACT, RecognitionOptions
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
    # Whether PP-OCR can be asked (by the handler), and the engine a request gets by default.
    deep_engine: bool = False
    default_engine: str = TESSERACT


# The messages. Each frame of JSON is one of them, named by its "type".


@dataclass(frozen=True)
class Start:
    """Handler to worker, first: what to build the recognizer from, and the worker's memory cap."""

    settings: RecognizerSettings
    memory_bytes: int


@dataclass(frozen=True)
class Ready:
    """Worker to handler, once: the languages it reads, or the error that keeps it from reading."""

    languages: tuple[str, ...] = ()
    error: ServiceError | None = None


@dataclass(frozen=True)
class Job:
    """Handler to worker: read the page whose bytes follow by ``deadline`` (``time.monotonic()``,
    the same clock in both processes)."""

    deadline: float
    options: RecognitionOptions


@dataclass(frozen=True)
class Received:
    """Worker to handler: it has the page, before doing anything with it."""


@dataclass(frozen=True)
class Decoded:
    """Worker to handler: the page is decoded within the limits; recognition begins."""


@dataclass(frozen=True)
class DeepPage:
    """Worker to handler, at most once a page, as soon as it is decoded: the deep-learning engine
    is to read the page whose bytes follow (``size`` pixels), alone or beside Tesseract."""

    languages: str
    layout: str
    find_orientation: bool
    deadline: float
    alone: bool
    size: tuple[int, int]
    find_tables: bool = False


@dataclass(frozen=True)
class PageRead:
    """Worker to handler, last for a page: its result (Tesseract's reading; no lines where PP-OCR
    reads alone) or its error; ``exiting`` when the worker ends after it (its heap ran out, and
    is not trusted with another page)."""

    result: RecognitionResult | None = None
    error: ServiceError | None = None
    exiting: bool = False


Message = Start | Ready | Job | Received | Decoded | DeepPage | PageRead
_TYPES = {kind.__name__: kind for kind in (Start, Ready, Job, Received, Decoded, DeepPage, PageRead)}


class UnexpectedMessage(Exception):
    """A frame that is none of the messages, or not the one this step of the exchange expects."""


def send_message(stream, message: Message) -> None:
    document = {"type": type(message).__name__}
    for field in fields(message):
        value = getattr(message, field.name)
        if isinstance(value, ServiceError):
            value = value.as_json()
        elif hasattr(value, "__dataclass_fields__"):
            value = asdict(value)
        document[field.name] = value
    send_frame(stream, json.dumps(document, ensure_ascii=False).encode())


def receive_message(stream, until: float | None, max_bytes: int | None = None) -> Message:
    """The next message (and the errors of ``receive_frame``)."""
    return decode_message(receive_frame(stream, until, max_bytes))


def decode_message(frame: bytes) -> Message:
    """The message a frame holds; ``UnexpectedMessage`` for a frame that holds none."""
    try:
        document = json.loads(frame)
        kind = _TYPES[document.pop("type")]
        return kind(**{name: _field_from_json(kind, name, value) for name, value in document.items()})
    except (ValueError, KeyError, TypeError, AttributeError) as err:
        raise UnexpectedMessage(type(err).__name__) from None


def _field_from_json(kind: type, name: str, value):
    if kind is DeepPage:
        return _deep_page_field(name, value)
    if value is None:
        return None
    if name == "error":
        return error_from_json(value)
    if kind is Start and name == "settings":
        return RecognizerSettings(**value)
    if kind is Job and name == "options":
        return RecognitionOptions(**{**value, "formats": tuple(value["formats"])})
    if kind is PageRead and name == "result":
        # A worker never finds tables (the deep engine does, and the handler adds them).
        lines = tuple(line_from_json(line) for line in value["lines"])
        return RecognitionResult(**{**value, "lines": lines, "tables": ()})
    if kind is Ready and name == "languages":
        return tuple(value)
    return value


def _deep_page_field(name: str, value):
    """A field of ``DeepPage`` as the handler may use it (a worker's word is not trusted: a size
    of nothing or a deadline that is no number would fail in the handler)."""
    kinds = {"languages": str, "layout": str, "find_orientation": bool, "alone": bool, "find_tables": bool}
    if name in kinds and isinstance(value, kinds[name]):
        return value
    if name == "deadline" and isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value):
        return float(value)
    if (
        name == "size"
        and isinstance(value, list)
        and len(value) == 2
        and all(isinstance(side, int) and not isinstance(side, bool) and side > 0 for side in value)
    ):
        return tuple(value)
    raise TypeError(name)


# Frames.


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
