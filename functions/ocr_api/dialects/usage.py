"""``GET /v1/usage``: a key's plan, its calls today and this month, and what is left.

Authenticated by the key itself in ``x-api-key`` (API Gateway checks it too). Asking is held to
the plan's rate like any call, but uses no quota. Errors are written as the universal endpoint
writes them.
"""

from __future__ import annotations

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.router import APIGatewayRouter

from ocr_api.dialects.endpoints import Dialect, Endpoint
from ocr_api.dialects.fields import header_values, one_key
from ocr_api.dialects.responses import json_response, request_id
from ocr_api.dialects.universal import render_error
from ocr_api.errors import InvalidRequest
from ocr_api.service.budget import Budget
from ocr_api.service.ocr_service import OcrService

API_NAME = "usage"
PATH = "/v1/usage"


def routes(service: OcrService) -> APIGatewayRouter:
    router = APIGatewayRouter()

    @router.get(PATH)
    def usage() -> Response:
        # Any key may see its own usage, whichever APIs it is limited to.
        report = service.usage(read(router.current_event), Budget.for_request(router.lambda_context, service.settings))
        return json_response(
            200,
            {
                "code": 0,
                "message": "success",
                "request_id": request_id(router.current_event),
                **report.as_json(),
            },
        )

    return router


def read(event) -> str | None:
    """The key asking."""
    if event.multi_value_query_string_parameters:
        raise InvalidRequest("this endpoint takes no parameters; send the key as x-api-key")
    return one_key(header_values(event, "x-api-key"), "the appkey")


DIALECT = Dialect(routes, {("GET", PATH): Endpoint(API_NAME, render_error)})
