"""A table's forms: HTML with spans, a GitHub Markdown table, an Excel workbook with merged cells."""

from __future__ import annotations

import io

import pytest
from openpyxl import load_workbook

from ocr_api.ocr.tables import Table, TableCell, table_html, table_markdown, workbook

# A receipt's table: a header spanning two columns, and an amount that spans two rows.
RECEIPT = Table(
    rows=3,
    columns=3,
    cells=(
        TableCell(0, 0, "Item"),
        TableCell(0, 1, "Price & tax", column_span=2),
        TableCell(1, 0, "Tea | large"),
        TableCell(1, 1, "3.50"),
        TableCell(1, 2, "7.00", row_span=2),
        TableCell(2, 0, "Cake\nslice"),
        TableCell(2, 1, "=SUM(A1:A9)"),
    ),
)


def test_html_keeps_spans_and_escapes_text():
    assert table_html(RECEIPT) == (
        "<table>"
        '<tr><td>Item</td><td colspan="2">Price &amp; tax</td></tr>'
        '<tr><td>Tea | large</td><td>3.50</td><td rowspan="2">7.00</td></tr>'
        "<tr><td>Cake<br>slice</td><td>=SUM(A1:A9)</td></tr>"
        "</table>"
    )


def test_markdown_has_a_header_row_and_keeps_each_cell_in_its_column():
    assert table_markdown(RECEIPT).splitlines() == [
        "| Item | Price & tax |  |",
        "|---|---|---|",
        "| Tea \\| large | 3.50 | 7.00 |",
        "| Cake<br>slice | =SUM(A1:A9) |  |",
    ]


def test_the_workbook_merges_spans_and_keeps_text_as_text():
    sheet = load_workbook(io.BytesIO(workbook([RECEIPT]))).active
    assert sheet.title == "Table 1"
    assert sorted(str(merged) for merged in sheet.merged_cells.ranges) == ["B1:C1", "C2:C3"]
    assert [[cell.value for cell in row] for row in sheet.iter_rows()] == [
        ["Item", "Price & tax", None],
        ["Tea | large", "3.50", "7.00"],
        ["Cake\nslice", "=SUM(A1:A9)", None],
    ]
    # A cell that looks like a formula is stored as a string, never evaluated when opened.
    assert sheet["B3"].data_type == "s"


def test_a_workbook_has_a_sheet_per_table_and_one_without_tables():
    assert load_workbook(io.BytesIO(workbook([RECEIPT, RECEIPT]))).sheetnames == ["Table 1", "Table 2"]
    assert load_workbook(io.BytesIO(workbook([]))).sheetnames == ["No tables"]


@pytest.mark.parametrize(
    "cell",
    [TableCell(0, 2, "out"), TableCell(0, 1, "spans out", column_span=2), TableCell(0, 0, "none", row_span=0)],
    ids=["outside", "span-outside", "empty-span"],
)
def test_a_cell_outside_the_grid_is_refused(cell):
    with pytest.raises(ValueError, match="outside"):
        Table(rows=1, columns=2, cells=(cell,))


def test_overlapping_cells_are_refused():
    with pytest.raises(ValueError, match="overlaps"):
        Table(rows=2, columns=2, cells=(TableCell(0, 0, "a", row_span=2), TableCell(1, 0, "b")))
