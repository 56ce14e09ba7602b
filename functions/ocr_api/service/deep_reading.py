"""PP-OCR's reading of a page, asked by the handler while the page's worker reads it with
Tesseract, and weighed against that reading once both are in.

Only the handler holds the credentials to invoke the deep engine's function, so a worker hands
the page over (``DeepPage``) as soon as it is decoded; the call runs on a thread of its own while
the worker goes on. Under ``ppocr`` its reading is the page's, and its failure the page's;
under ``auto`` the two readings are fused region by region, and when PP-OCR fails, Tesseract reads
the page alone: the client asked for a reading, not for an engine. Tables, where asked, come from
the same call (their grids), filled with the page's final lines; a page whose tables were asked
fails with the call, as no one else can find them.
"""

from __future__ import annotations

import logging
from dataclasses import replace
from typing import Protocol

from ocr_api.errors import RecognitionFailed, RecognitionUnavailable, ServiceError
from ocr_api.ocr.fusion import with_deep_reading
from ocr_api.ocr.page_transfer import grids_from_json, grids_on_upload, lines_from_json, lines_on_upload
from ocr_api.ocr.result import RecognitionResult, TextLine
from ocr_api.ocr.table_structure import TableGrid
from ocr_api.ocr.tables import filled_tables
from ocr_api.service.worker_protocol import DeepPage

logger = logging.getLogger(__name__)


class PendingReading(Protocol):
    def result(self) -> tuple[list[dict], float, list[dict] | None]:
        """The lines (on the page as sent; ``TextLine`` fields, JSON), the clockwise degrees its
        text stood at, and the tables' grids where they were asked (``TableGrid`` fields, JSON);
        waits no longer than the reading's deadline, and raises the ``ServiceError`` that
        stopped it."""


class DeepReader(Protocol):
    """The deep-learning engine's function, as the handler calls it."""

    def start(
        self, page: bytes, languages: str, layout: str, deadline: float, find_orientation: bool, find_tables: bool
    ) -> PendingReading: ...

    def close(self) -> None: ...


class _Failed:
    def __init__(self, error: ServiceError) -> None:
        self.error = error

    def result(self) -> tuple[list[dict], float, list[dict] | None]:
        raise self.error


def start_deep_reading(deep_engine: DeepReader | None, asked: DeepPage, page: bytes, deadline: float) -> PendingReading:
    """Starts reading the page a worker handed over, by the earlier of its deadline and the request's."""
    if deep_engine is None:
        return _Failed(RecognitionUnavailable("the recognition engine is not available"))
    try:
        return deep_engine.start(
            page,
            asked.languages,
            asked.layout,
            min(asked.deadline, deadline),
            asked.find_orientation,
            asked.find_tables,
        )
    except ServiceError as err:
        return _Failed(err)


def with_pending_reading(
    result: RecognitionResult, asked: DeepPage, pending: PendingReading
) -> RecognitionResult | None:
    """The worker's ``result`` with PP-OCR's reading: alone, or fused with Tesseract's, and the
    page's tables where asked; None where PP-OCR failed beside Tesseract, whose reading was only
    its part of the page (the page is to be read by Tesseract alone)."""
    try:
        lines, angle, grids = _reading(pending, asked.find_tables)
    except ServiceError as err:
        if asked.alone or asked.find_tables:
            raise
        logger.warning("deep engine's reading unavailable; Tesseract reads alone", extra={"error": type(err).__name__})
        return None
    upload_size = (result.image_width, result.image_height)
    read = with_deep_reading(result, asked.alone, lines_on_upload(lines, asked.size, upload_size), angle)
    if not asked.find_tables:
        return read
    try:
        tables = filled_tables(grids_on_upload(grids, asked.size, upload_size), read.lines)
    except ValueError:  # a grid whose cells overlap or leave it: not one the engine makes
        logger.error("deep engine answered a table grid that is not one")
        raise RecognitionFailed("the recognition engine failed on this image") from None
    return replace(read, tables=tables)


def _reading(pending: PendingReading, find_tables: bool) -> tuple[list[TextLine], float, list[TableGrid]]:
    documents, angle, grids = pending.result()
    try:
        if find_tables and grids is None:
            raise KeyError("tables")
        return lines_from_json(documents), angle, grids_from_json(grids or [])
    except (KeyError, TypeError, ValueError):
        logger.error("deep engine answered lines or tables that are not such")
        raise RecognitionFailed("the recognition engine failed on this image") from None
