"""The local API: real HTTP on loopback, API Gateway's behaviour, the real handler behind it."""

from __future__ import annotations

import json
import logging
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qsl, urlsplit

from ocr_local import apigateway
from ocr_local.gateway import FORBIDDEN, LocalUsagePlans
from ocr_local.lambda_runtime import FunctionTimedOut, LambdaInstances
from ocr_local.openapi import OpenApiDocuments
from ocr_local.template import ApiSpec

logger = logging.getLogger(__name__)
_MAX_DRAINED_BYTES = 64 * 1024 * 1024


class LocalApiGateway(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(
        self,
        address: tuple[str, int],
        spec: ApiSpec,
        instances: dict[str, LambdaInstances],
        usage_plans: LocalUsagePlans,
    ):
        super().__init__(address, _RequestHandler)
        self.spec = spec
        self.instances = instances
        self.usage_plans = usage_plans
        host, port = self.server_address[:2]
        self.openapi = OpenApiDocuments(f"http://{host}:{port}")


class _RequestHandler(BaseHTTPRequestHandler):
    server: LocalApiGateway
    protocol_version = "HTTP/1.1"

    def do_GET(self) -> None:
        self._proxy()

    # As on API Gateway, a method no route declares (TRACE and QUERY too) is "Missing Authentication Token".
    do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = do_OPTIONS = do_TRACE = do_QUERY = do_GET

    def log_message(self, format: str, *args) -> None:
        # The request line only: query strings can carry appkeys.
        logger.info("%s %s -> %s", self.command, urlsplit(self.path).path, args[1] if len(args) > 1 else "")

    def _proxy(self) -> None:
        url = urlsplit(self.path)
        route = self.server.spec.route_for(self.command, url.path)
        body = self._read_body()
        if body is None:
            return self._send_json(*apigateway.TOO_LARGE, close=True)
        if route is None:
            # The OpenAPI document is a local helper, not a Lambda route: template routes come first.
            document = self.server.openapi.find(self.command, url.path)
            if document is not None:
                content_type, data = document
                return self._send(200, [("Content-Type", content_type)], data)
            return self._send_json(*apigateway.MISSING_ROUTE)
        if route.api_key_required and not self.server.usage_plans.admits(self.headers.get("x-api-key")):
            return self._send_json(*FORBIDDEN)
        event = apigateway.build_event(
            method=self.command,
            path=url.path,
            resource=route.path,
            stage=self.server.spec.stage,
            query=parse_qsl(url.query, keep_blank_values=True),
            headers=list(self.headers.items()),
            body=body,
            binary_media_types=self.server.spec.binary_media_types,
            source_ip=self.client_address[0],
            path_parameters=route.path_parameters(url.path),
        )
        if apigateway.payload_size(event) > apigateway.LAMBDA_MAX_PAYLOAD_BYTES:
            return self._send_json(*apigateway.TOO_LARGE)
        try:
            result = self.server.instances[route.function].invoke(event)
            status, headers, data = apigateway.response_parts(result)
        except FunctionTimedOut:
            logger.error("function timed out")
            return self._send_json(*apigateway.FUNCTION_FAILED)
        except Exception:
            logger.exception("function failed")
            return self._send_json(*apigateway.FUNCTION_FAILED)
        self._send(status, headers, data)

    def _read_body(self) -> bytes | None:
        """The body, or None when it is over API Gateway's limit."""
        try:
            length = int(self.headers.get("Content-Length") or 0)
        except ValueError:
            length = apigateway.API_GATEWAY_MAX_BODY_BYTES + 1
        if length > apigateway.API_GATEWAY_MAX_BODY_BYTES:
            # Drain a moderately oversized body so the client can read the 413 we send.
            remaining = length if length <= _MAX_DRAINED_BYTES else 0
            while remaining > 0:
                chunk = self.rfile.read(min(remaining, 1 << 20))
                if not chunk:
                    break
                remaining -= len(chunk)
            return None
        return self.rfile.read(length) if length else b""

    def _send_json(self, status: int, document: dict, close: bool = False) -> None:
        headers = [("Content-Type", "application/json")]
        if close:
            headers.append(("Connection", "close"))
            self.close_connection = True
        self._send(status, headers, json.dumps(document).encode("utf-8"))

    def _send(self, status: int, headers: list[tuple[str, str]], data: bytes) -> None:
        self.send_response(status)
        for name, value in headers:
            if name.lower() not in ("content-length", "connection"):
                self.send_header(name, value)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(data)
