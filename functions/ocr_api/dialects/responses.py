"""What every dialect shares in writing answers: JSON bodies, the request id, and business codes
chosen by error class."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Generic, TypeVar

from aws_lambda_powertools.event_handler import Response

from ocr_api.errors import ServiceError

Code = TypeVar("Code")


def json_response(http_status: int, body: dict, content_type: str = "application/json; charset=utf-8") -> Response:
    return Response(
        status_code=http_status,
        content_type=content_type,
        body=json.dumps(body, ensure_ascii=False),
    )


def request_id(event) -> str | None:
    """API Gateway's id of the request, which answers carry so that a client can quote it."""
    return event.request_context.request_id


class ErrorCodes(Generic[Code]):
    """A dialect's business code for each error: that of the first class in ``table`` (in its
    order, most specific first) the error belongs to; otherwise ``client_error`` for a 4xx and
    ``server_error`` for a 5xx."""

    def __init__(
        self,
        table: Mapping[type[ServiceError], Code],
        server_error: Code,
        client_error: Code | None = None,
    ) -> None:
        self.table = tuple(table.items())
        self.server_error = server_error
        self.client_error = server_error if client_error is None else client_error

    def __call__(self, err: ServiceError) -> Code:
        for kind, code in self.table:
            if isinstance(err, kind):
                return code
        return self.client_error if err.http_status < 500 else self.server_error
