"""A request signed with a SecretId/SecretKey pair is its appkey's request: admitted, limited and
counted as the key is, or refused with the reason, cheapest check first. Keys in memory, SecretKeys
sealed by a stand-in cipher bound to their SecretId; the requests are signed by Tencent's SDK."""

from __future__ import annotations

from dataclasses import replace

import pytest

from fakes import BoundCipher, InMemoryKeys
from ocr_api.errors import (
    AppKeyForbidden,
    AuthorizationMalformed,
    KeyStoreUnavailable,
    QuotaExceeded,
    SecretIdUnknown,
    SignatureExpired,
    SignatureMismatch,
)
from ocr_api.keys import AccessGuard, AppKey, KeyStatus, Plan
from ocr_api.keys.access import CIPHER_BACKOFF_SECONDS, SECRET_CACHE_SECONDS
from ocr_api.keys.credentials import issue, new_secret_id, new_secret_key
from ocr_api.keys.signature import SignedRequest
from tencent_sdk import signed, signing_at

APPKEY = "k-signed-callers-000000001"
ONE_CALL = Plan("one-call", trial_calls=1)
NOW = 1_780_000_000.0


class Clock:
    def __init__(self) -> None:
        self.now = NOW

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def cipher():
    return BoundCipher()


@pytest.fixture
def issued(cipher):
    key = AppKey.for_secret(APPKEY, "signer", plan=ONE_CALL.name)
    credential, secret_key = issue(key.key_hash, cipher)
    return key, credential, secret_key


@pytest.fixture
def pair(issued):
    _, credential, secret_key = issued
    return credential.secret_id, secret_key


@pytest.fixture
def keys(issued):
    key, credential, _ = issued
    return InMemoryKeys([key], [ONE_CALL], [credential])


@pytest.fixture
def clock():
    return Clock()


@pytest.fixture
def guard(keys, cipher, clock):
    return AccessGuard(keys, cache_seconds=30, clock=clock, cipher=cipher)


def request_signed(secret_id: str, secret_key: str, at: float = NOW) -> SignedRequest:
    with signing_at(at):
        headers, body = signed({"ImageBase64": "aGVsbG8="}, secret_id, secret_key)
    return SignedRequest.received("POST", headers, body)


def test_a_signed_request_is_its_appkeys_and_counts_on_its_quota(guard, pair):
    admission = guard.admit(request_signed(*pair), "tencent")
    assert admission.key.name == "signer" and admission.charged
    # The pair's key has one call in all: the key given directly has none left either.
    with pytest.raises(QuotaExceeded):
        guard.admit(APPKEY, "tencent")


def test_a_wrong_secret_key_is_a_signature_failure(guard, pair):
    with pytest.raises(SignatureMismatch):
        guard.admit(request_signed(pair[0], new_secret_key()), "tencent")


def test_an_unknown_disabled_or_deleted_pair_is_not_found(keys, cipher, clock, pair):
    guard = AccessGuard(keys, cache_seconds=0, clock=clock, cipher=cipher)
    with pytest.raises(SecretIdUnknown):
        guard.admit(request_signed(new_secret_id(), pair[1]), "tencent")
    keys.credentials[pair[0]] = replace(keys.credentials[pair[0]], status=KeyStatus.DISABLED)
    with pytest.raises(SecretIdUnknown, match="disabled"):
        guard.admit(request_signed(*pair), "tencent")
    del keys.credentials[pair[0]]
    with pytest.raises(SecretIdUnknown):
        guard.admit(request_signed(*pair), "tencent")


def test_a_disabled_appkey_refuses_its_pairs_too(keys, pair, guard):
    [key] = keys.keys.values()
    keys.keys[key.key_hash] = replace(key, status=KeyStatus.DISABLED)
    with pytest.raises(AppKeyForbidden):
        guard.admit(request_signed(*pair), "tencent")


def test_an_old_signature_is_refused_before_the_store_or_the_cipher_is_asked(guard, keys, cipher, clock, pair):
    clock.now = NOW + 600
    with pytest.raises(SignatureExpired):
        guard.admit(request_signed(*pair), "tencent")
    assert keys.deadlines_seen == [] and cipher.opened == 0


def test_a_malformed_authorization_is_refused_before_the_store_is_asked(guard, keys, pair):
    request = request_signed(*pair)
    broken = SignedRequest("POST", {**request.headers, "authorization": "TC3-HMAC-SHA256 nonsense"}, request.body)
    with pytest.raises(AuthorizationMalformed):
        guard.admit(broken, "tencent")
    assert keys.deadlines_seen == []


def test_the_secret_key_is_opened_once_per_cache_period(guard, keys, cipher, clock, pair):
    keys.plans[ONE_CALL.name] = Plan(ONE_CALL.name)  # no quota: many calls
    for _ in range(3):
        guard.admit(request_signed(*pair, at=clock.now), "tencent")
    assert cipher.opened == 1
    clock.now += SECRET_CACHE_SECONDS + 1
    guard.admit(request_signed(*pair, at=clock.now), "tencent")
    assert cipher.opened == 2


def test_without_a_cipher_signed_requests_are_refused_plainly(keys, clock, pair):
    guard = AccessGuard(keys, clock=clock)
    with pytest.raises(AuthorizationMalformed, match="not set up"):
        guard.admit(request_signed(*pair), "tencent")


@pytest.mark.parametrize(
    "secret_id",
    ["AKID" + "a" * 3000, "AKID", "not-a-secret-id" + "0" * 21, "AKID" + "0" * 31 + "!"],
    ids=["3000-characters", "prefix-only", "other-form", "other-character"],
)
def test_a_secret_id_not_of_the_issued_form_is_unknown_without_asking_the_store(guard, keys, cipher, pair, secret_id):
    # Real DynamoDB refuses a key over 2048 bytes with a ValidationException (a 503 and an ERROR).
    with pytest.raises(SecretIdUnknown):
        guard.admit(request_signed(secret_id, pair[1]), "tencent")
    assert keys.deadlines_seen == [] and cipher.opened == 0


def test_a_flood_of_unknown_secret_ids_does_not_push_the_pairs_in_use_out_of_the_cache(guard, keys, pair):
    keys.plans[ONE_CALL.name] = Plan(ONE_CALL.name)  # no quota: many calls
    guard.admit(request_signed(*pair), "tencent")
    for _ in range(1100):
        with pytest.raises(SecretIdUnknown):
            guard.admit(request_signed(new_secret_id(), pair[1]), "tencent")
    asked = len(keys.deadlines_seen)
    guard.admit(request_signed(*pair), "tencent")
    # The pair and its key came from the cache.
    assert len(keys.deadlines_seen) == asked


class FailingCipher(BoundCipher):
    """KMS out of reach until ``healthy``."""

    def __init__(self) -> None:
        super().__init__()
        self.healthy = False

    def open(self, secret_id: str, sealed: bytes, deadline: float | None = None) -> str:
        if not self.healthy:
            self.opened += 1
            raise KeyStoreUnavailable("the credential store is unavailable; try again shortly")
        return super().open(secret_id, sealed, deadline)


def test_with_the_cipher_failing_a_pair_costs_one_opening_per_backoff_period(keys, clock, issued):
    cipher = FailingCipher()
    _, credential, _ = issued
    guard = AccessGuard(keys, cache_seconds=30, clock=clock, cipher=cipher)
    keys.credentials[credential.secret_id] = replace(
        credential, sealed_secret=cipher.seal(credential.secret_id, "the-right-key-00000000000000000")
    )
    # Forged signatures for a known pair, each of which needs the SecretKey to be judged.
    for _ in range(20):
        with pytest.raises(KeyStoreUnavailable):
            guard.admit(request_signed(credential.secret_id, new_secret_key(), at=clock.now), "tencent")
    assert cipher.opened == 1
    clock.now += CIPHER_BACKOFF_SECONDS + 1
    cipher.healthy = True
    admission = guard.admit(
        request_signed(credential.secret_id, "the-right-key-00000000000000000", at=clock.now), "tencent"
    )
    assert admission.charged and cipher.opened == 2
