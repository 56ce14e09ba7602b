"""The one place that runs Tesseract.

It owns the command, the environment it runs in, the time limit, the temporary files, how
stderr is logged, and which ``ServiceError`` each failure becomes. pytesseract spawns the
process and reads the TSV; it takes its command and environment from process globals, so
they are set here and nowhere else.
"""

from __future__ import annotations

import logging
import os
import shlex
import tempfile

from pytesseract import pytesseract as runner

from ocr_api.errors import RecognitionFailed, RecognitionTimedOut, RecognitionUnavailable
from ocr_api.ocr.images import PreparedImage
from ocr_api.ocr.result import BoundingBox, TextLine

logger = logging.getLogger(__name__)

# Tesseract's TSV level for a single word.
_WORD_LEVEL = 5


class Tesseract:
    def __init__(
        self,
        command: str = "tesseract",
        tessdata_dir: str | None = None,
        threads: int = 1,
        page_segmentation_mode: int = 3,
    ) -> None:
        self.command = command
        self.tessdata_dir = tessdata_dir
        self.page_segmentation_mode = page_segmentation_mode
        # OpenMP on 2 vCPUs makes Tesseract several times slower; pytesseract passes
        # os.environ to the child, so this is where the limit has to live.
        os.environ["OMP_THREAD_LIMIT"] = str(threads)

    def read_lines(
        self, image: PreparedImage, languages: str, timeout_seconds: float
    ) -> list[TextLine]:
        """One Tesseract run that yields every text line with its box and confidence."""
        if timeout_seconds <= 0:
            raise RecognitionTimedOut("no time is left to recognise the image")
        with tempfile.TemporaryDirectory(prefix="ocr-") as workdir:
            # PGM is read by Leptonica with no decompression: cheaper than a PNG round trip.
            page = os.path.join(workdir, "page.pgm")
            image.image.save(page, format="PPM")
            tsv = self._run(page, languages, self._options(image.dpi), timeout_seconds)
        words = runner.file_to_dict(tsv, "\t", -1)
        if "text" not in words:
            raise RecognitionFailed("the recognition engine produced no output")
        return _lines_from_words(words)

    def _options(self, dpi: int | None) -> str:
        options = ["-c", "tessedit_create_tsv=1", "--psm", str(self.page_segmentation_mode)]
        if dpi:
            options += ["--dpi", str(dpi)]
        if self.tessdata_dir:
            options += ["--tessdata-dir", self.tessdata_dir]
        return shlex.join(options)

    def _run(self, page: str, languages: str, options: str, timeout_seconds: float) -> str:
        runner.tesseract_cmd = self.command
        try:
            return runner.run_and_get_output(
                page, extension="tsv", lang=languages, config=options, timeout=timeout_seconds
            )
        except runner.TesseractNotFoundError:
            logger.error("tesseract command not found", extra={"command": self.command})
            raise RecognitionUnavailable("the recognition engine is not available") from None
        except PermissionError as err:
            logger.error("tesseract command cannot be run", extra={"command": self.command})
            raise RecognitionUnavailable("the recognition engine is not available") from err
        except runner.TesseractError as err:
            logger.error(
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
        texts = [str(words["text"][row]).strip() for row in rows]
        boxes = [
            BoundingBox(words["left"][row], words["top"][row], words["width"][row], words["height"][row])
            for row in rows
        ]
        confidences = [max(0.0, float(words["conf"][row])) / 100.0 for row in rows]
        lines.append(
            TextLine(
                text=join_words(texts),
                box=BoundingBox.enclosing(boxes),
                confidence=round(sum(confidences) / len(confidences), 4),
                block=block,
                paragraph=paragraph,
                line=line,
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
