"""Uploads through the real handler on moto's S3: the upload offered, read by upload_id under the
key's own prefix, and each way reading one fails, with what it costs the key."""

from __future__ import annotations

import time

import boto3
import pytest

from dialects import poster
from helpers import data_image
from ocr_api.keys import hash_appkey
from ocr_api.service.budget import Budget
from ocr_api.service.uploads import UPLOAD_RETENTION
from ocr_local.environment import LOCAL_UPLOADS_BUCKET, create_uploads_bucket
from ocr_local.events import EVENTS_APPKEY

PAGE = data_image("tesseract-test/phototest.tif")
KEY_HEADER = [("x-api-key", EVENTS_APPKEY)]


@pytest.fixture
def uploads(spec, store, reconfigure):
    """The template's bucket in moto, and the service deployed with it."""
    create_uploads_bucket(None, spec.bucket_properties)
    return reconfigure(uploads_bucket=LOCAL_UPLOADS_BUCKET, default_engine="tesseract")


@pytest.fixture
def offer(invoke, spec, uploads):
    post = poster(invoke, spec, "/v1/uploads")
    return lambda content_type="image/tiff": post(json_body={"content_type": content_type}, headers=KEY_HEADER)


@pytest.fixture
def read(invoke, spec, uploads):
    post = poster(invoke, spec, "/v1/ocr/universal")
    return lambda upload_id: post(json_body={"upload_id": upload_id}, headers=KEY_HEADER)


def stored_as_s3_would(answer: dict, data: bytes) -> str:
    """The file put where the answered form says (S3's own checks of the form are
    tests/unit/test_s3_post_policy.py's and tests/http/test_uploads.py's)."""
    fields = answer["upload"]["fields"]
    boto3.client("s3").put_object(Bucket=LOCAL_UPLOADS_BUCKET, Key=fields["key"], Body=data)
    return answer["upload_id"]


def calls_today(service) -> int:
    budget = Budget(recognition_deadline=time.monotonic() + 20, key_store_deadline=time.monotonic() + 21)
    return service.usage(EVENTS_APPKEY, budget).today.calls


def test_an_upload_is_offered_under_the_keys_prefix_and_read_by_id_as_one_call(offer, read, uploads):
    status, answer = offer()
    assert status == 201, answer
    assert answer["upload"]["fields"]["key"] == f"uploads/{hash_appkey(EVENTS_APPKEY)}/{answer['upload_id']}"
    upload_id = stored_as_s3_would(answer, PAGE)
    status, body = read(upload_id)
    assert status == 200, body
    assert body["results"][0]["blocks"][0]["text"] == "This is alot of 12 point text to test the"
    assert calls_today(uploads) == 1


def test_an_upload_older_than_a_day_is_refused_and_not_charged(offer, read, uploads):
    upload_id = stored_as_s3_would(offer()[1], PAGE)
    uploads.uploads.clock = lambda: time.time() + UPLOAD_RETENTION.total_seconds() + 60
    status, body = read(upload_id)
    assert (status, body["error"]) == (410, "upload_expired")
    assert calls_today(uploads) == 0


def test_an_upload_over_the_limit_is_refused_by_its_size(offer, read, reconfigure, uploads):
    upload_id = stored_as_s3_would(offer()[1], b"II*\x00" + b"\0" * (2 * 1024 * 1024))
    reconfigure(uploads_bucket=LOCAL_UPLOADS_BUCKET, max_upload_bytes=1024 * 1024)
    status, body = read(upload_id)
    assert (status, body["error"]) == (413, "image_too_large")
    assert "the limit is 1048576 bytes" in body["message"]


def test_when_s3_cannot_be_reached_the_request_is_a_503_and_not_charged(offer, read, reconfigure):
    upload_id = stored_as_s3_would(offer()[1], PAGE)
    # Port 9 (discard) on loopback: nothing listens, the connection is refused at once.
    service = reconfigure(uploads_bucket=LOCAL_UPLOADS_BUCKET, s3_endpoint_url="http://127.0.0.1:9")
    status, body = read(upload_id)
    assert (status, body["error"]) == (503, "unavailable")
    assert "127.0.0.1" not in body["message"]
    assert calls_today(service) == 0
