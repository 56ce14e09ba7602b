"""The console page as the API serves it: its files by digest, and its Content-Security-Policy."""

from __future__ import annotations

import re
from types import SimpleNamespace

from ocr_api.dialects.console import ASSETS, _asset, _page, content_security_policy, page_base


def test_the_page_names_its_files_by_their_digest():
    page = _page()
    for name in ("console.js", "console.css", "icon.svg"):
        assert f'"console/{name}?v={_asset(name)[2]}"' in page
    # No inline script or style: the policy allows neither.
    assert not re.search(r"<script(?![^>]*\bsrc=)", page) and "<style" not in page and " style=" not in page
    assert set(ASSETS) == {"console.js", "console.css", "icon.svg", "demo.png"}


def test_the_policy_allows_this_origin_and_the_uploads_bucket_only():
    policy = content_security_policy("https://uploads.s3.amazonaws.com")
    assert "connect-src 'self' https://uploads.s3.amazonaws.com;" in policy
    assert "default-src 'none'" in policy and "unsafe" not in policy and "frame-ancestors 'none'" in policy
    assert "connect-src 'self';" in content_security_policy(None)


def requested(path: str, context_path: str | None = None):
    return SimpleNamespace(path=path, request_context=SimpleNamespace(path=context_path or path))


def test_the_pages_base_is_the_apis_root_however_the_page_was_asked_for():
    # On an execute-api host API Gateway keeps the stage in requestContext.path.
    assert page_base(requested("/", "/prod")) == "/prod/"
    assert page_base(requested("/", "/prod/")) == "/prod/"
    assert page_base(requested("/console", "/prod/console")) == "/prod/"
    # On a custom domain, and locally, the API is at the root.
    assert page_base(requested("/console")) == "/" and page_base(requested("/")) == "/"
    # Nothing that could leave the attribute is repeated.
    assert page_base(requested("/console", '/"><script>')) == "/"
