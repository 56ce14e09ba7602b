"""The one Tesseract engine: the one place that runs the ``tesseract`` command.

It owns the command, the environment it runs in (passed to each run, never set on this
process), the time limit, the temporary files, how stderr is logged, and which
``ServiceError`` each failure becomes, including "exited 0 but wrote nothing".
pytesseract reads the TSV it writes.
"""

from __future__ import annotations

import logging
import os
import re
import subprocess
import tempfile
from collections.abc import Mapping
from functools import cached_property

from PIL import Image
from pytesseract.pytesseract import file_to_dict

from ocr_api.errors import RecognitionFailed, RecognitionTimedOut, RecognitionUnavailable
from ocr_api.ocr.deadline import seconds_left
from ocr_api.ocr.engine import UPRIGHT_UNSURE, Orientation, PageLayout
from ocr_api.ocr.images import PreparedImage
from ocr_api.ocr.result import BoundingBox, TextLine, Word, join_words

logger = logging.getLogger(__name__)

# Tesseract's TSV level for a single word.
_WORD_LEVEL = 5
# Tesseract's page segmentation mode for each layout.
_PAGE_SEGMENTATION_MODES = {PageLayout.AUTO: 3, PageLayout.BLOCK: 6, PageLayout.SINGLE_LINE: 7}
_PSM_ORIENTATION_ONLY = 0
_ORIENTATION = re.compile(r"Orientation in degrees: (\d+)")
_ORIENTATION_CONFIDENCE = re.compile(r"Orientation confidence: ([\d.]+)")
_LANGUAGE_NAME = re.compile(r"^[a-z_]+$")
# What Tesseract needs of this process's environment; the rest (credentials) stays here.
# MALLOC_ARENA_MAX keeps a capped page worker's Tesseract to one malloc arena too.
_PASSED_ENVIRONMENT = (
    "PATH", "LANG", "LC_ALL", "LD_LIBRARY_PATH", "TMPDIR", "TESSDATA_PREFIX", "MALLOC_ARENA_MAX",
)
_STDERR_LOGGED = 2000


class Tesseract:
    def __init__(
        self,
        command: str = "tesseract",
        tessdata_dir: str | None = None,
        threads: int = 1,
        environ: Mapping[str, str] = os.environ,
    ) -> None:
        self.command = command
        self.tessdata_dir = tessdata_dir
        self.environment = {name: environ[name] for name in _PASSED_ENVIRONMENT if name in environ}
        # OpenMP on 2 vCPUs makes Tesseract several times slower.
        self.environment["OMP_THREAD_LIMIT"] = str(threads)

    def read_lines(
        self,
        image: PreparedImage,
        languages: str,
        deadline: float,
        layout: PageLayout = PageLayout.AUTO,
    ) -> list[TextLine]:
        """One Tesseract run that yields every text line with its words, boxes and confidence."""
        options = ["-c", "tessedit_create_tsv=1", "--psm", str(_PAGE_SEGMENTATION_MODES[layout])]
        tsv = self._run(image, "tsv", languages, options, deadline)
        words = file_to_dict(tsv, "\t", -1)
        if "text" not in words:
            raise RecognitionFailed("the recognition engine produced no output")
        return _lines_from_words(words)

    def detect_orientation(self, image: PreparedImage, deadline: float) -> Orientation:
        """Tesseract's orientation detection; a page it cannot judge counts as upright."""
        try:
            report = self._run(
                image, "osd", "osd", ["--psm", str(_PSM_ORIENTATION_ONLY)], deadline, failure_expected=True
            )
        except RecognitionFailed:
            # Too little text to decide ("Too few characters"): nothing to turn.
            return UPRIGHT_UNSURE
        degrees = _ORIENTATION.search(report)
        confidence = _ORIENTATION_CONFIDENCE.search(report)
        if not degrees or not confidence:
            return UPRIGHT_UNSURE
        return Orientation(int(degrees[1]) % 360, float(confidence[1]))

    @cached_property
    def installed_languages(self) -> tuple[str, ...]:
        """The models Tesseract can load, except ``osd``, which reads no text."""
        try:
            listing = subprocess.run(
                [self.command, "--list-langs", *self._tessdata_options()],
                stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                env=self.environment, check=False,
            )
        except OSError:
            listing = None
        # Tesseract 3 exits 1 after listing; anything else means it could not run.
        if listing is None or listing.returncode not in (0, 1):
            logger.error("tesseract command not found", extra={"command": self.command})
            raise RecognitionUnavailable("the recognition engine is not available")
        names = (line.strip() for line in listing.stdout.decode("utf-8", "replace").splitlines())
        return tuple(sorted(name for name in names if _LANGUAGE_NAME.match(name) and name != "osd"))

    def _tessdata_options(self) -> list[str]:
        return ["--tessdata-dir", self.tessdata_dir] if self.tessdata_dir else []

    def _run(
        self,
        image: PreparedImage,
        extension: str,
        languages: str,
        options: list[str],
        deadline: float,
        failure_expected: bool = False,
    ) -> str:
        if seconds_left(deadline) <= 0:
            raise RecognitionTimedOut("no time is left to recognise the image")
        if image.dpi:
            options = [*options, "--dpi", str(image.dpi)]
        options = [*options, *self._tessdata_options()]
        # One directory per run, always removed: the page, and what Tesseract writes.
        with tempfile.TemporaryDirectory(prefix="ocr-") as workdir:
            # PBM/PGM/PPM are read by Leptonica with no decompression: cheaper than a PNG.
            page = os.path.join(workdir, "page.pnm")
            _as_leptonica_reads_it(image.image).save(page, format="PPM")
            output = os.path.join(workdir, "out")
            self._call([self.command, page, output, "-l", languages, *options], deadline, failure_expected)
            try:
                with open(f"{output}.{extension}", "rb") as written:
                    return written.read().decode("utf-8")
            except OSError as err:
                logger.error("tesseract wrote no output", extra={"error": type(err).__name__})
                raise RecognitionFailed("the recognition engine produced no output") from err

    def _call(self, arguments: list[str], deadline: float, failure_expected: bool) -> None:
        timeout = seconds_left(deadline)
        try:
            finished = subprocess.run(
                arguments, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                env=self.environment, timeout=max(timeout, 0.001), check=False,
            )
        except (FileNotFoundError, PermissionError) as err:
            logger.error("tesseract command cannot be run", extra={"command": self.command})
            raise RecognitionUnavailable("the recognition engine is not available") from err
        except subprocess.TimeoutExpired as err:
            logger.warning("tesseract timed out", extra={"timeout_seconds": round(timeout, 3)})
            raise RecognitionTimedOut("recognition did not finish in the time this request has") from err
        except OSError as err:
            logger.error("tesseract could not be started", extra={"error": type(err).__name__})
            raise RecognitionFailed("the recognition engine failed on this image") from err
        if finished.returncode != 0:
            if not failure_expected:
                stderr = finished.stderr.decode("utf-8", "replace")
                logger.warning(
                    "tesseract failed",
                    extra={"exit_status": finished.returncode, "stderr": stderr[-_STDERR_LOGGED:]},
                )
            raise RecognitionFailed("the recognition engine failed on this image")


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
