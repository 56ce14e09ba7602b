"""What every dialect shares in writing responses: JSON bodies, and the middleware that turns
errors into answers and counts every call once."""

from __future__ import annotations

import json
import logging
from collections.abc import Callable

from aws_lambda_powertools.event_handler import Response

from ocr_api.api.metering import finish_call
from ocr_api.errors import InternalError, ServiceError

logger = logging.getLogger(__name__)


def json_response(http_status: int, body: dict) -> Response:
    return Response(
        status_code=http_status,
        content_type="application/json; charset=utf-8",
        body=json.dumps(body, ensure_ascii=False),
    )


def rendering_errors_with(render: Callable[[ServiceError], Response], endpoint: str):
    """A route middleware: the one place a dialect's errors become its responses, and where
    each call of ``endpoint`` is settled with its key and counted."""

    def middleware(app, next_middleware) -> Response:
        try:
            response, error = next_middleware(app), None
        except ServiceError as err:
            logger.info("request refused", extra={"error": type(err).__name__, "status": err.http_status})
            response, error = render(err), err
        except Exception:
            logger.exception("unexpected error")
            error = InternalError()
            response = render(error)
        finish_call(app, endpoint, error)
        return response

    return middleware
