"""Deciding whether a request's appkey may call an API right now, and counting what it did."""

from __future__ import annotations

import logging
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Generic, TypeVar

from ocr_api.errors import (
    AppKeyForbidden,
    AppKeyMissing,
    AppKeyUnknown,
    AuthorizationMalformed,
    KeyStoreUnavailable,
    QuotaExceeded,
    RateLimited,
    SecretIdUnknown,
    ServiceError,
)
from ocr_api.keys.credentials import SecretCipher, SigningCredential, is_secret_id
from ocr_api.keys.model import AppKey, KeyStatus, hash_appkey, utc_now
from ocr_api.keys.plans import Plan, UsagePeriod
from ocr_api.keys.repository import KeyRepository
from ocr_api.keys.signature import SignedRequest
from ocr_api.keys.usage import Outcome, UsageReport

logger = logging.getLogger(__name__)

_CACHE_MAX_ENTRIES = 1024
# How long an opened SecretKey is kept in a warm instance: each opening is a call to the cipher
# (KMS), and a credential disabled or deleted is still seen within the key cache's seconds.
SECRET_CACHE_SECONDS = 300.0
# After the cipher failed to open a SecretKey, requests signed with it are answered with that
# failure for this long without asking the cipher again: an outage costs one call per pair per
# period, however many requests (good or forged) name the pair.
CIPHER_BACKOFF_SECONDS = 5.0
T = TypeVar("T")

# Who a request says it is: an appkey (None when it gave none), or a signed request.
Caller = str | SignedRequest | None


@dataclass(frozen=True)
class Admission:
    """A request that passed its key's checks, with the ``calls`` it was charged (one per image
    or PDF page it reads; 0 for a request that uses no quota)."""

    key: AppKey
    plan: Plan
    period: UsagePeriod
    calls: int
    # When the request's calls to the store must have ended (a time.monotonic() instant).
    deadline: float | None = None
    # A page a job read, not a request.
    job_page: bool = False

    @property
    def charged(self) -> bool:
        return self.calls > 0


class AccessGuard:
    """Checks a key and its plan (cached per warm container), then counts it in DynamoDB."""

    def __init__(
        self,
        store: KeyRepository,
        cache_seconds: float = 30.0,
        clock: Callable[[], float] = time.time,
        utc_offset: timedelta = timedelta(0),
        cipher: SecretCipher | None = None,
    ) -> None:
        self.store = store
        self.clock = clock
        self.utc_offset = utc_offset
        # Opens the SecretKeys of signed requests; None where signing is not set up.
        self.cipher = cipher
        self._keys: _TimedCache[AppKey] = _TimedCache(cache_seconds, clock)
        self._plans: _TimedCache[Plan] = _TimedCache(cache_seconds, clock)
        self._credentials: _TimedCache[SigningCredential] = _TimedCache(cache_seconds, clock)
        self._secrets: _TimedCache[str] = _TimedCache(SECRET_CACHE_SECONDS, clock)
        self._cipher_failures: _TimedCache[ServiceError] = _TimedCache(CIPHER_BACKOFF_SECONDS, clock)

    def admit(self, caller: Caller, api: str | None, calls: int = 1, deadline: float | None = None) -> Admission:
        """Raises the refusal, or counts the request against the rate and its ``calls`` against
        the quota: the rate counts requests, the quota the images (or PDF pages) they read.

        ``deadline`` bounds every call to the store for this request, settling included.
        """
        key = self.check(caller, api, deadline)
        plan = self._plan(key, deadline)
        now = self.clock()
        period = UsagePeriod.at(now, self.utc_offset)
        if not self.store.admit_request(key.key_hash, int(now), plan, deadline):
            self.store.record(key.key_hash, plan, period, Outcome.RATE_LIMITED, deadline=deadline)
            raise RateLimited(_rate_description(plan))
        if calls:
            self._charge(key, plan, period, deadline, calls)
        return Admission(key, plan, period, calls=calls, deadline=deadline)

    def period_now(self) -> UsagePeriod:
        return UsagePeriod.at(self.clock(), self.utc_offset)

    def charge_job_page(self, key_hash: str, period: UsagePeriod, deadline: float | None = None) -> Admission:
        """Charges one page a job of the key reads, when it is read: one call of the quota in
        ``period``, counted apart as a job page; the rate was the request's that started the
        job. Raises the refusal when the key no longer may (disabled, expired) or its quota is
        used up."""
        admission = self.job_page_admission(key_hash, period, deadline)
        key, plan = admission.key, admission.plan
        if not self.store.charge(key.key_hash, plan, period, deadline, calls=1, job_page=True):
            self.store.record(key.key_hash, plan, period, Outcome.QUOTA_EXCEEDED, deadline=deadline, job_page=True)
            raise QuotaExceeded(_quota_description(plan, 1))
        return admission

    def job_page_admission(self, key_hash: str, period: UsagePeriod, deadline: float | None = None) -> Admission:
        """A job page of the key charged in ``period`` (now, or by an earlier attempt), to settle."""
        key = self._live_key(key_hash, deadline)
        return Admission(key, self._plan(key, deadline), period, calls=1, deadline=deadline, job_page=True)

    def check(self, caller: Caller, api: str | None, deadline: float | None = None) -> AppKey:
        """The caller's key, if it exists, is active, unexpired and allowed on ``api`` (None: on any)."""
        if isinstance(caller, SignedRequest):
            key_hash = self._signer(caller, deadline).key_hash
        elif caller:
            key_hash = hash_appkey(caller)
        else:
            raise AppKeyMissing("the appkey parameter is required")
        key = self._live_key(key_hash, deadline)
        if api is not None and not key.allows(api):
            raise AppKeyForbidden("the appkey is not allowed to call this API")
        return key

    def _live_key(self, key_hash: str, deadline: float | None) -> AppKey:
        """The key stored under ``key_hash``, if it exists and is active and unexpired."""
        key = self._keys.get(key_hash, lambda key_hash: self.store.get(key_hash, deadline))
        if key is None:
            raise AppKeyUnknown("the appkey is not valid")
        if key.status is not KeyStatus.ACTIVE:
            raise AppKeyForbidden("the appkey is disabled")
        if key.is_expired(utc_now()):
            raise AppKeyForbidden("the appkey has expired")
        return key

    def _signer(self, request: SignedRequest, deadline: float | None) -> SigningCredential:
        """The live credential that signed ``request``, or the reason there is none: checked in
        the order that costs least first (form, time, then the store, then the cipher)."""
        authorization = request.authorization()
        request.check_time(authorization, self.clock())
        request.check_service(authorization)
        if not is_secret_id(authorization.secret_id):
            # No such pair was ever issued: refused without asking the store.
            raise SecretIdUnknown(f"the SecretId {authorization.secret_id[:40]!r} does not exist or is disabled")
        if self.cipher is None:
            raise AuthorizationMalformed("signed requests are not set up on this deployment; use x-api-key")
        credential = self._credentials.get(
            authorization.secret_id, lambda secret_id: self.store.get_credential(secret_id, deadline)
        )
        # Tencent answers a disabled pair as it answers an unknown one.
        if credential is None or credential.status is not KeyStatus.ACTIVE:
            raise SecretIdUnknown(f"the SecretId {authorization.secret_id[:40]!r} does not exist or is disabled")
        request.verify(authorization, self._secret_key(credential, deadline))
        return credential

    def _secret_key(self, credential: SigningCredential, deadline: float | None) -> str:
        # Cached by the sealed bytes too: a rotated secret is opened afresh.
        name = f"{credential.secret_id}:{credential.sealed_secret.hex()}"
        failure = self._cipher_failures.peek(name)
        if failure is not None:
            raise type(failure)(failure.description)
        try:
            return self._secrets.get(
                name, lambda _: self.cipher.open(credential.secret_id, credential.sealed_secret, deadline)
            )
        except ServiceError as err:
            self._cipher_failures.put(name, err)
            raise

    def settle(self, admission: Admission, outcome: Outcome, refund: bool | None = None, pages_read: int = 0) -> None:
        """Counts how a charged call ended; one that failed on our side gets its quota back
        (``refund`` says otherwise where the outcome alone does not decide), less the calls of
        the ``pages_read`` before it failed: work done is charged.

        Never raises: the answer is decided by now, and a failed count is logged instead.
        """
        if not admission.charged:
            return
        if refund is None:
            refund = not outcome.keeps_charge
        try:
            self.store.record(
                admission.key.key_hash,
                admission.plan,
                admission.period,
                outcome,
                refund=refund,
                deadline=admission.deadline,
                calls=admission.calls,
                kept_calls=min(pages_read, admission.calls),
                job_page=admission.job_page,
            )
        except KeyStoreUnavailable:
            logger.error(
                "usage not recorded",
                extra={"key_id": admission.key.key_id, "outcome": outcome.value, "refund_due": refund},
            )

    def usage(self, key: AppKey, deadline: float | None = None) -> UsageReport:
        plan = self._plan(key, deadline)
        period = UsagePeriod.at(self.clock(), self.utc_offset)
        today, this_month, lifetime = self.store.usage(
            key.key_hash, period, lifetime=plan.trial_calls is not None, deadline=deadline
        )
        return UsageReport(key, plan, period, today, this_month, trial_calls_used=lifetime)

    def _charge(self, key: AppKey, plan: Plan, period: UsagePeriod, deadline: float | None, calls: int) -> None:
        # A plan without a quota is counted all the same, for the key's usage.
        if not self.store.charge(key.key_hash, plan, period, deadline, calls):
            self.store.record(key.key_hash, plan, period, Outcome.QUOTA_EXCEEDED, deadline=deadline)
            raise QuotaExceeded(_quota_description(plan, calls))

    def _plan(self, key: AppKey, deadline: float | None) -> Plan:
        plan = self._plans.get(key.plan, lambda name: self.store.get_plan(name, deadline))
        if plan is None:
            logger.error("appkey names a missing plan", extra={"key_id": key.key_id, "plan": key.plan})
            raise AppKeyForbidden(f"the appkey's plan {key.plan!r} does not exist")
        return plan


def _rate_description(plan: Plan) -> str:
    if plan.burst:
        return (
            f"over the plan's rate: at most {plan.burst} requests in a second and "
            f"{plan.requests_per_second} per second on average"
        )
    return f"more than {plan.requests_per_second} requests per second for this appkey"


def _quota_description(plan: Plan, calls: int) -> str:
    # A call is one image read: a request of several needs that many calls left.
    needs = f"; this request's {calls} images need {calls} calls" if calls > 1 else ""
    if plan.trial_calls is not None:
        return f"the appkey has used all {plan.trial_calls} calls of its trial{needs}"
    limits = [
        f"{quota} a {period}"
        for quota, period in ((plan.daily_quota, "day"), (plan.monthly_quota, "month"))
        if quota is not None
    ]
    return f"the appkey's quota is used up ({' and '.join(limits)}){needs}"


class _TimedCache(Generic[T]):
    """Look-ups kept for ``seconds`` (misses too, so unknown keys cannot hammer the table).

    Found and missing names are kept apart, each dropping its oldest entry when full: a flood of
    made-up names pushes out only other made-up names, never the keys in use.
    """

    def __init__(self, seconds: float, clock: Callable[[], float]) -> None:
        self.seconds = seconds
        self.clock = clock
        self._found: OrderedDict[str, tuple[float, T]] = OrderedDict()
        self._missing: OrderedDict[str, tuple[float, None]] = OrderedDict()

    def get(self, name: str, load: Callable[[str], T | None]) -> T | None:
        for entries in (self._found, self._missing):
            cached = entries.get(name)
            if cached is not None and self.clock() - cached[0] < self.seconds:
                return cached[1]
        value = load(name)
        self.put(name, value)
        return value

    def peek(self, name: str) -> T | None:
        """The fresh value kept for ``name``, if any; never loads."""
        cached = self._found.get(name)
        return cached[1] if cached is not None and self.clock() - cached[0] < self.seconds else None

    def put(self, name: str, value: T | None) -> None:
        for entries in (self._found, self._missing):
            entries.pop(name, None)
        entries = self._missing if value is None else self._found
        if len(entries) >= _CACHE_MAX_ENTRIES:
            entries.popitem(last=False)
        entries[name] = (self.clock(), value)
