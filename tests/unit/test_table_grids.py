"""From a structure model's tokens to cells, and from a grid and a page's lines to a filled table:
where each line's text goes, what is left out, and the Markdown with the table in its place."""

from __future__ import annotations

from ocr_api.ocr.markdown import to_markdown
from ocr_api.ocr.result import BoundingBox, RecognitionResult, TextLine, Word
from ocr_api.ocr.table_structure import GridCell, TableGrid, cell_positions
from ocr_api.ocr.tables import filled_tables
from ocr_tools.table_scoring import cell_accuracy, teds, unstructured


def test_tokens_become_cells_with_spans_and_the_columns_a_span_from_above_takes():
    tokens = ["<tr>", "<td", ' rowspan="2"', ">", "</td>", "<td", ' colspan="2"', ">", "</td>", "</tr>"]
    tokens += ["<tr>", "<td></td>", "<td></td>", "</tr>", "<tr>", "<td></td>", "<td></td>", "<td></td>", "</tr>"]
    assert cell_positions(tokens) == [
        (0, 0, 2, 1),
        (0, 1, 1, 2),
        (1, 1, 1, 1),  # column 0 is the first cell's, down two rows
        (1, 2, 1, 1),
        (2, 0, 1, 1),
        (2, 1, 1, 1),
        (2, 2, 1, 1),
    ]


def test_a_span_never_reaches_over_a_cell_already_placed():
    tokens = ["<tr>", "<td", ' rowspan="2"', ">", "</td>", "<td></td>", "</tr>"]
    tokens += ["<tr>", "<td", ' colspan="3"', ">", "</td>", "</tr>"]
    # The second row's wide cell starts at column 1 and keeps its span of 3 (nothing is there).
    assert cell_positions(tokens)[-1] == (1, 1, 1, 3)
    tokens = ["<tr>", "<td></td>", "<td", ' rowspan="2"', ">", "</td>", "</tr>"]
    tokens += ["<tr>", "<td", ' colspan="3"', ">", "</td>", "</tr>"]
    # Here column 1 of the second row is taken from above: the span stops before it.
    assert cell_positions(tokens)[-1] == (1, 0, 1, 1)


def line(text: str, left: int, top: int, width: int, height: int = 20, words: tuple[str, ...] = ()) -> TextLine:
    box = BoundingBox(left, top, width, height)
    placed = []
    x = left
    for word in words:
        word_box = BoundingBox(x, top, len(word) * 10, height)
        placed.append(Word(word, word_box, 0.9, word_box.corners))
        x += len(word) * 10 + 10
    return TextLine(text, box, 0.9, 1, 1, 1, tuple(placed), box.corners, "ppocr")


# A two-by-two table at (100, 100), cells 100 wide and 40 high.
GRID = TableGrid(
    box=BoundingBox(100, 100, 200, 80),
    rows=2,
    columns=2,
    cells=(
        GridCell(0, 0, 1, 1, BoundingBox(100, 100, 100, 40)),
        GridCell(0, 1, 1, 1, BoundingBox(200, 100, 100, 40)),
        GridCell(1, 0, 1, 1, BoundingBox(100, 140, 100, 40)),
        GridCell(1, 1, 1, 1, BoundingBox(200, 140, 100, 40)),
    ),
    confidence=0.95,
    ruled=True,
)


# A page around it: a title above, the table's four lines, a note under.
PAGE_LINES = (
    line("Title", 100, 40, 60),
    line("Item", 110, 110, 40),
    line("Price", 210, 110, 50),
    line("Tea", 110, 150, 30),
    line("3.50", 210, 150, 40),
    line("Note", 100, 200, 40),
)


def test_lines_fill_their_cells_and_lines_outside_stay_out():
    [table] = filled_tables([GRID], PAGE_LINES)
    assert [(cell.row, cell.column, cell.text, cell.lines) for cell in table.cells] == [
        (0, 0, "Item", (1,)),
        (0, 1, "Price", (2,)),
        (1, 0, "Tea", (3,)),
        (1, 1, "3.50", (4,)),
    ]
    assert table.ruled and table.confidence == 0.95 and table.box == GRID.box


def test_a_line_read_across_two_cells_is_shared_out_word_by_word():
    # One reading of "Tea 3.50": its first word in the first cell, its second in the next.
    across = line("Tea 3.50", 110, 150, 180, words=("Tea", "3.50"))
    across = TextLine(
        across.text,
        across.box,
        across.confidence,
        1,
        1,
        1,
        (across.words[0], Word("3.50", BoundingBox(250, 150, 40, 20), 0.8, BoundingBox(250, 150, 40, 20).corners)),
        across.quad,
        "ppocr",
    )
    [table] = filled_tables([GRID], (line("Item", 110, 110, 40), across))
    texts = {(cell.row, cell.column): cell.text for cell in table.cells}
    assert texts == {(0, 0): "Item", (0, 1): "", (1, 0): "Tea", (1, 1): "3.50"}
    assert table.cells[3].confidence == 0.8 and table.cells[1].confidence == 0.95  # empty: the grid's


def test_a_cell_of_two_lines_reads_top_to_bottom():
    lines = (line("second", 110, 115, 50), line("first", 110, 101, 50, height=12))
    [table] = filled_tables([GRID], lines)
    assert table.cells[0].text == "first\nsecond" and table.cells[0].lines == (0, 1)


def test_a_title_row_the_region_took_in_is_dropped():
    grid = TableGrid(
        box=BoundingBox(0, 0, 300, 120),
        rows=3,
        columns=3,
        cells=tuple(
            GridCell(row, column, 1, 1, BoundingBox(column * 100, row * 40, 100, 40))
            for row in range(3)
            for column in range(3)
        ),
        confidence=0.9,
    )
    lines = (line("Sales by item", 5, 10, 130),) + tuple(
        line(f"r{row}c{column}", column * 100 + 10, row * 40 + 10, 40) for row in (1, 2) for column in range(3)
    )
    [table] = filled_tables([grid], lines)
    assert table.rows == 2 and table.cells[0].text == "r1c0" and table.cells[0].row == 0


def test_markdown_puts_the_table_where_its_first_line_stood():
    lines = tuple(
        TextLine(one.text, one.box, one.confidence, 1, paragraph, 1, one.words, one.quad, one.engine)
        for paragraph, one in enumerate(PAGE_LINES, 1)
    )
    result = RecognitionResult(lines, 400, 300, "eng", tables=filled_tables([GRID], lines))
    assert to_markdown(result) == "Title\n\n| Item | Price |\n|---|---|\n| Tea | 3.50 |\n\nNote\n"


def test_teds_scores_structure_and_text_and_the_unstructured_baseline_low():
    lines = (
        line("Item", 110, 110, 40),
        line("Price", 210, 110, 50),
        line("Tea", 110, 150, 30),
        line("3.5", 210, 150, 30),
    )
    [table] = filled_tables([GRID], lines)
    perfect = filled_tables([GRID], lines[:3] + (line("3.50", 210, 150, 40),))[0]
    assert teds(perfect, perfect) == 1.0 and cell_accuracy(perfect, perfect) == 1.0
    # One character wrong in one cell of four: a small loss in TEDS, a whole cell in accuracy.
    assert 0.95 < teds(table, perfect) < 1.0 and teds(table, perfect, structure_only=True) == 1.0
    assert cell_accuracy(table, perfect) == 0.75
    assert teds(unstructured(["Item", "Price", "Tea", "3.50"]), perfect) < 0.7
