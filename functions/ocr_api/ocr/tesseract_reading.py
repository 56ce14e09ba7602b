"""Tesseract's own way of reading a page: the engine's lines, and what Tesseract needs around
them. Tall pages may be read in overlapping strips (slicing, to read small print on big pages),
and Chinese lines Tesseract misread as Latin are read again with the Chinese model alone. The
engine-neutral core (``recognizer``) asks for a reading; only Tesseract's goes through here.
"""

from __future__ import annotations

import re
from dataclasses import replace

from PIL import Image, ImageStat

from ocr_api.ocr.engine import OcrEngine, PageLayout
from ocr_api.ocr.images import PreparedImage
from ocr_api.ocr.result import TextLine

# With chi_sim+eng, Tesseract reads some whole lines of Chinese with the English model and
# returns Latin garbage at low confidence. Such lines, on a page with Chinese on it, are read
# again with the Chinese model alone, all in one extra run.
LATIN_MISREAD_CONFIDENCE = 0.6
_HAN = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")
_LATIN_WORD = re.compile(r"^[A-Za-z][A-Za-z:;.,']*$")
_STACK_GAP = 20
# Slicing: pages taller than this are read in overlapping full-width strips. The overlap is
# wider than any text line, so every line lies whole inside at least one strip.
SLICE_HEIGHT = 2400
SLICE_OVERLAP = 300


class TesseractReading:
    def __init__(self, engine: OcrEngine) -> None:
        self.engine = engine

    def read(
        self, page: PreparedImage, languages: str, deadline: float, layout: PageLayout, in_strips: bool = False
    ) -> list[TextLine]:
        """The page's lines; ``in_strips`` reads a page taller than a strip strip by strip."""
        if in_strips and page.height > SLICE_HEIGHT:
            lines = self._read_in_strips(page, languages, layout, deadline)
        else:
            lines = self.engine.read_lines(page, languages, deadline, layout)
        return self._reread_latin_misreads(page, lines, languages, deadline)

    def _reread_latin_misreads(
        self, page: PreparedImage, lines: list[TextLine], languages: str, deadline: float
    ) -> list[TextLine]:
        chinese = [name for name in languages.split("+") if name.startswith("chi_") and "vert" not in name]
        if not chinese or len(chinese) == len(languages.split("+")):
            return lines
        if not any(_HAN.search(line.text) for line in lines):
            return lines
        suspects = [index for index, line in enumerate(lines) if _maybe_latin_misread(line)]
        if not suspects:
            return lines
        # Every suspect line, cut out and stacked in one image: one Tesseract run for all.
        crops, offsets, top = [], [], 0
        for index in suspects:
            box = lines[index].box
            # A little margin, kept inside the page: pixels outside it would crop as black.
            left, upper = max(box.left - 4, 0), max(box.top - 4, 0)
            right, lower = min(box.right + 4, page.width), min(box.bottom + 4, page.height)
            crop = page.image.crop((left, upper, right, lower))
            crops.append(crop)
            offsets.append((top, left, upper))
            top += crop.height + _STACK_GAP
        stack = Image.new(page.image.mode, (max(c.width for c in crops), top), "white")
        for crop, (y, _, _) in zip(crops, offsets):
            # Each cut-out on its own background colour: a white band beside a grey photo's line
            # moves Tesseract's threshold enough to lose the whole line.
            stack.paste(_background(crop), (0, y, stack.width, y + crop.height + _STACK_GAP))
            stack.paste(crop, (0, y))
        reread = self.engine.read_lines(page.replaced(stack), "+".join(chinese), deadline, PageLayout.BLOCK)
        improved = list(lines)
        for index, crop, (y, left, top_in_page) in zip(suspects, crops, offsets):
            found = [line for line in reread if y <= line.box.top + line.box.height / 2 < y + crop.height]
            if len(found) != 1:
                continue
            candidate = found[0]
            if _HAN.search(candidate.text) and candidate.confidence > lines[index].confidence:
                improved[index] = _moved(candidate, lines[index], left, top_in_page - y)
        return improved

    def _read_in_strips(
        self, page: PreparedImage, languages: str, layout: PageLayout, deadline: float
    ) -> list[TextLine]:
        step = SLICE_HEIGHT - SLICE_OVERLAP
        tops = list(range(0, page.height - SLICE_OVERLAP, step))
        merged: list[TextLine] = []
        for index, top in enumerate(tops):
            bottom = min(top + SLICE_HEIGHT, page.height)
            strip = page.replaced(page.image.crop((0, top, page.width, bottom)))
            # Each line belongs to the one strip whose core (the strip less half of each
            # overlap it shares) holds its centre: no line is lost, none is read twice.
            core_top = top + (SLICE_OVERLAP // 2 if index > 0 else 0)
            core_bottom = bottom - (SLICE_OVERLAP // 2 if index < len(tops) - 1 else 0)
            for line in self.engine.read_lines(strip, languages, deadline, layout):
                line = _shifted(line, top, block_offset=1000 * index)
                centre = line.box.top + line.box.height / 2
                if core_top <= centre < core_bottom:
                    merged.append(line)
        return merged


def _background(image: Image.Image) -> int | tuple[int, ...]:
    """The image's median colour: on a line of text, its background."""
    median = tuple(int(value) for value in ImageStat.Stat(image).median)
    return median[0] if len(median) == 1 else median


def _maybe_latin_misread(line: TextLine) -> bool:
    """A doubtful line without Chinese, or a Chinese line with doubtful Latin words in it (the
    Tesseract the service runs misreads single phrases of a Chinese line so, where whole lines
    went before)."""
    if not _HAN.search(line.text):
        return line.confidence < LATIN_MISREAD_CONFIDENCE
    return any(_LATIN_WORD.match(word.text) and word.confidence < LATIN_MISREAD_CONFIDENCE for word in line.words)


def _moved(reread: TextLine, original: TextLine, dx: int, dy: int) -> TextLine:
    """A line read again from a cut-out, with its words put back where the cut-out came from."""
    words = tuple(replace(w, box=(box := w.box.shifted(dx, dy)), quad=box.corners) for w in reread.words)
    return replace(original, text=reread.text, confidence=reread.confidence, words=words)


def _shifted(line: TextLine, dy: int, block_offset: int) -> TextLine:
    words = tuple(replace(w, box=w.box.shifted(0, dy), quad=w.box.shifted(0, dy).corners) for w in line.words)
    box = line.box.shifted(0, dy)
    return replace(line, box=box, quad=box.corners, words=words, block=line.block + block_offset)
