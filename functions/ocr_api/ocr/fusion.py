"""Two readings of one page made one: Tesseract's lines and PP-OCR's, aligned by their boxes, and
in each region the reading more likely right.

Lines of the two readings that cover the same place join one region. Where both engines read a
region, a small logistic model says which reading to keep, from what each engine says of its own
lines (their confidence, on two different scales, which the model calibrates), how much each read
and what kind of text it is. A line only one engine found is kept where the model for that engine
judges it text rather than noise (Tesseract reads speckle and photo texture as symbols; PP-OCR
finds lines Tesseract passes over). The order is Tesseract's where it found columns of prose (it
follows them; PP-OCR reads across), PP-OCR's rows everywhere else (a receipt's item and price);
the paragraphs are Tesseract's wherever it read the region. A line only one engine found goes
after the line above it on the upright page.

The weights come from ``local/ocr_tools/fit_fusion.py``, which fits them on the evaluation set and
reports the scores on folds the model did not see (docs/engines.md).
"""

from __future__ import annotations

import bisect
import math
from dataclasses import dataclass, replace

from ocr_api.ocr.recognizer import DOUBTFUL_CONFIDENCE
from ocr_api.ocr.result import BoundingBox, RecognitionResult, TextLine, is_cjk_ideograph

TESSERACT, PPOCR = "tesseract", "ppocr"
# Lines whose boxes overlap by this share of the smaller box cover the same place.
SAME_PLACE = 0.5


@dataclass(frozen=True)
class FusionModel:
    """Logistic weights: of a region both engines read, that PP-OCR's reading is the better (over
    ``region_features``); of a line only one engine found, that it is text (``line_features``)."""

    prefer_deep: tuple[float, ...]
    keep_tesseract_alone: tuple[float, ...]
    keep_deep_alone: tuple[float, ...]


# Fitted by fit_fusion.py on the 46 images of the evaluation set, read as the service reads them
# (Tesseract, beside PP-OCR, in English only), docs/engines.md: the scores of folds fitted without
# each image. What they say, on that set: PP-OCR's reading wins every region, a line PP-OCR alone
# found is kept and one Tesseract alone found is not (its text is nearer the truth in 11 of
# the 421 regions where they differ; 5 of its 8 lone lines are noise). Tesseract still gives the
# order of columns.
MODEL = FusionModel(
    prefer_deep=(4.281, -1.513, 0.006, -0.158, 1.602, 0.208),
    keep_tesseract_alone=(-0.629, -0.079, -0.754, 0.066, 0.0),
    keep_deep_alone=(1.802, 0.407, 0.149, -0.072, -0.445),
)


@dataclass(frozen=True)
class Reading:
    """What one engine says of a group of lines."""

    characters: int
    # Their confidence, averaged over characters.
    confidence: float
    # The share of characters that are neither letters nor digits nor CJK (noise reads as these).
    symbols: float
    # The share of characters that are CJK.
    cjk: float


def reading_of(lines: list[TextLine]) -> Reading:
    # Characters as the error rate counts them: white space removed.
    texts = ["".join(line.text.split()) for line in lines]
    text = "".join(texts)
    characters = len(text)
    if not characters:
        return Reading(0, 0.0, 0.0, 0.0)
    confidence = sum(len(piece) * line.confidence for piece, line in zip(texts, lines)) / characters
    symbols = sum(1 for char in text if not (char.isalnum() or is_cjk_ideograph(char))) / characters
    cjk = sum(1 for char in text if is_cjk_ideograph(char)) / characters
    return Reading(characters, confidence, symbols, cjk)


def region_features(tesseract: Reading, deep: Reading) -> tuple[float, ...]:
    """What the region model weighs: a bias, each engine's confidence, the log of how much more
    Tesseract read, the share of CJK in PP-OCR's reading, the share of symbols in Tesseract's."""
    return (
        1.0,
        tesseract.confidence,
        deep.confidence,
        math.log((tesseract.characters + 1) / (deep.characters + 1)),
        deep.cjk,
        tesseract.symbols,
    )


def line_features(reading: Reading) -> tuple[float, ...]:
    """What a lone-line model weighs: a bias, confidence, log length, share of symbols, of CJK."""
    return (1.0, reading.confidence, math.log(reading.characters + 1), reading.symbols, reading.cjk)


def likelihood(weights: tuple[float, ...], features: tuple[float, ...]) -> float:
    score = sum(weight * feature for weight, feature in zip(weights, features))
    return 1.0 / (1.0 + math.exp(-max(-60.0, min(60.0, score))))


@dataclass(frozen=True)
class Region:
    """Lines of the two readings that cover the same place, by their index in each reading."""

    tesseract: tuple[int, ...]
    deep: tuple[int, ...]


def regions(tesseract: list[TextLine], deep: list[TextLine]) -> list[Region]:
    """The regions of a page, each line in exactly one: connected by overlapping boxes. Only
    lines at the same height are compared (a page of thousands of lines stays cheap)."""
    parent = list(range(len(tesseract) + len(deep)))
    by_top = sorted(range(len(deep)), key=lambda j: deep[j].box.top)
    tops = [deep[j].box.top for j in by_top]
    tallest = max((line.box.height for line in deep), default=0)

    def root(node: int) -> int:
        while parent[node] != node:
            parent[node] = parent[parent[node]]
            node = parent[node]
        return node

    for i, first in enumerate(tesseract):
        start = bisect.bisect_left(tops, first.box.top - tallest)
        for j in by_top[start : bisect.bisect_right(tops, first.box.bottom)]:
            if _same_place(first.box, deep[j].box):
                parent[root(i)] = root(len(tesseract) + j)
    members: dict[int, tuple[list[int], list[int]]] = {}
    for node in range(len(parent)):
        side = members.setdefault(root(node), ([], []))
        if node < len(tesseract):
            side[0].append(node)
        else:
            side[1].append(node - len(tesseract))
    return [Region(tuple(t), tuple(d)) for t, d in members.values()]


def fused(
    tesseract: RecognitionResult, deep_lines: list[TextLine], deep_angle: float, model: FusionModel = MODEL
) -> RecognitionResult:
    """One reading of the page from Tesseract's (``tesseract``) and PP-OCR's lines."""
    first, second = list(tesseract.lines), list(deep_lines)
    kept: set[tuple[int, int]] = set()  # (engine: 0 Tesseract, 1 PP-OCR; line)
    region_of: dict[tuple[int, int], Region] = {}
    for region in regions(first, second):
        region_of.update({(0, i): region for i in region.tesseract})
        region_of.update({(1, j): region for j in region.deep})
        if region.tesseract and region.deep:
            features = region_features(
                reading_of([first[i] for i in region.tesseract]), reading_of([second[j] for j in region.deep])
            )
            if likelihood(model.prefer_deep, features) >= 0.5:
                kept.update((1, j) for j in region.deep)
            else:
                kept.update((0, i) for i in region.tesseract)
        elif region.tesseract:
            [i] = region.tesseract
            if likelihood(model.keep_tesseract_alone, line_features(reading_of([first[i]]))) >= 0.5:
                kept.add((0, i))
        else:
            [j] = region.deep
            if likelihood(model.keep_deep_alone, line_features(reading_of([second[j]]))) >= 0.5:
                kept.add((1, j))
    size = (tesseract.image_width, tesseract.image_height)
    # Tesseract follows columns of text; PP-OCR reads rows, which is right everywhere else (a
    # receipt's item and price, a chat's bubbles left and right). Where the two engines disagree
    # on the page's turn, Tesseract's blocks count only if it is sure of what it read in them.
    by_columns = in_columns(first, tesseract.angle, size) and (
        _same_turn(tesseract.angle, deep_angle) or reading_of(first).confidence >= DOUBTFUL_CONFIDENCE
    )
    readings = (first, second)

    def in_paragraph(engine: int, index: int) -> TextLine:
        """The kept line in Tesseract's paragraph where Tesseract read its region (its
        paragraphs are right where its order is not), else in one of its own."""
        region = region_of[(engine, index)]
        if engine == 0:
            return first[index]
        if region.tesseract:
            place = first[region.tesseract[0]]
            return replace(readings[engine][index], block=place.block, paragraph=place.paragraph)
        return replace(readings[engine][index], block=-1 - index, paragraph=1, line=1)

    backbone = 0 if by_columns else 1
    lines: list[TextLine] = []
    emitted: set[int] = set()
    for index in range(len(readings[backbone])):
        region = region_of[(backbone, index)]
        if id(region) not in emitted:
            emitted.add(id(region))
            lines += [
                in_paragraph(engine, member)
                for engine, members in ((0, region.tesseract), (1, region.deep))
                for member in members
                if (engine, member) in kept
            ]
    other = 1 - backbone
    lone = [
        in_paragraph(other, k)
        for k in range(len(readings[other]))
        if (other, k) in kept and id(region_of[(other, k)]) not in emitted
    ]
    angle = tesseract.angle if by_columns else deep_angle
    lines = _placed_among(lines, lone, angle, size)
    deep_characters = sum(len(line.text) for line in lines if line.engine == PPOCR)
    mostly_deep = deep_characters * 2 > sum(len(line.text) for line in lines)
    return replace(
        tesseract,
        lines=tuple(lines),
        angle=deep_angle if mostly_deep else tesseract.angle,
        engine=PPOCR if mostly_deep else TESSERACT,
    )


# Side-by-side blocks of Tesseract's, each at least this many lines of at least this many
# characters on average, make a page of columns (prose), not of rows (receipts, forms, chats).
_COLUMN_LINES = 3
_COLUMN_LINE_CHARACTERS = 15


def _quarter_turns(angle: float) -> int:
    """The nearest quarter turn to ``angle`` (clockwise degrees): 0 to 3."""
    return round(angle / 90) % 4


def _same_turn(first: float, second: float) -> bool:
    """Whether two angles (clockwise degrees) stand the page the same quarter turn."""
    return _quarter_turns(first) == _quarter_turns(second)


def in_columns(lines: list[TextLine], angle: float, size: tuple[int, int]) -> bool:
    """Whether Tesseract found columns of text side by side on the upright page."""
    blocks: dict[int, list[TextLine]] = {}
    for line in lines:
        blocks.setdefault(line.block, []).append(line)
    columns = [
        BoundingBox.enclosing([upright_box(line.box, angle, size) for line in members])
        for members in blocks.values()
        if len(members) >= _COLUMN_LINES
        and sum(len(line.text) for line in members) / len(members) >= _COLUMN_LINE_CHARACTERS
    ]
    for k, first in enumerate(columns):
        for second in columns[k + 1 :]:
            apart = min(first.right, second.right) <= max(first.left, second.left)
            level = min(first.bottom, second.bottom) - max(first.top, second.top)
            if apart and level >= 0.5 * min(first.height, second.height):
                return True
    return False


def upright_box(box: BoundingBox, angle: float, size: tuple[int, int]) -> BoundingBox:
    """``box`` on the upload, seen on the page turned upright by the nearest quarter turn to
    ``angle`` (clockwise degrees the text stood at)."""
    width, height = size
    turn = _quarter_turns(angle)
    if turn == 1:  # the text's top points right
        return BoundingBox(box.top, width - box.right, box.height, box.width)
    if turn == 2:
        return BoundingBox(width - box.right, height - box.bottom, box.width, box.height)
    if turn == 3:  # the text's top points left
        return BoundingBox(height - box.bottom, box.left, box.height, box.width)
    return box


def _placed_among(lines: list[TextLine], lone: list[TextLine], angle: float, size: tuple[int, int]) -> list[TextLine]:
    """``lines`` (in reading order) with each of ``lone`` after the last line above it in its
    column (else above it anywhere) on the upright page."""
    placed = list(lines)
    boxes = [upright_box(line.box, angle, size) for line in placed]
    for box, line in sorted(
        ((upright_box(line.box, angle, size), line) for line in lone), key=lambda pair: (pair[0].top, pair[0].left)
    ):
        above = [k for k, other in enumerate(boxes) if other.top <= box.top]
        in_column = [k for k in above if _columns_overlap(boxes[k], box)]
        at = (in_column or above or [-1])[-1] + 1
        placed.insert(at, line)
        boxes.insert(at, box)
    return placed


def _same_place(first: BoundingBox, second: BoundingBox) -> bool:
    """Boxes that overlap by half the smaller one's width and half its height: Tesseract's
    boxes hug the ink, PP-OCR's leave a margin, and one engine's line may be two of the other's."""
    width = min(first.right, second.right) - max(first.left, second.left)
    height = min(first.bottom, second.bottom) - max(first.top, second.top)
    return (
        width >= SAME_PLACE * min(first.width, second.width)
        and width > 0
        and height >= SAME_PLACE * min(first.height, second.height)
        and height > 0
    )


def _columns_overlap(first: BoundingBox, second: BoundingBox) -> bool:
    return min(first.right, second.right) > max(first.left, second.left)


def with_deep_reading(
    result: RecognitionResult, alone: bool, deep_lines: list[TextLine], deep_angle: float
) -> RecognitionResult:
    """``result`` (Tesseract's reading, or an empty one where PP-OCR reads ``alone``) with PP-OCR's
    lines, on the upload's pixels."""
    if alone:
        return replace(result, lines=tuple(deep_lines), angle=deep_angle, engine=PPOCR)
    return fused(result, deep_lines, deep_angle)
