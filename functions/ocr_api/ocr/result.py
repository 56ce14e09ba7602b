"""What recognition yields, independent of how any API dialect shows it."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class BoundingBox:
    """An axis-aligned rectangle in pixels of the upright image."""

    left: int
    top: int
    width: int
    height: int

    @classmethod
    def enclosing(cls, boxes: list[BoundingBox]) -> BoundingBox:
        left = min(b.left for b in boxes)
        top = min(b.top for b in boxes)
        right = max(b.left + b.width for b in boxes)
        bottom = max(b.top + b.height for b in boxes)
        return cls(left, top, right - left, bottom - top)


@dataclass(frozen=True)
class TextLine:
    text: str
    box: BoundingBox
    confidence: float  # 0..1, the mean of the line's word confidences
    block: int
    paragraph: int
    line: int


@dataclass(frozen=True)
class RecognitionResult:
    lines: tuple[TextLine, ...]
    image_width: int
    image_height: int
    languages: str

    @property
    def texts(self) -> list[str]:
        return [line.text for line in self.lines]

    @property
    def full_text(self) -> str:
        return "\n".join(self.texts)
