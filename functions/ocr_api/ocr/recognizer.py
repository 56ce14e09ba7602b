"""Bytes in, text lines out: a page decoded under the limits, read with Tesseract and handed to
the deep-learning engine as the engine choice says. Every dialect reaches it through the page
workers."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, replace

from PIL import ImageStat

from ocr_api.errors import InvalidRequest, RecognitionTimedOut, RecognitionUnavailable
from ocr_api.ocr import orientation
from ocr_api.ocr.deadline import seconds_left
from ocr_api.ocr.engine import OcrEngine, PageLayout
from ocr_api.ocr.geometry import PageTransform, line_on_original
from ocr_api.ocr.images import SUPPORTED_FORMATS, ImageLimits, PreparedImage, prepare_image
from ocr_api.ocr.result import RecognitionResult, TextLine
from ocr_api.ocr.tesseract_reading import TesseractReading

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

# The engines a request may name. "auto": both read the page at once, and the better reading of
# each line is kept (``fusion``).
TESSERACT, PPOCR, AUTO = "tesseract", "ppocr", "auto"
ENGINE_CHOICES = (TESSERACT, PPOCR, AUTO)
# Under "auto", PP-OCR may take at most this share of the time the request has left: if it is
# slow (a busy or cold function), Tesseract's reading is still answered in time.
SECOND_OPINION_TIME_SHARE = 0.5
# Under "auto", the languages Tesseract leaves to PP-OCR: PP-OCR reads them far better, and with
# them beside English Tesseract takes about twice the time on every page (it tries each doubtful
# word in each language). The fused reading is as good without them (docs/engines.md).
LEFT_TO_THE_DEEP_ENGINE = ("chi_sim",)


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
    # Whether the page's tables are found too (by the deep-learning engine's function).
    find_tables: bool = False


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
            f"unknown language(s) {', '.join(unknown) or '(none)'}; installed: {', '.join(installed)}, or 'all'"
        )
    return requested


def tesseract_languages_beside_deep_engine(languages: str) -> str:
    """What Tesseract reads under "auto": the languages less those it leaves to PP-OCR, unless
    that leaves none."""
    kept = [name for name in languages.split("+") if name not in LEFT_TO_THE_DEEP_ENGINE]
    return "+".join(kept) or languages


def read_by_tesseract_alone(
    read: Callable[[bytes, float, RecognitionOptions], RecognitionResult],
    data: bytes,
    deadline: float,
    options: RecognitionOptions,
    part: RecognitionResult,
) -> RecognitionResult:
    """The page under ``auto`` once PP-OCR has failed: Tesseract, whose reading beside PP-OCR
    was its part only (``part``), reads the whole page alone with ``read``; where no time is
    left for that, its part is the answer."""
    try:
        return read(data, deadline, replace(options, engine=TESSERACT))
    except RecognitionTimedOut:
        return part


def engine_choice(
    requested: str | None,
    default: str,
    languages: str,
    deep_languages: tuple[str, ...] | None,
    find_tables: bool = False,
) -> str:
    """The engine that reads: as asked, else the deployment's default; "auto" is Tesseract alone
    where PP-OCR is not deployed (``deep_languages`` None) or does not read the languages.
    Tables are found by the deep-learning engine's function: asking for them needs it to read."""
    choice = requested or default
    if choice not in ENGINE_CHOICES:
        raise InvalidRequest(f"engine must be one of {', '.join(ENGINE_CHOICES)}")
    if find_tables:
        return _engine_for_tables(choice, languages, deep_languages)
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


def _engine_for_tables(choice: str, languages: str, deep_languages: tuple[str, ...] | None) -> str:
    if deep_languages is None:
        raise InvalidRequest("tables are found by the ppocr engine, which is not deployed here")
    if choice == TESSERACT:
        raise InvalidRequest("tables are found by the ppocr engine: use engine auto or ppocr to ask for them")
    if not all(name in deep_languages for name in languages.split("+")):
        raise InvalidRequest(f"tables are found in {'+'.join(deep_languages)} text only")
    return choice


@dataclass(frozen=True)
class DeepEngineTask:
    """A page for the deep-learning engine, which reads elsewhere: handed out as soon as the page
    is decoded, so that it is read while Tesseract reads (under ``auto``) instead of after."""

    # The decoded page, before any turn.
    page: PreparedImage
    languages: str
    layout: PageLayout
    # Whether the deep engine may turn the page upright by its own judgement.
    find_orientation: bool
    deadline: float
    # True when it reads alone (``ppocr``); False when its reading is weighed against Tesseract's.
    alone: bool
    # Whether it finds the page's tables too.
    find_tables: bool = False


class Recognizer:
    """Reads a page with Tesseract, here, and hands it to the deep-learning engine, which reads it
    elsewhere (``hand_over``), as the request's engine choice says; the two readings are weighed
    by ``fusion`` where they meet."""

    def __init__(
        self,
        engine: OcrEngine,
        limits: ImageLimits,
        languages: str,
        max_recognition_pixels: int | None = None,
        deep_languages: tuple[str, ...] | None = None,
        default_engine: str = TESSERACT,
    ) -> None:
        # Tesseract, which reads here.
        self.engine = engine
        self._tesseract = TesseractReading(engine)
        self.limits = limits
        self.languages = languages
        self.max_recognition_pixels = max_recognition_pixels
        # What PP-OCR reads, when the deployment has it.
        self.deep_languages = deep_languages
        self.default_engine = default_engine

    def load(self) -> None:
        """Loads the models the deployment's default reading needs, so its first page does not
        wait for them: under ``auto``, only Tesseract's part beside PP-OCR (the whole set, for
        the ``tesseract`` engine or a page PP-OCR failed, loads when first needed; up front it
        held the worker's start, and so the instance's INIT, about 90 ms longer)."""
        if self.default_engine == AUTO and engine_choice(AUTO, AUTO, self.languages, self.deep_languages) == AUTO:
            self.engine.load(tesseract_languages_beside_deep_engine(self.languages))
        else:
            self.engine.load(self.languages)

    def recognize(
        self,
        data: bytes,
        deadline: float,
        options: RecognitionOptions = RecognitionOptions(),
        on_decoded: Callable[[], None] = lambda: None,
        hand_over: Callable[[DeepEngineTask], None] | None = None,
    ) -> RecognitionResult:
        """The page read by ``deadline`` (a ``time.monotonic()`` instant): Tesseract's reading,
        or none where PP-OCR reads alone. ``on_decoded`` is called once the upload is decoded,
        before recognition begins; ``hand_over`` with the page when PP-OCR is to read it too."""
        languages = self._languages(options.languages)
        choice = engine_choice(options.engine, self.default_engine, languages, self.deep_languages, options.find_tables)
        limits = self.limits
        if options.max_image_bytes is not None and options.max_image_bytes < limits.max_bytes:
            limits = replace(limits, max_bytes=options.max_image_bytes)
        # Slicing exists to read small print on big pages: it must see every pixel.
        cap = None if options.slice_large_images else self.max_recognition_pixels
        page = prepare_image(data, limits, options.pdf_page, options.formats, options.still_only, cap)
        on_decoded()
        nothing = RecognitionResult(
            lines=(),
            image_width=page.original_size[0],
            image_height=page.original_size[1],
            languages=languages,
            engine=PPOCR if choice == PPOCR else TESSERACT,
        )
        if min(page.image.size) < MIN_TEXT_SIDE:
            return nothing
        transform = PageTransform(*page.original_size).scaled_to(page.image.size)
        may_turn = options.correct_orientation is not False and _worth_turning(page, options)
        layout = PageLayout.SINGLE_LINE if options.single_line else PageLayout.AUTO
        if choice == PPOCR and hand_over is None:
            raise RecognitionUnavailable("the recognition engine is not available")
        if choice != TESSERACT and hand_over is not None:
            # Under auto, PP-OCR's reading has at most its share of the time, so that a slow
            # (cold, busy) deep engine never costs Tesseract's reading its answer.
            share = 1.0 if choice == PPOCR else SECOND_OPINION_TIME_SHARE
            hand_over(
                DeepEngineTask(
                    page,
                    languages,
                    layout,
                    may_turn,
                    time.monotonic() + max(0.0, seconds_left(deadline)) * share,
                    choice == PPOCR,
                    options.find_tables,
                )
            )
        if choice == PPOCR:
            return nothing
        # Beside PP-OCR, Tesseract's part is Latin text and the order of columns: should PP-OCR
        # fail, the page is read again by Tesseract alone (``in_process``, ``worker_process``).
        beside_deep = choice == AUTO and hand_over is not None
        lines, transform, angle = self._read_with_tesseract(
            page,
            transform,
            tesseract_languages_beside_deep_engine(languages) if beside_deep else languages,
            options,
            layout,
            may_turn,
            deadline,
        )
        return RecognitionResult(
            lines=tuple(line_on_original(line, transform) for line in lines),
            image_width=transform.width,
            image_height=transform.height,
            languages=languages,
            angle=angle,
        )

    def _read_with_tesseract(
        self,
        page: PreparedImage,
        transform: PageTransform,
        languages: str,
        options: RecognitionOptions,
        layout: PageLayout,
        may_turn: bool,
        deadline: float,
    ) -> tuple[list[TextLine], PageTransform, float]:
        """Tesseract's lines, and the page's turn they were read at: upright first where asked,
        else as the page stands, and once more upright where that reading is doubtful."""

        def upright() -> tuple[PreparedImage, PageTransform, float]:
            return orientation.make_upright(
                page, transform, lambda small: self.engine.detect_orientation(small, deadline)
            )

        in_strips = options.slice_large_images and not options.single_line
        if options.correct_orientation:
            page, transform, angle = upright()
            return self._tesseract.read(page, languages, deadline, layout, in_strips), transform, angle
        lines = self._tesseract.read(page, languages, deadline, layout, in_strips)
        if may_turn and _doubtful(lines, page):
            turned, turned_transform, turned_angle = upright()
            if turned_transform is not transform:
                second = self._tesseract.read(turned, languages, deadline, layout, in_strips)
                if _confident_characters(second) > _confident_characters(lines):
                    return second, turned_transform, turned_angle
        return lines, transform, 0.0

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
