"""The DynamoDB adapter for jobs, in a table of their own.

Items:
- ``pk = job#<id>, sk = job``: the job (its key's hash, source, options, pages asked, counts);
- ``pk = job#<id>, sk = page#<NNNNNN>``: what one page came to (its result in the bucket, or its
  error); written once: the first outcome of a page counts, a retried one finds it there;
- ``pk = job#<id>, sk = charge#<NNNNNN>``: the page was charged to the key, and in which period
  (so that a page read again after a crash is not charged twice, and one given up is given back);
- ``pk = token#<key hash>#<token>, sk = token``: the job a key's ``client_request_token`` started.
Every item expires by TTL (``expires_at``) with its job. A page's outcome and its job's count
change in one transaction: a page is counted once however often it is read.
"""

from __future__ import annotations

import json
import logging
from datetime import datetime
from functools import cached_property

from botocore.exceptions import BotoCoreError, ClientError

from ocr_api.adapters.dynamodb_keys import (
    IN_REGION,
    AttemptTimeouts,
    call_in_attempts,
    store_failure,
    unavailable_on_error,
)
from ocr_api.errors import JobStoreUnavailable
from ocr_api.jobs.model import Job, JobSource, PageOutcome
from ocr_api.keys.plans import UsagePeriod

logger = logging.getLogger(__name__)

_JOB = "job"
_TOKEN = "token"


class JobStore:
    """Each method takes a ``deadline`` (a ``time.monotonic()`` instant; None: no limit)."""

    def __init__(self, table_name: str, endpoint_url: str | None = None, timeouts: AttemptTimeouts = IN_REGION):
        self.table_name = table_name
        self.timeouts = timeouts
        self._endpoint_url = endpoint_url

    @cached_property
    def _client(self):
        return self.timeouts.client("dynamodb", self._endpoint_url)

    def create(self, job: Job, token: str | None, deadline: float | None = None) -> Job:
        """Stores a new job; with a ``token`` the key used before, the job that token started."""
        item = _job_to_item(job)
        if token is None:
            with _unavailable("start the job"):
                self._call("put_item", deadline, TableName=self.table_name, Item=item)
            return job
        token_item = {
            **_key(f"token#{job.key_hash}#{token}", _TOKEN),
            "job_id": {"S": job.job_id},
            "expires_at": item["expires_at"],
        }
        started = self._write_once(
            "start the job",
            deadline,
            "transact_write_items",
            TransactItems=[
                {"Put": {"TableName": self.table_name, "Item": token_item, **_NEW}},
                {"Put": {"TableName": self.table_name, "Item": item, **_NEW}},
            ],
        )
        if started:
            return job
        with _unavailable("find the job of a client_request_token"):
            found = self._get(_key(f"token#{job.key_hash}#{token}", _TOKEN), deadline)
        earlier = self.get(found["job_id"]["S"], deadline) if found else None
        if earlier is None:
            raise JobStoreUnavailable("the job of this client_request_token is being started; try again")
        return earlier

    def get(self, job_id: str, deadline: float | None = None) -> Job | None:
        with _unavailable("read the job"):
            item = self._get(_key(f"job#{job_id}", _JOB), deadline)
        return _job_from_item(item) if item else None

    def plan(self, job_id: str, pages_total: int, deadline: float | None = None) -> bool:
        """Sets how many pages the job reads, once; False when it was set before."""
        return self._write_once(
            "plan the job",
            deadline,
            "update_item",
            TableName=self.table_name,
            Key=_key(f"job#{job_id}", _JOB),
            UpdateExpression="SET pages_total = :total",
            ConditionExpression="attribute_exists(pk) AND attribute_not_exists(pages_total)",
            ExpressionAttributeValues={":total": {"N": str(pages_total)}},
        )

    def fail(self, job_id: str, error: dict, deadline: float | None = None) -> None:
        """The job failed as a whole, before any page (its file could not be had or opened)."""
        with _unavailable("fail the job"):
            self._call(
                "update_item",
                deadline,
                TableName=self.table_name,
                Key=_key(f"job#{job_id}", _JOB),
                UpdateExpression="SET job_error = if_not_exists(job_error, :error)",
                ExpressionAttributeValues={":error": {"S": json.dumps(error)}},
            )

    def record_page(self, job: Job, outcome: PageOutcome, stops_because: str | None = None, deadline=None) -> bool:
        """Stores a page's outcome and counts it on its job, both or neither; False when the page
        had an outcome already (it is then not counted again). ``stops_because``: the job reads
        no further page, for this reason."""
        item = {
            **_key(f"job#{job.job_id}", _page_sort_key(outcome.page)),
            "page": {"N": str(outcome.page)},
            "expires_at": {"N": str(int(job.expires_at.timestamp()))},
        }
        if outcome.result_key is not None:
            item["result_key"] = {"S": outcome.result_key}
        if outcome.text is not None and len(outcome.text.encode()) <= _MAX_TEXT_BYTES:
            item["text"] = {"S": outcome.text}
        if outcome.error is not None:
            item["error"] = {"S": json.dumps(outcome.error)}
        counter = "pages_done" if outcome.error is None else "pages_failed"
        update = f"ADD {counter} :one"
        values = {":one": {"N": "1"}}
        if stops_because:
            update += " SET stopped_because = if_not_exists(stopped_because, :why)"
            values[":why"] = {"S": stops_because}
        return self._write_once(
            "record a page",
            deadline,
            "transact_write_items",
            TransactItems=[
                {"Put": {"TableName": self.table_name, "Item": item, **_NEW}},
                {
                    "Update": {
                        "TableName": self.table_name,
                        "Key": _key(f"job#{job.job_id}", _JOB),
                        "UpdateExpression": update,
                        "ExpressionAttributeValues": values,
                    }
                },
            ],
        )

    def claim_callback(self, job_id: str, deadline: float | None = None) -> bool:
        """Marks the job's callback due, once; False when it was already (another worker saw the
        job end too)."""
        return self._write_once(
            "claim the callback",
            deadline,
            "update_item",
            TableName=self.table_name,
            Key=_key(f"job#{job_id}", _JOB),
            UpdateExpression="SET callback_status = :due, callback_attempts = :none",
            ConditionExpression="attribute_exists(pk) AND attribute_not_exists(callback_status)",
            ExpressionAttributeValues={":due": {"S": "pending"}, ":none": {"N": "0"}},
        )

    def record_callback(
        self, job_id: str, status: str, attempts: int, last_error: str | None, deadline: float | None = None
    ) -> None:
        """How the job's callback went so far: pending (to be tried again), delivered or failed."""
        values = {":status": {"S": status}, ":attempts": {"N": str(attempts)}}
        update = "SET callback_status = :status, callback_attempts = :attempts"
        if last_error is not None:
            update += ", callback_error = :error"
            values[":error"] = {"S": last_error}
        with _unavailable("record the callback"):
            self._call(
                "update_item",
                deadline,
                TableName=self.table_name,
                Key=_key(f"job#{job_id}", _JOB),
                UpdateExpression=update,
                ExpressionAttributeValues=values,
            )

    def claim_charge(self, job: Job, page: int, period: UsagePeriod, deadline: float | None = None) -> bool:
        """Marks the page charged in ``period``; False when an earlier attempt charged it."""
        item = {
            **_key(f"job#{job.job_id}", f"charge#{page:06d}"),
            "month": {"S": period.month},
            "day": {"S": period.day},
            "expires_at": {"N": str(int(job.expires_at.timestamp()))},
        }
        return self._write_once("charge a page", deadline, "put_item", TableName=self.table_name, Item=item, **_NEW)

    def release_charge(self, job: Job, page: int, deadline: float | None = None) -> None:
        """The charge marked for the page did not happen (the quota was used up)."""
        with _unavailable("release a page's charge"):
            self._call(
                "delete_item", deadline, TableName=self.table_name, Key=_key(f"job#{job.job_id}", f"charge#{page:06d}")
            )

    def charged_period(self, job_id: str, page: int, deadline: float | None = None) -> UsagePeriod | None:
        """The period the page was charged in, if it was."""
        with _unavailable("read a page's charge"):
            item = self._get(_key(f"job#{job_id}", f"charge#{page:06d}"), deadline)
        return UsagePeriod(month=item["month"]["S"], day=item["day"]["S"]) if item else None

    def pages(self, job_id: str, after: int, limit: int, deadline: float | None = None) -> tuple[list[dict], bool]:
        """Up to ``limit`` page outcomes after page ``after``, in page order, as stored (page,
        result_key or error); and whether more follow."""
        with _unavailable("read the job's pages"):
            answer = self._call(
                "query",
                deadline,
                TableName=self.table_name,
                KeyConditionExpression="pk = :job AND sk BETWEEN :first AND :last",
                ExpressionAttributeValues={
                    ":job": {"S": f"job#{job_id}"},
                    ":first": {"S": _page_sort_key(after + 1)},
                    ":last": {"S": _page_sort_key(999_999)},
                },
                Limit=limit,
                ConsistentRead=True,
            )
        outcomes = [
            {
                "page": int(item["page"]["N"]),
                "result_key": item.get("result_key", {}).get("S"),
                "text": item.get("text", {}).get("S"),
                "error": json.loads(item["error"]["S"]) if "error" in item else None,
            }
            for item in answer["Items"]
        ]
        return outcomes, "LastEvaluatedKey" in answer

    def _write_once(self, action: str, deadline: float | None, operation: str, **parameters) -> bool:
        """A conditional write (or transaction); False when its condition failed (written before)."""
        try:
            self._call(operation, deadline, **parameters)
            return True
        except ClientError as err:
            if _condition_failed(err):
                return False
            raise store_failure(action, err, "job store", JobStoreUnavailable) from err
        except BotoCoreError as err:
            raise store_failure(action, err, "job store", JobStoreUnavailable) from err

    def _get(self, key: dict, deadline: float | None) -> dict | None:
        return self._call("get_item", deadline, TableName=self.table_name, Key=key, ConsistentRead=True).get("Item")

    def _call(self, operation: str, deadline: float | None, **parameters) -> dict:
        if not self.timeouts.fit(deadline):
            raise JobStoreUnavailable("no time is left to reach the job store")
        return call_in_attempts(self._client, self.timeouts, operation, deadline, **parameters)


_NEW = {"ConditionExpression": "attribute_not_exists(pk)"}
# A page's text is kept in its item up to this (an item holds 400 KB); a longer one is read from
# its result in the bucket.
_MAX_TEXT_BYTES = 300_000


def _key(pk: str, sk: str) -> dict:
    return {"pk": {"S": pk}, "sk": {"S": sk}}


def _page_sort_key(page: int) -> str:
    # Zero-padded: the table's order is page order (1, 2, ..., 10, not 1, 10, 100, 2).
    return f"page#{page:06d}"


def _job_to_item(job: Job) -> dict:
    item = {
        **_key(f"job#{job.job_id}", _JOB),
        "key_hash": {"S": job.key_hash},
        "source": {"S": json.dumps({"upload_id": job.source.upload_id, "url": job.source.url})},
        "options": {"S": json.dumps(job.options)},
        "created_at": {"S": job.created_at.isoformat()},
        "expires_at": {"N": str(int(job.expires_at.timestamp()))},
        "pages_done": {"N": "0"},
        "pages_failed": {"N": "0"},
    }
    if job.pages_asked is not None:
        item["pages_asked"] = {"S": json.dumps(list(job.pages_asked))}
    for name in ("job_tag", "callback_url"):
        if getattr(job, name) is not None:
            item[name] = {"S": getattr(job, name)}
    return item


def _job_from_item(item: dict) -> Job:
    text = {name: value["S"] for name, value in item.items() if "S" in value}
    numbers = {name: int(value["N"]) for name, value in item.items() if "N" in value}
    source = json.loads(text["source"])
    return Job(
        job_id=text["pk"].removeprefix("job#"),
        key_hash=text["key_hash"],
        source=JobSource(upload_id=source["upload_id"], url=source["url"]),
        options=json.loads(text["options"]),
        created_at=datetime.fromisoformat(text["created_at"]),
        pages_asked=tuple(json.loads(text["pages_asked"])) if "pages_asked" in text else None,
        job_tag=text.get("job_tag"),
        callback_url=text.get("callback_url"),
        pages_total=numbers.get("pages_total"),
        pages_done=numbers.get("pages_done", 0),
        pages_failed=numbers.get("pages_failed", 0),
        stopped_because=text.get("stopped_because"),
        error=json.loads(text["job_error"]) if "job_error" in text else None,
        callback=(
            {
                "status": text["callback_status"],
                "attempts": numbers.get("callback_attempts", 0),
                "last_error": text.get("callback_error"),
            }
            if "callback_status" in text
            else {}
        ),
    )


def _condition_failed(err: ClientError) -> bool:
    """A write refused because its item exists (alone, or within a transaction)."""
    code = err.response["Error"]["Code"]
    return code == "ConditionalCheckFailedException" or (
        code == "TransactionCanceledException"
        and any(
            reason.get("Code") == "ConditionalCheckFailed" for reason in err.response.get("CancellationReasons", [])
        )
    )


def _unavailable(action: str):
    return unavailable_on_error(action, "job store", JobStoreUnavailable)
