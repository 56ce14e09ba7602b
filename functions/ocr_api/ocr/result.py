"""What recognition yields, independent of how any API dialect shows it.

Coordinates are in pixels of the image as uploaded (after its EXIF orientation), whatever
turning or slicing recognition did: ``box`` is the upright rectangle, ``quad`` the four corners
of the text clockwise from its top left, which differ from the box's when the page was turned.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ocr_api.ocr.tables import Table

Quad = tuple[tuple[int, int], tuple[int, int], tuple[int, int], tuple[int, int]]


@dataclass(frozen=True)
class BoundingBox:
    left: int
    top: int
    width: int
    height: int

    @property
    def right(self) -> int:
        return self.left + self.width

    @property
    def bottom(self) -> int:
        return self.top + self.height

    @property
    def corners(self) -> Quad:
        return ((self.left, self.top), (self.right, self.top), (self.right, self.bottom), (self.left, self.bottom))

    def shifted(self, dx: int, dy: int) -> BoundingBox:
        return BoundingBox(self.left + dx, self.top + dy, self.width, self.height)

    @classmethod
    def enclosing(cls, boxes: list[BoundingBox]) -> BoundingBox:
        left = min(b.left for b in boxes)
        top = min(b.top for b in boxes)
        return cls(left, top, max(b.right for b in boxes) - left, max(b.bottom for b in boxes) - top)


@dataclass(frozen=True)
class Word:
    text: str
    box: BoundingBox
    confidence: float  # 0..1
    quad: Quad


@dataclass(frozen=True)
class TextLine:
    text: str
    box: BoundingBox
    confidence: float  # 0..1, the mean of the line's word confidences
    block: int
    paragraph: int
    line: int
    words: tuple[Word, ...]
    quad: Quad
    # The engine that read it: "tesseract" or "ppocr".
    engine: str = "tesseract"


@dataclass(frozen=True)
class RecognitionResult:
    lines: tuple[TextLine, ...]
    image_width: int
    image_height: int
    languages: str
    # Clockwise degrees the text stood turned in the upload, in (-180, 180]; 0 unless detected.
    angle: float = 0.0
    # The engine that read most of the page's text: "tesseract" or "ppocr" (each line names its own).
    engine: str = "tesseract"
    # The tables on the page, top to bottom, where they were asked for (``tables.filled_tables``).
    tables: tuple[Table, ...] = ()

    @property
    def texts(self) -> list[str]:
        return [line.text for line in self.lines]

    @property
    def full_text(self) -> str:
        return "\n".join(self.texts)

    def paragraph_numbers(self) -> list[int]:
        """For each line, its paragraph counted from 1 across the page, in reading order."""
        numbers: dict[tuple[int, int], int] = {}
        return [numbers.setdefault((line.block, line.paragraph), len(numbers) + 1) for line in self.lines]


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
        is_cjk_ideograph(char)
        or 0x3000 <= code <= 0x303F  # CJK punctuation
        or 0xFF00 <= code <= 0xFFEF  # full-width forms
    )


def is_cjk_ideograph(char: str) -> bool:
    """A Chinese character (the unified ideographs, their extensions and compatibility forms)."""
    code = ord(char)
    return 0x3400 <= code <= 0x9FFF or 0xF900 <= code <= 0xFAFF or 0x20000 <= code <= 0x2FA1F
