"""Plans: what a key may do. A rate limit with an optional burst, and at most one kind of quota
(per day and/or per month, or a fixed number of trial calls). Every key belongs to one plan."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

# The rate is held over windows of this many seconds, the burst within each second of them.
RATE_WINDOW_SECONDS = 10
DEFAULT_PLAN = "standard"
_PLAN_NAME = re.compile(r"^[a-z0-9][a-z0-9_-]{0,31}$")
_MAX_RATE = 100_000
_MAX_QUOTA = 10**12


class PlanError(ValueError):
    """A plan's settings do not make sense together."""


@dataclass(frozen=True)
class Plan:
    name: str
    requests_per_second: int = 100
    # The most requests in any one clock second; None means the rate itself.
    burst: int | None = None
    daily_quota: int | None = None
    monthly_quota: int | None = None
    # Calls the key may make in its whole life; for trials, and exclusive with the quotas above.
    trial_calls: int | None = None
    # The API Gateway usage plan that mirrors this one, where keys are linked as API keys.
    usage_plan_id: str | None = None
    # Plans from template.yaml are rewritten by every deploy; operators change them there.
    from_template: bool = False

    def __post_init__(self) -> None:
        if not _PLAN_NAME.match(self.name):
            raise PlanError("a plan name is 1-32 of a-z, 0-9, - and _, starting with a letter or digit")
        if not 1 <= self.requests_per_second <= _MAX_RATE:
            raise PlanError(f"requests per second must be 1..{_MAX_RATE}")
        if self.burst is not None and not self.requests_per_second <= self.burst <= _MAX_RATE:
            raise PlanError(f"the burst must be at least the rate and at most {_MAX_RATE}")
        for name in ("daily_quota", "monthly_quota", "trial_calls"):
            value = getattr(self, name)
            if value is not None and not 1 <= value <= _MAX_QUOTA:
                raise PlanError(f"{name.replace('_', ' ')} must be 1..{_MAX_QUOTA}")
        if self.trial_calls is not None and (self.daily_quota or self.monthly_quota):
            raise PlanError("a trial plan counts its calls in all, not per day or month")

    @property
    def calls_per_second(self) -> int:
        return self.burst or self.requests_per_second

    @property
    def calls_per_window(self) -> int:
        return self.requests_per_second * RATE_WINDOW_SECONDS

    @property
    def has_quota(self) -> bool:
        return any((self.daily_quota, self.monthly_quota, self.trial_calls))

    def describe(self) -> dict:
        return {
            "name": self.name,
            "requests_per_second": self.requests_per_second,
            "burst": self.burst,
            "daily_quota": self.daily_quota,
            "monthly_quota": self.monthly_quota,
            "trial_calls": self.trial_calls,
        }


@dataclass(frozen=True)
class UsagePeriod:
    """The day and month a call counts in, on the operator's clock (``QUOTA_UTC_OFFSET``)."""

    month: str  # 2026-11
    day: str  # 21

    @classmethod
    def at(cls, epoch_seconds: float, utc_offset: timedelta) -> UsagePeriod:
        moment = datetime.fromtimestamp(epoch_seconds, timezone(utc_offset))
        return cls(month=moment.strftime("%Y-%m"), day=moment.strftime("%d"))

    @property
    def date(self) -> str:
        return f"{self.month}-{self.day}"
