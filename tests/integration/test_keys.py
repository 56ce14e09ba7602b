"""Appkeys: stored hashed, checked, cached, and rate-limited by their plan in DynamoDB."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

import boto3
import pytest

from ocr_api.adapters.dynamodb_keys import AppKeyStore
from ocr_api.errors import (
    AppKeyForbidden,
    AppKeyMissing,
    AppKeyUnknown,
    KeyStoreUnavailable,
    RateLimited,
)
from ocr_api.keys import AccessGuard, KeyStatus, hash_appkey
from ocr_local.environment import LOCAL_TABLE_NAME

API = "gugudata-v1"


class CountingStore:
    """The real store, counting reads, to see what the cache saves."""

    def __init__(self, store: AppKeyStore) -> None:
        self.store = store
        self.reads = 0

    def get(self, key_hash, deadline=None):
        self.reads += 1
        return self.store.get(key_hash, deadline)

    def __getattr__(self, name):
        return getattr(self.store, name)


def table_items() -> list[dict]:
    return boto3.client("dynamodb").scan(TableName=LOCAL_TABLE_NAME)["Items"]


def test_only_the_hash_of_a_key_is_stored(store, add_key):
    secret = add_key("plain-secret-value-1234567890")
    stored = repr(table_items())
    assert secret not in stored
    assert hash_appkey(secret) in stored


def test_active_key_is_admitted(store, add_key):
    admission = AccessGuard(store).admit(add_key("k-active-000000000000"), API)
    assert admission.key.name == "test key" and admission.key.status is KeyStatus.ACTIVE
    assert admission.plan.name == "standard" and admission.plan.requests_per_second == 100


@pytest.mark.parametrize("appkey", [None, ""])
def test_missing_key_is_401(store, appkey):
    with pytest.raises(AppKeyMissing):
        AccessGuard(store).admit(appkey, API)


def test_unknown_key_is_401(store):
    with pytest.raises(AppKeyUnknown):
        AccessGuard(store).admit("no-such-key-0000000000", API)


def test_disabled_key_is_403(store, add_key):
    secret = add_key("k-disabled-0000000000", status=KeyStatus.DISABLED)
    with pytest.raises(AppKeyForbidden, match="disabled"):
        AccessGuard(store).admit(secret, API)


def test_expired_key_is_403_and_a_future_expiry_is_fine(store, add_key):
    past = add_key("k-expired-00000000000", expires_at=datetime.now(UTC) - timedelta(seconds=1))
    future = add_key("k-future-000000000000", expires_at=datetime.now(UTC) + timedelta(days=1))
    with pytest.raises(AppKeyForbidden, match="expired"):
        AccessGuard(store).admit(past, API)
    AccessGuard(store).admit(future, API)


def test_key_limited_to_other_apis_is_403(store, add_key):
    secret = add_key("k-other-api-000000000", allowed_apis=frozenset({"tupu"}))
    with pytest.raises(AppKeyForbidden, match="not allowed"):
        AccessGuard(store).admit(secret, API)


def test_lookups_are_cached_for_the_configured_time(store, add_key):
    secret = add_key("k-cached-000000000000")
    now = [1000.0]
    counting = CountingStore(store)
    guard = AccessGuard(counting, cache_seconds=30, clock=lambda: now[0])
    guard.admit(secret, API)
    now[0] += 29
    guard.admit(secret, API)
    assert counting.reads == 1
    now[0] += 2
    guard.admit(secret, API)
    assert counting.reads == 2


def test_rate_limit_holds_per_second_and_resets_the_next(store, add_key, add_plan):
    secret = add_key("k-rate-00000000000000", plan=add_plan("three", requests_per_second=3))
    now = [5000.2]
    guard = AccessGuard(store, clock=lambda: now[0])
    for _ in range(3):
        guard.admit(secret, API)
    with pytest.raises(RateLimited, match="more than 3 requests per second"):
        guard.admit(secret, API)
    now[0] = 5001.0
    guard.admit(secret, API)


def test_a_burst_is_allowed_within_the_average_rate(store, add_key, add_plan):
    # GIVEN a plan of 2 requests a second on average, with bursts of 5
    secret = add_key("k-burst-0000000000000", plan=add_plan("bursty", requests_per_second=2, burst=5))
    now = [9000.0]
    guard = AccessGuard(store, clock=lambda: now[0])
    # WHEN a client sends as fast as it may, second after second of one ten-second window
    admitted = []
    for second in range(10):
        now[0] = 9000.0 + second
        passed = 0
        for _ in range(6):
            try:
                guard.admit(secret, API)
                passed += 1
            except RateLimited as refusal:
                assert "at most 5 requests in a second" in refusal.description
        admitted.append(passed)
    # THEN each second takes the burst until the window holds 2/s x 10 s, then nothing
    assert admitted == [5, 5, 5, 5, 0, 0, 0, 0, 0, 0]
    now[0] = 9010.0
    guard.admit(secret, API)


def test_rate_limit_is_exact_across_concurrent_instances(store, add_key, add_plan):
    # GIVEN many "instances" (separate guards, separate caches) sharing one table and one second
    secret = add_key("k-concurrent-00000000", plan=add_plan("seven", requests_per_second=7))
    admitted, refused = [], []
    lock = threading.Lock()
    # DynamoDB applies each conditional update to an item atomically; moto's in-process backend
    # does not, so its calls are serialised here as the service serialises them. A counter
    # without its condition would still admit all 18: the limit is the condition's doing.
    client, update = store._client, store._client.update_item
    dynamodb_item_lock = threading.Lock()

    def atomic_update(**request):
        with dynamodb_item_lock:
            return update(**request)

    client.update_item = atomic_update

    def instance():
        guard = AccessGuard(store, clock=lambda: 7000.5)
        for _ in range(3):
            try:
                guard.admit(secret, API)
                outcome = admitted
            except RateLimited:
                outcome = refused
            with lock:
                outcome.append(1)

    threads = [threading.Thread(target=instance) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    # THEN exactly the limit passed, every other request was refused, and the counter agrees
    assert (len(admitted), len(refused)) == (7, 11)
    [counter] = [item for item in table_items() if item["sk"]["S"] == "rate#7000"]
    assert counter["hits"]["N"] == "7" and counter["s0"]["N"] == "7"
    assert int(counter["expires_at"]["N"]) > 7000


def test_unreachable_table_is_503(monkeypatch):
    store = AppKeyStore(LOCAL_TABLE_NAME, endpoint_url="http://127.0.0.1:9")
    with pytest.raises(KeyStoreUnavailable, match="unavailable"):
        AccessGuard(store).admit("any-key-000000000000", API)


def test_missing_table_is_503(store):
    with pytest.raises(KeyStoreUnavailable):
        AccessGuard(AppKeyStore("no-such-table")).admit("any-key-000000000000", API)
