"""The use case every dialect calls (admit -> load -> recognise -> settle), through its seams:
keys in memory, a scripted recognizer, a fixed fetcher. What each call costs the key, and what
each step is given, decided without AWS, Tesseract or a network."""

from __future__ import annotations

import pytest

from fakes import FixedFetcher, InMemoryKeys, ScriptedRecognizer, line
from helpers import day_clock
from ocr_api.config import Settings
from ocr_api.errors import (
    AppKeyUnknown,
    NoTextFound,
    QuotaExceeded,
    RecognitionTimedOut,
    UnsupportedImage,
)
from ocr_api.keys import AccessGuard, AppKey, Plan
from ocr_api.ocr import RecognitionOptions
from ocr_api.service.budget import Budget
from ocr_api.service.ocr_service import OcrService
from ocr_api.service.request import ImageUrl, OcrRequest

SECRET = "k-use-case-0000000000001"
FIVE_A_DAY = Plan("five-a-day", daily_quota=5)
BUDGET = Budget(recognition_deadline=1_000_000.0, key_store_deadline=1_000_001.0)


def build(
    recognizer: ScriptedRecognizer | None = None, fetcher: FixedFetcher | None = None, plan: Plan = FIVE_A_DAY
) -> OcrService:
    keys = InMemoryKeys([AppKey.for_secret(SECRET, "use case", plan=plan.name)], [plan])
    return OcrService(
        settings=Settings(),
        recognizer=recognizer or ScriptedRecognizer(),
        access=AccessGuard(keys, cache_seconds=0, clock=day_clock()),
        fetcher=fetcher or FixedFetcher({}),
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
    assert recognizer.calls == [([b"downloaded", b"sent"], BUDGET.recognition_deadline, options)]


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
