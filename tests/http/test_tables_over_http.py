"""Tables through the local server over HTTP: universal's return_tables (cells, HTML, Markdown in
place, blocks marked with their cell) and Tencent's RecognizeTableAccurateOCR through Tencent's
own Python SDK, its workbook opened with openpyxl. The pages are tests/data/tables (made by
ocr_tools.table_pages, each beside its true grid)."""

from __future__ import annotations

import base64
import io
import json
import re
import shlex
import subprocess

import pytest
import requests
from openpyxl import load_workbook

from helpers import data_image
from ocr_api.ocr.tables import Table, TableCell
from ocr_tools.table_scoring import cell_accuracy, table_from_json, teds
from tencent_sdk import client, recognize_table_accurate_ocr

pytestmark = [pytest.mark.http, pytest.mark.ppocr]

RULED = "tables/table_01.png"  # English, ruled, a header across two columns and a cell down two rows
UNRULED_CHINESE = "tables/table_06.png"  # Chinese, no rules at all


@pytest.fixture(scope="module")
def server(local_server):
    return local_server


def truth(relative: str) -> Table:
    path = relative.rsplit(".", 1)[0] + ".json"
    return table_from_json(json.loads(data_image(path)))


def universal(server, relative: str, **fields) -> requests.Response:
    return requests.post(
        f"http://127.0.0.1:{server.port}/v1/ocr/universal",
        headers={"x-api-key": server.appkey},
        files={"file": (relative.rsplit("/", 1)[-1], data_image(relative))},
        data=fields,
        timeout=60,
    )


def as_table(written: dict) -> Table:
    cells = tuple(
        TableCell(cell["row"], cell["column"], cell["text"], cell["row_span"], cell["column_span"])
        for cell in written["cells"]
    )
    return Table(written["rows"], written["columns"], cells)


def test_return_tables_answers_the_grid_its_cells_and_html(server):
    answer = universal(server, RULED, return_tables="true")
    assert answer.status_code == 200, answer.text
    [result] = answer.json()["results"]
    [table] = result["tables"]
    found, expected = as_table(table), truth(RULED)
    assert (found.rows, found.columns) == (expected.rows, expected.columns)
    assert teds(found, expected) >= 0.9 and cell_accuracy(found, expected) >= 0.9
    assert table["html"].startswith("<table><tr>") and 'colspan="2"' in table["html"]
    first = table["cells"][0]
    assert first["points"] == [
        [first["x"], first["y"]],
        [first["x"] + first["width"], first["y"]],
        [first["x"] + first["width"], first["y"] + first["height"]],
        [first["x"], first["y"] + first["height"]],
    ]
    # Lines stay in blocks, each in a table marked with it: the cell's text is its line's.
    marked = [block for block in result["blocks"] if "table" in block]
    assert marked and all(block["table"] == 0 for block in marked)
    assert all(block["text"] in table["cells"][block["cell"]]["text"] for block in marked)
    title = next(block for block in result["blocks"] if block["text"] == "Sales by item")
    assert "table" not in title


def test_markdown_has_the_table_in_place(server):
    [result] = universal(server, UNRULED_CHINESE, return_tables="true", return_markdown="true").json()["results"]
    markdown = result["markdown"]
    assert markdown.startswith("销售明细表\n\n| ")
    assert markdown.rstrip().endswith("单位：元")
    table_lines = [line for line in markdown.splitlines() if line.startswith("|")]
    assert len(table_lines) == truth(UNRULED_CHINESE).rows + 1  # and the header's rule
    assert table_lines[1].startswith("|---|")


def test_without_return_tables_nothing_changes(server):
    [result] = universal(server, RULED).json()["results"]
    assert "tables" not in result and all("table" not in block for block in result["blocks"])


def calls_today(server) -> int:
    status, report = server.request("GET", "/v1/usage", headers={"x-api-key": server.appkey})
    assert status == 200
    return report["today"]["calls"]


def test_tables_under_tesseract_are_refused_before_charging(server):
    before = calls_today(server)
    answer = universal(server, RULED, return_tables="true", engine="tesseract")
    assert answer.status_code == 400 and answer.json()["error"] == "invalid_request"
    assert "auto or ppocr" in answer.json()["message"]
    assert calls_today(server) == before


def test_tencents_sdk_recognises_tables_and_gets_the_workbook(server):
    sdk = client(f"127.0.0.1:{server.port}", server.secret_id, server.secret_key)
    answer = recognize_table_accurate_ocr(sdk, ImageBase64=base64.b64encode(data_image(RULED)).decode())
    tables = [detection for detection in answer["TableDetections"] if detection["Type"] in (1, 2)]
    [table] = tables
    assert table["Type"] == 1  # ruled
    expected = truth(RULED)
    cells = tuple(
        TableCell(
            cell["RowTl"], cell["ColTl"], cell["Text"], cell["RowBr"] - cell["RowTl"], cell["ColBr"] - cell["ColTl"]
        )
        for cell in table["Cells"]
    )
    found = Table(expected.rows, expected.columns, cells)
    assert cell_accuracy(found, expected) >= 0.9
    assert all(len(cell["Polygon"]) == 4 and 0 <= cell["Confidence"] <= 100 for cell in table["Cells"])
    [text] = [detection for detection in answer["TableDetections"] if detection["Type"] == 0]
    assert [cell["Text"] for cell in text["Cells"]] == ["Sales by item", "All amounts in EUR."]
    sheet = load_workbook(io.BytesIO(base64.b64decode(answer["Data"]))).worksheets[0]
    for cell in expected.cells:
        if cell.text:
            assert sheet.cell(cell.row + 1, cell.column + 1).value == cell.text
    assert len(sheet.merged_cells.ranges) == sum(
        1 for cell in expected.cells if cell.row_span > 1 or cell.column_span > 1
    )
    assert answer["RequestId"] and answer["Angle"] == 0


def test_the_printed_table_examples_work_as_printed(server):
    banner = server.banner.split("Tables:", 1)[1]
    curl = next(line.strip() for line in banner.splitlines() if "return_tables=true" in line)
    done = subprocess.run(shlex.split(curl), capture_output=True, text=True, timeout=60)
    [result] = json.loads(done.stdout)["results"]
    assert cell_accuracy(as_table(result["tables"][0]), truth(RULED)) >= 0.9
    assert "| Code | Stock |" in result["markdown"]
    example = re.search(r"\n  (\S+/python) - <<'EOF'\n(.*?)\nEOF\n", banner, re.S)
    done = subprocess.run([example[1], "-"], input=example[2], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    answer = json.loads(done.stdout)
    assert [detection["Type"] for detection in answer["TableDetections"]] == [1, 0] and answer["Data"]
