"""Plans: quotas per day, month and trial, counted exactly, given back on our failures, reported."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from ocr_api.errors import QuotaExceeded, RateLimited
from ocr_api.keys import AccessGuard, Outcome, Plan
from ocr_api.keys.plans import PlanError, UsagePeriod

API = "gugudata-v1"
BEIJING = timedelta(hours=8)


class Clock:
    def __init__(self, moment: datetime) -> None:
        self.now = moment.timestamp()

    def __call__(self) -> float:
        return self.now

    def at(self, moment: datetime) -> None:
        self.now = moment.timestamp()


def utc(*parts) -> datetime:
    return datetime(*parts, tzinfo=UTC)


def admitted(guard: AccessGuard, secret: str, times: int) -> list[bool]:
    outcomes = []
    for _ in range(times):
        try:
            guard.admit(secret, API)
            outcomes.append(True)
        except QuotaExceeded:
            outcomes.append(False)
    return outcomes


def test_the_template_plans_are_in_the_table(store):
    plans = {plan.name: plan for plan in store.plans()}
    assert plans["standard"] == Plan("standard", requests_per_second=100, from_template=True)
    assert plans["trial"] == Plan("trial", requests_per_second=5, trial_calls=100, from_template=True)


def test_daily_quota_rolls_over_at_the_operators_midnight(store, add_key, add_plan):
    # GIVEN a key with 2 calls a day, and days that begin at midnight Beijing time (16:00 UTC)
    secret = add_key("k-daily-0000000000000", plan=add_plan("daily", daily_quota=2, monthly_quota=5))
    clock = Clock(utc(2026, 11, 21, 15, 59, 58))
    guard = AccessGuard(store, clock=clock, utc_offset=BEIJING)
    # WHEN the day's calls are used up just before midnight
    assert admitted(guard, secret, 3) == [True, True, False]
    # THEN one second after midnight the key may call again, and the month counts on
    clock.at(utc(2026, 11, 21, 16, 0, 1))
    assert admitted(guard, secret, 3) == [True, True, False]
    clock.at(utc(2026, 11, 22, 16, 0, 1))
    assert admitted(guard, secret, 2) == [True, False]  # the month's 5 are used up
    report = guard.usage(guard.check(secret, API))
    assert (report.period.date, report.today.calls, report.this_month.calls) == ("2026-11-23", 1, 5)
    assert report.today.outcomes["quota_exceeded"] == 1
    assert report.this_month.outcomes["quota_exceeded"] == 3
    assert report.remaining == {"today": 1, "this_month": 0, "trial": None}


def test_monthly_quota_starts_again_with_the_month(store, add_key, add_plan):
    secret = add_key("k-monthly-00000000000", plan=add_plan("monthly", monthly_quota=2))
    clock = Clock(utc(2026, 11, 30, 23, 59, 0))
    guard = AccessGuard(store, clock=clock)
    assert admitted(guard, secret, 3) == [True, True, False]
    clock.at(utc(2026, 12, 1, 0, 0, 0))
    assert admitted(guard, secret, 1) == [True]


def test_trial_calls_are_counted_in_all_not_per_month(store, add_key, add_plan):
    secret = add_key("k-trial-0000000000000", plan="trial")
    clock = Clock(utc(2026, 11, 30, 12, 0, 0))
    guard = AccessGuard(store, clock=clock)
    for second in range(100):  # the template's trial: 5 a second, 100 in all
        clock.at(utc(2026, 11, 30, 12, 0, 0) + timedelta(seconds=second // 5))
        guard.admit(secret, API)
    clock.at(utc(2026, 11, 30, 12, 1, 0))
    with pytest.raises(QuotaExceeded, match="all 100 calls of its trial"):
        guard.admit(secret, API)
    clock.at(utc(2026, 12, 1, 0, 0, 0))
    with pytest.raises(QuotaExceeded):
        guard.admit(secret, API)
    report = guard.usage(guard.check(secret, API))
    assert report.trial_calls_used == 100 and report.remaining["trial"] == 0


def test_a_call_that_fails_on_our_side_gives_its_quota_back(store, add_key, add_plan):
    # GIVEN a key with 2 calls a day
    secret = add_key("k-refund-000000000000", plan=add_plan("two", daily_quota=2))
    guard = AccessGuard(store, clock=Clock(utc(2026, 11, 21, 9)))
    # WHEN one call fails with a 5xx, one is a bad image (4xx), and one succeeds
    guard.settle(guard.admit(secret, API), Outcome.SERVER_ERROR)
    guard.settle(guard.admit(secret, API), Outcome.CLIENT_ERROR)
    guard.settle(guard.admit(secret, API), Outcome.OK)
    # THEN the failed one cost nothing, the other two used the quota, and all are on record
    with pytest.raises(QuotaExceeded):
        guard.admit(secret, API)
    today = guard.usage(guard.check(secret, API)).today
    assert today.calls == 2
    assert today.as_json() == {
        "calls": 2,
        "requests": 2,
        "job_pages": 0,
        "ok": 1,
        "client_error": 1,
        "server_error": 1,
        "rate_limited": 0,
        "quota_exceeded": 1,
    }


def test_a_failed_trial_call_is_given_back_to_the_trial(store, add_key, add_plan):
    secret = add_key("k-trial-refund-000000", plan=add_plan("tiny-trial", trial_calls=1))
    guard = AccessGuard(store)
    guard.settle(guard.admit(secret, API), Outcome.SERVER_ERROR)
    guard.settle(guard.admit(secret, API), Outcome.OK)
    with pytest.raises(QuotaExceeded):
        guard.admit(secret, API)
    assert guard.usage(guard.check(secret, API)).trial_calls_used == 1


def test_refusals_are_counted_but_not_charged(store, add_key, add_plan):
    secret = add_key("k-refused-00000000000", plan=add_plan("one-a-second", requests_per_second=1))
    guard = AccessGuard(store, clock=Clock(utc(2026, 11, 21, 9)))
    guard.settle(guard.admit(secret, API), Outcome.OK)
    with pytest.raises(RateLimited):
        guard.admit(secret, API)
    today = guard.usage(guard.check(secret, API)).today
    assert (today.calls, today.outcomes["ok"], today.outcomes["rate_limited"]) == (1, 1, 1)


def test_asking_for_usage_is_rate_limited_but_uses_no_quota(store, add_key, add_plan):
    secret = add_key("k-ask-usage-000000000", plan=add_plan("one-call", daily_quota=1))
    guard = AccessGuard(store, clock=Clock(utc(2026, 11, 21, 9)))
    for _ in range(3):
        admission = guard.admit(secret, None, calls=0)
        guard.settle(admission, Outcome.OK)
    assert guard.usage(admission.key).today.calls == 0
    guard.admit(secret, API)


@pytest.mark.parametrize(
    "limits, message",
    [
        ({"requests_per_second": 0}, "requests per second"),
        ({"requests_per_second": 10, "burst": 5}, "burst must be at least the rate"),
        ({"daily_quota": 0}, "daily quota"),
        ({"trial_calls": 10, "monthly_quota": 100}, "trial plan"),
    ],
)
def test_nonsense_plans_are_refused(limits, message):
    with pytest.raises(PlanError, match=message):
        Plan("bad", **limits)


def test_a_bad_plan_name_is_refused():
    with pytest.raises(PlanError, match="plan name"):
        Plan("Gold Plan")


def test_usage_period_follows_the_offset():
    moment = utc(2026, 12, 31, 16, 30).timestamp()
    assert UsagePeriod.at(moment, timedelta(0)).date == "2026-12-31"
    assert UsagePeriod.at(moment, BEIJING) == UsagePeriod(month="2027-01", day="01")


# Quotas count calls, one per image (or PDF page) read; rates count requests.


def test_a_request_of_several_images_uses_a_call_for_each(store, add_key, add_plan):
    # GIVEN a key with 5 calls a day
    secret = add_key("k-images-00000000000", plan=add_plan("five", daily_quota=5))
    guard = AccessGuard(store, clock=Clock(utc(2026, 11, 21, 9)))
    # WHEN a request of 3 images and one of 2 are admitted
    guard.settle(guard.admit(secret, API, calls=3), Outcome.OK)
    guard.settle(guard.admit(secret, API, calls=2), Outcome.OK)
    # THEN the day holds 5 calls in 2 requests, and not one image more fits
    with pytest.raises(QuotaExceeded, match="quota is used up"):
        guard.admit(secret, API, calls=1)
    today = guard.usage(guard.check(secret, API)).today
    assert (today.calls, today.requests, today.outcomes["ok"]) == (5, 2, 2)


def test_a_request_with_more_images_than_calls_left_is_refused_whole(store, add_key, add_plan):
    # GIVEN a trial of 4 calls, 2 of them used
    secret = add_key("k-images-trial-000000", plan=add_plan("four", trial_calls=4))
    guard = AccessGuard(store, clock=Clock(utc(2026, 11, 21, 9)))
    guard.settle(guard.admit(secret, API, calls=2), Outcome.OK)
    # WHEN a request of 3 images comes, then one of 5 (more than the whole trial)
    for calls in (3, 5):
        with pytest.raises(QuotaExceeded, match=f"this request's {calls} images need {calls} calls"):
            guard.admit(secret, API, calls=calls)
    # THEN neither used any of the trial, and a request of 2 still fits exactly
    guard.settle(guard.admit(secret, API, calls=2), Outcome.OK)
    report = guard.usage(guard.check(secret, API))
    assert report.trial_calls_used == 4 and report.remaining["trial"] == 0
    assert (report.today.calls, report.today.requests, report.today.outcomes["quota_exceeded"]) == (4, 2, 2)


def test_a_failed_request_of_several_images_gives_all_its_calls_back(store, add_key, add_plan):
    secret = add_key("k-images-refund-0000", plan=add_plan("three-trial", trial_calls=3))
    guard = AccessGuard(store, clock=Clock(utc(2026, 11, 21, 9)))
    guard.settle(guard.admit(secret, API, calls=3), Outcome.SERVER_ERROR)
    report = guard.usage(guard.check(secret, API))
    assert report.trial_calls_used == 0
    assert (report.today.calls, report.today.requests, report.today.outcomes["server_error"]) == (0, 0, 1)
    guard.settle(guard.admit(secret, API, calls=3), Outcome.OK)
    assert guard.usage(guard.check(secret, API)).trial_calls_used == 3


def test_the_rate_counts_requests_not_images(store, add_key, add_plan):
    secret = add_key("k-images-rate-000000", plan=add_plan("two-a-second", requests_per_second=2))
    guard = AccessGuard(store, clock=Clock(utc(2026, 11, 21, 9)))
    guard.admit(secret, API, calls=10)
    guard.admit(secret, API, calls=10)
    with pytest.raises(RateLimited):
        guard.admit(secret, API, calls=1)
