"""A recognised table and the forms it is written in: HTML, a GitHub-style Markdown table, and an
Excel workbook (merged cells for spans); and a table's grid filled with the page's lines.

A table is its grid size and its cells; a cell sits at its top-left row and column (from 0) and
may span several of each. Cells a span covers are not cells of their own.
"""

from __future__ import annotations

import html
import io
from dataclasses import dataclass, replace

from ocr_api.ocr.result import BoundingBox, TextLine, join_words

# A line lies in one cell when this share of it does; a line across cells (one reading of two
# cells close together) is shared out word by word.
_WHOLE_LINE_IN_CELL = 0.6
# A line belongs to a table when this share of it lies in the table's region: a title the
# region's edge cuts through is not the table's.
_LINE_IN_TABLE = 0.5


@dataclass(frozen=True)
class TableCell:
    row: int
    column: int
    text: str
    row_span: int = 1
    column_span: int = 1
    confidence: float = 1.0
    box: BoundingBox | None = None
    # The page's lines (their indexes in reading order) whose text is in the cell.
    lines: tuple[int, ...] = ()


@dataclass(frozen=True)
class Table:
    rows: int
    columns: int
    cells: tuple[TableCell, ...]
    box: BoundingBox | None = None
    # The structure model's confidence in the grid (0..1).
    confidence: float = 1.0
    # Whether a rule runs across its whole width or height inside it.
    ruled: bool = False

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

    def written_rows(self) -> list[list[TableCell | None]]:
        """Each row as HTML writes it: a cell where one begins, None for an empty position, and
        nothing where a span covers it."""
        covered = self.spanned_over()
        return [
            [cell for column, cell in enumerate(cells) if (row, column) not in covered]
            for row, cells in enumerate(self.grid())
        ]

    def spanned_over(self) -> set[tuple[int, int]]:
        """The positions a span covers, its own top-left one aside."""
        return {position for cell in self.cells for position in _positions(cell) - {(cell.row, cell.column)}}


def table_html(table: Table) -> str:
    """The table as HTML (``<table>``, a ``<tr>`` per row, ``rowspan``/``colspan`` for spans)."""
    rows = []
    for cells in table.written_rows():
        parts = []
        for cell in cells:
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


def places_of_lines(tables: tuple[Table, ...]) -> dict[int, tuple[int, int]]:
    """Each line in a table, by its index in the page's lines: its table's and its cell's index
    (from 0); a line shared out over cells is placed in the first."""
    places: dict[int, tuple[int, int]] = {}
    for table_index, table in enumerate(tables):
        for cell_index, cell in enumerate(table.cells):
            for line in cell.lines:
                places.setdefault(line, (table_index, cell_index))
    return places


def filled_tables(grids, lines: tuple[TextLine, ...]) -> tuple[Table, ...]:
    """The tables ``grids`` found (``table_structure.TableGrid``, on the same image as ``lines``),
    each cell holding the text of the lines in it: a line in one cell whole, a line across cells
    word by word, a line in no cell in no table. A cell's pieces are read top to bottom, each
    visual line left to right; its confidence is its lines' least (the structure's, if empty)."""
    tables = []
    for grid in grids:
        pieces: dict[int, list[tuple[BoundingBox, str, float, int]]] = {index: [] for index in range(len(grid.cells))}
        for line_index, line in enumerate(lines):
            if _share_inside(line.box, grid.box) < _LINE_IN_TABLE:
                continue
            shares = [_share_inside(line.box, cell.box) for cell in grid.cells]
            if not shares or max(shares) == 0:
                continue
            best = max(range(len(shares)), key=shares.__getitem__)
            if shares[best] >= _WHOLE_LINE_IN_CELL or len(line.words) < 2:
                pieces[best].append((line.box, line.text, line.confidence, line_index))
                continue
            for word in line.words:
                word_shares = [_share_inside(word.box, cell.box) for cell in grid.cells]
                if max(word_shares) > 0:
                    cell_index = max(range(len(word_shares)), key=word_shares.__getitem__)
                    pieces[cell_index].append((word.box, word.text, word.confidence, line_index))
        cells = []
        for index, cell in enumerate(grid.cells):
            found = pieces[index]
            cells.append(
                TableCell(
                    row=cell.row,
                    column=cell.column,
                    text=_cell_text(found),
                    row_span=cell.row_span,
                    column_span=cell.column_span,
                    confidence=min((confidence for _, _, confidence, _ in found), default=grid.confidence),
                    box=cell.box,
                    lines=tuple(sorted({line_index for _, _, _, line_index in found})),
                )
            )
        table = Table(grid.rows, grid.columns, tuple(cells), grid.box, grid.confidence, grid.ruled)
        tables.append(_without_stray_edge_rows(table))
    return tuple(tables)


def _without_stray_edge_rows(table: Table) -> Table:
    """The table less its first and last rows where they hold no text, or text in their first
    cell only, of three or more: a title above an unruled table, or a note under it, that the
    region took in. (Left in, the title moved every cell one row down.)"""
    by_row: dict[int, list[TableCell]] = {}
    for cell in table.cells:
        by_row.setdefault(cell.row, []).append(cell)

    def stray(row: int) -> bool:
        cells = by_row.get(row, [])
        if any(cell.row_span > 1 for cell in cells):
            return False
        written = [cell.column for cell in cells if cell.text]
        return not written or (written == [0] and len(cells) >= 3 and all(cell.column_span == 1 for cell in cells))

    first, last = 0, table.rows - 1
    while first < last and stray(first):
        first += 1
    while last > first and stray(last):
        last -= 1
    if (first, last) == (0, table.rows - 1) or last - first < 1:
        return table
    kept = tuple(
        replace(cell, row=cell.row - first)
        for cell in table.cells
        if first <= cell.row and cell.row + cell.row_span - 1 <= last
    )
    return replace(table, rows=last - first + 1, cells=kept)


def _share_inside(box: BoundingBox, cell: BoundingBox) -> float:
    width = min(box.right, cell.right) - max(box.left, cell.left)
    height = min(box.bottom, cell.bottom) - max(box.top, cell.top)
    if width <= 0 or height <= 0:
        return 0.0
    return width * height / max(1, box.width * box.height)


def _cell_text(pieces: list[tuple[BoundingBox, str, float, int]]) -> str:
    """Pieces of text in a cell, as read: visual lines top to bottom, each left to right."""
    visual_lines: list[list[tuple[BoundingBox, str]]] = []
    for box, text, _, _ in sorted(pieces, key=lambda piece: piece[0].top):
        middle = box.top + box.height / 2
        if visual_lines and middle < max(other.bottom for other, _ in visual_lines[-1]):
            visual_lines[-1].append((box, text))
        else:
            visual_lines.append([(box, text)])
    return "\n".join(
        join_words([text for _, text in sorted(visual_line, key=lambda piece: piece[0].left) if text])
        for visual_line in visual_lines
        if any(text for _, text in visual_line)
    )


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
