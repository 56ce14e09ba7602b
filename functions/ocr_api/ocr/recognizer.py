"""Bytes in, text lines out: the one entry point every API dialect calls."""

from __future__ import annotations

from ocr_api.ocr.images import ImageLimits, prepare_image
from ocr_api.ocr.result import RecognitionResult
from ocr_api.ocr.tesseract import Tesseract


class Recognizer:
    def __init__(self, engine: Tesseract, limits: ImageLimits, languages: str) -> None:
        self.engine = engine
        self.limits = limits
        self.languages = languages

    def recognize(self, data: bytes, timeout_seconds: float) -> RecognitionResult:
        prepared = prepare_image(data, self.limits)
        lines = self.engine.read_lines(prepared, self.languages, timeout_seconds)
        return RecognitionResult(
            lines=tuple(lines),
            image_width=prepared.width,
            image_height=prepared.height,
            languages=self.languages,
        )
