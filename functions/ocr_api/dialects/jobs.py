"""Jobs, in the shape of Textract's StartDocumentTextDetection / GetDocumentTextDetection:

- ``POST /v1/ocr/jobs``: a source (``upload_id`` or ``url``), ``pages`` (``1-20,25``; default
  every page), the universal endpoint's reading options, and optionally ``client_request_token``,
  ``job_tag`` and ``callback_url`` -> 202 with the ``job_id`` and a ``Location``;
- ``GET /v1/ocr/jobs/{job_id}``: its status, its page counts, and its pages' results in page
  order (``max_results``, ``next_token``), each failed page with its error;
- ``GET /v1/ocr/jobs/{job_id}/text``: the text of every page read, as one plain-text download;
- ``POST /v1/webhook-secret``: a new secret (shown once) that signs the key's jobs' callbacks.

Authenticated by the key in ``x-api-key``; only the key that started a job can see it. Errors
are written as the universal endpoint writes them.
"""

from __future__ import annotations

import base64
import binascii
import re

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.router import APIGatewayRouter

from ocr_api.dialects.endpoints import Dialect, Endpoint
from ocr_api.dialects.fields import header_values, one_key, read_request, refuse_unknown_fields
from ocr_api.dialects.responses import json_response, request_id
from ocr_api.dialects.universal import READING_FIELDS, error_body, read_options, render_error, result_json
from ocr_api.errors import InvalidRequest, JobStoreUnavailable, ServiceError
from ocr_api.jobs.model import MAX_TAG_LENGTH, MAX_TOKEN_LENGTH, Job, JobSource, check_job_id, parse_pages
from ocr_api.ocr import RecognitionResult
from ocr_api.service.budget import Budget
from ocr_api.service.jobs import JobPage, JobRequest, Jobs
from ocr_api.service.ocr_service import OcrService
from ocr_api.service.uploads import UploadRef

API_NAME = "jobs"
PATH = "/v1/ocr/jobs"
WEBHOOK_SECRET_PATH = "/v1/webhook-secret"
JOB_PATH = "/v1/ocr/jobs/{job_id}"
TEXT_PATH = "/v1/ocr/jobs/{job_id}/text"
_SOURCES = ("upload_id", "url")
_FIELDS = {*_SOURCES, *READING_FIELDS, "pages", "client_request_token", "job_tag", "callback_url"}
_TOKEN = re.compile(rf"[A-Za-z0-9_.-]{{1,{MAX_TOKEN_LENGTH}}}")
DEFAULT_MAX_RESULTS, MOST_RESULTS = 10, 100
# How long a client polling a job in progress is asked to wait.
RETRY_AFTER_SECONDS = 5


class JobRendering:
    """A job page written as the universal endpoint writes an image's result, or its error."""

    def result(self, result: RecognitionResult, name: str, options: dict) -> dict:
        return result_json(
            result,
            name,
            options.get("need_location", True),
            options.get("return_markdown", False),
            options.get("find_tables", False),
        )

    def error(self, err: ServiceError) -> dict:
        return error_body(err)


def routes(service: OcrService) -> APIGatewayRouter:
    router = APIGatewayRouter()
    settings = service.settings

    def jobs() -> Jobs:
        if service.jobs is None:
            raise JobStoreUnavailable("jobs are not deployed here")
        return service.jobs

    @router.post(PATH)
    def start() -> Response:
        event = router.current_event
        job, _ = jobs().start(read(event, settings.max_job_pages), _budget(router, settings))
        location = f"{PATH}/{job.job_id}"
        body = {"code": 0, "message": "success", "request_id": request_id(event), **_summary(job)}
        response = json_response(202, body)
        response.headers["Location"] = location
        return response

    @router.post(WEBHOOK_SECRET_PATH)
    def create_webhook_secret() -> Response:
        event = router.current_event
        key = _key_only(event, set())
        secret = jobs().create_webhook_secret(key, _budget(router, settings))
        return json_response(
            201, {"code": 0, "message": "success", "request_id": request_id(event), "webhook_secret": secret}
        )

    @router.get("/v1/ocr/jobs/<job_id>")
    def describe(job_id: str) -> Response:
        event = router.current_event
        key = _key_only(event, {"max_results", "next_token"})
        limit = _max_results(event)
        after = _after(event)
        job, pages, more = jobs().describe(key, check_job_id(job_id), after, limit, _budget(router, settings))
        body = {
            "code": 0,
            "message": "success",
            "request_id": request_id(event),
            **_summary(job),
            "pages": [_page_json(page) for page in pages],
            "next_token": _token_after(pages[-1].page) if more and pages else None,
        }
        response = json_response(200, body)
        if not job.finished:
            response.headers["Retry-After"] = str(RETRY_AFTER_SECONDS)
        return response

    @router.get("/v1/ocr/jobs/<job_id>/text")
    def text(job_id: str) -> Response:
        event = router.current_event
        key = _key_only(event, set())
        job, text = jobs().text(key, check_job_id(job_id), _budget(router, settings))
        response = Response(200, "text/plain; charset=utf-8", text)
        response.headers["X-Job-Status"] = job.status.value
        if not job.finished:
            response.headers["Retry-After"] = str(RETRY_AFTER_SECONDS)
        return response

    return router


def read(event, max_pages: int) -> JobRequest:
    request = read_request(event)
    if request.image_body is not None:
        raise InvalidRequest("send the job as JSON or form fields; upload the file with POST /v1/uploads")
    if request.query:
        raise InvalidRequest("this endpoint takes no query parameters; send the key as x-api-key")
    refuse_unknown_fields(request, set(), _FIELDS, f"; this API reads {', '.join(sorted(_FIELDS))}")
    given = [name for name in _SOURCES if request.fields_named(name)]
    if len(given) != 1:
        raise InvalidRequest("send one source: upload_id or url")
    value = (request.single_text(given[0]) or "").strip()
    source = JobSource(upload_id=UploadRef(value).upload_id) if given == ["upload_id"] else JobSource(url=value)
    token = request.single_text("client_request_token")
    if token is not None and not _TOKEN.fullmatch(token):
        raise InvalidRequest(f"client_request_token is 1 to {MAX_TOKEN_LENGTH} letters, digits, '_', '-' or '.'")
    tag = request.single_text("job_tag")
    if tag is not None and not 1 <= len(tag) <= MAX_TAG_LENGTH:
        raise InvalidRequest(f"job_tag is 1 to {MAX_TAG_LENGTH} characters")
    return JobRequest(
        caller=one_key(header_values(event, "x-api-key"), "the appkey"),
        source=source,
        options=read_options(request).as_json(),
        pages=parse_pages(request.single_text("pages"), max_pages),
        token=token,
        job_tag=tag,
        callback_url=request.single_text("callback_url"),
    )


def _summary(job: Job) -> dict:
    # A callback not tried yet is pending: the job can be seen finished a moment before its
    # callback is queued (the last page's worker queues it after recording the page).
    waiting = {"status": "pending", "attempts": 0, "last_error": None}
    callback = {"url": job.callback_url, **waiting, **job.callback} if job.callback_url else None
    return {
        "job_id": job.job_id,
        "status": job.status.value,
        "job_tag": job.job_tag,
        "created_at": job.created_at.isoformat(timespec="seconds"),
        "expires_at": job.expires_at.isoformat(timespec="seconds"),
        "pages_total": job.pages_total,
        "pages_done": job.pages_done,
        "pages_failed": job.pages_failed,
        "stopped_because": job.stopped_because,
        "error": job.error,
        "callback": callback,
    }


def _page_json(page: JobPage) -> dict:
    if page.error is not None:
        return {"page": page.page, "status": "FAILED", "error": page.error}
    return {"page": page.page, "status": "SUCCEEDED", "result": page.result}


def _key_only(event, query_names: set[str]) -> str | None:
    request = read_request(event)
    refuse_unknown_fields(request, query_names, set(), noun="parameter")
    return one_key(header_values(event, "x-api-key"), "the appkey")


def _max_results(event) -> int:
    values = (event.multi_value_query_string_parameters or {}).get("max_results", [])
    if not values:
        return DEFAULT_MAX_RESULTS
    if len(values) > 1 or not values[0].isdigit() or not 1 <= int(values[0]) <= MOST_RESULTS:
        raise InvalidRequest(f"max_results is a number from 1 to {MOST_RESULTS}")
    return int(values[0])


def _after(event) -> int:
    """The last page an earlier answer gave, from its next_token (0: from the first page)."""
    values = (event.multi_value_query_string_parameters or {}).get("next_token", [])
    if not values:
        return 0
    try:
        page = int(base64.urlsafe_b64decode(values[-1].encode()).decode().removeprefix("after:"))
    except (binascii.Error, ValueError, UnicodeDecodeError):
        raise InvalidRequest("next_token is not one this API gave") from None
    if len(values) > 1 or page < 1:
        raise InvalidRequest("next_token is not one this API gave")
    return page


def _token_after(page: int) -> str:
    return base64.urlsafe_b64encode(f"after:{page}".encode()).decode()


def _budget(router, settings) -> Budget:
    return Budget.for_request(router.lambda_context, settings)


DIALECT = Dialect(
    routes,
    {
        ("POST", PATH): Endpoint(API_NAME, render_error),
        ("GET", JOB_PATH): Endpoint(API_NAME, render_error),
        ("GET", TEXT_PATH): Endpoint(API_NAME, render_error),
        ("POST", WEBHOOK_SECRET_PATH): Endpoint(API_NAME, render_error),
    },
)
