"""What the access rules need of wherever keys, plans and counters are kept: a port.

``ocr_api.adapters.dynamodb_keys.AppKeyStore`` is the one in production; each counting method is
one conditional write there, so a limit holds across concurrent instances. ``deadline`` is a
``time.monotonic()`` instant by which a call must have ended (None: no limit).
"""

from __future__ import annotations

from typing import Protocol

from ocr_api.keys.credentials import SigningCredential
from ocr_api.keys.model import AppKey
from ocr_api.keys.plans import Plan, UsagePeriod
from ocr_api.keys.usage import CallCounts, Outcome


class KeyRepository(Protocol):
    def get(self, key_hash: str, deadline: float | None = None) -> AppKey | None:
        """The key stored under ``key_hash``, or None."""

    def get_credential(self, secret_id: str, deadline: float | None = None) -> SigningCredential | None:
        """The signing credential with this SecretId, or None."""

    def get_plan(self, name: str, deadline: float | None = None) -> Plan | None:
        """The plan called ``name``, or None."""

    def admit_request(self, key_hash: str, epoch_second: int, plan: Plan, deadline: float | None = None) -> bool:
        """Counts one request against the plan's rate; False, counting nothing, when it is full."""

    def charge(
        self,
        key_hash: str,
        plan: Plan,
        period: UsagePeriod,
        deadline: float | None = None,
        calls: int = 1,
        job_page: bool = False,
    ) -> bool:
        """Counts ``calls`` against the plan's quotas (``job_page``: a page a job read, counted
        apart too); False, counting nothing, when they do not fit."""

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
        """Counts a request's (or job page's) outcome; ``refund`` gives back the ``calls`` it was
        charged, less ``kept_calls`` (pages read before the failure; the request then stays
        counted too)."""

    def usage(
        self, key_hash: str, period: UsagePeriod, lifetime: bool, deadline: float | None = None
    ) -> tuple[CallCounts, CallCounts, int | None]:
        """Calls that day, that month, and (``lifetime``) in the key's life."""
