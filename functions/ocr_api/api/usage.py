"""``GET /v1/usage``: a key's plan, its calls today and this month, and what is left.

Authenticated by the key itself in ``x-api-key`` (API Gateway checks it too). Asking is held to
the plan's rate like any call, but uses no quota.
"""

from __future__ import annotations

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.router import APIGatewayRouter

from ocr_api import dependencies
from ocr_api.api.metering import admit
from ocr_api.api.requests import header_values
from ocr_api.api.responses import json_response, rendering_errors_with
from ocr_api.api.sources import one_appkey
from ocr_api.api.universal import render_error
from ocr_api.errors import InvalidRequest

API_NAME = "usage"
PATH = "/v1/usage"

router = APIGatewayRouter()


@router.get(PATH, middlewares=[rendering_errors_with(render_error, API_NAME)])
def usage() -> Response:
    event = router.current_event
    if event.multi_value_query_string_parameters:
        raise InvalidRequest("this endpoint takes no parameters; send the key as x-api-key")
    # Any key may see its own usage, whichever APIs it is limited to.
    admission = admit(router, one_appkey(header_values(event, "x-api-key")), api=None, calls=0)
    report = dependencies.current().access.usage(admission.key, admission.deadline)
    return json_response(200, {
        "code": 0,
        "message": "success",
        "request_id": event.request_context.request_id,
        **report.as_json(),
    })
