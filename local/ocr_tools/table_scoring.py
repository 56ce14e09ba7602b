"""How close a recognised table is to its truth: TEDS, the tree-edit-distance similarity PubTabNet
defined (Zhong et al., "Image-based table recognition: data, model, and evaluation", 2020), and
the share of cells read right.

TEDS compares the two tables as HTML trees (``table`` > ``tr`` > ``td``): inserting or deleting a
node costs 1, renaming costs 1 between different tags or spans and, between two cells, the
normalised Levenshtein distance of their texts; the similarity is one minus the distance over the
larger tree's node count. With ``structure_only`` the texts are left out (TEDS-Struct). The tree
edit distance is APTED's (the ``apted`` package, which PubTabNet's own scorer uses).
"""

from __future__ import annotations

from apted import APTED, Config
from rapidfuzz.distance import Levenshtein

from ocr_api.ocr.tables import Table, TableCell


class _Node:
    def __init__(self, tag: str, spans: tuple[int, int] = (1, 1), text: str = "", children=()) -> None:
        self.tag, self.spans, self.text, self.children = tag, spans, text, list(children)


class _Costs(Config):
    def rename(self, first: _Node, second: _Node) -> float:
        if first.tag != second.tag or first.spans != second.spans:
            return 1.0
        if first.tag == "td" and (first.text or second.text):
            return Levenshtein.normalized_distance(first.text, second.text)
        return 0.0

    def children(self, node: _Node) -> list[_Node]:
        return node.children


def teds(predicted: Table, truth: Table, structure_only: bool = False) -> float:
    """The similarity (0..1) of ``predicted`` to ``truth``."""
    first, second = _tree(predicted, structure_only), _tree(truth, structure_only)
    nodes = max(_count(first), _count(second))
    return 1.0 - APTED(first, second, _Costs()).compute_edit_distance() / nodes


def cell_accuracy(predicted: Table, truth: Table) -> float:
    """The share of the truth's non-empty cells that the prediction has at the same row and column
    with the same text (spaces aside)."""
    found = {(cell.row, cell.column): _plain(cell.text) for cell in predicted.cells}
    wanted = [cell for cell in truth.cells if cell.text.strip()]
    if not wanted:
        return 1.0
    return sum(found.get((cell.row, cell.column)) == _plain(cell.text) for cell in wanted) / len(wanted)


def unstructured(texts: list[str]) -> Table:
    """What a reading without tables gives: its lines in reading order, one per row."""
    return Table(max(1, len(texts)), 1, tuple(TableCell(row, 0, text) for row, text in enumerate(texts)))


def table_from_json(document: dict) -> Table:
    cells = tuple(
        TableCell(cell["row"], cell["column"], cell["text"], cell.get("row_span", 1), cell.get("column_span", 1))
        for cell in document["cells"]
    )
    return Table(document["rows"], document["columns"], cells)


def _tree(table: Table, structure_only: bool) -> _Node:
    rows = [
        _Node(
            "tr",
            children=[
                _Node(
                    "td",
                    (cell.row_span, cell.column_span) if cell else (1, 1),
                    "" if structure_only or cell is None else _plain(cell.text),
                )
                for cell in cells
            ],
        )
        for cells in table.written_rows()
    ]
    return _Node("table", children=rows)


def _count(node: _Node) -> int:
    return 1 + sum(_count(child) for child in node.children)


def _plain(text: str) -> str:
    return "".join(text.split())
