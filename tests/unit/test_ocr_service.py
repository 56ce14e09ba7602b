"""The use case every dialect calls (admit -> load -> recognise -> settle), through its seams:
keys in memory, a scripted recognizer, a fixed fetcher. What each call costs the key, and what
each step is given, decided without AWS, Tesseract or a network."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from fakes import FixedFetcher, InMemoryBucket, InMemoryKeys, ScriptedRecognizer, line
from helpers import day_clock
from ocr_api.config import Settings
from ocr_api.errors import (
    AppKeyUnknown,
    InvalidRequest,
    NoTextFound,
    QuotaExceeded,
    RecognitionTimedOut,
    UnsupportedImage,
    UploadExpired,
    UploadNotFound,
)
from ocr_api.keys import AccessGuard, AppKey, Plan
from ocr_api.ocr import RecognitionOptions
from ocr_api.service.budget import Budget
from ocr_api.service.ocr_service import OcrService
from ocr_api.service.request import ImageUrl, OcrRequest, UploadRef
from ocr_api.service.uploads import UPLOAD_RETENTION, Uploads

SECRET = "k-use-case-0000000000001"
OTHER_SECRET = "k-use-case-0000000000002"
FIVE_A_DAY = Plan("five-a-day", daily_quota=5)
BUDGET = Budget(recognition_deadline=1_000_000.0, key_store_deadline=1_000_001.0)


def build(
    recognizer: ScriptedRecognizer | None = None,
    fetcher: FixedFetcher | None = None,
    plan: Plan = FIVE_A_DAY,
    bucket: InMemoryBucket | None = None,
    clock=None,
) -> OcrService:
    users = [
        AppKey.for_secret(SECRET, "use case", plan=plan.name),
        AppKey.for_secret(OTHER_SECRET, "other", plan=plan.name),
    ]
    keys = InMemoryKeys(users, [plan])
    settings = Settings()
    clock = clock or day_clock()
    return OcrService(
        settings=settings,
        recognizer=recognizer or ScriptedRecognizer(),
        access=AccessGuard(keys, cache_seconds=0, clock=clock),
        fetcher=fetcher or FixedFetcher({}),
        uploads=Uploads(bucket or InMemoryBucket(), settings.max_upload_bytes, settings.upload_url_seconds, clock),
    )


def today(service: OcrService) -> dict:
    return service.usage(SECRET, BUDGET).today.as_json()


def request(*images, **fields) -> OcrRequest:
    return OcrRequest(api="universal", caller=SECRET, images=tuple(images), **fields)


def test_each_image_is_one_call_and_a_request_is_settled_once():
    # GIVEN a service over a key with five calls a day
    service = build()
    # WHEN a request of three images is read
    results = service.recognize(request(b"a", b"b", b"c"), BUDGET)
    # THEN three results came back, three calls were charged to one request, settled as ok
    assert [result.texts for result in results] == [["text"]] * 3
    assert today(service) == {
        "calls": 3,
        "requests": 1,
        "job_pages": 0,
        "ok": 1,
        "client_error": 0,
        "server_error": 0,
        "rate_limited": 0,
        "quota_exceeded": 0,
    }


def test_the_budget_reaches_the_store_the_download_and_the_recognizer_unchanged():
    # GIVEN a request for a URL, with a referer
    recognizer = ScriptedRecognizer()
    fetcher = FixedFetcher({"https://images.example/page.png": b"downloaded"})
    service = build(recognizer, fetcher)
    options = RecognitionOptions(single_line=True)
    service.recognize(
        request(ImageUrl("https://images.example/page.png"), b"sent", options=options, referer="https://shop.example/"),
        BUDGET,
    )
    # THEN the key store kept to the key-store deadline, the download and recognition to the
    # recognition deadline, the very instants the budget holds
    assert service.access.store.deadlines_seen == [BUDGET.key_store_deadline]
    assert fetcher.downloads == [
        ("https://images.example/page.png", BUDGET.recognition_deadline, "https://shop.example/")
    ]
    # (the options as asked, with the byte limit of images sent or downloaded)
    with_limit = replace(options, max_image_bytes=Settings().max_image_bytes)
    assert recognizer.calls == [([b"downloaded", b"sent"], BUDGET.recognition_deadline, with_limit)]


@pytest.mark.parametrize(
    "failure, outcome, calls_kept",
    [
        # Ours: stopped for time, or a bug; the calls are given back.
        (RecognitionTimedOut("recognition did not finish in the time this request has"), "server_error", 0),
        (ValueError("a bug"), "server_error", 0),
        # The client's: the work was asked for, and stays charged.
        (UnsupportedImage("the image could not be decoded"), "client_error", 2),
    ],
    ids=["timed-out", "unexpected", "undecodable"],
)
def test_a_failed_request_is_settled_by_whose_failure_it_was(failure, outcome, calls_kept):
    def fail(data: bytes):
        raise failure

    service = build(ScriptedRecognizer(fail))
    with pytest.raises(type(failure)):
        service.recognize(request(b"a", b"b"), BUDGET)
    assert (today(service)["calls"], today(service)[outcome]) == (calls_kept, 1)


def test_a_refused_key_loads_and_reads_nothing():
    recognizer, fetcher = ScriptedRecognizer(), FixedFetcher({"https://images.example/a.png": b"a"})
    service = build(recognizer, fetcher)
    with pytest.raises(AppKeyUnknown):
        service.recognize(OcrRequest("universal", "k-nobody", (ImageUrl("https://images.example/a.png"),)), BUDGET)
    assert recognizer.calls == [] and fetcher.downloads == []


def test_a_request_must_fit_whole_in_what_is_left_of_the_quota():
    service = build()
    service.recognize(request(b"a", b"b", b"c"), BUDGET)
    with pytest.raises(QuotaExceeded):
        service.recognize(request(b"d", b"e", b"f"), BUDGET)
    assert (today(service)["calls"], today(service)["quota_exceeded"]) == (3, 1)


def test_where_text_is_required_a_page_without_any_is_a_charged_refusal():
    service = build(ScriptedRecognizer(lambda data: ()))
    assert service.recognize(request(b"blank"), BUDGET)[0].lines == ()
    with pytest.raises(NoTextFound):
        service.recognize(request(b"blank", text_required=True), BUDGET)
    assert (today(service)["calls"], today(service)["ok"], today(service)["client_error"]) == (2, 1, 1)


def test_the_sample_page_is_read_once_per_instance_and_charges_no_key():
    recognizer = ScriptedRecognizer(lambda data: (line("sample"),))
    service = build(recognizer)
    assert service.sample_texts(BUDGET) == service.sample_texts(BUDGET) == ["sample"]
    assert len(recognizer.calls) == 1
    assert today(service)["calls"] == 0


# Uploads


def uploaded(service: OcrService, bucket: InMemoryBucket, data: bytes, secret: str = SECRET, age=timedelta(0)):
    """An upload offered to ``secret``'s key and made, ``age`` before the service's clock."""
    offer = service.offer_upload(secret, "image/jpeg", BUDGET)
    now = datetime.fromtimestamp(service.uploads.clock(), UTC)
    bucket.upload(offer.post.fields["key"], data, at=now - age)
    return UploadRef(offer.upload_id)


def test_an_upload_is_offered_under_the_keys_own_prefix_and_costs_no_call():
    bucket = InMemoryBucket()
    service = build(bucket=bucket)
    offer = service.offer_upload(SECRET, "image/heic", BUDGET)
    assert offer.upload_id.startswith("upl_") and offer.max_bytes == Settings().max_upload_bytes
    assert bucket.offered == [f"uploads/{AppKey.for_secret(SECRET, 'x').key_hash}/{offer.upload_id}"]
    assert today(service)["calls"] == 0
    with pytest.raises(InvalidRequest, match="content_type must be one of"):
        service.offer_upload(SECRET, "text/html", BUDGET)


def test_an_upload_is_read_by_reference_as_one_call_with_the_upload_byte_limit():
    bucket, recognizer = InMemoryBucket(), ScriptedRecognizer()
    service = build(recognizer=recognizer, bucket=bucket)
    ref = uploaded(service, bucket, b"photo bytes")
    [result] = service.recognize(request(ref), BUDGET)
    [(images, _, options)] = recognizer.calls
    assert images == [b"photo bytes"] and result.texts == ["text"]
    assert options.max_image_bytes == Settings().max_upload_bytes
    assert today(service)["calls"] == 1
    # Images sent in the request keep the smaller limit.
    service.recognize(request(b"sent bytes"), BUDGET)
    assert recognizer.calls[-1][2].max_image_bytes == Settings().max_image_bytes


def test_another_keys_upload_is_not_found_and_costs_nothing():
    bucket = InMemoryBucket()
    service = build(bucket=bucket)
    ref = uploaded(service, bucket, b"theirs", secret=OTHER_SECRET)
    with pytest.raises(UploadNotFound):
        service.recognize(request(ref), BUDGET)
    assert today(service)["calls"] == 0


def test_an_upload_older_than_uploads_are_kept_is_refused_as_expired():
    bucket = InMemoryBucket()
    service = build(bucket=bucket)
    fresh = uploaded(service, bucket, b"new", age=UPLOAD_RETENTION - timedelta(minutes=1))
    stale = uploaded(service, bucket, b"old", age=UPLOAD_RETENTION + timedelta(minutes=1))
    service.recognize(request(fresh), BUDGET)
    with pytest.raises(UploadExpired, match="upload the file again"):
        service.recognize(request(stale), BUDGET)
    assert today(service)["calls"] == 1


@pytest.mark.parametrize("upload_id", ["", "upl_", "upl_XYZ", "../uploads/other/upl_" + "0" * 32, "upl_" + "0" * 33])
def test_an_upload_id_is_checked_before_any_lookup(upload_id):
    with pytest.raises(InvalidRequest, match="not an upload id"):
        UploadRef(upload_id)
