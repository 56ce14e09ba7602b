"""A recognised table and the forms it is written in: HTML, a GitHub-style Markdown table, and an
Excel workbook (merged cells for spans).

A table is its grid size and its cells; a cell sits at its top-left row and column (from 0) and
may span several of each. Cells a span covers are not cells of their own.
"""

from __future__ import annotations

import html
import io
from dataclasses import dataclass

from ocr_api.ocr.result import BoundingBox


@dataclass(frozen=True)
class TableCell:
    row: int
    column: int
    text: str
    row_span: int = 1
    column_span: int = 1
    confidence: float = 1.0
    box: BoundingBox | None = None


@dataclass(frozen=True)
class Table:
    rows: int
    columns: int
    cells: tuple[TableCell, ...]
    box: BoundingBox | None = None

    def __post_init__(self) -> None:
        covered: set[tuple[int, int]] = set()
        for cell in self.cells:
            spanned = _positions(cell)
            if (
                cell.row_span < 1
                or cell.column_span < 1
                or not all(0 <= row < self.rows and 0 <= column < self.columns for row, column in spanned)
            ):
                raise ValueError(f"cell at row {cell.row}, column {cell.column} lies outside the table")
            if spanned & covered:
                raise ValueError(f"cell at row {cell.row}, column {cell.column} overlaps another")
            covered |= spanned

    def grid(self) -> list[list[TableCell | None]]:
        """Each position's cell, where a cell begins; None where a span covers it or none is."""
        grid: list[list[TableCell | None]] = [[None] * self.columns for _ in range(self.rows)]
        for cell in self.cells:
            grid[cell.row][cell.column] = cell
        return grid

    def spanned_over(self) -> set[tuple[int, int]]:
        """The positions a span covers, its own top-left one aside."""
        return {position for cell in self.cells for position in _positions(cell) - {(cell.row, cell.column)}}


def table_html(table: Table) -> str:
    """The table as HTML (``<table>``, a ``<tr>`` per row, ``rowspan``/``colspan`` for spans)."""
    covered = table.spanned_over()
    rows = []
    for row, cells in enumerate(table.grid()):
        parts = []
        for column, cell in enumerate(cells):
            if (row, column) in covered:
                continue
            spans = ""
            if cell is not None and cell.row_span > 1:
                spans += f' rowspan="{cell.row_span}"'
            if cell is not None and cell.column_span > 1:
                spans += f' colspan="{cell.column_span}"'
            text = html.escape(cell.text).replace("\n", "<br>") if cell is not None else ""
            parts.append(f"<td{spans}>{text}</td>")
        rows.append("<tr>" + "".join(parts) + "</tr>")
    return "<table>" + "".join(rows) + "</table>"


def table_markdown(table: Table) -> str:
    """The table as a GitHub-style Markdown table: its first row as the header. Markdown has no
    spans: a spanning cell's text stands in its top-left position, the positions it covers are
    left empty."""
    lines = []
    for index, cells in enumerate(table.grid()):
        texts = [_markdown_cell(cell.text) if cell is not None else "" for cell in cells]
        lines.append("| " + " | ".join(texts) + " |")
        if index == 0:
            lines.append("|" + "|".join("---" for _ in cells) + "|")
    return "\n".join(lines)


def workbook(tables: list[Table]) -> bytes:
    """The tables as an Excel workbook (.xlsx), a sheet each, spans as merged cells."""
    from openpyxl import Workbook  # only a request for a workbook pays for loading it

    book = Workbook()
    book.remove(book.active)
    for number, table in enumerate(tables, 1):
        sheet = book.create_sheet(f"Table {number}")
        for cell in table.cells:
            written = sheet.cell(row=cell.row + 1, column=cell.column + 1, value=cell.text)
            # Text stays text: openpyxl would store "=..." as a formula, run when the file opens.
            written.data_type = "s"
            if cell.row_span > 1 or cell.column_span > 1:
                sheet.merge_cells(
                    start_row=cell.row + 1,
                    start_column=cell.column + 1,
                    end_row=cell.row + cell.row_span,
                    end_column=cell.column + cell.column_span,
                )
    if not tables:
        book.create_sheet("No tables")
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def _positions(cell: TableCell) -> set[tuple[int, int]]:
    """Every (row, column) the cell takes, its span included."""
    return {
        (row, column)
        for row in range(cell.row, cell.row + cell.row_span)
        for column in range(cell.column, cell.column + cell.column_span)
    }


def _markdown_cell(text: str) -> str:
    # A pipe would end the cell and a line break the row.
    return text.replace("\\", "\\\\").replace("|", "\\|").replace("\n", "<br>")
