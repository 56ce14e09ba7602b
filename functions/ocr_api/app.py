"""The Lambda entry point: the service, built once per instance from the environment the
template sets, behind every dialect's routes.

Importing it is the instance's INIT: a page worker is started first, so that it loads
Tesseract's models while the rest of the handler (Powertools, botocore) is imported.
"""

from __future__ import annotations

from ocr_api.config import Settings
from ocr_api.errors import ServiceError
from ocr_api.service.page_workers import first_worker_started

_settings = Settings.from_environment()
_workers = first_worker_started(_settings)

from collections.abc import Callable  # noqa: E402 - after the page workers' start, on purpose

from aws_lambda_powertools import Logger  # noqa: E402
from aws_lambda_powertools.logging import correlation_paths  # noqa: E402
from aws_lambda_powertools.logging.utils import copy_config_to_registered_loggers  # noqa: E402

from ocr_api.dialects import DIALECTS  # noqa: E402
from ocr_api.dialects.endpoints import build_api  # noqa: E402
from ocr_api.dialects.jobs import JobRendering  # noqa: E402
from ocr_api.service.metering import metrics  # noqa: E402
from ocr_api.service.ocr_service import OcrService, build_service  # noqa: E402

logger = Logger()
# The core logs through the standard library; give those records the same JSON shape.
copy_config_to_registered_loggers(source_logger=logger, include={"ocr_api"})


def _traced(function):
    """X-Ray tracing when the template turns it on; its SDK costs ~0.3 s of cold start."""
    if not Settings.tracing_enabled_in_environment():
        return function
    from aws_lambda_powertools import Tracer

    return Tracer().capture_lambda_handler(function, capture_response=False)


def lambda_handler(service: OcrService) -> Callable[[dict, object], dict]:
    """A Lambda handler serving the whole API with ``service``; its first page worker is started
    by the first request if it was not already."""
    api = build_api(service, DIALECTS)
    workers_started = False

    @logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_REST)
    @metrics.log_metrics
    @_traced
    def handle(event: dict, context) -> dict:
        nonlocal workers_started
        if not workers_started:
            workers_started = True
            try:
                service.start()
            except ServiceError:
                # Each page starts its worker again, and a failure there is that request's answer.
                logger.exception("page workers could not be started")
        return api.resolve(event, context)

    return handle


service = build_service(_settings, workers=_workers, job_rendering=JobRendering())
handler = lambda_handler(service)
