"""The Lambda entry point: routing only. Each API dialect lives in its own router."""

from aws_lambda_powertools import Logger
from aws_lambda_powertools.event_handler import APIGatewayRestResolver
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.logging.utils import copy_config_to_registered_loggers

from ocr_api.config import Settings
from ocr_api.api import gugudata_legacy, gugudata_v1, tencent, tupu, universal, usage
from ocr_api.api.metering import metrics

logger = Logger()
# The core logs through the standard library; give those records the same JSON shape.
copy_config_to_registered_loggers(source_logger=logger, include={"ocr_api"})

app = APIGatewayRestResolver()
app.include_router(gugudata_v1.router)
app.include_router(gugudata_legacy.router)
app.include_router(universal.router)
app.include_router(tupu.router)
app.include_router(tencent.router)
app.include_router(usage.router)


def _traced(function):
    """X-Ray tracing when the template turns it on; its SDK costs ~0.3 s of cold start."""
    if not Settings.tracing_enabled_in_environment():
        return function
    from aws_lambda_powertools import Tracer

    return Tracer().capture_lambda_handler(function, capture_response=False)


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_REST)
@metrics.log_metrics
@_traced
def handler(event, context):
    return app.resolve(event, context)
