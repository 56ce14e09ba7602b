"""The DynamoDB adapter for appkeys, plans and the counters that enforce them.

Items share one table:
- ``pk = appkey#<sha256>, sk = key``: a key's record;
- ``pk = appkey#<sha256>, sk = rate#<window start>``: requests admitted in a ten-second window
  (``hits``) and in each of its seconds (``s0``..``s9``), expiring by TTL a minute later;
- ``pk = appkey#<sha256>, sk = usage#<YYYY-MM>``: calls charged that month (``calls``) and each
  day (``calls_DD``), a call being one image or PDF page read; the requests that charged them
  (``requests``, ``requests_DD``); the pages jobs read, of those calls (``job_pages``,
  ``job_pages_DD``); and requests and job pages by outcome each day (``ok_DD``, ...);
- ``pk = appkey#<sha256>, sk = usage#total``: calls in the key's life, kept for trial plans;
- ``pk = plan#<name>, sk = plan``: a plan;
- ``pk = secret#<SecretId>, sk = credential``: a SecretId/SecretKey pair of a key, its SecretKey
  sealed by the ``SecretCipher`` (never in plain text);
- ``pk = appkey#<sha256>, sk = webhook``: the key's webhook secret, which signs its jobs'
  callbacks, sealed the same way under the context ``webhook#<sha256>``.
Every limit is one conditional update of one item, so it holds across concurrent instances; a
trial call, counted on its lifetime item and its month's, is one transaction of two updates.
Each call to DynamoDB keeps to the request's deadline, and botocore errors become domain errors
here and nowhere else.
"""

from __future__ import annotations

import logging
import random
import time
import uuid
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from functools import cached_property

import botocore.session
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError, HTTPClientError
from botocore.exceptions import ConnectionError as ConnectionFailed

from ocr_api.errors import KeyStoreUnavailable
from ocr_api.keys.credentials import SigningCredential
from ocr_api.keys.model import AppKey, KeyStatus, utc_now
from ocr_api.keys.plans import RATE_WINDOW_SECONDS, Plan, UsagePeriod
from ocr_api.keys.usage import CallCounts, Outcome

logger = logging.getLogger(__name__)

_KEY_RECORD = "key"
_PLAN_RECORD = "plan"
_CREDENTIAL_RECORD = "credential"
_WEBHOOK_RECORD = "webhook"
_LIFETIME = "usage#total"
_COUNTER_LIFETIME_SECONDS = 60
# Attempts are made here, not by botocore, so that none starts without time to end.
_MAX_ATTEMPTS = 3
_BACKOFF_SECONDS = 0.05  # doubled each attempt, with full jitter, as DynamoDB recommends
# Writes that add to counters: not idempotent, so repeated only when they surely did not land.
_COUNTING_OPERATIONS = frozenset({"update_item"})
# DynamoDB's throttling and its own transient faults: worth another attempt after a pause.
_TRANSIENT_ERRORS = frozenset(
    {
        "ProvisionedThroughputExceededException",
        "ThrottlingException",
        "RequestLimitExceeded",
        "InternalServerError",
        "ServiceUnavailable",
        "TransactionInProgressException",
    }
)


class KeyNotFound(LookupError):
    pass


@dataclass(frozen=True)
class AttemptTimeouts:
    """How long one attempt at a DynamoDB (or KMS) call may wait to connect, then for the answer."""

    connect_seconds: float
    read_seconds: float

    @property
    def longest(self) -> float:
        return self.connect_seconds + self.read_seconds

    def fit(self, deadline: float | None, after: float = 0.0) -> bool:
        """Whether an attempt started ``after`` seconds from now ends, whatever the service
        does, by ``deadline`` (a ``time.monotonic()`` instant; None: no limit)."""
        return deadline is None or time.monotonic() + after + self.longest <= deadline

    def client(self, service: str, endpoint_url: str | None, **options):
        """A botocore client making one attempt per call, within these timeouts: whether another
        attempt fits the request's deadline is its caller's to decide. botocore directly: boto3
        would add its import time to every cold start for nothing. ``options`` are more of
        botocore's ``Config``."""
        config = Config(
            connect_timeout=self.connect_seconds,
            read_timeout=self.read_seconds,
            retries={"mode": "standard", "total_max_attempts": 1},
            **options,
        )
        return botocore.session.get_session().create_client(service, endpoint_url=endpoint_url, config=config)


# The function's: fail fast, a request waiting on a slow table is worse than a clear 503.
# DynamoDB in the same region answers in milliseconds; an attempt must fit in the second a
# request keeps back for answering, where a failed call is settled (its quota given back).
IN_REGION = AttemptTimeouts(connect_seconds=0.25, read_seconds=0.5)
# An operator's command line, perhaps across the world from the table.
REMOTE = AttemptTimeouts(connect_seconds=3.0, read_seconds=10.0)


class AppKeyStore:
    """Every method that serves a request takes its ``deadline``: a ``time.monotonic()``
    instant by which the call must have ended (None: no limit beyond the attempts)."""

    def __init__(
        self,
        table_name: str,
        endpoint_url: str | None = None,
        timeouts: AttemptTimeouts = IN_REGION,
    ) -> None:
        self.table_name = table_name
        self.timeouts = timeouts
        self._endpoint_url = endpoint_url

    @cached_property
    def _client(self):
        # Created on first use, once per container, inside whatever AWS context is active.
        return self.timeouts.client("dynamodb", self._endpoint_url)

    def get(self, key_hash: str, deadline: float | None = None) -> AppKey | None:
        with unavailable_on_error("read the appkey"):
            reply = self._call(
                "get_item",
                deadline,
                TableName=self.table_name,
                Key=_item_key(key_hash, _KEY_RECORD),
                ConsistentRead=True,
            )
        item = reply.get("Item")
        return _from_item(item) if item else None

    def put(self, key: AppKey) -> None:
        self._put_new(_to_item(key), "store the appkey")

    def keys(self) -> Iterator[AppKey]:
        yield from (_from_item(item) for item in self._scan_records(_KEY_RECORD))

    def find(self, key_id: str) -> AppKey:
        """The one key whose hash starts with ``key_id`` (at least 8 characters)."""
        if len(key_id) < 8:
            raise KeyNotFound("give at least 8 characters of the key id")
        matches = [key for key in self.keys() if key.key_hash.startswith(key_id.lower())]
        if len(matches) != 1:
            raise KeyNotFound(f"{len(matches)} keys match {key_id!r}; exactly one must")
        return matches[0]

    def set_status(self, key_hash: str, status: KeyStatus) -> None:
        self._set_status(_item_key(key_hash, _KEY_RECORD), status, "update the appkey")

    def delete(self, key_hash: str) -> None:
        with unavailable_on_error("delete the appkey"):
            self._call("delete_item", None, TableName=self.table_name, Key=_item_key(key_hash, _KEY_RECORD))

    def set_plan(self, key_hash: str, plan: str, gateway_key_id: str | None) -> None:
        with unavailable_on_error("update the appkey"):
            self._call(
                "update_item",
                None,
                TableName=self.table_name,
                Key=_item_key(key_hash, _KEY_RECORD),
                UpdateExpression="SET #plan = :plan"
                + (", gateway_key_id = :gateway" if gateway_key_id else " REMOVE gateway_key_id"),
                ConditionExpression="attribute_exists(pk)",
                ExpressionAttributeNames={"#plan": "plan"},
                ExpressionAttributeValues={
                    ":plan": {"S": plan},
                    **({":gateway": {"S": gateway_key_id}} if gateway_key_id else {}),
                },
            )

    # Signing credentials.

    def get_credential(self, secret_id: str, deadline: float | None = None) -> SigningCredential | None:
        with unavailable_on_error("read the credential"):
            reply = self._call(
                "get_item", deadline, TableName=self.table_name, Key=_credential_key(secret_id), ConsistentRead=True
            )
        item = reply.get("Item")
        return _credential_from_item(item) if item else None

    def put_webhook_secret(self, key_hash: str, sealed: bytes, deadline: float | None = None) -> None:
        """The key's webhook secret, sealed; it replaces the one before."""
        with unavailable_on_error("store the webhook secret"):
            self._call(
                "update_item",
                deadline,
                TableName=self.table_name,
                Key=_item_key(key_hash, _WEBHOOK_RECORD),
                UpdateExpression="SET sealed_secret = :sealed, created_at = :now",
                ExpressionAttributeValues={":sealed": {"B": sealed}, ":now": {"S": utc_now().isoformat()}},
            )

    def get_webhook_secret(self, key_hash: str, deadline: float | None = None) -> bytes | None:
        """The key's webhook secret, sealed; None when it has none."""
        with unavailable_on_error("read the webhook secret"):
            reply = self._call(
                "get_item",
                deadline,
                TableName=self.table_name,
                Key=_item_key(key_hash, _WEBHOOK_RECORD),
                ConsistentRead=True,
            )
        item = reply.get("Item")
        return bytes(item["sealed_secret"]["B"]) if item else None

    def put_credential(self, credential: SigningCredential) -> None:
        self._put_new(_credential_to_item(credential), "store the credential")

    def credentials(self) -> Iterator[SigningCredential]:
        yield from (_credential_from_item(item) for item in self._scan_records(_CREDENTIAL_RECORD))

    def set_credential_status(self, secret_id: str, status: KeyStatus) -> None:
        self._set_status(_credential_key(secret_id), status, "update the credential")

    def delete_credential(self, secret_id: str) -> None:
        with unavailable_on_error("delete the credential"):
            self._call("delete_item", None, TableName=self.table_name, Key=_credential_key(secret_id))

    # Plans.

    def get_plan(self, name: str, deadline: float | None = None) -> Plan | None:
        with unavailable_on_error("read the plan"):
            reply = self._call(
                "get_item", deadline, TableName=self.table_name, Key=_plan_key(name), ConsistentRead=True
            )
        item = reply.get("Item")
        return _plan_from_item(item) if item else None

    def put_plan(self, plan: Plan, replace: bool = False) -> None:
        with unavailable_on_error("store the plan"):
            self._call(
                "put_item",
                None,
                TableName=self.table_name,
                Item=_plan_to_item(plan),
                **({} if replace else {"ConditionExpression": "attribute_not_exists(pk)"}),
            )

    def plans(self) -> Iterator[Plan]:
        yield from (_plan_from_item(item) for item in self._scan_records(_PLAN_RECORD))

    def delete_plan(self, name: str) -> None:
        with unavailable_on_error("delete the plan"):
            self._call("delete_item", None, TableName=self.table_name, Key=_plan_key(name))

    # Counting.

    def admit_request(self, key_hash: str, epoch_second: int, plan: Plan, deadline: float | None = None) -> bool:
        """Counts one request against the plan's rate, unless its second or window is full."""
        window = epoch_second - epoch_second % RATE_WINDOW_SECONDS
        return self._add_within(
            key_hash,
            f"rate#{window}",
            {"hits": plan.calls_per_window, f"s{epoch_second - window}": plan.calls_per_second},
            deadline,
            expires_at=window + _COUNTER_LIFETIME_SECONDS,
        )

    def charge(
        self,
        key_hash: str,
        plan: Plan,
        period: UsagePeriod,
        deadline: float | None = None,
        calls: int = 1,
        job_page: bool = False,
    ) -> bool:
        """Counts one request of ``calls`` calls against the plan's quota (or, ``job_page``, one
        page a job read, counted apart too); False, counting nothing, when they do not all fit
        in what is left."""
        if any(
            quota is not None and calls > quota for quota in (plan.daily_quota, plan.monthly_quota, plan.trial_calls)
        ):
            return False
        month = _counting(
            key_hash,
            f"usage#{period.month}",
            _charged(period, calls, job_page),
            limits={"calls": plan.monthly_quota, f"calls_{period.day}": plan.daily_quota},
        )
        if plan.trial_calls is None:
            return self._add(month, deadline)
        # A trial call is counted on the key's lifetime and on its month: both, or neither.
        return self._add_together(
            [
                _counting(key_hash, _LIFETIME, {"calls": calls}, limits={"calls": plan.trial_calls}),
                month,
            ],
            deadline,
        )

    def record(
        self,
        key_hash: str,
        plan: Plan,
        period: UsagePeriod,
        outcome: Outcome,
        refund: bool = False,
        deadline: float | None = None,
        calls: int = 1,
        kept_calls: int = 0,
        job_page: bool = False,
    ) -> None:
        """Counts a request's (or a job page's) outcome for its day; ``refund`` gives back the
        ``calls`` that ``charge`` counted for it, less ``kept_calls`` (the request stays counted
        with them)."""
        changes = {f"{outcome.value}_{period.day}": 1}
        given_back = calls - kept_calls
        refund = refund and given_back > 0
        if refund:
            changes.update(
                {
                    name: -count
                    for name, count in _charged(period, given_back, job_page).items()
                    if not (kept_calls and name.startswith("requests"))
                }
            )
        month = _counting(key_hash, f"usage#{period.month}", changes)
        if refund and plan.trial_calls is not None:
            self._add_together([month, _counting(key_hash, _LIFETIME, {"calls": -given_back})], deadline)
        else:
            self._add(month, deadline)

    def usage(
        self, key_hash: str, period: UsagePeriod, lifetime: bool, deadline: float | None = None
    ) -> tuple[CallCounts, CallCounts, int | None]:
        """Calls that day, that month, and (``lifetime``, for trial plans) in the key's life."""
        month = self._counters(key_hash, f"usage#{period.month}", deadline)
        today = CallCounts(
            calls=month.get(f"calls_{period.day}", 0),
            requests=month.get(f"requests_{period.day}", 0),
            outcomes={o.value: month.get(f"{o.value}_{period.day}", 0) for o in Outcome},
            job_pages=month.get(f"job_pages_{period.day}", 0),
        )
        in_month = CallCounts(
            calls=month.get("calls", 0),
            requests=month.get("requests", 0),
            outcomes={
                o.value: sum(n for name, n in month.items() if name.rsplit("_", 1)[0] == o.value) for o in Outcome
            },
            job_pages=month.get("job_pages", 0),
        )
        in_life = self._counters(key_hash, _LIFETIME, deadline).get("calls", 0) if lifetime else None
        return today, in_month, in_life

    def _counters(self, key_hash: str, sort_key: str, deadline: float | None) -> dict[str, int]:
        with unavailable_on_error("read the usage"):
            item = self._call(
                "get_item",
                deadline,
                TableName=self.table_name,
                Key=_item_key(key_hash, sort_key),
                ConsistentRead=True,
            ).get("Item", {})
        return {name: int(value["N"]) for name, value in item.items() if "N" in value}

    def _add_within(
        self,
        key_hash: str,
        sort_key: str,
        limits: Mapping[str, int | None],
        deadline: float | None,
        expires_at: int | None = None,
    ) -> bool:
        """Adds one to each counter if each is still under its limit (None: no limit)."""
        update = _counting(key_hash, sort_key, dict.fromkeys(limits, 1), limits, expires_at)
        return self._add(update, deadline)

    def _add(self, update: dict, deadline: float | None) -> bool:
        """Applies one counting update; False, changing nothing, when a counter is at its limit."""
        try:
            self._call("update_item", deadline, TableName=self.table_name, **update)
        except ClientError as err:
            if err.response["Error"]["Code"] == "ConditionalCheckFailedException":
                return False
            raise store_failure("count the request", err) from err
        except BotoCoreError as err:
            raise store_failure("count the request", err) from err
        return True

    def _add_together(self, updates: list[dict], deadline: float | None) -> bool:
        """Applies counting updates to several items as one: all of them, or none (False when a
        counter is at its limit)."""
        try:
            self._call(
                "transact_write_items",
                deadline,
                TransactItems=[{"Update": {"TableName": self.table_name, **update}} for update in updates],
                # Attempts carry one token, so a retry of a transaction that did land is not
                # applied twice.
                ClientRequestToken=str(uuid.uuid4()),
            )
        except ClientError as err:
            if _limit_reached(err):
                return False
            raise store_failure("count the request", err) from err
        except BotoCoreError as err:
            raise store_failure("count the request", err) from err
        return True

    def _call(self, operation: str, deadline: float | None, **parameters) -> dict:
        if not self.timeouts.fit(deadline):
            logger.warning("appkey store not called: no time left", extra={"operation": operation})
            raise KeyStoreUnavailable("no time is left to reach the appkey store")
        return call_in_attempts(self._client, self.timeouts, operation, deadline, **parameters)

    def _put_new(self, item: dict, action: str) -> None:
        """Stores an item that must not exist yet (keys and credentials are never overwritten)."""
        with unavailable_on_error(action):
            self._call(
                "put_item",
                None,
                TableName=self.table_name,
                Item=item,
                ConditionExpression="attribute_not_exists(pk)",
            )

    def _set_status(self, item_key: dict, status: KeyStatus, action: str) -> None:
        with unavailable_on_error(action):
            self._call(
                "update_item",
                None,
                TableName=self.table_name,
                Key=item_key,
                UpdateExpression="SET #status = :status",
                ConditionExpression="attribute_exists(pk)",
                ExpressionAttributeNames={"#status": "status"},
                ExpressionAttributeValues={":status": {"S": status.value}},
            )

    def _scan_records(self, record: str) -> Iterator[dict]:
        parameters = {
            "TableName": self.table_name,
            "FilterExpression": "sk = :record",
            "ExpressionAttributeValues": {":record": {"S": record}},
        }
        while True:
            with unavailable_on_error("list the table"):
                page = self._call("scan", None, **parameters)
            yield from page["Items"]
            if "LastEvaluatedKey" not in page:
                return
            parameters["ExclusiveStartKey"] = page["LastEvaluatedKey"]


def call_in_attempts(client, timeouts: AttemptTimeouts, operation: str, deadline: float | None, **parameters) -> dict:
    """One DynamoDB call, tried again after throttling or a transient fault while time allows.

    A further attempt starts only if it can end before ``deadline``, whatever DynamoDB does: the
    request must still answer before the Lambda's own deadline. (Whether the first fits is the
    caller's to decide, with its own error.)
    """
    attempt = 1
    while True:
        try:
            return getattr(client, operation)(**parameters)
        except (ClientError, BotoCoreError) as err:
            pause = random.uniform(0, _BACKOFF_SECONDS * 2 ** (attempt - 1))
            if attempt == _MAX_ATTEMPTS or not _transient(err, operation) or not timeouts.fit(deadline, after=pause):
                raise
        time.sleep(pause)
        attempt += 1


def _charged(period: UsagePeriod, calls: int, job_page: bool = False) -> dict[str, int]:
    """What charging one request of ``calls`` calls (or a job's page) adds to its month's counters."""
    if job_page:
        return {"calls": calls, f"calls_{period.day}": calls, "job_pages": calls, f"job_pages_{period.day}": calls}
    return {"calls": calls, f"calls_{period.day}": calls, "requests": 1, f"requests_{period.day}": 1}


def _counting(
    key_hash: str,
    sort_key: str,
    changes: Mapping[str, int],
    limits: Mapping[str, int | None] | None = None,
    expires_at: int | None = None,
) -> dict:
    """An update adding each change to its counter, on condition that each counter in
    ``limits`` stays within its limit once the change is added (None: no limit). A change
    larger than its limit is the caller's to refuse: absent counters always pass."""
    names = {f"#c{i}": counter for i, counter in enumerate(changes)}
    values = {f":v{i}": {"N": str(change)} for i, change in enumerate(changes.values())}
    conditions = []
    for i, (counter, change) in enumerate(changes.items()):
        limit = (limits or {}).get(counter)
        if limit is not None:
            values[f":most{i}"] = {"N": str(limit - change)}
            conditions.append(f"(attribute_not_exists(#c{i}) OR #c{i} <= :most{i})")
    update = "ADD " + ", ".join(f"#c{i} :v{i}" for i in range(len(changes)))
    if expires_at is not None:
        update += " SET expires_at = if_not_exists(expires_at, :ttl)"
        values[":ttl"] = {"N": str(expires_at)}
    return {
        "Key": _item_key(key_hash, sort_key),
        "UpdateExpression": update,
        "ExpressionAttributeNames": names,
        "ExpressionAttributeValues": values,
        **({"ConditionExpression": " AND ".join(conditions)} if conditions else {}),
    }


def _limit_reached(err: ClientError) -> bool:
    """A transaction cancelled because one of its counters is at its limit."""
    return err.response["Error"]["Code"] == "TransactionCanceledException" and any(
        reason.get("Code") == "ConditionalCheckFailed" for reason in err.response.get("CancellationReasons", [])
    )


def _transient(err: ClientError | BotoCoreError, operation: str) -> bool:
    """Whether another attempt may succeed and cannot count anything twice."""
    if isinstance(err, ClientError):
        code = err.response["Error"]["Code"]
        status = err.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0)
        # A transaction cancelled by a conflicting write or by throttling, not by a limit.
        cancelled = code == "TransactionCanceledException" and not _limit_reached(err)
        return code in _TRANSIENT_ERRORS or cancelled or status >= 500
    if isinstance(err, ConnectionFailed):
        return True  # never connected: nothing was sent
    # Sent, but no answer came (timed out, or the connection dropped): a counting update may
    # have been applied, and a second attempt would count it twice. Reads and transactions
    # (which carry a token) are safe to repeat.
    return isinstance(err, HTTPClientError) and operation not in _COUNTING_OPERATIONS


@contextmanager
def unavailable_on_error(action: str, store: str = "appkey store", error=KeyStoreUnavailable) -> Iterator[None]:
    """botocore's errors inside as ``error`` (a 503), logged with their code and ``action``."""
    try:
        yield
    except (ClientError, BotoCoreError) as err:
        raise store_failure(action, err, store, error) from err


def store_failure(action: str, err: Exception, store: str = "appkey store", error=KeyStoreUnavailable):
    code = err.response["Error"]["Code"] if isinstance(err, ClientError) else type(err).__name__
    logger.error(f"{store} failed", extra={"action": action, "error_code": code})
    return error(f"the {store} is unavailable; try again shortly")


def _item_key(key_hash: str, sort_key: str) -> dict:
    return {"pk": {"S": f"appkey#{key_hash}"}, "sk": {"S": sort_key}}


def _credential_key(secret_id: str) -> dict:
    return {"pk": {"S": f"secret#{secret_id}"}, "sk": {"S": _CREDENTIAL_RECORD}}


def _credential_to_item(credential: SigningCredential) -> dict:
    return {
        **_credential_key(credential.secret_id),
        "key_hash": {"S": credential.key_hash},
        "sealed_secret": {"B": credential.sealed_secret},
        "status": {"S": credential.status.value},
        "created_at": {"S": credential.created_at.isoformat()},
    }


def _credential_from_item(item: dict) -> SigningCredential:
    return SigningCredential(
        secret_id=item["pk"]["S"].removeprefix("secret#"),
        key_hash=item["key_hash"]["S"],
        sealed_secret=bytes(item["sealed_secret"]["B"]),
        status=KeyStatus(item["status"]["S"]),
        created_at=datetime.fromisoformat(item["created_at"]["S"]),
    )


def _plan_key(name: str) -> dict:
    return {"pk": {"S": f"plan#{name}"}, "sk": {"S": _PLAN_RECORD}}


_PLAN_NUMBERS = ("requests_per_second", "burst", "daily_quota", "monthly_quota", "trial_calls")


def _plan_to_item(plan: Plan) -> dict:
    item = {**_plan_key(plan.name), "name": {"S": plan.name}, "from_template": {"BOOL": plan.from_template}}
    for name in _PLAN_NUMBERS:
        if getattr(plan, name) is not None:
            item[name] = {"N": str(getattr(plan, name))}
    if plan.usage_plan_id:
        item["usage_plan_id"] = {"S": plan.usage_plan_id}
    return item


def _plan_from_item(item: dict) -> Plan:
    return Plan(
        name=item["name"]["S"],
        usage_plan_id=item.get("usage_plan_id", {}).get("S"),
        from_template=item.get("from_template", {}).get("BOOL", False),
        **{name: int(item[name]["N"]) for name in _PLAN_NUMBERS if name in item},
    )


def _to_item(key: AppKey) -> dict:
    item = {
        **_item_key(key.key_hash, _KEY_RECORD),
        "name": {"S": key.name},
        "status": {"S": key.status.value},
        "plan": {"S": key.plan},
        "created_at": {"S": key.created_at.isoformat()},
    }
    if key.expires_at is not None:
        item["expires_at_iso"] = {"S": key.expires_at.isoformat()}
    if key.allowed_apis:
        item["allowed_apis"] = {"SS": sorted(key.allowed_apis)}
    if key.gateway_key_id:
        item["gateway_key_id"] = {"S": key.gateway_key_id}
    return item


def _from_item(item: dict) -> AppKey:
    expires = item.get("expires_at_iso", {}).get("S")
    return AppKey(
        key_hash=item["pk"]["S"].removeprefix("appkey#"),
        name=item["name"]["S"],
        status=KeyStatus(item["status"]["S"]),
        created_at=datetime.fromisoformat(item["created_at"]["S"]),
        # Keys issued before plans existed belong to the default plan.
        **({"plan": item["plan"]["S"]} if "plan" in item else {}),
        expires_at=datetime.fromisoformat(expires) if expires else None,
        allowed_apis=frozenset(item.get("allowed_apis", {}).get("SS", [])),
        gateway_key_id=item.get("gateway_key_id", {}).get("S"),
    )
