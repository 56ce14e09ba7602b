"""API Gateway's usage plans and API keys for a local run, kept in moto's API Gateway.

The usage plans come from ``template.yaml``, on a stand-in REST API and stage; the key command
links keys into them (and makes new ones on the same stage) as it does on AWS; and the local
server lets a request through a route with ``ApiKeyRequired`` only when, as API Gateway does,
its ``x-api-key`` is an enabled API key in a usage plan of that stage. Usage
plans' throttles and quotas are not emulated: the function enforces the exact ones itself.
"""

from __future__ import annotations

import boto3

from ocr_local.template import ApiSpec

FORBIDDEN = (403, {"message": "Forbidden"})
LOCAL_API_NAME = "ocr-api-local"


class LocalUsagePlans:
    def __init__(self, endpoint_url: str | None) -> None:
        self._client = boto3.client("apigateway", endpoint_url=endpoint_url)
        self._stage: dict[str, str] = {}

    def create(self, spec: ApiSpec) -> dict[str, str]:
        """The template's usage plans (found again by name if they exist): logical id -> id."""
        self._stage = {"apiId": self._local_api(spec.stage), "stage": spec.stage}
        existing = {plan["name"]: plan["id"] for plan in self._client.get_usage_plans()["items"]}
        ids = {}
        for logical_id, properties in (spec.usage_plans or {}).items():
            name = properties["UsagePlanName"]
            if name not in existing:
                existing[name] = self._client.create_usage_plan(
                    name=name,
                    description=properties.get("Description", ""),
                    apiStages=[self._stage],
                    **_limits(properties),
                )["id"]
            ids[logical_id] = existing[name]
        return ids

    def _local_api(self, stage: str) -> str:
        """A REST API with one deployed stage, for usage plans to be attached to."""
        for api in self._client.get_rest_apis()["items"]:
            if api["name"] == LOCAL_API_NAME:
                return api["id"]
        api_id = self._client.create_rest_api(name=LOCAL_API_NAME)["id"]
        root = self._client.get_resources(restApiId=api_id)["items"][0]["id"]
        self._client.put_method(
            restApiId=api_id, resourceId=root, httpMethod="ANY", authorizationType="NONE", apiKeyRequired=True
        )
        self._client.put_integration(restApiId=api_id, resourceId=root, httpMethod="ANY", type="MOCK")
        self._client.create_deployment(restApiId=api_id, stageName=stage)
        return api_id

    def admits(self, api_key: str | None) -> bool:
        if not api_key:
            return False
        for page in self._client.get_paginator("get_api_keys").paginate(includeValues=True):
            for item in page["items"]:
                if item.get("value") == api_key and item.get("enabled") and self._in_a_plan(item["id"]):
                    return True
        return False

    def _in_a_plan(self, gateway_key_id: str) -> bool:
        """Whether the API key is in a usage plan of the local stage (the template's or newer)."""
        return any(
            key["id"] == gateway_key_id
            for plan in self._client.get_usage_plans()["items"]
            if any(
                (stage["apiId"], stage["stage"]) == (self._stage["apiId"], self._stage["stage"])
                for stage in plan.get("apiStages", [])
            )
            for key in self._client.get_usage_plan_keys(usagePlanId=plan["id"])["items"]
        )


def _limits(properties: dict) -> dict:
    """CloudFormation's property names in the API's own spelling."""
    limits = {}
    if "Throttle" in properties:
        limits["throttle"] = {
            "rateLimit": float(properties["Throttle"]["RateLimit"]),
            "burstLimit": int(properties["Throttle"]["BurstLimit"]),
        }
    if "Quota" in properties:
        limits["quota"] = {"limit": int(properties["Quota"]["Limit"]), "period": properties["Quota"]["Period"]}
    return limits
