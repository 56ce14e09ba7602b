"""The plans ``template.yaml`` defines, written into the appkeys table on every deploy.

``handler`` serves the template's ``Custom::PlanCatalog`` resource: on Create and Update it
(re)writes each plan from the resource's properties; on Delete it leaves them, like the table,
because keys still name them. It always answers CloudFormation, or the stack would wait an hour.
"""

from __future__ import annotations

import json
import logging
import urllib.request
from collections.abc import Iterable, Mapping

from ocr_api.adapters.dynamodb_keys import AppKeyStore
from ocr_api.keys.plans import Plan

logger = logging.getLogger(__name__)
logger.setLevel(logging.INFO)

_NUMBERS = {
    "RequestsPerSecond": "requests_per_second",
    "Burst": "burst",
    "DailyQuota": "daily_quota",
    "MonthlyQuota": "monthly_quota",
    "TrialCalls": "trial_calls",
}


def plans_from_properties(items: Iterable[Mapping[str, object]]) -> list[Plan]:
    """Plans from the resource's ``Plans`` list; CloudFormation passes numbers as text, and 0
    (a parameter's "none") means the plan has no such limit."""
    plans = []
    for item in items:
        numbers = {field: int(str(item[name])) for name, field in _NUMBERS.items() if name in item}
        plans.append(
            Plan(
                name=str(item["Name"]),
                usage_plan_id=str(item["UsagePlanId"]) if item.get("UsagePlanId") else None,
                from_template=True,
                **{field: value for field, value in numbers.items() if value != 0},
            )
        )
    return plans


def write_plans(store: AppKeyStore, plans: Iterable[Plan]) -> None:
    for plan in plans:
        store.put_plan(plan, replace=True)


def handler(event: dict, context) -> None:
    properties = event.get("ResourceProperties", {})
    status, reason = "SUCCESS", ""
    try:
        if event["RequestType"] in ("Create", "Update"):
            plans = plans_from_properties(properties["Plans"])
            write_plans(AppKeyStore(properties["TableName"]), plans)
            logger.info("plans written", extra={"plans": [plan.name for plan in plans]})
    except Exception as err:  # CloudFormation must hear of every failure
        logger.exception("plans not written")
        status, reason = "FAILED", f"{type(err).__name__}: {err}"[:300]
    _answer(event, context, status, reason)


def _answer(event: dict, context, status: str, reason: str) -> None:
    document = {
        "Status": status,
        "Reason": reason or f"see log stream {getattr(context, 'log_stream_name', '')}",
        "PhysicalResourceId": event.get("PhysicalResourceId") or f"{event['StackId'].rsplit('/', 1)[-1]}-plan-catalog",
        "StackId": event["StackId"],
        "RequestId": event["RequestId"],
        "LogicalResourceId": event["LogicalResourceId"],
        "Data": {},
    }
    body = json.dumps(document).encode("utf-8")
    # The pre-signed S3 URL takes a PUT with no content type.
    request = urllib.request.Request(
        event["ResponseURL"],
        data=body,
        method="PUT",
        headers={"Content-Type": "", "Content-Length": str(len(body))},
    )
    with urllib.request.urlopen(request, timeout=30) as reply:
        reply.read()
