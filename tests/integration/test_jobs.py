"""Jobs through their real parts on moto (the jobs table, the bucket, the queue and its
dead-letter queue with the template's redrive policy), the worker's real message handler fed as
Lambda's event source mapping feeds it, and a recognizer told per page how to fail: what a job
comes to, what each page costs the key, and that nothing is counted twice."""

from __future__ import annotations

import io
import time
from collections import Counter

import boto3
import pytest
from PIL import Image

from fakes import line
from helpers import day_clock
from ocr_api.adapters.dynamodb_keys import AppKeyStore
from ocr_api.config import Settings
from ocr_api.dialects.jobs import JobRendering
from ocr_api.errors import ImageTooManyPixels, RecognitionUnavailable
from ocr_api.job_messages import job_messages_handler
from ocr_api.jobs.model import JobSource, JobStatus
from ocr_api.keys import AccessGuard
from ocr_api.ocr import RecognitionResult
from ocr_api.service.budget import Budget
from ocr_api.service.jobs import JobRequest, Jobs, build_jobs
from ocr_api.service.metering import MeasuredRecognizer
from ocr_api.service.ocr_service import OcrService
from ocr_api.service.uploads import Uploads
from ocr_local.dynamodb import create_table
from ocr_local.environment import LOCAL_JOBS_TABLE, LOCAL_QUEUE_NAMES, LOCAL_UPLOADS_BUCKET, create_uploads_bucket
from ocr_local.queue_poller import create_queues, queue_arn, sqs_record

OWNER, STRANGER = "k-jobs-owner-000000000001", "k-jobs-stranger-0000000002"
ATTEMPTS = 3


class Crash(BaseException):
    """What the worker's process dying mid-page looks like from inside: nothing catches it."""


class PagesRecognizer:
    """Reads page N as "page N"; ``faults`` says, per page, what each attempt does instead
    (an exception to raise), the last fault repeating."""

    def __init__(self, faults: dict[int, list[BaseException | None]] | None = None) -> None:
        self.faults = faults or {}
        self.reads: Counter[int] = Counter()

    def recognize_many(self, images, deadline, options):
        page = options.pdf_page
        self.reads[page] += 1
        planned = self.faults.get(page, [None])
        fault = planned[min(self.reads[page], len(planned)) - 1]
        if fault is not None:
            raise fault
        return [RecognitionResult(lines=(line(f"page {page}"),), image_width=100, image_height=50, languages="eng")]

    def check_options(self, options, deadline):
        pass


def pdf_of(pages: int) -> bytes:
    document = io.BytesIO()
    blank = [Image.new("L", (200, 100), 255) for _ in range(pages)]
    blank[0].save(document, "PDF", save_all=True, append_images=blank[1:])
    return document.getvalue()


@pytest.fixture
def deployed(spec, store: AppKeyStore, add_plan, add_key):
    """Jobs on moto as the template deploys them; the owner's key on a plan of 10 calls a day."""
    add_key(OWNER, plan=add_plan("ten-a-day", daily_quota=10))
    add_key(STRANGER)
    create_table(boto3.client("dynamodb"), LOCAL_JOBS_TABLE, spec.jobs_table_properties)
    create_uploads_bucket(None, spec.bucket_properties)
    # Visible again at once: the test plays the visibility timeouts, not the clock.
    urls = create_queues(None, spec, LOCAL_QUEUE_NAMES, visibility_seconds=0)
    settings = Settings(
        appkeys_table="unused",
        uploads_bucket=LOCAL_UPLOADS_BUCKET,
        jobs_table=LOCAL_JOBS_TABLE,
        jobs_queue_url=urls["JobPagesQueue"],
        jobs_dead_letter_queue_arn=queue_arn(LOCAL_QUEUE_NAMES["JobPagesDeadLetterQueue"]),
        job_page_attempts=ATTEMPTS,
    )
    return settings, urls, store


def jobs_with(deployed, recognizer: PagesRecognizer) -> Jobs:
    settings, _, store = deployed
    from ocr_api.adapters.s3_files import FilesBucket

    service = OcrService(
        settings=settings,
        recognizer=MeasuredRecognizer(recognizer),
        access=AccessGuard(store, cache_seconds=0, clock=day_clock()),
        fetcher=None,
        uploads=Uploads(FilesBucket(LOCAL_UPLOADS_BUCKET), settings.max_upload_bytes, settings.upload_url_seconds),
    )
    return build_jobs(settings, service, JobRendering())


def budget() -> Budget:
    return Budget(recognition_deadline=time.monotonic() + 20, key_store_deadline=time.monotonic() + 21)


class Context:
    def get_remaining_time_in_millis(self) -> int:
        return 60_000


def uploaded(jobs: Jobs, data: bytes, secret: str = OWNER) -> str:
    offer = jobs.uploads.offer(jobs.access.check(secret, None), "application/pdf")
    boto3.client("s3").put_object(Bucket=LOCAL_UPLOADS_BUCKET, Key=offer.post.fields["key"], Body=data)
    return offer.upload_id


def run_queues(deployed, jobs: Jobs, crash_is_a_dead_instance: bool = True) -> None:
    """Lambda's event source mapping, until both queues are empty: each message received (moto
    counts receipts and moves a message past maxReceiveCount to the dead-letter queue), handed
    to the handler, deleted unless reported failed; a crash leaves it on the queue."""
    settings, urls, _ = deployed
    handler = job_messages_handler(jobs, settings)
    sqs = boto3.client("sqs")
    queues = [(urls[name], queue_arn(LOCAL_QUEUE_NAMES[name])) for name in ("JobPagesQueue", "JobPagesDeadLetterQueue")]
    idle = 0
    while idle < 2:
        idle += 1
        for url, arn in queues:
            for message in sqs.receive_message(
                QueueUrl=url, MaxNumberOfMessages=1, MessageSystemAttributeNames=["All"]
            ).get("Messages", []):
                idle = 0
                try:
                    answer = handler({"Records": [sqs_record(message, arn)]}, Context())
                except Crash:
                    continue
                if not answer["batchItemFailures"]:
                    sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])


def start(jobs: Jobs, data: bytes, secret: str = OWNER, **request) -> str:
    job, _ = jobs.start(
        JobRequest(caller=secret, source=JobSource(upload_id=uploaded(jobs, data, secret)), options={}, **request),
        budget(),
    )
    return job.job_id


def every_page(jobs: Jobs, job_id: str, secret: str = OWNER) -> list[dict]:
    job, pages, more = jobs.describe(secret, job_id, 0, 100, budget())
    assert not more
    return job, pages


def calls_today(store: AppKeyStore, secret: str = OWNER) -> tuple[int, int]:
    guard = AccessGuard(store, cache_seconds=0, clock=day_clock())
    report = guard.usage(guard.check(secret, None))
    return report.today.calls, report.today.job_pages


def test_a_job_reads_every_page_in_order_each_once_and_charges_a_call_a_page(deployed):
    recognizer = PagesRecognizer()
    jobs = jobs_with(deployed, recognizer)
    job_id = start(jobs, pdf_of(8))
    run_queues(deployed, jobs)
    job, pages = every_page(jobs, job_id)
    assert (job.status, job.pages_total, job.pages_done, job.pages_failed) == (JobStatus.SUCCEEDED, 8, 8, 0)
    assert [page.page for page in pages] == list(range(1, 9))
    assert [page.result["text"] for page in pages] == [f"page {n}" for n in range(1, 9)]
    assert set(recognizer.reads.values()) == {1}
    assert calls_today(deployed[2]) == (8, 8)


def test_a_page_whose_worker_crashed_is_read_again_and_counted_and_charged_once(deployed):
    # GIVEN page 2's first attempt kills the worker after its charge, and page 3's first fails
    # on our side (the engine unavailable)
    recognizer = PagesRecognizer({2: [Crash(), None], 3: [RecognitionUnavailable("busy"), None]})
    jobs = jobs_with(deployed, recognizer)
    job_id = start(jobs, pdf_of(4))
    # WHEN the queue is run to its end
    run_queues(deployed, jobs)
    # THEN both pages were read again and the job succeeded, each page counted and charged once
    job, pages = every_page(jobs, job_id)
    assert (job.status, job.pages_done, job.pages_failed) == (JobStatus.SUCCEEDED, 4, 0)
    assert (recognizer.reads[2], recognizer.reads[3]) == (2, 2)
    assert calls_today(deployed[2]) == (4, 4)


def test_a_page_that_always_fails_ends_in_the_dead_letter_queue_and_the_job_says_which(deployed):
    # GIVEN page 2 kills the worker on every attempt, and page 3 is too large (the client's)
    recognizer = PagesRecognizer({2: [Crash()], 3: [ImageTooManyPixels("the page is 9x9 pixels; too many")]})
    jobs = jobs_with(deployed, recognizer)
    job_id = start(jobs, pdf_of(4))
    run_queues(deployed, jobs)
    job, pages = every_page(jobs, job_id)
    # THEN the job is a partial success; page 2 failed on our side after every attempt, not
    # charged; page 3 failed with the synchronous API's error, charged as a 413 is
    assert (job.status, job.pages_done, job.pages_failed) == (JobStatus.PARTIAL_SUCCESS, 2, 2)
    assert recognizer.reads[2] == ATTEMPTS
    by_page = {page.page: page for page in pages}
    assert by_page[2].error["code"] == 500 and "each attempt stopped the worker" in by_page[2].error["message"]
    assert by_page[3].error == {"code": 413, "error": "image_too_large", "message": "the page is 9x9 pixels; too many"}
    assert calls_today(deployed[2]) == (3, 3)


def test_a_job_over_the_quota_stops_and_says_why(deployed):
    recognizer = PagesRecognizer()
    jobs = jobs_with(deployed, recognizer)
    job_id = start(jobs, pdf_of(14))
    run_queues(deployed, jobs)
    job, pages = every_page(jobs, job_id)
    # THEN ten pages were read (the key's ten calls a day), the rest refused without reading
    assert (job.status, job.pages_done, job.pages_failed) == (JobStatus.PARTIAL_SUCCESS, 10, 4)
    assert "quota is used up" in job.stopped_because
    assert sum(recognizer.reads.values()) == 10
    assert {page.error["error"] for page in pages if page.error} == {"quota_exceeded"}
    assert calls_today(deployed[2]) == (10, 10)


def test_the_same_token_twice_is_one_job_and_another_key_cannot_see_it(deployed):
    jobs = jobs_with(deployed, PagesRecognizer())
    upload_id = uploaded(jobs, pdf_of(2))
    request = JobRequest(caller=OWNER, source=JobSource(upload_id=upload_id), options={}, token="invoice-0412")
    first, new = jobs.start(request, budget())
    again, new_again = jobs.start(request, budget())
    assert (new, new_again, again.job_id) == (True, False, first.job_id)
    from ocr_api.errors import JobNotFound

    with pytest.raises(JobNotFound):
        jobs.describe(STRANGER, first.job_id, 0, 10, budget())


def test_pages_asked_for_past_the_end_fail_saying_so(deployed):
    jobs = jobs_with(deployed, PagesRecognizer())
    job_id = start(jobs, pdf_of(3), pages=(2, 3, 4, 5))
    run_queues(deployed, jobs)
    job, pages = every_page(jobs, job_id)
    assert (job.status, job.pages_total, job.pages_done, job.pages_failed) == (JobStatus.PARTIAL_SUCCESS, 4, 2, 2)
    assert [page.page for page in pages] == [2, 3, 4, 5]
    assert pages[2].error["message"] == "the file has 3 page(s); page 4 does not exist"


def test_a_file_that_is_not_a_document_fails_the_job_as_a_whole(deployed):
    jobs = jobs_with(deployed, PagesRecognizer())
    job_id = start(jobs, b"%PDF-1.4 not really")
    run_queues(deployed, jobs)
    job, pages = every_page(jobs, job_id)
    assert (job.status, pages) == (JobStatus.FAILED, [])
    assert job.error["error"] == "unsupported_image"
