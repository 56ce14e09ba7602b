"""The whole HTTP API: every dialect's routes on one resolver, and the one place where an error
becomes an answer in the dialect of the endpoint that was called."""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from aws_lambda_powertools.event_handler import APIGatewayRestResolver, Response
from aws_lambda_powertools.event_handler.router import APIGatewayRouter

from ocr_api.dialects.responses import request_id
from ocr_api.errors import InternalError, ServiceError
from ocr_api.service.metering import count_request
from ocr_api.service.ocr_service import OcrService

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Endpoint:
    """How one route is known in the metrics, and how it writes an error."""

    name: str
    render_error: Callable[[ServiceError, str | None], Response]


@dataclass(frozen=True)
class Dialect:
    """One API contract: its routes (built around the service) and its endpoints by method and
    path."""

    routes: Callable[[OcrService], APIGatewayRouter]
    endpoints: Mapping[tuple[str, str], Endpoint]


def build_api(service: OcrService, dialects: tuple[Dialect, ...]) -> APIGatewayRestResolver:
    api = APIGatewayRestResolver()
    endpoints: dict[tuple[str, str], Endpoint] = {}
    for dialect in dialects:
        api.include_router(dialect.routes(service))
        endpoints.update(dialect.endpoints)
    api.use(middlewares=[_answering_in_dialect(endpoints)])
    return api


def _answering_in_dialect(endpoints: Mapping[tuple[str, str], Endpoint]):
    """Turns each error into the called endpoint's answer, and counts every request once."""

    def middleware(app: APIGatewayRestResolver, next_middleware) -> Response:
        # Routes are known by the method and the resource API Gateway matched: the path as the
        # template declares it ("/v1/ocr/jobs/{job_id}").
        event = app.current_event
        endpoint = endpoints.get((event.http_method.upper(), event.resource or event.path))
        if endpoint is None:
            return next_middleware(app)  # no route: the resolver's own 404
        try:
            response, error = next_middleware(app), None
        except ServiceError as err:
            logger.info("request refused", extra={"error": type(err).__name__, "status": err.http_status})
            response, error = endpoint.render_error(err, request_id(app.current_event)), err
        except Exception:
            logger.exception("unexpected error")
            error = InternalError()
            response = endpoint.render_error(error, request_id(app.current_event))
        count_request(endpoint.name, error)
        return response

    return middleware
