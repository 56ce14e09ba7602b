"""Mapping boxes found on a corrected page back onto the image as uploaded.

Recognition may run on a turned, deskewed or sliced copy of the page. Every step is recorded
here, so each box can be reported as four points on the original image, clockwise from the top
left of the text, plus the upright rectangle around them.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

from ocr_api.ocr.result import BoundingBox, Quad, TextLine

if TYPE_CHECKING:
    from ocr_api.ocr.table_structure import TableGrid


@dataclass(frozen=True)
class Rotation:
    """A counter-clockwise turn by ``degrees`` about the image centre, the canvas grown to fit."""

    degrees: float
    before: tuple[int, int]
    after: tuple[int, int]

    def backward(self, x: float, y: float) -> tuple[float, float]:
        """From the turned image to the image before the turn (y grows downwards)."""
        angle = math.radians(self.degrees)
        dx, dy = x - self.after[0] / 2, y - self.after[1] / 2
        return (
            math.cos(angle) * dx - math.sin(angle) * dy + self.before[0] / 2,
            math.sin(angle) * dx + math.cos(angle) * dy + self.before[1] / 2,
        )


@dataclass(frozen=True)
class Scaling:
    """A resize by ``factor`` (new size over old) in each direction."""

    factor_x: float
    factor_y: float

    def backward(self, x: float, y: float) -> tuple[float, float]:
        return x / self.factor_x, y / self.factor_y


@dataclass(frozen=True)
class PageTransform:
    """Every resize and turn between the uploaded image (``width`` x ``height``) and the one
    recognised, in the order they were made."""

    width: int
    height: int
    steps: tuple[Rotation | Scaling, ...] = ()

    def turned(self, degrees: float, before: tuple[int, int], after: tuple[int, int]) -> PageTransform:
        return PageTransform(self.width, self.height, (*self.steps, Rotation(degrees, before, after)))

    def scaled_to(self, size: tuple[int, int]) -> PageTransform:
        """The upload was resized to ``size`` before anything else."""
        if size == (self.width, self.height):
            return self
        step = Scaling(size[0] / self.width, size[1] / self.height)
        return PageTransform(self.width, self.height, (*self.steps, step))

    @property
    def identity(self) -> bool:
        return not self.steps

    def to_original(self, x: float, y: float) -> tuple[int, int]:
        for step in reversed(self.steps):
            x, y = step.backward(x, y)
        return (
            min(max(round(x), 0), self.width),
            min(max(round(y), 0), self.height),
        )

    def quad(self, corners: Quad) -> Quad:
        """Four corners, in the order given (the text's, clockwise from its top left)."""
        return tuple(self.to_original(x, y) for x, y in corners)


def enclosing_box(quad: Quad) -> BoundingBox:
    xs = [x for x, _ in quad]
    ys = [y for _, y in quad]
    return BoundingBox(min(xs), min(ys), max(xs) - min(xs), max(ys) - min(ys))


def line_on_original(line: TextLine, transform: PageTransform) -> TextLine:
    """The line with its words' and its own coordinates on the image ``transform`` starts from."""
    if transform.identity:
        return line
    words = []
    for word in line.words:
        quad = transform.quad(word.quad)
        words.append(replace(word, quad=quad, box=enclosing_box(quad)))
    quad = transform.quad(line.quad)
    return replace(line, quad=quad, box=enclosing_box(quad), words=tuple(words))


def grid_on_original(grid: TableGrid, transform: PageTransform) -> TableGrid:
    """A table's grid with its region and cell boxes on the image ``transform`` starts from."""
    if transform.identity:
        return grid

    def box(found: BoundingBox) -> BoundingBox:
        return enclosing_box(transform.quad(found.corners))

    cells = tuple(replace(cell, box=box(cell.box)) for cell in grid.cells)
    return replace(grid, box=box(grid.box), cells=cells)
