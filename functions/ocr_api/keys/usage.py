"""How a key's calls are counted and reported: outcomes, and the usage a key's owner sees."""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum

from ocr_api.keys.model import AppKey
from ocr_api.keys.plans import Plan, UsagePeriod


class Outcome(str, Enum):
    """How a call ended, as counted per key and day (and in the metrics)."""

    OK = "ok"
    CLIENT_ERROR = "client_error"  # 4xx after the key was admitted: charged
    SERVER_ERROR = "server_error"  # 5xx: our fault, so the quota is given back
    RATE_LIMITED = "rate_limited"  # refused before any work: not charged
    QUOTA_EXCEEDED = "quota_exceeded"  # refused before any work: not charged

    @property
    def keeps_charge(self) -> bool:
        return self in (Outcome.OK, Outcome.CLIENT_ERROR)


@dataclass(frozen=True)
class CallCounts:
    """A day's or a month's use: ``calls`` is what the quota counts (one per image or PDF page
    read), ``requests`` the requests charged for them, ``job_pages`` the calls jobs made; then
    requests and job pages by outcome."""

    calls: int
    requests: int
    outcomes: dict[str, int]
    # Pages read by jobs, of ``calls`` (each one call, counted apart from requests).
    job_pages: int = 0

    def as_json(self) -> dict:
        return {
            "calls": self.calls,
            "requests": self.requests,
            "job_pages": self.job_pages,
            **{outcome.value: self.outcomes.get(outcome.value, 0) for outcome in Outcome},
        }


@dataclass(frozen=True)
class UsageReport:
    key: AppKey
    plan: Plan
    period: UsagePeriod
    today: CallCounts
    this_month: CallCounts
    # Calls counted in the key's whole life: only kept for trial plans.
    trial_calls_used: int | None

    @property
    def remaining(self) -> dict[str, int | None]:
        """What is left of each quota the plan has; None where it has none."""

        def left(quota: int | None, used: int | None) -> int | None:
            return None if quota is None else max(quota - (used or 0), 0)

        return {
            "today": left(self.plan.daily_quota, self.today.calls),
            "this_month": left(self.plan.monthly_quota, self.this_month.calls),
            "trial": left(self.plan.trial_calls, self.trial_calls_used),
        }

    def as_json(self) -> dict:
        return {
            "key_id": self.key.key_id,
            "name": self.key.name,
            "status": self.key.status.value,
            "expires_at": self.key.expires_at.isoformat() if self.key.expires_at else None,
            "plan": self.plan.describe(),
            "date": self.period.date,
            "today": self.today.as_json(),
            "month": self.period.month,
            "this_month": self.this_month.as_json(),
            "trial_calls_used": self.trial_calls_used,
            "remaining": self.remaining,
        }
