"""The deep-learning engine's Lambda function: one prepared, upright page in, PP-OCR's lines out.

Only the API function invokes it (its role alone may), with pages its page workers prepared:
decoded within the limits, turned upright, compressed under Invoke's payload limit. So this
function does no decoding of untrusted uploads; it still refuses anything that is not such a
page, and answers every failure as ``{"error": {"kind", "description"}}``, which the API
function turns into each dialect's answer.

INIT loads both models (the image ships them); a function whose models cannot be loaded answers
each call with ``RecognitionUnavailable`` instead of failing its INIT again on every call.

Event: ``{"page": base64, "languages": "chi_sim+eng", "layout": "auto", "seconds": 24.5}``;
answer: ``{"lines": [TextLine as JSON, ...]}``.
"""

from __future__ import annotations

import base64
import binascii
import logging
import os
import time

from ocr_api.errors import RecognitionFailed, RecognitionUnavailable, ServiceError
from ocr_api.ocr.engine import PageLayout
from ocr_api.ocr.page_transfer import decode_page, lines_to_json
from ocr_api.ocr.ppocr import PAGE_SIDE, PpOcr

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


def handler(event: dict, context) -> dict:
    try:
        return {"lines": lines_to_json(read_page(event, context))}
    except ServiceError as err:
        return {"error": err.as_json()}


def read_page(event: dict, context) -> list:
    if _engine is None:
        raise _load_error
    try:
        page = decode_page(base64.b64decode(event["page"], validate=True), _MAX_PAGE_PIXELS)
        languages = str(event["languages"])
        layout = PageLayout(event.get("layout", PageLayout.AUTO.value))
        seconds = float(event["seconds"])
    except (KeyError, TypeError, ValueError, binascii.Error):
        logger.error("event is not a page to read")
        raise RecognitionFailed("the recognition engine was sent a page it cannot read") from None
    remaining = context.get_remaining_time_in_millis() / 1000 - _ANSWER_SECONDS
    deadline = time.monotonic() + min(seconds, remaining)
    lines = _engine.read_lines(page, languages, deadline, layout)
    logger.info("page read", extra={"pixels": page.width * page.height, "lines": len(lines)})
    return lines
