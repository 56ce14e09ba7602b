"""The web console: ``GET /`` and ``GET /console``, one static page (HTML, CSS and plain
JavaScript, no build step) that reads images through this API from the browser, and its files at
``GET /console/{asset}``. Loading it needs no key: the page sends the key the user types, to this
API only, and keeps it in the tab's sessionStorage.

Served with a strict Content-Security-Policy: script and style from this origin only (no inline
code), connections to this API and to the uploads bucket (the origin its presigned POSTs go to)
only, no frames, no forms, no plugins. Its ``<base>`` is the API's root as the browser asked for
the page, so that its relative URLs hold under a stage's path ("/prod") as at a domain's root.
The page is revalidated on every load; its files carry their content's digest in their URL and
are kept for a year.
"""

from __future__ import annotations

import hashlib
import re
from functools import cache
from pathlib import Path

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.router import APIGatewayRouter

from ocr_api.dialects.endpoints import Dialect, Endpoint
from ocr_api.dialects.responses import json_response
from ocr_api.errors import ServiceError
from ocr_api.service.ocr_service import OcrService

API_NAME = "console"
PAGE_PATHS = ("/", "/console")
ASSET_PATH = "/console/<asset>"
ASSET_RESOURCE = "/console/{asset}"

_FILES = Path(__file__).resolve().parents[1] / "console"
_DEMO_IMAGE = Path(__file__).resolve().parents[1] / "service" / "demo.png"
# The page's files, by the name in their URL: where each is and its type.
ASSETS = {
    "console.js": (_FILES / "console.js", "text/javascript; charset=utf-8"),
    "console.css": (_FILES / "console.css", "text/css; charset=utf-8"),
    "icon.svg": (_FILES / "icon.svg", "image/svg+xml"),
    "demo.png": (_DEMO_IMAGE, "image/png"),
}
# Sent as bytes (API Gateway passes them as binary: image/* is among the API's binary types).
_BINARY = {"image/png"}
# A request path the page's <base> may repeat: nothing that could leave the attribute.
_PLAIN_PATH = re.compile(r"/[A-Za-z0-9._~/-]*")
_SECURITY_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cross-Origin-Opener-Policy": "same-origin",
    "Permissions-Policy": "camera=(), microphone=(), geolocation=()",
}


def content_security_policy(upload_origin: str | None) -> str:
    connect = "'self'" + (f" {upload_origin}" if upload_origin else "")
    return "; ".join(
        (
            "default-src 'none'",
            "script-src 'self'",
            "style-src 'self'",
            # The chosen file is shown from a blob: URL, the demo image from this origin.
            "img-src 'self' blob:",
            f"connect-src {connect}",
            # The page's <base> names the API's root (a stage's path on execute-api hosts).
            "base-uri 'self'",
            "form-action 'none'",
            "frame-ancestors 'none'",
        )
    )


def page_base(event) -> str:
    """The folder the page's relative URLs start from, as the browser asked for the page: the
    stage's root on an execute-api host ("/prod/" for "/prod", "/prod/" or "/prod/console"), the
    domain's root on a custom domain and locally ("/")."""
    path = (event.request_context.path if event.request_context else None) or event.path or "/"
    if not _PLAIN_PATH.fullmatch(path):
        return "/"
    folder = path[: -len("console")] if path.endswith("/console") else path
    return folder if folder.endswith("/") else folder + "/"


@cache
def _asset(name: str) -> tuple[bytes, str, str]:
    """A file's bytes, type and digest (read once per instance)."""
    path, content_type = ASSETS[name]
    data = path.read_bytes()
    return data, content_type, hashlib.sha256(data).hexdigest()[:16]


@cache
def _page() -> str:
    """The page, its files' URLs carrying their digests (a new file is a new URL)."""
    html = (_FILES / "index.html").read_text(encoding="utf-8")
    for name in ASSETS:
        html = html.replace(f'"console/{name}"', f'"console/{name}?v={_asset(name)[2]}"')
    return html


def routes(service: OcrService) -> APIGatewayRouter:
    router = APIGatewayRouter()

    @cache
    def policy() -> str:
        # Made on the first page asked for (the bucket's origin needs the S3 client).
        return content_security_policy(service.uploads.post_origin())

    def page() -> Response:
        headers = {**_SECURITY_HEADERS, "Content-Security-Policy": policy(), "Cache-Control": "no-cache"}
        html = _page().replace("<head>", f'<head>\n  <base href="{page_base(router.current_event)}">', 1)
        return Response(200, "text/html; charset=utf-8", html, headers)

    for path in PAGE_PATHS:
        router.get(path)(page)

    @router.get(ASSET_PATH)
    def asset(asset: str) -> Response:
        if asset not in ASSETS:
            return json_response(404, {"message": "Not Found"})
        data, content_type, _ = _asset(asset)
        headers = {**_SECURITY_HEADERS, "Cache-Control": "public, max-age=31536000, immutable"}
        return Response(200, content_type, data if content_type in _BINARY else data.decode(), headers)

    return router


def render_error(err: ServiceError, request_id: str | None) -> Response:
    # Nothing here raises a service error; should anything, it is plain JSON.
    return json_response(err.http_status, {"message": err.description, "request_id": request_id})


DIALECT = Dialect(
    routes,
    {
        **{("GET", path): Endpoint(API_NAME, render_error) for path in PAGE_PATHS},
        ("GET", ASSET_RESOURCE): Endpoint(f"{API_NAME}-asset", render_error),
    },
)
