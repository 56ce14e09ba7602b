"""Counting each request in CloudWatch metrics, and recognition's time and sizes.

Metrics go out as CloudWatch embedded-metric logs through Powertools, in the ``OcrApi``
namespace, with the endpoint and the outcome as their only dimensions: a dimension per key would
make a custom metric per key, and each costs money every month. ``PagesRead`` counts pages by
the engine whose reading they got (tesseract or ppocr).
"""

from __future__ import annotations

import logging
import time

from aws_lambda_powertools import Metrics, single_metric
from aws_lambda_powertools.metrics import MetricUnit

from ocr_api.errors import AppKeyForbidden, AppKeyMissing, AppKeyUnknown, QuotaExceeded, RateLimited, ServiceError
from ocr_api.keys import Outcome
from ocr_api.ocr import RecognitionOptions, RecognitionResult
from ocr_api.service.page_workers import IsolatedRecognizer

metrics = Metrics(namespace="OcrApi")
logger = logging.getLogger(__name__)


def outcome_of(err: ServiceError | None) -> Outcome:
    if err is None:
        return Outcome.OK
    if isinstance(err, RateLimited):
        return Outcome.RATE_LIMITED
    if isinstance(err, QuotaExceeded):
        return Outcome.QUOTA_EXCEEDED
    return Outcome.SERVER_ERROR if err.http_status >= 500 else Outcome.CLIENT_ERROR


def count_request(endpoint: str, err: ServiceError | None) -> None:
    """Counts one answered request by endpoint and outcome."""
    refused_key = isinstance(err, (AppKeyMissing, AppKeyUnknown, AppKeyForbidden))
    metrics.add_dimension("Endpoint", endpoint)
    metrics.add_dimension("Outcome", "unauthorized" if refused_key else outcome_of(err).value)
    metrics.add_metric(name="Requests", unit=MetricUnit.Count, value=1)


class MeasuredRecognizer:
    """A recognizer that also reports recognition time and image sizes to the metrics."""

    def __init__(self, recognizer: IsolatedRecognizer) -> None:
        self._recognizer = recognizer

    def recognize(
        self, data: bytes, deadline: float, options: RecognitionOptions = RecognitionOptions()
    ) -> RecognitionResult:
        started = time.monotonic()
        result = self._recognizer.recognize(data, deadline, options)
        _measure(started, [data], [result])
        return result

    def recognize_many(
        self, images: list[bytes], deadline: float, options: RecognitionOptions = RecognitionOptions()
    ) -> list[RecognitionResult]:
        started = time.monotonic()
        results = self._recognizer.recognize_many(images, deadline, options)
        _measure(started, images, results)
        return results

    def __getattr__(self, name: str):
        return getattr(self._recognizer, name)


def _measure(started: float, images: list[bytes], results: list[RecognitionResult]) -> None:
    metrics.add_metric(name="RecognitionTime", unit=MetricUnit.Milliseconds, value=(time.monotonic() - started) * 1000)
    metrics.add_metric(name="Images", unit=MetricUnit.Count, value=len(images))
    for data, result in zip(images, results):
        # Which engine's reading each page got: a metric of its own, dimensioned by engine only,
        # so the request metrics keep their one dimension set.
        with single_metric(name="PagesRead", unit=MetricUnit.Count, value=1, namespace="OcrApi") as metric:
            metric.add_dimension("Engine", result.engine)
        logger.info("page read", extra={"engine": result.engine, "lines": len(result.lines)})
        metrics.add_metric(name="ImageBytes", unit=MetricUnit.Bytes, value=len(data))
        metrics.add_metric(
            name="ImageMegapixels",
            unit=MetricUnit.Count,
            value=round(result.image_width * result.image_height / 1e6, 3),
        )
