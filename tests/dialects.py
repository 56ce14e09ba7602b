"""Posting to any endpoint through the real handler, for the dialect tests."""

from __future__ import annotations

import json

from ocr_local.apigateway import build_event
from ocr_local.forms import multipart_form


def poster(invoke, spec, path):
    """A function that posts multipart (files/fields) or JSON to ``path`` and parses the answer."""

    def post(files=(), fields=(), json_body=None, query=(), headers=()):
        if json_body is not None:
            content_type, body = "application/json", json.dumps(json_body).encode()
        else:
            content_type, body = multipart_form(fields=list(fields), files=list(files))
        event = build_event(
            method="POST",
            path=path,
            resource=path,
            stage=spec.stage,
            query=list(query),
            headers=[("Content-Type", content_type), *headers],
            body=body,
            binary_media_types=spec.binary_media_types,
        )
        response = invoke(event)
        return response["statusCode"], json.loads(response["body"])

    return post
