"""A job as GET /v1/ocr/jobs/{job_id} writes it: a callback not tried yet already reads pending (a
job is seen finished a moment before its last page's worker queues the callback)."""

from __future__ import annotations

from datetime import UTC, datetime

from ocr_api.dialects.jobs import _summary
from ocr_api.jobs.model import Job, JobSource

FINISHED = Job(
    job_id="job_" + "0" * 32,
    key_hash="f" * 64,
    source=JobSource(upload_id="upl_" + "1" * 32),
    options={},
    created_at=datetime(2026, 12, 5, tzinfo=UTC),
    callback_url="https://hooks.example.com/ocr",
    pages_total=2,
    pages_done=2,
)


def test_a_finished_jobs_callback_not_yet_queued_reads_pending():
    assert _summary(FINISHED)["status"] == "SUCCEEDED"
    assert _summary(FINISHED)["callback"] == {
        "url": "https://hooks.example.com/ocr",
        "status": "pending",
        "attempts": 0,
        "last_error": None,
    }


def test_a_callback_tried_says_how_it_went_and_a_job_without_one_has_none():
    tried = {"status": "delivered", "attempts": 2, "last_error": "the callback URL answered HTTP 500"}
    job = Job(**{**FINISHED.__dict__, "callback": tried})
    assert _summary(job)["callback"] == {"url": "https://hooks.example.com/ocr", **tried}
    assert _summary(Job(**{**FINISHED.__dict__, "callback_url": None}))["callback"] is None
