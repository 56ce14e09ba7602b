"""Reading the request shapes clients send: multipart, form, JSON, raw bodies, base64."""

from __future__ import annotations

import base64
import json

import pytest
from aws_lambda_powertools.utilities.data_classes import APIGatewayProxyEvent

from ocr_api.dialects.fields import MAX_FIELDS, decode_base64_image, page_number, read_request, unknown_fields
from ocr_api.errors import InvalidRequest, UnsupportedContentType, UnsupportedImage
from ocr_local.apigateway import build_event
from ocr_local.forms import multipart_form

BINARY_TYPES = ("multipart/form-data", "image/*", "application/octet-stream")
PNG_BYTES = b"\x89PNG\r\n\x1a\n" + bytes(range(256))


def received(content_type: str | None, body: bytes, query=None):
    headers = [("Content-Type", content_type)] if content_type else []
    event = build_event(
        method="POST",
        path="/p",
        resource="/p",
        stage="prod",
        query=query,
        headers=headers,
        body=body,
        binary_media_types=BINARY_TYPES,
    )
    return read_request(APIGatewayProxyEvent(event))


def test_multipart_file_and_text_parts_arrive_intact():
    content_type, body = multipart_form(
        fields=[("appkey", "k1")], files=[("imagefile", "a.png", "image/png", PNG_BYTES)]
    )
    request = received(content_type, body)
    assert request.texts_named("appkey") == ["k1"]
    [image] = request.fields_named("imagefile")
    assert image.value == PNG_BYTES and image.in_multipart


def test_query_values_and_body_values_are_both_seen():
    content_type, body = multipart_form(fields=[("appkey", "b")])
    assert received(content_type, body, query=[("appkey", "a")]).texts_named("appkey") == ["a", "b"]


def test_urlencoded_form_fields():
    request = received("application/x-www-form-urlencoded", b"appkey=k%2B1&image_base64=QUJD")
    assert request.texts_named("appkey") == ["k+1"]
    assert request.texts_named("image_base64") == ["QUJD"]


def test_json_fields():
    request = received("application/json", json.dumps({"appkey": "k", "image_base64": "QUJD"}).encode())
    assert request.texts_named("image_base64") == ["QUJD"]


def test_a_json_body_of_a_million_tiny_objects_is_refused_before_it_is_parsed(monkeypatch):
    # Parsing one took 2 s and 225 MB on the way to the same refusal.
    body = b'{"image_base64": [' + b",".join([b"{}"] * 1_000_000) + b"]}"
    monkeypatch.setattr(json, "loads", lambda *args, **kwargs: pytest.fail("the body was parsed"))
    with pytest.raises(InvalidRequest, match=f"more than {MAX_FIELDS} fields"):
        received("application/json", body)


def test_commas_braces_and_quotes_inside_json_strings_are_text_not_structure():
    values = {f"field{index}": '{"a": [1, 2, 3]}, \\"quoted\\" ' * 20 for index in range(MAX_FIELDS)}
    request = received("application/json", json.dumps(values).encode())
    assert request.texts_named("field0") == [values["field0"]]
    assert len(request.fields) == MAX_FIELDS


@pytest.mark.parametrize("content_type", ["image/png", "image/jpeg", "application/octet-stream"])
def test_raw_image_body(content_type):
    assert received(content_type, PNG_BYTES).image_body == PNG_BYTES


def test_no_body_reads_as_no_fields():
    request = received(None, b"", query=[("appkey", "k")])
    assert request.fields == () and request.image_body is None


@pytest.mark.parametrize(
    "content_type, body, message",
    [
        ("multipart/form-data", b"--x\r\n\r\n--x--", "no boundary"),
        (
            "multipart/form-data; boundary=abc",
            b'--xyz\r\nContent-Disposition: form-data; name="a"\r\n\r\n1\r\n--xyz--\r\n',
            "malformed",
        ),
        (
            "multipart/form-data; boundary=abc",
            b'--abc\r\nContent-Disposition: form-data; name="a"\r\n\r\ncut off here',
            "malformed",
        ),
        (
            "multipart/form-data; boundary=abc",
            b"--abc\r\nContent-Disposition: form-data\r\n\r\n1\r\n--abc--\r\n",
            "name",
        ),
        ("application/json", b"{not json", "JSON body is malformed"),
        ("application/json", b"[1, 2]", "object"),
        ("application/json", b'{"image_base64": {"nested": 1}}', "must be a string"),
        ("application/x-www-form-urlencoded", "appkey=\u00e9".encode(), "malformed"),
    ],
    ids=[
        "no-boundary",
        "wrong-boundary",
        "truncated",
        "part-without-name",
        "bad-json",
        "json-array",
        "json-number",
        "form-not-ascii",
    ],
)
def test_malformed_bodies_are_bad_requests(content_type, body, message):
    with pytest.raises(InvalidRequest, match=message):
        received(content_type, body)


@pytest.mark.parametrize("content_type", ["text/plain", None, "application/xml"])
def test_unreadable_content_types_are_415(content_type):
    with pytest.raises(UnsupportedContentType):
        received(content_type, b"hello")


def test_base64_body_from_api_gateway_that_is_corrupt_is_a_bad_request():
    event = build_event(
        method="POST",
        path="/p",
        resource="/p",
        stage="prod",
        headers=[("Content-Type", "image/png")],
        body=PNG_BYTES,
        binary_media_types=BINARY_TYPES,
    )
    event["body"] = "***"
    with pytest.raises(InvalidRequest, match="not valid base64"):
        read_request(APIGatewayProxyEvent(event))


ENCODED = base64.b64encode(PNG_BYTES).decode()


@pytest.mark.parametrize(
    "text",
    [
        ENCODED,
        f"data:image/png;base64,{ENCODED}",
        f"data:;base64,{ENCODED}",
        "\n".join(ENCODED[i : i + 76] for i in range(0, len(ENCODED), 76)),
        ENCODED.replace("+", " "),
        base64.urlsafe_b64encode(PNG_BYTES).decode().rstrip("="),
        f"  {ENCODED}  ",
    ],
    ids=["plain", "data-uri", "data-uri-no-type", "wrapped", "plus-as-space", "urlsafe-unpadded", "padded-spaces"],
)
def test_base64_in_every_common_spelling(text):
    assert decode_base64_image(text, "image_base64") == PNG_BYTES


@pytest.mark.parametrize("text", ["not base64!", "QUJD$$", "data:image/png;base64,@@@"])
def test_invalid_base64_is_a_bad_request(text):
    with pytest.raises(InvalidRequest, match="not valid base64"):
        decode_base64_image(text, "image_base64")


def test_empty_base64_is_a_bad_request():
    with pytest.raises(InvalidRequest, match="empty"):
        decode_base64_image("  ", "image_base64")


def test_data_uri_of_another_type_is_415():
    with pytest.raises(UnsupportedImage, match="text/plain"):
        decode_base64_image("data:text/plain;base64,aGVsbG8=", "image_base64")


def test_data_uri_without_base64_is_a_bad_request():
    with pytest.raises(InvalidRequest, match="base64-encoded"):
        decode_base64_image("data:image/png,rawbytes", "image_base64")


# Round two of hostile inputs: the cost of reading fields grows with the body, never faster,
# and the count of fields is bounded before any check walks them.


def test_a_json_body_of_a_hundred_thousand_names_is_refused_for_its_field_count():
    body = json.dumps({f"n{index}": "x" for index in range(100_000)}).encode()
    with pytest.raises(InvalidRequest, match=f"more than {MAX_FIELDS} fields"):
        received("application/json", body)


def test_repeated_names_are_still_found_among_many():
    pairs = ", ".join(f'"n{index}": 1' for index in range(MAX_FIELDS - 1))
    with pytest.raises(InvalidRequest, match="n7 appear more than once"):
        received("application/json", ("{" + pairs + ', "n7": 2}').encode())


@pytest.mark.parametrize("shape", ["form", "multipart", "query", "json list"])
def test_every_body_shape_counts_its_fields(shape):
    many = [("tag", "x")] * (MAX_FIELDS + 1)
    if shape == "form":
        call = ("application/x-www-form-urlencoded", "&".join("tag=x" for _ in many).encode(), None)
    elif shape == "multipart":
        call = (*multipart_form(fields=many), None)
    elif shape == "query":
        call = ("application/json", b"{}", many)
    else:
        call = ("application/json", json.dumps({"tag": ["x"] * len(many)}).encode(), None)
    with pytest.raises(InvalidRequest, match=f"more than {MAX_FIELDS} fields"):
        received(*call[:2], query=call[2])
    # One fewer than the limit plus one is read.
    assert len(received("application/json", json.dumps({"tag": ["x"] * MAX_FIELDS}).encode()).fields) == MAX_FIELDS


def test_unknown_names_are_listed_short():
    message = unknown_fields([f"{'n' * 500}{index}" for index in range(1000)])
    assert message.startswith("unknown field(s): nnnn") and message.endswith("and 995 more")
    assert len(message) < 400


@pytest.mark.parametrize("text", ["9" * 5000, "1" + "0" * 400, "\u00b2", "0", "-1", "1.5", ""])
def test_page_numbers_of_any_length_are_a_clear_refusal(text):
    with pytest.raises(InvalidRequest, match="pdf_page must be a page number from 1"):
        page_number(text, "pdf_page")


def test_page_numbers_read():
    assert page_number(" 12 ", "pdf_page") == 12 and page_number(None, "pdf_page") is None
