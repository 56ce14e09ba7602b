"""The one Tesseract engine: libtesseract in this process, through tesserocr, kept warm.

Loading a language set's models takes longer than reading a small page (about 0.15 s for
``chi_sim+eng``), so each set is loaded once and kept: a few initialised Tesseract instances,
the least recently used one let go when another set is needed. Each read gets the settings the
``tesseract`` command gets: the page's pixels as they are (no format in between, no resolution
invented), its DPI when the upload said it, the page segmentation mode of the layout, one thread
(the library is built without OpenMP); one setting differs, on purpose (``invert_threshold``).
Output is Tesseract's own TSV, as the command writes it.

It is not thread-safe: a page worker owns one and reads one page at a time.
"""

from __future__ import annotations

import logging
import os
from collections import OrderedDict
from functools import cached_property

import tesserocr

from ocr_api.errors import RecognitionFailed, RecognitionTimedOut, RecognitionUnavailable
from ocr_api.ocr.deadline import seconds_left
from ocr_api.ocr.engine import UPRIGHT_UNSURE, Orientation, PageLayout
from ocr_api.ocr.images import PreparedImage
from ocr_api.ocr.result import BoundingBox, TextLine, Word, join_words

logger = logging.getLogger(__name__)

_PAGE_SEGMENTATION_MODES = {
    PageLayout.AUTO: tesserocr.PSM.AUTO,
    PageLayout.BLOCK: tesserocr.PSM.SINGLE_BLOCK,
    PageLayout.SINGLE_LINE: tesserocr.PSM.SINGLE_LINE,
}
_ORIENTATION_MODEL = "osd"
# Text language sets kept loaded (about 15-60 MB each): the default set, the Chinese re-read
# of its Latin misreads, and one set a request asked for. The orientation model is kept apart.
KEPT_LANGUAGE_SETS = 3
# Tesseract's TSV: one row per page, block, paragraph, line and word, in reading order.
_TSV_COLUMNS = 12
_WORD_LEVEL = "5"
_VARIABLES = {
    # Tesseract's diagnostics go nowhere: a failed read is reported by its result, not its chatter.
    "debug_file": os.devnull,
    # Lines read with less confidence than this are tried again inverted, for white-on-dark text
    # (0.7 by default). Such text reads far below 0.5; on the evaluation set, lines between 0.5
    # and 0.7 never read better inverted, and trying them cost about 6% of the time.
    "invert_threshold": "0.5",
}


class Tesseract:
    def __init__(self, tessdata_dir: str, kept_language_sets: int = KEPT_LANGUAGE_SETS) -> None:
        self.tessdata_dir = tessdata_dir
        self.kept_language_sets = kept_language_sets
        self._loaded: OrderedDict[str, tesserocr.PyTessBaseAPI] = OrderedDict()
        self._orientation: tesserocr.PyTessBaseAPI | None = None

    @cached_property
    def installed_languages(self) -> tuple[str, ...]:
        """The models in the models directory, except ``osd``, which reads no text."""
        try:
            _, names = tesserocr.get_languages(self.tessdata_dir)
        except RuntimeError as err:  # no such directory
            logger.error("tesseract models directory cannot be read", extra={"tessdata_dir": self.tessdata_dir})
            raise RecognitionUnavailable("the recognition engine is not available") from err
        return tuple(sorted(name for name in names if name != _ORIENTATION_MODEL))

    def load(self, languages: str) -> None:
        """Loads a language set now, so that the first page read with it does not wait."""
        self._instance(languages)

    def read_lines(
        self,
        image: PreparedImage,
        languages: str,
        deadline: float,
        layout: PageLayout = PageLayout.AUTO,
    ) -> list[TextLine]:
        """One recognition that yields every text line with its words, boxes and confidence."""
        tesseract = self._instance(languages)
        tesseract.SetPageSegMode(_PAGE_SEGMENTATION_MODES[layout])
        _set_page(tesseract, image)
        milliseconds = int(seconds_left(deadline) * 1000)
        if milliseconds <= 0:
            raise RecognitionTimedOut("no time is left to recognise the image")
        try:
            # Tesseract checks the time itself and stops at it, keeping the worker usable.
            finished = tesseract.Recognize(timeout=milliseconds)
            tsv = tesseract.GetTSVText(0) if finished else None
        except RuntimeError as err:  # tesserocr's word for a page Tesseract would not take
            logger.warning("tesseract refused the page", extra={"error": str(err)})
            raise RecognitionFailed("the recognition engine failed on this image") from err
        if not finished:
            if seconds_left(deadline) <= 0:
                logger.warning("tesseract stopped at its deadline", extra={"timeout_ms": milliseconds})
                raise RecognitionTimedOut("recognition did not finish in the time this request has")
            logger.warning("tesseract could not read the page")
            raise RecognitionFailed("the recognition engine failed on this image")
        if not tsv:
            logger.warning("tesseract read the page but wrote no output")
            raise RecognitionFailed("the recognition engine produced no output")
        return _lines_from_tsv(tsv)

    def detect_orientation(self, image: PreparedImage, deadline: float) -> Orientation:
        """Tesseract's orientation detection; a page it cannot judge counts as upright."""
        if seconds_left(deadline) <= 0:
            raise RecognitionTimedOut("no time is left to recognise the image")
        if self._orientation is None:
            self._orientation = self._initialised(_ORIENTATION_MODEL)
            self._orientation.SetPageSegMode(tesserocr.PSM.OSD_ONLY)
        _set_page(self._orientation, image)
        try:
            # None when there is too little text to decide ("Too few characters").
            report = self._orientation.DetectOrientationScript()
        except RuntimeError:
            report = None
        if not report:  # nothing to turn
            return UPRIGHT_UNSURE
        return Orientation(int(report["orient_deg"]) % 360, float(report["orient_conf"]))

    def _instance(self, languages: str) -> tesserocr.PyTessBaseAPI:
        tesseract = self._loaded.get(languages)
        if tesseract is not None:
            self._loaded.move_to_end(languages)
            return tesseract
        while len(self._loaded) >= self.kept_language_sets:
            _, least_used = self._loaded.popitem(last=False)
            least_used.End()
        tesseract = self._loaded[languages] = self._initialised(languages)
        return tesseract

    def _initialised(self, languages: str) -> tesserocr.PyTessBaseAPI:
        try:
            return tesserocr.PyTessBaseAPI(path=self.tessdata_dir, lang=languages, variables=_VARIABLES)
        except RuntimeError as err:
            logger.error(
                "tesseract models cannot be loaded", extra={"languages": languages, "tessdata_dir": self.tessdata_dir}
            )
            raise RecognitionUnavailable("the recognition engine is not available") from err


# How each of Pillow's page modes is handed over: bytes per pixel, 0 for one bit (1 = white).
_BYTES_PER_PIXEL = {"1": 0, "L": 1, "RGB": 3}


def _set_page(tesseract: tesserocr.PyTessBaseAPI, page: PreparedImage) -> None:
    """Hands the page's raw pixels over, with its DPI or none (then Tesseract estimates it from
    the text, as the command does for a file without one). Tesseract copies them at once, so
    this copy is freed before recognition starts."""
    image = page.image if page.image.mode in _BYTES_PER_PIXEL else page.image.convert("RGB")
    bytes_per_pixel = _BYTES_PER_PIXEL[image.mode]
    pixels = image.tobytes()
    bytes_per_line = (image.width + 7) // 8 if bytes_per_pixel == 0 else image.width * bytes_per_pixel
    tesseract.SetImageBytes(pixels, image.width, image.height, bytes_per_pixel, bytes_per_line)
    tesseract.SetVariable("user_defined_dpi", str(page.dpi or 0))


def _lines_from_tsv(tsv: str) -> list[TextLine]:
    """Groups the TSV's word rows into lines, in Tesseract's reading order."""
    grouped: dict[tuple[str, str, str], list[list[str]]] = {}
    for row in tsv.splitlines():
        columns = row.split("\t", _TSV_COLUMNS - 1)
        if len(columns) != _TSV_COLUMNS or columns[0] != _WORD_LEVEL or not columns[11].strip():
            continue
        grouped.setdefault((columns[2], columns[3], columns[4]), []).append(columns)

    lines = []
    for (block, paragraph, line), rows in grouped.items():
        words = []
        for columns in rows:
            box = BoundingBox(*(int(value) for value in columns[6:10]))
            confidence = round(max(0.0, float(columns[10])) / 100.0, 4)
            words.append(Word(text=columns[11].strip(), box=box, confidence=confidence, quad=box.corners))
        box = BoundingBox.enclosing([word.box for word in words])
        lines.append(
            TextLine(
                text=join_words([word.text for word in words]),
                box=box,
                confidence=round(sum(word.confidence for word in words) / len(words), 4),
                block=int(block),
                paragraph=int(paragraph),
                line=int(line),
                words=tuple(words),
                quad=box.corners,
            )
        )
    return lines
