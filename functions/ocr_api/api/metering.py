"""Counting each call once: against its key's plan in DynamoDB, and in CloudWatch metrics.

Metrics go out as CloudWatch embedded-metric logs through Powertools, in the ``OcrApi``
namespace, with the endpoint and the outcome as their only dimensions: a dimension per key would
make a custom metric per key, and each costs money every month.
"""

from __future__ import annotations

import time

from aws_lambda_powertools import Metrics
from aws_lambda_powertools.metrics import MetricUnit

from ocr_api import dependencies
from ocr_api.api.deadline import key_store_deadline
from ocr_api.errors import AppKeyForbidden, AppKeyMissing, AppKeyUnknown, QuotaExceeded, RateLimited, ServiceError
from ocr_api.keys import Admission, Outcome
from ocr_api.ocr import RecognitionOptions, RecognitionResult
from ocr_api.ocr.page_worker import IsolatedRecognizer

metrics = Metrics(namespace="OcrApi")

_ADMISSION = "admission"


def admit(router, appkey: str | None, api: str | None, calls: int = 1) -> Admission:
    """Checks and counts the key, charging ``calls`` (one per image the request reads); the
    middleware settles the request when its answer is known."""
    deadline = key_store_deadline(router.lambda_context)
    admission = dependencies.current().access.admit(appkey, api, calls, deadline)
    router.append_context(**{_ADMISSION: admission})
    return admission


def outcome_of(err: ServiceError | None) -> Outcome:
    if err is None:
        return Outcome.OK
    if isinstance(err, RateLimited):
        return Outcome.RATE_LIMITED
    if isinstance(err, QuotaExceeded):
        return Outcome.QUOTA_EXCEEDED
    return Outcome.SERVER_ERROR if err.http_status >= 500 else Outcome.CLIENT_ERROR


def finish_call(app, endpoint: str, err: ServiceError | None) -> None:
    """Settles the call's admission, if it had one, and counts it by endpoint and outcome."""
    outcome = outcome_of(err)
    admission = app.context.get(_ADMISSION)
    if admission is not None:
        dependencies.current().access.settle(admission, outcome, refund=err is not None and err.refunded)
    refused_key = isinstance(err, (AppKeyMissing, AppKeyUnknown, AppKeyForbidden))
    metrics.add_dimension("Endpoint", endpoint)
    metrics.add_dimension("Outcome", "unauthorized" if refused_key else outcome.value)
    metrics.add_metric(name="Requests", unit=MetricUnit.Count, value=1)


class MeasuredRecognizer:
    """A recognizer that also reports recognition time and image sizes to the metrics."""

    def __init__(self, recognizer: IsolatedRecognizer) -> None:
        self._recognizer = recognizer

    def recognize(
        self, data: bytes, timeout_seconds: float, options: RecognitionOptions = RecognitionOptions()
    ) -> RecognitionResult:
        started = time.monotonic()
        result = self._recognizer.recognize(data, timeout_seconds, options)
        _measure(started, [data], [result])
        return result

    def recognize_many(
        self, images: list[bytes], timeout_seconds: float, options: RecognitionOptions = RecognitionOptions()
    ) -> list[RecognitionResult]:
        started = time.monotonic()
        results = self._recognizer.recognize_many(images, timeout_seconds, options)
        _measure(started, images, results)
        return results

    def __getattr__(self, name: str):
        return getattr(self._recognizer, name)


def _measure(started: float, images: list[bytes], results: list[RecognitionResult]) -> None:
    metrics.add_metric(
        name="RecognitionTime", unit=MetricUnit.Milliseconds, value=(time.monotonic() - started) * 1000
    )
    metrics.add_metric(name="Images", unit=MetricUnit.Count, value=len(images))
    for data, result in zip(images, results):
        metrics.add_metric(name="ImageBytes", unit=MetricUnit.Bytes, value=len(data))
        metrics.add_metric(
            name="ImageMegapixels", unit=MetricUnit.Count,
            value=round(result.image_width * result.image_height / 1e6, 3),
        )
