"""Tencent Cloud's own Python SDK, as its users run it: clients pointed at an endpoint, and the
SDK's signing of a request without sending it (for the signature's unit tests)."""

from __future__ import annotations

import contextlib
import json
from collections.abc import Iterator
from unittest import mock

from tencentcloud.common.credential import Credential
from tencentcloud.common.http.request import RequestInternal
from tencentcloud.common.profile.client_profile import ClientProfile
from tencentcloud.common.profile.http_profile import HttpProfile
from tencentcloud.ocr.v20181119 import models
from tencentcloud.ocr.v20181119.ocr_client import OcrClient

REGION = "ap-guangzhou"


def client(endpoint: str, secret_id: str, secret_key: str, unsigned_payload: bool = False) -> OcrClient:
    """An unmodified OcrClient, changed only in its endpoint (plain HTTP here) and credentials."""
    profile = ClientProfile(httpProfile=HttpProfile(protocol="http", endpoint=endpoint, reqTimeout=60))
    # The SDK's own option: the body is left out of the signature (X-TC-Content-SHA256).
    profile.unsignedPayload = unsigned_payload
    return OcrClient(Credential(secret_id, secret_key), REGION, profile)


def general_accurate_ocr(ocr: OcrClient, **fields) -> dict:
    """GeneralAccurateOCR through the SDK's model classes, as its documentation shows."""
    request = models.GeneralAccurateOCRRequest()
    request.from_json_string(json.dumps(fields))
    return json.loads(ocr.GeneralAccurateOCR(request).to_json_string())


def recognize_table_accurate_ocr(ocr: OcrClient, **fields) -> dict:
    """RecognizeTableAccurateOCR through the SDK's model classes, as its documentation shows."""
    request = models.RecognizeTableAccurateOCRRequest()
    request.from_json_string(json.dumps(fields))
    return json.loads(ocr.RecognizeTableAccurateOCR(request).to_json_string())


@contextlib.contextmanager
def signing_at(unix_time: float) -> Iterator[None]:
    """The SDK signs with its clock reading ``unix_time`` (a client whose clock is off)."""
    with mock.patch("tencentcloud.common.abstract_client.time.time", return_value=unix_time):
        yield


def signed(
    params: dict, secret_id: str, secret_key: str, host: str = "ocr.example.com", unsigned_payload: bool = False
) -> tuple[dict[str, str], bytes]:
    """The headers and body the SDK would send for GeneralAccurateOCR(params), signed by the
    SDK's own code."""
    ocr = client(host, secret_id, secret_key, unsigned_payload)
    request = RequestInternal(host, "POST", "/")
    ocr._build_req_inter("GeneralAccurateOCR", params, request)
    body = request.data.encode("utf-8") if isinstance(request.data, str) else request.data
    return dict(request.header), body
