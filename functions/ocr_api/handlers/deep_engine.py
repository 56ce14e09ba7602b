"""The deep-learning engine's Lambda function: one prepared page in, PP-OCR's lines out.

Only the API function invokes it (its role alone may), with pages its page workers prepared:
decoded within the limits, compressed under Invoke's payload limit. It turns a page upright
itself, where its own lines say the page stands turned and the request allows it. So this
function does no decoding of untrusted uploads; it still refuses anything that is not such a
page, and answers every failure as ``{"error": {"kind", "description"}}``, which the API
function turns into each dialect's answer.

INIT loads both models (the image ships them); a function whose models cannot be loaded answers
each call with ``RecognitionUnavailable`` instead of failing its INIT again on every call.

Event: ``{"page": base64, "languages": "chi_sim+eng", "layout": "auto", "seconds": 24.5,
"find_orientation": true, "find_tables": false}``; answer: ``{"lines": [TextLine as JSON, ...],
"angle": 0}``, the lines on the page as sent and the clockwise degrees its text stood at, and with
``find_tables`` ``"tables": [TableGrid as JSON, ...]``, the tables' grids on the page as sent. The
table models load on the first page that asks for tables: a function never asked pays nothing
for them.
"""

from __future__ import annotations

import base64
import binascii
import logging
import os
import time

from ocr_api.errors import RecognitionFailed, RecognitionUnavailable, ServiceError
from ocr_api.ocr.engine import PageLayout
from ocr_api.ocr.page_transfer import decode_page, grids_to_json, lines_to_json
from ocr_api.ocr.ppocr import PAGE_SIDE, PpOcr
from ocr_api.ocr.table_structure import TableFinder

logger = logging.getLogger(__name__)

# An encoded page is at most PAGE_SIDE on its longer side; anything bigger was not sent by us.
_MAX_PAGE_PIXELS = PAGE_SIDE * PAGE_SIDE
# Kept back from the function's own timeout to answer.
_ANSWER_SECONDS = 0.3


def _loaded_engine() -> tuple[PpOcr | None, ServiceError | None]:
    engine = PpOcr(model_dir=os.environ.get("PPOCR_MODEL_DIR") or None)
    try:
        engine.load()
    except RecognitionUnavailable as err:
        return None, err
    return engine, None


_engine, _load_error = _loaded_engine()
_tables = TableFinder(model_dir=os.environ.get("TABLE_MODEL_DIR") or None)


def handler(event: dict, context) -> dict:
    try:
        lines, angle, grids = read_page(event, context)
        answer = {"lines": lines_to_json(lines), "angle": angle}
        if grids is not None:
            answer["tables"] = grids_to_json(grids)
        return answer
    except ServiceError as err:
        return {"error": err.as_json()}


def read_page(event: dict, context) -> tuple[list, int, list | None]:
    if _engine is None:
        raise _load_error
    try:
        page = decode_page(base64.b64decode(event["page"], validate=True), _MAX_PAGE_PIXELS)
        languages = str(event["languages"])
        layout = PageLayout(event.get("layout", PageLayout.AUTO.value))
        seconds = float(event["seconds"])
        find_orientation = event.get("find_orientation", True)
        find_tables = event.get("find_tables", False)
        if not isinstance(find_orientation, bool) or not isinstance(find_tables, bool):
            raise TypeError("find_orientation")
    except (KeyError, TypeError, ValueError, binascii.Error):
        logger.error("event is not a page to read")
        raise RecognitionFailed("the recognition engine was sent a page it cannot read") from None
    remaining = context.get_remaining_time_in_millis() / 1000 - _ANSWER_SECONDS
    deadline = time.monotonic() + min(seconds, remaining)
    lines, angle = _engine.read_page(page, languages, deadline, layout, find_orientation)
    grids = _tables.find(page.image, deadline, turned=angle) if find_tables else None
    logger.info(
        "page read",
        extra={
            "pixels": page.width * page.height,
            "lines": len(lines),
            "angle": angle,
            "tables": None if grids is None else len(grids),
        },
    )
    return lines, angle, grids
