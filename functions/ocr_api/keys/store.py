"""The DynamoDB adapter for appkeys and their per-second request counters.

Items share one table, keyed by the appkey's hash:
- ``pk = appkey#<sha256>, sk = key``: the key's record;
- ``pk = appkey#<sha256>, sk = rate#<epoch second>``: how many requests that second admitted,
  expiring by TTL a minute later.
botocore errors become domain errors here and nowhere else.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timezone
from functools import cached_property

import botocore.session
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

from ocr_api.errors import KeyStoreUnavailable
from ocr_api.keys.model import AppKey, KeyStatus

logger = logging.getLogger(__name__)

_KEY_RECORD = "key"
_COUNTER_LIFETIME_SECONDS = 60
# Fail fast: a request waiting on a slow table is worse than a clear 503.
_CLIENT_CONFIG = Config(
    connect_timeout=2, read_timeout=3, retries={"mode": "standard", "max_attempts": 3}
)


class KeyNotFound(LookupError):
    pass


class AppKeyStore:
    def __init__(
        self,
        table_name: str,
        endpoint_url: str | None = None,
    ) -> None:
        self.table_name = table_name
        self._endpoint_url = endpoint_url

    @cached_property
    def _client(self):
        # Created on first use, once per container, inside whatever AWS context is active.
        # botocore directly: boto3 would add its import time to every cold start for nothing.
        return botocore.session.get_session().create_client(
            "dynamodb", endpoint_url=self._endpoint_url, config=_CLIENT_CONFIG
        )

    def get(self, key_hash: str) -> AppKey | None:
        with _unavailable_on_error("read the appkey"):
            reply = self._client.get_item(
                TableName=self.table_name,
                Key=_item_key(key_hash, _KEY_RECORD),
                ConsistentRead=True,
            )
        item = reply.get("Item")
        return _from_item(item) if item else None

    def put(self, key: AppKey) -> None:
        with _unavailable_on_error("store the appkey"):
            self._client.put_item(
                TableName=self.table_name,
                Item=_to_item(key),
                ConditionExpression="attribute_not_exists(pk)",
            )

    def keys(self) -> Iterator[AppKey]:
        with _unavailable_on_error("list the appkeys"):
            pages = self._client.get_paginator("scan").paginate(
                TableName=self.table_name,
                FilterExpression="sk = :record",
                ExpressionAttributeValues={":record": {"S": _KEY_RECORD}},
            )
            for page in pages:
                yield from (_from_item(item) for item in page["Items"])

    def find(self, key_id: str) -> AppKey:
        """The one key whose hash starts with ``key_id`` (at least 8 characters)."""
        if len(key_id) < 8:
            raise KeyNotFound("give at least 8 characters of the key id")
        matches = [key for key in self.keys() if key.key_hash.startswith(key_id.lower())]
        if len(matches) != 1:
            raise KeyNotFound(f"{len(matches)} keys match {key_id!r}; exactly one must")
        return matches[0]

    def set_status(self, key_hash: str, status: KeyStatus) -> None:
        with _unavailable_on_error("update the appkey"):
            self._client.update_item(
                TableName=self.table_name,
                Key=_item_key(key_hash, _KEY_RECORD),
                UpdateExpression="SET #status = :status",
                ConditionExpression="attribute_exists(pk)",
                ExpressionAttributeNames={"#status": "status"},
                ExpressionAttributeValues={":status": {"S": status.value}},
            )

    def delete(self, key_hash: str) -> None:
        with _unavailable_on_error("delete the appkey"):
            self._client.delete_item(
                TableName=self.table_name, Key=_item_key(key_hash, _KEY_RECORD)
            )

    def use_quota(self, key_hash: str, quota: int) -> bool:
        """Counts one request against the key's total quota, atomically, unless it is used up."""
        return self._count_within(key_hash, "usage#total", "calls", quota)

    def admit_request(self, key_hash: str, epoch_second: int, limit: int) -> bool:
        """Counts one request in this second, atomically, unless ``limit`` are already counted.

        The conditional update is what keeps the limit across concurrent Lambda instances.
        """
        return self._count_within(
            key_hash, f"rate#{epoch_second}", "hits", limit,
            expires_at=epoch_second + _COUNTER_LIFETIME_SECONDS,
        )

    def _count_within(
        self, key_hash: str, sort_key: str, counter: str, limit: int, expires_at: int | None = None
    ) -> bool:
        """Adds one to ``counter`` if it is still under ``limit``; False when it is not."""
        update = f"ADD {counter} :one"
        values = {":one": {"N": "1"}, ":limit": {"N": str(limit)}}
        if expires_at is not None:
            update += " SET expires_at = if_not_exists(expires_at, :ttl)"
            values[":ttl"] = {"N": str(expires_at)}
        try:
            self._client.update_item(
                TableName=self.table_name,
                Key=_item_key(key_hash, sort_key),
                UpdateExpression=update,
                ConditionExpression=f"attribute_not_exists({counter}) OR {counter} < :limit",
                ExpressionAttributeValues=values,
            )
        except ClientError as err:
            if err.response["Error"]["Code"] == "ConditionalCheckFailedException":
                return False
            raise _unavailable("count the request", err) from err
        except BotoCoreError as err:
            raise _unavailable("count the request", err) from err
        return True

@contextmanager
def _unavailable_on_error(action: str) -> Iterator[None]:
    try:
        yield
    except (ClientError, BotoCoreError) as err:
        raise _unavailable(action, err) from err


def _unavailable(action: str, err: Exception) -> KeyStoreUnavailable:
    code = err.response["Error"]["Code"] if isinstance(err, ClientError) else type(err).__name__
    logger.error("appkey store failed", extra={"action": action, "error_code": code})
    return KeyStoreUnavailable("the appkey store is unavailable; try again shortly")


def _item_key(key_hash: str, sort_key: str) -> dict:
    return {"pk": {"S": f"appkey#{key_hash}"}, "sk": {"S": sort_key}}


def _to_item(key: AppKey) -> dict:
    item = {
        **_item_key(key.key_hash, _KEY_RECORD),
        "name": {"S": key.name},
        "status": {"S": key.status.value},
        "requests_per_second": {"N": str(key.requests_per_second)},
        "created_at": {"S": key.created_at.isoformat()},
    }
    if key.expires_at is not None:
        item["expires_at_iso"] = {"S": key.expires_at.isoformat()}
    if key.allowed_apis:
        item["allowed_apis"] = {"SS": sorted(key.allowed_apis)}
    if key.request_quota is not None:
        item["request_quota"] = {"N": str(key.request_quota)}
    return item


def _from_item(item: dict) -> AppKey:
    expires = item.get("expires_at_iso", {}).get("S")
    return AppKey(
        key_hash=item["pk"]["S"].removeprefix("appkey#"),
        name=item["name"]["S"],
        status=KeyStatus(item["status"]["S"]),
        requests_per_second=int(item["requests_per_second"]["N"]),
        created_at=datetime.fromisoformat(item["created_at"]["S"]),
        expires_at=datetime.fromisoformat(expires) if expires else None,
        allowed_apis=frozenset(item.get("allowed_apis", {}).get("SS", [])),
        request_quota=int(item["request_quota"]["N"]) if "request_quota" in item else None,
    )


def utc_now() -> datetime:
    return datetime.now(timezone.utc)
