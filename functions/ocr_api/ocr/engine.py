"""The seam every OCR engine plugs into: load a language set, read a page's lines, tell how it
is turned, name its languages. ``Recognizer`` holds one engine and knows nothing else about it.

Times are ``time.monotonic()`` instants (deadlines), the same instant from the request down to
the engine; each engine turns what is left into whatever its own call needs, once.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum
from typing import Protocol

from ocr_api.ocr.images import PreparedImage
from ocr_api.ocr.result import TextLine


class PageLayout(Enum):
    """How the text on a page is laid out, as far as the engine is told."""

    # Find the blocks and lines of the page itself.
    AUTO = "auto"
    # One uniform block of lines (stacked cut-outs).
    BLOCK = "block"
    # A single line of text.
    SINGLE_LINE = "single_line"


@dataclass(frozen=True)
class Orientation:
    """How the page is turned: clockwise degrees (0, 90, 180, 270) and the engine's confidence."""

    degrees: int
    confidence: float


UPRIGHT_UNSURE = Orientation(0, 0.0)


class OcrEngine(Protocol):
    @property
    def installed_languages(self) -> tuple[str, ...]:
        """The language models it can read with."""

    def load(self, languages: str) -> None:
        """Makes a language set ready now, before the first page (a page worker calls it before
        it says "ready"); raises ``RecognitionUnavailable`` when its models cannot be loaded."""

    def read_lines(
        self, image: PreparedImage, languages: str, deadline: float, layout: PageLayout = PageLayout.AUTO
    ) -> list[TextLine]:
        """Every text line with its words, boxes and confidence, in reading order; raises
        ``RecognitionTimedOut`` at ``deadline`` and ``RecognitionFailed`` on a failed run."""

    def detect_orientation(self, image: PreparedImage, deadline: float) -> Orientation:
        """How the page is turned; a page it cannot judge counts as upright (``UPRIGHT_UNSURE``)."""
