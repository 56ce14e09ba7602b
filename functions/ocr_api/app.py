"""The Lambda entry point: the service, built once per instance from the environment the
template sets, behind every dialect's routes."""

from __future__ import annotations

from collections.abc import Callable

from aws_lambda_powertools import Logger
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.logging.utils import copy_config_to_registered_loggers

from ocr_api.config import Settings
from ocr_api.dialects import DIALECTS
from ocr_api.dialects.endpoints import build_api
from ocr_api.errors import ServiceError
from ocr_api.service.metering import metrics
from ocr_api.service.ocr_service import OcrService, build_service

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
    """A Lambda handler serving the whole API with ``service``; its page workers start with the
    first request, while that request is still being read and admitted."""
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


handler = lambda_handler(build_service(Settings.from_environment()))
