"""Bytes in, text lines out: reading one page with one engine. Every dialect reaches it through
the page workers."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, replace

from PIL import ImageStat

from ocr_api.errors import InvalidRequest, RecognitionFailed, RecognitionUnavailable
from ocr_api.ocr import orientation
from ocr_api.ocr.deadline import seconds_left
from ocr_api.ocr.engine import OcrEngine, PageLayout
from ocr_api.ocr.geometry import PageTransform, enclosing_box
from ocr_api.ocr.images import SUPPORTED_FORMATS, ImageLimits, PreparedImage, prepare_image
from ocr_api.ocr.result import RecognitionResult, TextLine
from ocr_api.ocr.tesseract_reading import TesseractReading

logger = logging.getLogger(__name__)

ALL_LANGUAGES = "all"
# A first reading whose characters average less confidence than this is tried again upright.
# Measured on the evaluation set: turned and skewed pages read at 0.1-0.59, upright pages at
# 0.62-0.95 (a few hard photos lower).
DOUBTFUL_CONFIDENCE = 0.62
# A page this even holds no text: not worth an orientation check.
_BLANK_STDDEV = 4.0
# A page narrower or lower than this holds no line of text any engine reads: it is answered
# with no text at once. Engines given such hairlines spent many seconds and gigabytes on them
# (Tesseract up to the request's deadline on 2000x1; PP-OCR 4.2 GB).
MIN_TEXT_SIDE = 8

# The engines a request may name. "auto": Tesseract first, the deep-learning engine on the
# upright page when Tesseract's reading is doubtful, and the better reading is kept.
TESSERACT, PPOCR, AUTO = "tesseract", "ppocr", "auto"
ENGINE_CHOICES = (TESSERACT, PPOCR, AUTO)
# "auto" asks the deep-learning engine when Tesseract's characters average less confidence than
# this, or when Tesseract found no text on a page that is not blank. Calibrated on the evaluation
# set (README, Engines): every receipt, screenshot and synthetic line there, and all photos but
# one, read at 0.91 or less, and PP-OCR reads each of them better; the clean scans Tesseract reads
# at 0.95 and more, where PP-OCR loses the reading order of columns.
SECOND_OPINION_CONFIDENCE = 0.93
# PP-OCR's reading is kept unless it holds much less confident text than Tesseract's (it found
# little or nothing where Tesseract found lines).
KEEP_DEEP_READING_SHARE = 0.5
# Under "auto", PP-OCR may take at most this share of the time the request has left when it is
# asked: if it is slow (a busy or cold function), Tesseract's reading is still answered in time.
SECOND_OPINION_TIME_SHARE = 0.5


@dataclass(frozen=True)
class RecognitionOptions:
    # Tesseract languages joined with "+", "all" for every installed one, None for the default.
    languages: str | None = None
    single_line: bool = False
    # True: always turn and deskew first; False: never; None: only when a first reading is
    # doubtful, keeping whichever reading is more confident.
    correct_orientation: bool | None = None
    slice_large_images: bool = False
    # A PDF is read at this page (from 1); None refuses PDFs.
    pdf_page: int | None = None
    # Narrower input rules some dialects promise: fewer formats, no animations, fewer bytes.
    formats: tuple[str, ...] = SUPPORTED_FORMATS
    still_only: bool = False
    max_image_bytes: int | None = None
    # One of ENGINE_CHOICES; None for the deployment's default.
    engine: str | None = None


def requested_languages(requested: str | None, default: str, installed: tuple[str, ...]) -> str:
    """The languages a page is read in: as asked (``all``: every installed one), else the
    deployment's default; ``InvalidRequest`` naming any that is not installed."""
    if requested is None:
        return default
    if requested == ALL_LANGUAGES:
        return "+".join(installed)
    unknown = [name for name in requested.split("+") if name not in installed]
    if unknown or not requested:
        raise InvalidRequest(
            f"unknown language(s) {', '.join(unknown) or '(none)'}; installed: "
            f"{', '.join(installed)}, or 'all'"
        )
    return requested


def engine_choice(
    requested: str | None, default: str, languages: str, deep_languages: tuple[str, ...] | None
) -> str:
    """The engine that reads: as asked, else the deployment's default; "auto" is Tesseract alone
    where PP-OCR is not deployed (``deep_languages`` None) or does not read the languages."""
    choice = requested or default
    if choice not in ENGINE_CHOICES:
        raise InvalidRequest(f"engine must be one of {', '.join(ENGINE_CHOICES)}")
    if choice == TESSERACT:
        return choice
    deep_reads = deep_languages is not None and all(name in deep_languages for name in languages.split("+"))
    if choice == PPOCR and deep_languages is None:
        raise InvalidRequest("the ppocr engine is not deployed here; use tesseract or auto")
    if choice == PPOCR and not deep_reads:
        raise InvalidRequest(
            f"the ppocr engine reads {'+'.join(deep_languages)} only; use tesseract or auto for other languages"
        )
    return choice if deep_reads else TESSERACT


class Recognizer:
    def __init__(
        self,
        engine: OcrEngine,
        limits: ImageLimits,
        languages: str,
        max_recognition_pixels: int | None = None,
        deep_engine: OcrEngine | None = None,
        default_engine: str = TESSERACT,
    ) -> None:
        # Tesseract: it reads, and it judges every page's orientation, whichever engine reads.
        self.engine = engine
        self._tesseract = TesseractReading(engine)
        self.limits = limits
        self.languages = languages
        self.max_recognition_pixels = max_recognition_pixels
        # PP-OCR, when the deployment has it.
        self.deep_engine = deep_engine
        self.default_engine = default_engine

    def recognize(
        self,
        data: bytes,
        deadline: float,
        options: RecognitionOptions = RecognitionOptions(),
        on_decoded: Callable[[], None] = lambda: None,
    ) -> RecognitionResult:
        """The page read by ``deadline`` (a ``time.monotonic()`` instant); ``on_decoded`` is called
        once the upload is decoded, before recognition begins."""
        languages = self._languages(options.languages)
        choice = self._engine_for(options.engine, languages)
        limits = self.limits
        if options.max_image_bytes is not None and options.max_image_bytes < limits.max_bytes:
            limits = replace(limits, max_bytes=options.max_image_bytes)
        # Slicing exists to read small print on big pages: it must see every pixel.
        cap = None if options.slice_large_images else self.max_recognition_pixels
        page = prepare_image(data, limits, options.pdf_page, options.formats, options.still_only, cap)
        on_decoded()
        if min(page.image.size) < MIN_TEXT_SIDE:
            return RecognitionResult(lines=(), image_width=page.original_size[0], image_height=page.original_size[1],
                                     languages=languages, angle=0.0, engine=PPOCR if choice == PPOCR else TESSERACT)
        transform = PageTransform(*page.original_size).scaled_to(page.image.size)
        angle = 0.0

        def detect(small: PreparedImage):
            return self.engine.detect_orientation(small, deadline)

        decoded, decoded_transform = page, transform
        found_upright: tuple[PreparedImage, PageTransform, float] | None = None

        def upright() -> tuple[PreparedImage, PageTransform, float]:
            """The decoded page turned upright and deskewed (orientation detected once)."""
            nonlocal found_upright
            if found_upright is None:
                found_upright = orientation.make_upright(decoded, decoded_transform, detect)
            return found_upright

        may_turn = options.correct_orientation is not False and _worth_turning(page, options)
        # PP-OCR reads a turned page confidently and wrongly: it only ever sees upright pages.
        if options.correct_orientation or (choice == PPOCR and may_turn):
            page, transform, angle = upright()
        reader = self.deep_engine if choice == PPOCR else self.engine
        lines = self._read(reader, page, languages, options, deadline)
        if may_turn and found_upright is None and _doubtful(lines, page):
            turned, turned_transform, turned_angle = upright()
            if turned_transform is not transform:
                second = self._read(reader, turned, languages, options, deadline)
                if _confident_characters(second) > _confident_characters(lines):
                    lines, page, transform, angle = second, turned, turned_transform, turned_angle
        used = PPOCR if choice == PPOCR else TESSERACT
        if choice == AUTO and _doubtful(lines, page, below=SECOND_OPINION_CONFIDENCE):
            # Tesseract reads some turned pages well as they are; PP-OCR gets them upright.
            deep_page, deep_transform, deep_angle = upright() if may_turn else (page, transform, angle)
            deep_lines = self._second_opinion(deep_page, lines, languages, options, deadline)
            if deep_lines is not None:
                lines, transform, angle, used = deep_lines, deep_transform, deep_angle, PPOCR
        return RecognitionResult(
            lines=tuple(_on_original(line, transform) for line in lines),
            image_width=transform.width,
            image_height=transform.height,
            languages=languages,
            angle=angle,
            engine=used,
        )

    def _engine_for(self, requested: str | None, languages: str) -> str:
        deep_languages = self.deep_engine.installed_languages if self.deep_engine is not None else None
        return engine_choice(requested, self.default_engine, languages, deep_languages)

    def _second_opinion(
        self, page: PreparedImage, lines: list[TextLine], languages: str, options: RecognitionOptions,
        deadline: float,
    ) -> list[TextLine] | None:
        """PP-OCR's reading of the upright page where it is better than Tesseract's ``lines``,
        else None. Tesseract's reading stands when PP-OCR fails: the client asked for a reading,
        not for an engine."""
        deep_deadline = time.monotonic() + max(0.0, seconds_left(deadline)) * SECOND_OPINION_TIME_SHARE
        try:
            deep_lines = self._read(self.deep_engine, page, languages, options, deep_deadline)
        except (RecognitionFailed, RecognitionUnavailable) as err:
            logger.warning("second opinion unavailable; Tesseract's reading stands",
                           extra={"error": type(err).__name__})
            return None
        if _confident_characters(deep_lines) >= _confident_characters(lines) * KEEP_DEEP_READING_SHARE:
            return deep_lines
        return None

    def _read(
        self, reader: OcrEngine, page: PreparedImage, languages: str, options: RecognitionOptions,
        deadline: float,
    ) -> list[TextLine]:
        layout = PageLayout.SINGLE_LINE if options.single_line else PageLayout.AUTO
        if reader is not self.engine:
            # PP-OCR's detector finds lines at its own scale: big pages go whole, not in strips.
            return reader.read_lines(page, languages, deadline, layout)
        in_strips = options.slice_large_images and not options.single_line
        return self._tesseract.read(page, languages, deadline, layout, in_strips)

    def _languages(self, requested: str | None) -> str:
        return requested_languages(requested, self.languages, self.engine.installed_languages)

def _worth_turning(page: PreparedImage, options: RecognitionOptions) -> bool:
    # A line or two of text gives orientation detection nothing to decide on.
    return not options.single_line and min(page.image.size) >= orientation.MIN_SKEW_SIDE


def _confident_characters(lines: list[TextLine]) -> float:
    return sum(len(line.text) * line.confidence for line in lines)


def _doubtful(lines: list[TextLine], page: PreparedImage, below: float = DOUBTFUL_CONFIDENCE) -> bool:
    """Nothing read on a page that is not blank, or characters averaging less confidence than
    ``below``."""
    if not lines:
        return ImageStat.Stat(page.image).stddev[0] > _BLANK_STDDEV
    characters = sum(len(line.text) for line in lines)
    return _confident_characters(lines) / max(characters, 1) < below


def _on_original(line: TextLine, transform: PageTransform) -> TextLine:
    """The line with its words' and its own coordinates on the image as uploaded."""
    if transform.identity:
        return line
    words = []
    for word in line.words:
        quad = transform.quad(word.box)
        words.append(replace(word, quad=quad, box=enclosing_box(quad)))
    quad = transform.quad(line.box)
    return replace(line, quad=quad, box=enclosing_box(quad), words=tuple(words))
