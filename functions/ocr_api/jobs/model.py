"""What a job is: the pages asked for, how they are read, and what is known of each so far.

A job reads the pages of one source (an upload, or a URL downloaded once) as one queue message
each. Its status follows from its counts: in progress until every page is done or failed; then
SUCCEEDED (none failed), FAILED (none done) or PARTIAL_SUCCESS.
"""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import Enum

from ocr_api.errors import InvalidRequest

# How long a job and its results are kept (DynamoDB's TTL and the bucket's lifecycle remove them).
JOB_RETENTION = timedelta(days=7)
_JOB_ID = re.compile(r"job_[0-9a-f]{32}")
_PAGE_RANGE = re.compile(r"\s*(\d{1,6})\s*(?:-\s*(\d{1,6})\s*)?")
# Longest client_request_token and job_tag kept (Textract's own bounds).
MAX_TOKEN_LENGTH = 64
MAX_TAG_LENGTH = 64


class JobStatus(str, Enum):
    IN_PROGRESS = "IN_PROGRESS"
    SUCCEEDED = "SUCCEEDED"
    PARTIAL_SUCCESS = "PARTIAL_SUCCESS"
    FAILED = "FAILED"


def new_job_id() -> str:
    return "job_" + secrets.token_hex(16)


def check_job_id(job_id: str) -> str:
    if not _JOB_ID.fullmatch(job_id):
        raise InvalidRequest("job_id is not a job id (job_ and 32 hexadecimal digits)")
    return job_id


def parse_pages(text: str | None, max_pages: int) -> tuple[int, ...] | None:
    """``1-20,25`` as the page numbers it names, in order, each once; None (every page) when
    not given. ``InvalidRequest`` for anything else, or more than ``max_pages`` pages."""
    if text is None or not text.strip():
        return None
    pages: set[int] = set()
    for part in text.split(","):
        match = _PAGE_RANGE.fullmatch(part)
        if not match:
            raise InvalidRequest(f"pages must look like 1-20,25, not {text[:40]!r}")
        first, last = int(match[1]), int(match[2] or match[1])
        if first < 1 or last < first:
            raise InvalidRequest(f"pages: {part.strip()!r} is not a range of pages from 1")
        if last - first + 1 + len(pages) > max_pages:
            raise InvalidRequest(f"pages names more than {max_pages} pages, the most a job reads")
        pages.update(range(first, last + 1))
    return tuple(sorted(pages))


@dataclass(frozen=True)
class JobSource:
    """Where the job's file is: the key's upload, or the URL it was downloaded from (kept in
    the bucket under the job once downloaded)."""

    upload_id: str | None = None
    url: str | None = None


@dataclass(frozen=True)
class Job:
    job_id: str
    key_hash: str
    source: JobSource
    # The universal endpoint's recognition options, as their JSON (engine, languages, ...).
    options: dict
    created_at: datetime
    # The pages asked for; None: every page, decided once the file is looked at.
    pages_asked: tuple[int, ...] | None = None
    job_tag: str | None = None
    callback_url: str | None = None
    # Known once the file is looked at: how many pages the job reads.
    pages_total: int | None = None
    pages_done: int = 0
    pages_failed: int = 0
    # Why the job stopped reading before its last page (the quota ran out), if it did.
    stopped_because: str | None = None
    # The job's own failure before any page was read (the file could not be had or opened).
    error: dict | None = None
    # How its callback went: {"status": pending|delivered|failed, "attempts", "last_error"}.
    callback: dict = field(default_factory=dict)

    @property
    def status(self) -> JobStatus:
        if self.error is not None:
            return JobStatus.FAILED
        if self.pages_total is None or self.pages_done + self.pages_failed < self.pages_total:
            return JobStatus.IN_PROGRESS
        if self.pages_failed == 0:
            return JobStatus.SUCCEEDED
        return JobStatus.FAILED if self.pages_done == 0 else JobStatus.PARTIAL_SUCCESS

    @property
    def expires_at(self) -> datetime:
        return self.created_at + JOB_RETENTION

    @property
    def finished(self) -> bool:
        return self.status is not JobStatus.IN_PROGRESS


@dataclass(frozen=True)
class PageOutcome:
    """What one page of a job came to: its result (the universal endpoint's result JSON, kept in
    the bucket at ``result_key``), or its error in the synchronous API's words
    (``{"code": 413, "error": "image_too_large", "message": ...}``)."""

    page: int
    result_key: str | None = None
    error: dict | None = None
    # The result's text, kept beside it for the job's text download.
    text: str | None = None
