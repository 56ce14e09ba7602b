"""The one place that runs Tesseract.

It owns the command, the environment it runs in, the time limit, the temporary files, how
stderr is logged, and which ``ServiceError`` each failure becomes. pytesseract spawns the
process and reads the TSV; it takes its command and environment from process globals, so
they are set here and nowhere else.
"""

from __future__ import annotations

import logging
import os
import re
import shlex
import tempfile
from dataclasses import dataclass
from functools import cached_property

from PIL import Image
from pytesseract import pytesseract as runner

from ocr_api.errors import RecognitionFailed, RecognitionTimedOut, RecognitionUnavailable
from ocr_api.ocr.images import PreparedImage
from ocr_api.ocr.result import BoundingBox, TextLine, Word

logger = logging.getLogger(__name__)

# Tesseract's TSV level for a single word.
_WORD_LEVEL = 5
# Page segmentation modes: automatic layout, one uniform block, one text line.
PSM_AUTO = 3
PSM_BLOCK = 6
PSM_SINGLE_LINE = 7
_PSM_ORIENTATION_ONLY = 0
_ORIENTATION = re.compile(r"Orientation in degrees: (\d+)")
_ORIENTATION_CONFIDENCE = re.compile(r"Orientation confidence: ([\d.]+)")


@dataclass(frozen=True)
class Orientation:
    """How the page is turned: clockwise degrees (0, 90, 180, 270) and Tesseract's confidence."""

    degrees: int
    confidence: float


class Tesseract:
    def __init__(
        self,
        command: str = "tesseract",
        tessdata_dir: str | None = None,
        threads: int = 1,
    ) -> None:
        self.command = command
        self.tessdata_dir = tessdata_dir
        # OpenMP on 2 vCPUs makes Tesseract several times slower; pytesseract passes
        # os.environ to the child, so this is where the limit has to live.
        os.environ["OMP_THREAD_LIMIT"] = str(threads)

    def read_lines(
        self,
        image: PreparedImage,
        languages: str,
        timeout_seconds: float,
        page_segmentation_mode: int = PSM_AUTO,
    ) -> list[TextLine]:
        """One Tesseract run that yields every text line with its words, boxes and confidence."""
        options = ["-c", "tessedit_create_tsv=1", "--psm", str(page_segmentation_mode)]
        tsv = self._run(image, "tsv", languages, options, timeout_seconds)
        words = runner.file_to_dict(tsv, "\t", -1)
        if "text" not in words:
            raise RecognitionFailed("the recognition engine produced no output")
        return _lines_from_words(words)

    def detect_orientation(self, image: PreparedImage, timeout_seconds: float) -> Orientation:
        """Tesseract's orientation detection; a page it cannot judge counts as upright."""
        try:
            report = self._run(
                image, "osd", "osd", ["--psm", str(_PSM_ORIENTATION_ONLY)], timeout_seconds,
                failure_expected=True,
            )
        except RecognitionFailed:
            # Too little text to decide ("Too few characters"): nothing to turn.
            return Orientation(0, 0.0)
        degrees = _ORIENTATION.search(report)
        confidence = _ORIENTATION_CONFIDENCE.search(report)
        if not degrees or not confidence:
            return Orientation(0, 0.0)
        return Orientation(int(degrees[1]) % 360, float(confidence[1]))

    @cached_property
    def installed_languages(self) -> tuple[str, ...]:
        """The models Tesseract can load, except ``osd``, which reads no text."""
        options = ["--tessdata-dir", self.tessdata_dir] if self.tessdata_dir else []
        runner.tesseract_cmd = self.command
        try:
            listing = runner.get_languages(config=shlex.join(options))
        except runner.TesseractNotFoundError:
            logger.error("tesseract command not found", extra={"command": self.command})
            raise RecognitionUnavailable("the recognition engine is not available") from None
        return tuple(sorted(language for language in listing if language != "osd"))

    def _run(
        self,
        image: PreparedImage,
        extension: str,
        languages: str,
        options: list[str],
        timeout_seconds: float,
        failure_expected: bool = False,
    ) -> str:
        if timeout_seconds <= 0:
            raise RecognitionTimedOut("no time is left to recognise the image")
        if image.dpi:
            options = [*options, "--dpi", str(image.dpi)]
        if self.tessdata_dir:
            options = [*options, "--tessdata-dir", self.tessdata_dir]
        with tempfile.TemporaryDirectory(prefix="ocr-") as workdir:
            # PBM/PGM/PPM are read by Leptonica with no decompression: cheaper than a PNG.
            page = os.path.join(workdir, "page.pnm")
            _as_leptonica_reads_it(image.image).save(page, format="PPM")
            return self._call(
                page, extension, languages, shlex.join(options), timeout_seconds, failure_expected
            )

    def _call(
        self,
        page: str,
        extension: str,
        languages: str,
        options: str,
        timeout_seconds: float,
        failure_expected: bool = False,
    ) -> str:
        runner.tesseract_cmd = self.command
        try:
            return runner.run_and_get_output(
                page, extension=extension, lang=languages, config=options, timeout=timeout_seconds
            )
        except runner.TesseractNotFoundError:
            logger.error("tesseract command not found", extra={"command": self.command})
            raise RecognitionUnavailable("the recognition engine is not available") from None
        except PermissionError as err:
            logger.error("tesseract command cannot be run", extra={"command": self.command})
            raise RecognitionUnavailable("the recognition engine is not available") from err
        except runner.TesseractError as err:
            if not failure_expected:
                logger.warning(
                    "tesseract failed", extra={"exit_status": err.status, "stderr": err.message[-2000:]}
                )
            raise RecognitionFailed("the recognition engine failed on this image") from None
        except RuntimeError as err:
            # pytesseract's only RuntimeError: it killed the process at the time limit.
            logger.warning("tesseract timed out", extra={"timeout_seconds": timeout_seconds})
            raise RecognitionTimedOut(
                "recognition did not finish in the time this request has"
            ) from err
        except OSError as err:
            # The process exited 0 but wrote no TSV file.
            logger.error("tesseract wrote no output", extra={"error": type(err).__name__})
            raise RecognitionFailed("the recognition engine produced no output") from err


# What C's scanf takes for white space.
_WHITESPACE_BYTES = {bytes([character]) for character in b" \t\n\v\f\r"}


def _as_leptonica_reads_it(image: Image.Image) -> Image.Image:
    """The page, or its greyscale copy where Leptonica would misread it as a PBM file.

    Leptonica's PBM reader skips all white space after the header, and with it the raster's
    first byte when that byte looks like white space: a bilevel page whose first eight pixels
    pack so (one black pixel third from the left: 0x20) made Tesseract fail on a good page.
    """
    if image.mode == "1":
        first_byte = image.crop((0, 0, min(8, image.width), 1)).tobytes("raw", "1;I")
        if first_byte in _WHITESPACE_BYTES:
            return image.convert("L")
    return image


def _lines_from_words(words: dict[str, list]) -> list[TextLine]:
    """Groups TSV word rows into lines, in Tesseract's reading order."""
    grouped: dict[tuple[int, int, int, int], list[int]] = {}
    for row, level in enumerate(words["level"]):
        text = str(words["text"][row]).strip()
        if level != _WORD_LEVEL or not text:
            continue
        key = (words["page_num"][row], words["block_num"][row], words["par_num"][row], words["line_num"][row])
        grouped.setdefault(key, []).append(row)

    lines = []
    for (_, block, paragraph, line), rows in grouped.items():
        line_words = [
            Word(
                text=str(words["text"][row]).strip(),
                box=(box := BoundingBox(
                    words["left"][row], words["top"][row], words["width"][row], words["height"][row]
                )),
                confidence=round(max(0.0, float(words["conf"][row])) / 100.0, 4),
                quad=box.corners,
            )
            for row in rows
        ]
        box = BoundingBox.enclosing([word.box for word in line_words])
        lines.append(
            TextLine(
                text=join_words([word.text for word in line_words]),
                box=box,
                confidence=round(sum(w.confidence for w in line_words) / len(line_words), 4),
                block=block,
                paragraph=paragraph,
                line=line,
                words=tuple(line_words),
                quad=box.corners,
            )
        )
    return lines


def join_words(words: list[str]) -> str:
    """Joins words with spaces, except between two CJK characters, where Chinese has none."""
    joined = words[0]
    for word in words[1:]:
        if _is_cjk(joined[-1]) and _is_cjk(word[0]):
            joined += word
        else:
            joined += " " + word
    return joined


def _is_cjk(char: str) -> bool:
    code = ord(char)
    return (
        0x3000 <= code <= 0x303F  # CJK punctuation
        or 0x3400 <= code <= 0x4DBF
        or 0x4E00 <= code <= 0x9FFF
        or 0xF900 <= code <= 0xFAFF
        or 0xFF00 <= code <= 0xFFEF  # full-width forms
        or 0x20000 <= code <= 0x2FA1F
    )
