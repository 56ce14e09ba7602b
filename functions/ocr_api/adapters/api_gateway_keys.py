"""API Gateway's side of keys and plans: each appkey is also an API key with the same secret,
in the usage plan of the key's plan, so it works as ``x-api-key`` where API Gateway checks keys.

Used by the key command only; the function never calls API Gateway.
"""

from __future__ import annotations

from functools import cached_property

import boto3
from botocore.exceptions import ClientError

from ocr_api.keys.model import AppKey
from ocr_api.keys.plans import Plan

KEY_ID_TAG = "ocr-api:key-id"


def usage_plan_limits(plan: Plan) -> dict:
    """The throttle and quota of the usage plan that mirrors ``plan``. API Gateway keeps one
    quota period and no lifetime count, so it holds the nearest bound; the function is exact."""
    limits: dict = {"throttle": {"rateLimit": float(plan.requests_per_second), "burstLimit": plan.calls_per_second}}
    if plan.monthly_quota:
        limits["quota"] = {"limit": plan.monthly_quota, "period": "MONTH"}
    elif plan.daily_quota:
        limits["quota"] = {"limit": plan.daily_quota, "period": "DAY"}
    elif plan.trial_calls:
        limits["quota"] = {"limit": plan.trial_calls, "period": "MONTH"}
    return limits


class GatewayKeys:
    def __init__(self, endpoint_url: str | None = None) -> None:
        self._endpoint_url = endpoint_url

    @cached_property
    def _client(self):
        return boto3.client("apigateway", endpoint_url=self._endpoint_url)

    def link(self, secret: str, key: AppKey, usage_plan_id: str) -> tuple[str, bool]:
        """The API key holding ``secret``, now in the usage plan, and whether it was created
        here (an API key that already had the secret is linked, not copied)."""
        existing = self._find_by_value(secret)
        if existing is not None:
            gateway_key_id = existing["id"]
        else:
            gateway_key_id = self._client.create_api_key(
                name=f"{key.name} [{key.key_id}]",
                description="An appkey of the OCR API; managed by python -m ocr_api.keys",
                value=secret,
                enabled=True,
                tags={KEY_ID_TAG: key.key_id},
            )["id"]
        self.move(gateway_key_id, None, usage_plan_id)
        return gateway_key_id, existing is None

    def move(self, gateway_key_id: str, from_plan: str | None, to_plan: str | None) -> None:
        if from_plan:
            self._ignoring(
                "NotFoundException", self._client.delete_usage_plan_key, usagePlanId=from_plan, keyId=gateway_key_id
            )
        if to_plan:
            self._ignoring(
                "ConflictException",
                self._client.create_usage_plan_key,
                usagePlanId=to_plan,
                keyId=gateway_key_id,
                keyType="API_KEY",
            )

    def set_enabled(self, gateway_key_id: str, enabled: bool) -> None:
        self._client.update_api_key(
            apiKey=gateway_key_id,
            patchOperations=[{"op": "replace", "path": "/enabled", "value": str(enabled).lower()}],
        )

    def delete(self, gateway_key_id: str) -> None:
        self._ignoring("NotFoundException", self._client.delete_api_key, apiKey=gateway_key_id)

    def create_usage_plan(self, plan: Plan, like_usage_plan_id: str) -> str:
        """A usage plan for ``plan`` on the same API stages as an existing one."""
        model = self._client.get_usage_plan(usagePlanId=like_usage_plan_id)
        stages = model.get("apiStages", [])
        # The template names its usage plans <stack>-<plan>; new ones follow suit.
        stack_name = model["name"].rsplit("-", 1)[0]
        return self._client.create_usage_plan(
            name=f"{stack_name}-{plan.name}",
            description=f"Keys on the {plan.name} plan; managed by python -m ocr_api.keys",
            apiStages=[{"apiId": stage["apiId"], "stage": stage["stage"]} for stage in stages],
            **usage_plan_limits(plan),
        )["id"]

    def delete_usage_plan(self, usage_plan_id: str) -> None:
        plan = self._client.get_usage_plan(usagePlanId=usage_plan_id)
        if plan.get("apiStages"):
            # API Gateway deletes only a usage plan no stage is attached to.
            self._client.update_usage_plan(
                usagePlanId=usage_plan_id,
                patchOperations=[
                    {"op": "remove", "path": "/apiStages", "value": f"{stage['apiId']}:{stage['stage']}"}
                    for stage in plan["apiStages"]
                ],
            )
        self._ignoring("NotFoundException", self._client.delete_usage_plan, usagePlanId=usage_plan_id)

    def _find_by_value(self, secret: str) -> dict | None:
        for page in self._client.get_paginator("get_api_keys").paginate(includeValues=True):
            for item in page.get("items", []):
                if item.get("value") == secret:
                    return item
        return None

    @staticmethod
    def _ignoring(code: str, call, **arguments) -> None:
        try:
            call(**arguments)
        except ClientError as err:
            if err.response["Error"]["Code"] != code:
                raise
