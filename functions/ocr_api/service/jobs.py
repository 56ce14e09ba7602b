"""Jobs: many pages read asynchronously, one queue message each, by the job worker function.

The API function starts a job (its key admitted at the plan's rate, nothing charged) and answers
what is known of it; the worker plans it (has its file, counts its pages, queues them) and reads
each page as a synchronous request would, charging the key one call per page when it is read.
A page's outcome is recorded once: a page read again after a crash finds it recorded, and is
charged once. Its error is the synchronous API's, in its words.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Protocol

from ocr_api.adapters.dynamodb_jobs import JobStore
from ocr_api.adapters.dynamodb_keys import AppKeyStore
from ocr_api.adapters.s3_files import FilesBucket
from ocr_api.adapters.sqs_jobs import JobQueue
from ocr_api.adapters.url_fetcher import FetchLimits, UrlFetcher
from ocr_api.config import Settings
from ocr_api.errors import (
    AppKeyForbidden,
    InternalError,
    InvalidRequest,
    JobNotFound,
    JobStoreUnavailable,
    QuotaExceeded,
    ServiceError,
    StorageUnavailable,
)
from ocr_api.jobs.model import Job, JobSource, PageOutcome, new_job_id
from ocr_api.jobs.webhooks import new_webhook_secret, signature_headers
from ocr_api.keys import AccessGuard, Outcome
from ocr_api.keys.access import Admission
from ocr_api.keys.credentials import SecretCipher
from ocr_api.ocr import RecognitionOptions, RecognitionResult
from ocr_api.ocr.images import sniff_format
from ocr_api.ocr.pdf import page_count
from ocr_api.service.budget import Budget
from ocr_api.service.metering import MeasuredRecognizer, outcome_of
from ocr_api.service.uploads import UPLOADING_API, UploadRef, Uploads

logger = logging.getLogger(__name__)


class JobRendering(Protocol):
    """How the API writes what a page came to (the universal endpoint's own JSON)."""

    def result(self, result: RecognitionResult, name: str, options: dict) -> dict: ...

    def error(self, err: ServiceError) -> dict: ...


@dataclass(frozen=True)
class JobRequest:
    caller: str | None
    source: JobSource
    # The universal endpoint's options, as JSON: what RecognitionOptions takes, and how results
    # are written (need_location, return_markdown).
    options: dict
    pages: tuple[int, ...] | None = None
    token: str | None = None
    job_tag: str | None = None
    callback_url: str | None = None


@dataclass(frozen=True)
class JobPage:
    """One page as the API shows it: its result (JSON), or its error."""

    page: int
    result: dict | None = None
    error: dict | None = None


class PageToRetry(Exception):
    """The page failed on our side and has attempts left: its message is received again."""


# A job's callback is tried this often, the wait doubling between tries.
CALLBACK_ATTEMPTS = 5


@dataclass
class Jobs:
    store: JobStore
    queue: JobQueue
    bucket: FilesBucket | None
    uploads: Uploads
    access: AccessGuard
    fetcher: UrlFetcher
    recognizer: MeasuredRecognizer
    rendering: JobRendering
    max_file_bytes: int
    # How often a page's message is received before it goes to the dead-letter queue.
    page_attempts: int
    # Callbacks: posted as downloads are made (public addresses only), signed with the key's
    # webhook secret (kept in the key store, sealed by the cipher).
    callbacks: UrlFetcher | None = None
    keys: AppKeyStore | None = None
    cipher: SecretCipher | None = None
    callback_retry_seconds: int = 30
    clock: Callable[[], float] = time.time
    # The last file read, kept by a warm worker for the next page of the same job.
    _file: tuple[str, bytes] | None = None

    # The API's side

    def start(self, request: JobRequest, budget: Budget) -> tuple[Job, bool]:
        """The job, stored and queued for planning; and whether it is new (False: the key's
        ``client_request_token`` started it before). Asking is held to the plan's rate; pages
        are charged when they are read."""
        # Options no page could be read with (a language not installed, tables under tesseract)
        # are the client's error now, not every page's later.
        self.recognizer.check_options(_recognition_options(request.options), budget.recognition_deadline)
        admission = self.access.admit(request.caller, UPLOADING_API, 0, budget.key_store_deadline)
        if request.callback_url is not None:
            self._check_callback(admission.key.key_hash, request.callback_url, budget)
        # A file that is not there (or is another key's), or a URL that may not be fetched, is
        # refused now, not in the job.
        if request.source.upload_id is not None:
            self.uploads.check(admission.key, UploadRef(request.source.upload_id), budget.recognition_deadline)
        else:
            self.fetcher.check(request.source.url, budget.recognition_deadline)
        job = Job(
            job_id=new_job_id(),
            key_hash=admission.key.key_hash,
            source=request.source,
            options=request.options,
            created_at=datetime.fromtimestamp(self.clock(), UTC),
            pages_asked=request.pages,
            job_tag=request.job_tag,
            callback_url=request.callback_url,
        )
        stored = self.store.create(job, request.token, budget.key_store_deadline)
        new = stored.job_id == job.job_id
        if new or (stored.pages_total is None and stored.error is None):
            # Planning is done once however often it is asked for: a job whose first plan
            # message was never sent (the queue failed) is planned when its token comes again.
            self.queue.send([{"job_id": stored.job_id, "plan": True}], budget.key_store_deadline)
        return stored, new

    def create_webhook_secret(self, caller: str | None, budget: Budget) -> str:
        """A new webhook secret for the key, replacing the one before: shown once (only its
        sealed form is kept). Asking is held to the plan's rate."""
        admission = self.access.admit(caller, UPLOADING_API, 0, budget.key_store_deadline)
        secret = new_webhook_secret()
        sealed = self._cipher().seal(_webhook_context(admission.key.key_hash), secret)
        self._keys().put_webhook_secret(admission.key.key_hash, sealed, budget.key_store_deadline)
        return secret

    def describe(
        self, caller: str | None, job_id: str, after: int, limit: int, budget: Budget
    ) -> tuple[Job, list[JobPage], bool]:
        """The key's job, up to ``limit`` of its pages after page ``after`` in page order, and
        whether more follow; ``JobNotFound`` for any other key's."""
        job = self._own_job(caller, job_id, budget)
        outcomes, more = self.store.pages(job_id, after, limit, budget.key_store_deadline)
        pages = [
            JobPage(outcome["page"], result=self._result(outcome["result_key"], budget), error=outcome["error"])
            for outcome in outcomes
        ]
        return job, pages, more

    def text(self, caller: str | None, job_id: str, budget: Budget) -> tuple[Job, str]:
        """The text of every page read so far, in page order, a form feed between pages."""
        job = self._own_job(caller, job_id, budget)
        texts, after = [], 0
        while True:
            outcomes, more = self.store.pages(job_id, after, 1000, budget.key_store_deadline)
            for outcome in outcomes:
                if outcome["result_key"] is None:
                    continue
                text = outcome["text"]
                texts.append(text if text is not None else self._result(outcome["result_key"], budget)["text"])
            if not more or not outcomes:
                return job, "\f".join(texts)
            after = outcomes[-1]["page"]

    # The worker's side

    def plan(self, job_id: str, deadline: float) -> None:
        """Has the job's file, counts its pages and queues one message for each page asked for;
        a page asked for past the file's last is failed at once, saying so. A job whose file
        cannot be had or opened fails as a whole."""
        job = self.store.get(job_id, deadline)
        if job is None or job.pages_total is not None or job.error is not None:
            return  # expired, or planned already (this message came twice)
        try:
            data = self._source(job, deadline)
            pages_in_file = page_count(data) if sniff_format(data) == "PDF" else 1
        except ServiceError as err:
            logger.info("job failed before its pages", extra={"job_id": job_id, "error": type(err).__name__})
            self.store.fail(job_id, self.rendering.error(err), deadline)
            self._finish_if_done(job_id, deadline)
            return
        pages = job.pages_asked or tuple(range(1, pages_in_file + 1))
        if not self.store.plan(job_id, len(pages), deadline):
            return
        job = replace(job, pages_total=len(pages))
        for page in (page for page in pages if page > pages_in_file):
            missing = InvalidRequest(f"the file has {pages_in_file} page(s); page {page} does not exist")
            self.store.record_page(job, PageOutcome(page, error=self.rendering.error(missing)), deadline=deadline)
        readable = [page for page in pages if page <= pages_in_file]
        self.queue.send([{"job_id": job_id, "page": page} for page in readable], deadline)
        if not readable:
            self._finish_if_done(job_id, deadline)

    def read_page(self, job_id: str, page: int, attempt: int, deadline: float) -> None:
        """Reads one page, charges it (once, however often it is read) and records what it came
        to. A failure on our side with attempts left raises ``PageToRetry``; on the last attempt
        it is recorded and the call given back."""
        job = self.store.get(job_id, deadline)
        if job is None:
            return  # expired with its job
        if job.stopped_because:
            self._record(job, page, QuotaExceeded(job.stopped_because), deadline)
            return
        try:
            admission = self._charged(job, page, deadline)
        except (QuotaExceeded, AppKeyForbidden) as refused:
            self._record(job, page, refused, deadline, stops_because=refused.description)
            return
        try:
            result = self._read(job, page, deadline)
        except ServiceError as err:
            self._settle_failure(job, page, admission, err, attempt, deadline)
            return
        except Exception as err:
            logger.exception("job page failed", extra={"job_id": job_id, "page": page})
            self._settle_failure(job, page, admission, InternalError(), attempt, deadline, cause=err)
            return
        self._record_result(job, page, result, deadline)
        self.access.settle(admission, Outcome.OK)

    def give_up_page(self, job_id: str, page: int, deadline: float) -> None:
        """A page whose every attempt stopped the worker (its message went to the dead-letter
        queue): recorded as failed, its call given back."""
        job = self.store.get(job_id, deadline)
        if job is None:
            return
        stopped = InternalError("the page could not be read: each attempt stopped the worker")
        if self._record(job, page, stopped, deadline):
            period = self.store.charged_period(job_id, page, deadline)
            if period is not None:
                admission = self.access.job_page_admission(job.key_hash, period, deadline)
                self.access.settle(admission, Outcome.SERVER_ERROR, refund=True)

    def give_up_plan(self, job_id: str, deadline: float) -> None:
        job = self.store.get(job_id, deadline)
        if job is not None and job.pages_total is None:
            self.store.fail(job_id, self.rendering.error(InternalError("the file could not be looked at")), deadline)
            self._finish_if_done(job_id, deadline)

    def deliver_callback(self, job_id: str, attempt: int, deadline: float) -> None:
        """POSTs the finished job's state to its callback URL, signed; a failure is tried again
        later (the wait doubling) up to CALLBACK_ATTEMPTS times. Each attempt is logged and the
        job says how its callback went."""
        job = self.store.get(job_id, deadline)
        if job is None or job.callback_url is None:
            return
        body = json.dumps(callback_body(job), ensure_ascii=False).encode()
        try:
            secret = self._webhook_secret(job.key_hash, deadline)
            headers = {
                "Content-Type": "application/json",
                **signature_headers(secret, job.job_id, int(self.clock()), body),
            }
            status = self._callbacks().post(job.callback_url, body, headers, deadline)
            error = None if 200 <= status < 300 else f"the callback URL answered HTTP {status}"
        except ServiceError as err:
            error = err.description
        logger.info("callback attempt", extra={"job_id": job_id, "attempt": attempt, "error": error})
        if error is None:
            self.store.record_callback(job_id, "delivered", attempt, None, deadline)
        elif attempt < CALLBACK_ATTEMPTS:
            self.store.record_callback(job_id, "pending", attempt, error, deadline)
            wait = self.callback_retry_seconds * 2 ** (attempt - 1)
            self.queue.send([{"job_id": job_id, "callback": attempt + 1}], deadline, delay_seconds=wait)
        else:
            self.store.record_callback(job_id, "failed", attempt, error, deadline)

    def give_up_callback(self, job_id: str, attempt: int, deadline: float) -> None:
        """A callback message that stopped the worker every time it was received."""
        self.store.record_callback(job_id, "failed", attempt, "the callback could not be sent", deadline)

    def _finish_if_done(self, job_id: str, deadline: float) -> None:
        """Queues the job's callback once, when its last page is recorded (or it failed)."""
        job = self.store.get(job_id, deadline)
        if job is not None and job.finished and job.callback_url and self.store.claim_callback(job_id, deadline):
            self.queue.send([{"job_id": job_id, "callback": 1}], deadline)

    def _check_callback(self, key_hash: str, url: str, budget: Budget) -> None:
        self._callbacks().check(url, budget.recognition_deadline, https_only=True)
        if self._keys().get_webhook_secret(key_hash, budget.key_store_deadline) is None:
            raise InvalidRequest(
                "callbacks are signed with the key's webhook secret: create one with POST /v1/webhook-secret"
            )

    def _webhook_secret(self, key_hash: str, deadline: float) -> str:
        sealed = self._keys().get_webhook_secret(key_hash, deadline)
        if sealed is None:
            raise InvalidRequest("the key has no webhook secret any more")
        return self._cipher().open(_webhook_context(key_hash), sealed, deadline)

    def _callbacks(self) -> UrlFetcher:
        if self.callbacks is None:
            raise JobStoreUnavailable("callbacks are not set up here")
        return self.callbacks

    def _keys(self) -> AppKeyStore:
        if self.keys is None:
            raise JobStoreUnavailable("webhook secrets are not set up here")
        return self.keys

    def _cipher(self) -> SecretCipher:
        if self.cipher is None:
            raise JobStoreUnavailable("webhook secrets are not set up here (no KMS key)")
        return self.cipher

    # Helpers

    def _own_job(self, caller: str | None, job_id: str, budget: Budget) -> Job:
        admission = self.access.admit(caller, UPLOADING_API, 0, budget.key_store_deadline)
        job = self.store.get(job_id, budget.key_store_deadline)
        if job is None or job.key_hash != admission.key.key_hash:
            raise JobNotFound("no job of this key has this job_id")
        return job

    def _result(self, result_key: str | None, budget: Budget) -> dict | None:
        if result_key is None:
            return None
        return json.loads(self._files().read(result_key, self.max_file_bytes, budget.recognition_deadline).data)

    def _source(self, job: Job, deadline: float) -> bytes:
        """The job's file, the upload or the URL downloaded once, kept under the job for as long
        as the job: an upload is kept a day, and a job may outlive it."""
        if job.source.upload_id is not None:
            data = self.uploads.read_as(job.key_hash, UploadRef(job.source.upload_id), deadline)
        else:
            data = self.fetcher.fetch(job.source.url, deadline)
        self._files().put(_source_key(job), data, "application/octet-stream", deadline)
        return data

    def _file_of(self, job: Job, deadline: float) -> bytes:
        """The job's file, read once by a warm worker for all the pages of the job it reads."""
        name = _source_key(job)
        if self._file is None or self._file[0] != name:
            self._file = (name, self._files().read(name, self.max_file_bytes, deadline).data)
        return self._file[1]

    def _charged(self, job: Job, page: int, deadline: float) -> Admission:
        """The page charged to the job's key: now, or by an earlier attempt at it (the mark
        comes first, so that no crash between the two ever charges a page twice)."""
        period = self.access.period_now()
        if not self.store.claim_charge(job, page, period, deadline):
            earlier = self.store.charged_period(job.job_id, page, deadline) or period
            return self.access.job_page_admission(job.key_hash, earlier, deadline)
        try:
            return self.access.charge_job_page(job.key_hash, period, deadline)
        except ServiceError:
            self.store.release_charge(job, page, deadline)
            raise

    def _read(self, job: Job, page: int, deadline: float) -> RecognitionResult:
        data = self._file_of(job, deadline)
        options = _recognition_options(
            job.options, pdf_page=page if sniff_format(data) == "PDF" else None, max_image_bytes=self.max_file_bytes
        )
        [result] = self.recognizer.recognize_many([data], deadline, options)
        return result

    def _record_result(self, job: Job, page: int, result: RecognitionResult, deadline: float) -> None:
        rendered = self.rendering.result(result, f"page {page}", job.options)
        key = f"{_job_prefix(job)}/pages/{page:06d}.json"
        self._files().put(key, json.dumps(rendered, ensure_ascii=False).encode(), "application/json", deadline)
        self.store.record_page(job, PageOutcome(page, result_key=key, text=result.full_text), deadline=deadline)
        self._finish_if_done(job.job_id, deadline)

    def _record(
        self, job: Job, page: int, err: ServiceError, deadline: float, stops_because: str | None = None
    ) -> bool:
        outcome = PageOutcome(page, error=self.rendering.error(err))
        recorded = self.store.record_page(job, outcome, stops_because=stops_because, deadline=deadline)
        self._finish_if_done(job.job_id, deadline)
        return recorded

    def _settle_failure(
        self,
        job: Job,
        page: int,
        admission: Admission,
        err: ServiceError,
        attempt: int,
        deadline: float,
        cause: Exception | None = None,
    ) -> None:
        if err.refunded and attempt < self.page_attempts:
            raise PageToRetry(type(err).__name__) from (cause or err)
        self._record(job, page, err, deadline)
        self.access.settle(admission, outcome_of(err), refund=err.refunded)

    def _files(self) -> FilesBucket:
        if self.bucket is None:
            raise StorageUnavailable("jobs are not deployed here")
        return self.bucket


_RECOGNITION_OPTIONS = (
    "languages",
    "single_line",
    "correct_orientation",
    "slice_large_images",
    "engine",
    "find_tables",
)


def _recognition_options(options: dict, **more) -> RecognitionOptions:
    """A job's universal options (JSON) as the recognizer takes them."""
    return RecognitionOptions(**{name: options[name] for name in _RECOGNITION_OPTIONS if name in options}, **more)


def callback_body(job: Job) -> dict:
    """What a callback says: the job's state when it ended (its pages are GET /v1/ocr/jobs/{id}'s)."""
    return {
        "type": "job.finished",
        "job_id": job.job_id,
        "status": job.status.value,
        "job_tag": job.job_tag,
        "pages_total": job.pages_total,
        "pages_done": job.pages_done,
        "pages_failed": job.pages_failed,
        "stopped_because": job.stopped_because,
        "error": job.error,
    }


def _webhook_context(key_hash: str) -> str:
    # Sealed under its own context: a Tencent SecretKey's sealed bytes never open as one.
    return f"webhook#{key_hash}"


def _job_prefix(job: Job) -> str:
    return f"jobs/{job.key_hash}/{job.job_id}"


def _source_key(job: Job) -> str:
    return f"{_job_prefix(job)}/source"


def build_jobs(settings: Settings, service, rendering: JobRendering) -> Jobs:
    """Jobs over the deployment's table, queue and bucket, reading pages as ``service`` reads
    images (its recognizer, its key rules); a job's URL downloaded up to the upload maximum."""
    return Jobs(
        store=JobStore(settings.jobs_table, settings.dynamodb_endpoint_url),
        queue=JobQueue(settings.jobs_queue_url, settings.sqs_endpoint_url),
        bucket=service.uploads.bucket,
        uploads=service.uploads,
        access=service.access,
        fetcher=UrlFetcher(
            FetchLimits(max_bytes=settings.max_upload_bytes, total_timeout=settings.url_timeout_seconds),
            settings.allowed_networks,
        ),
        recognizer=service.recognizer,
        rendering=rendering,
        max_file_bytes=settings.max_upload_bytes,
        page_attempts=settings.job_page_attempts,
        callbacks=UrlFetcher(FetchLimits(max_bytes=0), settings.allowed_networks, noun="callback URL"),
        keys=service.access.store if isinstance(service.access.store, AppKeyStore) else None,
        cipher=service.access.cipher,
        callback_retry_seconds=settings.callback_retry_seconds,
    )
