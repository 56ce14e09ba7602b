"""The deep-learning engine's function as its container image holds it.

scripts/prove_deep_engine_image.sh installs the image's requirements (functions/deep_engine/
requirements.txt) and copies the files its Dockerfile copies into a clean directory, then runs
these tests under Python 3.12 with that directory as the only place packages come from. Only that
proof runs them. They use nothing beyond what the image holds.
"""

from __future__ import annotations

import base64
import io
import json
from pathlib import Path

import pytest
from PIL import Image

from ocr_api.handlers import deep_engine

TEST_DATA = Path(__file__).resolve().parents[1] / "data"


class Context:
    def __init__(self, seconds: float = 28.0) -> None:
        self.seconds = seconds

    def get_remaining_time_in_millis(self) -> int:
        return int(self.seconds * 1000)


def event_for(relative: str, languages: str = "chi_sim+eng", layout: str = "auto") -> dict:
    buffer = io.BytesIO()
    Image.open(TEST_DATA / relative).convert("RGB").save(buffer, format="PNG")
    return {
        "page": base64.b64encode(buffer.getvalue()).decode(),
        "languages": languages,
        "layout": layout,
        "seconds": 20,
    }


def texts(answer: dict) -> list[str]:
    assert "lines" in answer, answer
    return [line["text"] for line in answer["lines"]]


def test_a_receipt_is_read_with_boxes_and_words():
    answer = deep_engine.handler(event_for("sroie/036.jpg", "eng"), Context())
    assert "TAX INVOICE" in texts(answer)
    for line in answer["lines"]:
        assert len(line["quad"]) == 4 and line["words"] and 0 < line["confidence"] <= 1


def test_chinese_is_read():
    truth = (TEST_DATA / "zh-rendered" / "screenshot_01.txt").read_text(encoding="utf-8").split()
    read = "".join(texts(deep_engine.handler(event_for("zh-rendered/screenshot_01.png"), Context())))
    assert all(line.replace(" ", "") in read.replace(" ", "") for line in truth[:3])


def test_a_single_line():
    answer = deep_engine.handler(event_for("cnocr-synthetic-zh/chn-00199980.jpg", "chi_sim", "single_line"), Context())
    truth = (TEST_DATA / "cnocr-synthetic-zh" / "chn-00199980.txt").read_text(encoding="utf-8").strip()
    assert texts(answer) == [truth]


@pytest.mark.parametrize("event", [{}, {"page": "%%%", "languages": "eng", "seconds": 5}])
def test_what_is_not_a_page_is_refused_without_a_trace(event):
    answer = deep_engine.handler(event, Context())
    assert answer["error"]["kind"] == "RecognitionFailed"
    assert "Traceback" not in json.dumps(answer) and "/" not in json.dumps(answer)


def test_no_time_left_is_a_timeout():
    answer = deep_engine.handler(event_for("sroie/036.jpg", "eng"), Context(seconds=0.1))
    assert answer["error"]["kind"] == "RecognitionTimedOut"


def test_a_table_is_found_with_its_grid_only_when_asked():
    event = event_for("tables/table_01.png", "eng")
    assert "tables" not in deep_engine.handler(event, Context())
    answer = deep_engine.handler({**event, "find_tables": True}, Context())
    truth = json.loads((TEST_DATA / "tables" / "table_01.json").read_text(encoding="utf-8"))
    [table] = answer["tables"]
    assert (table["rows"], table["columns"], len(table["cells"])) == (
        truth["rows"],
        truth["columns"],
        len(truth["cells"]),
    )
    assert table["ruled"] and 0 < table["confidence"] <= 1
    spans = sorted(
        (cell["row_span"], cell["column_span"]) for cell in table["cells"] if cell["row_span"] * cell["column_span"] > 1
    )
    assert spans == sorted(
        (cell["row_span"], cell["column_span"]) for cell in truth["cells"] if cell["row_span"] * cell["column_span"] > 1
    )


def test_find_tables_that_is_no_boolean_is_refused():
    answer = deep_engine.handler({**event_for("tables/table_01.png", "eng"), "find_tables": "yes"}, Context())
    assert answer["error"]["kind"] == "RecognitionFailed"
