"""openapi.yaml as the local server serves it: the document itself, naming the server, and not a
route of the API."""

from __future__ import annotations

import json

import pytest
import yaml

from ocr_local.openapi import load_openapi

pytestmark = pytest.mark.http


@pytest.fixture(scope="module")
def document() -> dict:
    return load_openapi()


@pytest.mark.parametrize(
    "path, media_type, parse",
    [("/openapi.yaml", "application/yaml", yaml.safe_load), ("/openapi.json", "application/json", json.loads)],
)
def test_the_local_server_serves_the_document_naming_itself(local_server, document, path, media_type, parse):
    # WHEN the document is asked for
    status, headers, body = local_server.send("GET", path)
    # THEN it is the file's document, with the local server as its only server
    assert status == 200
    assert headers["Content-Type"] == media_type
    served = parse(body)
    assert [server["url"] for server in served["servers"]] == [local_server.base_url]
    assert {**served, "servers": document["servers"]} == document


def test_the_document_is_not_a_route_of_the_api(local_server):
    assert local_server.request("POST", "/openapi.json") == (403, {"message": "Missing Authentication Token"})
