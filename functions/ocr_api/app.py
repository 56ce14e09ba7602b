"""The Lambda entry point: routing only. Each API dialect lives in its own router."""

from aws_lambda_powertools import Logger, Tracer
from aws_lambda_powertools.event_handler import APIGatewayRestResolver
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.logging.utils import copy_config_to_registered_loggers

from ocr_api.api import gugudata_legacy, gugudata_v1, tencent, tupu, universal

logger = Logger()
tracer = Tracer()
# The core logs through the standard library; give those records the same JSON shape.
copy_config_to_registered_loggers(source_logger=logger, include={"ocr_api"})

app = APIGatewayRestResolver()
app.include_router(gugudata_v1.router)
app.include_router(gugudata_legacy.router)
app.include_router(universal.router)
app.include_router(tupu.router)
app.include_router(tencent.router)


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_REST)
@tracer.capture_lambda_handler(capture_response=False)
def handler(event, context):
    return app.resolve(event, context)
