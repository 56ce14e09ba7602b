"""What API Gateway (REST, Lambda proxy) does to a request before the function sees it."""

from __future__ import annotations

import base64
import fnmatch
import json
import time
import uuid
from collections.abc import Iterable

# API Gateway refuses larger request bodies; Lambda refuses larger invocation payloads, and
# the payload is the whole event, with a binary body base64-encoded inside it.
API_GATEWAY_MAX_BODY_BYTES = 10 * 1024 * 1024
LAMBDA_MAX_PAYLOAD_BYTES = 6 * 1024 * 1024
MISSING_ROUTE = (403, {"message": "Missing Authentication Token"})
TOO_LARGE = (413, {"message": "Request Entity Too Large"})
FUNCTION_FAILED = (502, {"message": "Internal server error"})


def is_binary(content_type: str | None, binary_media_types: Iterable[str]) -> bool:
    media_type = (content_type or "").split(";", 1)[0].strip().lower()
    return bool(media_type) and any(fnmatch.fnmatchcase(media_type, pattern.lower()) for pattern in binary_media_types)


def build_event(
    *,
    method: str,
    path: str,
    resource: str,
    stage: str,
    query: list[tuple[str, str]] | None = None,
    headers: list[tuple[str, str]] | None = None,
    body: bytes = b"",
    binary_media_types: Iterable[str] = (),
    source_ip: str = "127.0.0.1",
    request_id: str | None = None,
    path_parameters: dict[str, str] | None = None,
) -> dict:
    """An ``APIGatewayProxyEvent`` (payload format 1.0) as a REST API sends it."""
    query = query or []
    headers = headers or []
    multi_headers: dict[str, list[str]] = {}
    for name, value in headers:
        multi_headers.setdefault(name, []).append(value)
    multi_query: dict[str, list[str]] = {}
    for name, value in query:
        multi_query.setdefault(name, []).append(value)
    content_type = next((v for n, v in headers if n.lower() == "content-type"), None)
    binary = is_binary(content_type, binary_media_types)
    if not body:
        event_body = None
    elif binary:
        event_body = base64.b64encode(body).decode("ascii")
    else:
        # Without a matching binary media type, API Gateway passes the body on as UTF-8 text.
        event_body = body.decode("utf-8", errors="replace")
    request_id = request_id or str(uuid.uuid4())
    now = time.time()
    host = next((v for n, v in headers if n.lower() == "host"), "127.0.0.1")
    return {
        "resource": resource,
        "path": path,
        "httpMethod": method.upper(),
        "headers": {name: values[-1] for name, values in multi_headers.items()} or None,
        "multiValueHeaders": multi_headers or None,
        "queryStringParameters": {n: v[-1] for n, v in multi_query.items()} or None,
        "multiValueQueryStringParameters": multi_query or None,
        "pathParameters": path_parameters or None,
        "stageVariables": None,
        "requestContext": {
            "resourcePath": resource,
            "httpMethod": method.upper(),
            # The path as the browser asked for it: the local server, like a custom domain, has
            # no stage in its URLs (on execute-api hosts API Gateway puts "/<stage>" before it).
            "path": path,
            "stage": stage,
            "requestId": request_id,
            "extendedRequestId": request_id,
            "requestTime": time.strftime("%d/%b/%Y:%H:%M:%S +0000", time.gmtime(now)),
            "requestTimeEpoch": int(now * 1000),
            "protocol": "HTTP/1.1",
            "domainName": host,
            "apiId": "local",
            "accountId": "123456789012",
            "identity": {"sourceIp": source_ip, "userAgent": multi_headers.get("User-Agent", [None])[-1]},
        },
        "body": event_body,
        "isBase64Encoded": bool(event_body) and binary,
    }


def payload_size(event: dict) -> int:
    return len(json.dumps(event, separators=(",", ":")).encode("utf-8"))


def response_parts(result: object) -> tuple[int, list[tuple[str, str]], bytes]:
    """Status, headers and body from a proxy integration result, as API Gateway reads them."""
    if not isinstance(result, dict) or not isinstance(result.get("statusCode"), int):
        raise ValueError("malformed Lambda proxy response")
    headers = [(name, str(value)) for name, value in (result.get("headers") or {}).items()]
    for name, values in (result.get("multiValueHeaders") or {}).items():
        headers += [(name, str(value)) for value in values]
    body = result.get("body") or ""
    data = base64.b64decode(body) if result.get("isBase64Encoded") else body.encode("utf-8")
    return result["statusCode"], headers, data
