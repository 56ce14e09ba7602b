"""Uploading as a client does: ask the local server for an upload, send the file to S3 (the
local server's moto, behind S3's checks of the form) with the form as answered, read it back."""

from __future__ import annotations

import json
import urllib.error
import urllib.request

from ocr_local.forms import multipart_form

UNIVERSAL = "/v1/ocr/universal"


def offer(server, appkey: str, content_type: str = "image/jpeg") -> tuple[int, dict]:
    document = json.dumps({"content_type": content_type}).encode()
    return server.request("POST", "/v1/uploads", document, {"Content-Type": "application/json", "x-api-key": appkey})


def send_to_s3(upload: dict, data: bytes, filename: str = "photo.jpg") -> tuple[int, str]:
    """The form as a browser sends it: the answered fields as they are, then the file."""
    content_type, body = multipart_form(
        fields=list(upload["fields"].items()), files=[("file", filename, upload["fields"]["Content-Type"], data)]
    )
    request = urllib.request.Request(upload["url"], body, {"Content-Type": content_type}, method="POST")
    try:
        with urllib.request.urlopen(request, timeout=120) as answer:
            return answer.status, answer.read().decode()
    except urllib.error.HTTPError as refused:
        return refused.code, refused.read().decode()


def read_upload(server, appkey: str, upload_id: str, **fields) -> tuple[int, dict]:
    content_type, body = multipart_form(fields=[("upload_id", upload_id), *fields.items()])
    return server.request("POST", UNIVERSAL, body, {"Content-Type": content_type, "x-api-key": appkey})


def uploaded(server, appkey: str, data: bytes, content_type: str = "image/jpeg") -> str:
    return uploaded_with_form(server, appkey, data, content_type)["upload_id"]


def uploaded_with_form(server, appkey: str, data: bytes, content_type: str = "image/jpeg") -> dict:
    status, answer = offer(server, appkey, content_type)
    assert status == 201, answer
    assert send_to_s3(answer["upload"], data)[0] == 204
    return answer
