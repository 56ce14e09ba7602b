"""The key command: keys and plans in DynamoDB and API Gateway kept in step (moto for both),
and the template's plan catalog as CloudFormation runs it."""

from __future__ import annotations

import functools
import io
import json
import re
import threading
from http.server import BaseHTTPRequestHandler, HTTPServer

import boto3
import pytest

from helpers import day_clock
from ocr_api.adapters.dynamodb_keys import AppKeyStore
from ocr_api.cli import keys as keys_main
from ocr_api.cli.keys import main as keys_command
from ocr_api.errors import AppKeyForbidden, AppKeyUnknown, KeyStoreUnavailable, QuotaExceeded
from ocr_api.handlers.plan_catalog import handler as plan_catalog
from ocr_api.keys import AccessGuard, Plan, hash_appkey
from ocr_local.environment import LOCAL_TABLE_NAME, write_template_plans
from ocr_local.gateway import LocalUsagePlans

API = "gugudata-v1"


def run_keys(capsys, *args) -> str:
    code = keys_command(["--table", LOCAL_TABLE_NAME, *args])
    output = capsys.readouterr()
    assert code == 0, output.err
    return output.out


def created_secret(output: str) -> tuple[str, str]:
    return re.search(r"appkey: ([0-9a-f]{32})", output)[1], re.search(r"key id: ([0-9a-f]{12})", output)[1]


@pytest.fixture
def usage_plans(spec, store) -> tuple[LocalUsagePlans, dict[str, str]]:
    """The template's usage plans in moto's API Gateway, and the plans pointing at them."""
    plans = LocalUsagePlans(endpoint_url=None)
    ids = plans.create(spec)
    write_template_plans(store, spec, ids)
    return plans, {"trial": ids["TrialUsagePlan"], "standard": ids["StandardUsagePlan"]}


def gateway_key(secret: str) -> dict | None:
    keys = boto3.client("apigateway").get_api_keys(includeValues=True)["items"]
    return next((key for key in keys if key["value"] == secret), None)


def plan_members(usage_plan_id: str) -> set[str]:
    return {key["id"] for key in boto3.client("apigateway").get_usage_plan_keys(usagePlanId=usage_plan_id)["items"]}


def test_a_key_lives_on_both_sides_through_its_whole_life(store, usage_plans, capsys):
    gateway, ids = usage_plans
    # create: an appkey in DynamoDB, and an API key with the same secret in the plan's usage plan
    secret, key_id = created_secret(run_keys(capsys, "create", "--name", "alice", "--expires", "2999-01-01"))
    api_key = gateway_key(secret)
    assert api_key["enabled"] and api_key["id"] in plan_members(ids["standard"])
    assert store.get(hash_appkey(secret)).gateway_key_id == api_key["id"]
    assert AccessGuard(store).admit(secret, API).plan.name == "standard"
    assert gateway.admits(secret)

    # list shows the key by id and plan, never its secret
    listed = run_keys(capsys, "list")
    assert key_id in listed and "standard" in listed and api_key["id"] in listed and secret not in listed

    # disable / enable act on both sides
    run_keys(capsys, "disable", key_id)
    assert gateway_key(secret)["enabled"] is False
    with pytest.raises(AppKeyForbidden):
        AccessGuard(store).admit(secret, API)
    run_keys(capsys, "enable", key_id)
    assert gateway_key(secret)["enabled"] is True
    AccessGuard(store).admit(secret, API)

    # moving to another plan moves the API key between usage plans
    run_keys(capsys, "plan", key_id, "trial")
    assert api_key["id"] in plan_members(ids["trial"]) and api_key["id"] not in plan_members(ids["standard"])
    assert AccessGuard(store).admit(secret, API).plan.name == "trial"

    # delete removes both
    run_keys(capsys, "delete", key_id)
    assert gateway_key(secret) is None and not gateway.admits(secret)
    with pytest.raises(AppKeyUnknown):
        AccessGuard(store).admit(secret, API)


def test_an_existing_appkey_is_imported_and_its_api_key_linked(store, usage_plans, capsys, monkeypatch):
    # GIVEN a customer's appkey that already exists as an API Gateway key (not in any plan)
    secret = "customer-key-from-the-old-provider-0001"
    existing = boto3.client("apigateway").create_api_key(name="old", value=secret, enabled=True)["id"]
    # WHEN the operator imports it, typing the secret on standard input
    monkeypatch.setattr("sys.stdin", io.StringIO(secret + "\n"))
    output = run_keys(capsys, "create", "--name", "migrated", "--plan", "trial", "--import")
    # THEN the same API key is linked into the trial usage plan, and the appkey works
    assert secret not in output
    assert existing in plan_members(usage_plans[1]["trial"])
    assert (
        len([k for k in boto3.client("apigateway").get_api_keys(includeValues=True)["items"] if k["value"] == secret])
        == 1
    )
    assert AccessGuard(store).admit(secret, API).plan.name == "trial"


def test_a_key_on_an_unknown_plan_is_not_created(store, usage_plans, capsys):
    assert keys_command(["--table", LOCAL_TABLE_NAME, "create", "--name", "x", "--plan", "gold"]) == 1
    assert "no plan named 'gold'" in capsys.readouterr().err
    assert list(store.keys()) == [] and boto3.client("apigateway").get_api_keys()["items"] == []


def test_operator_plans_have_usage_plans_and_limit_their_keys(store, usage_plans, capsys, monkeypatch):
    # GIVEN a plan of the operator's own, with a daily quota, and one day for the calls and the
    # command's report alike, whenever the test runs
    clock = day_clock()
    monkeypatch.setattr(keys_main, "AccessGuard", functools.partial(AccessGuard, clock=clock))
    run_keys(capsys, "plans", "create", "gold", "--rps", "20", "--burst", "40", "--daily", "2")
    gold = store.get_plan("gold")
    assert gold == Plan("gold", requests_per_second=20, burst=40, daily_quota=2, usage_plan_id=gold.usage_plan_id)
    usage_plan = boto3.client("apigateway").get_usage_plan(usagePlanId=gold.usage_plan_id)
    assert usage_plan["name"] == "ocr-api-local-gold"
    standard = boto3.client("apigateway").get_usage_plan(usagePlanId=usage_plans[1]["standard"])
    assert usage_plan["apiStages"] == standard["apiStages"] != []
    assert usage_plan["throttle"] == {"rateLimit": 20.0, "burstLimit": 40}
    assert usage_plan["quota"]["limit"] == 2 and usage_plan["quota"]["period"] == "DAY"
    listed = run_keys(capsys, "plans", "list")
    assert re.search(r"gold\s+table\s+\S+\s+20/s, burst 40, 2 a day", listed)
    assert re.search(r"trial\s+template\s+\S+\s+5/s, 100 in all", listed)

    # WHEN a key on it is used up
    secret, key_id = created_secret(run_keys(capsys, "create", "--name", "bob", "--plan", "gold"))
    guard = AccessGuard(store, clock=clock)
    guard.admit(secret, API)
    guard.admit(secret, API)
    with pytest.raises(QuotaExceeded):
        guard.admit(secret, API)
    # THEN the operator sees it, and the plan cannot go while the key is on it
    report = run_keys(capsys, "usage", key_id)
    assert re.search(r"today \(2027-03-03\)\s+calls 2 ", report) and "remaining: 0 today" in report
    as_json = json.loads(run_keys(capsys, "usage", key_id, "--json"))
    assert as_json["today"]["quota_exceeded"] == 1 and as_json["plan"]["daily_quota"] == 2
    assert keys_command(["--table", LOCAL_TABLE_NAME, "plans", "delete", "gold"]) == 1
    assert "move them first" in capsys.readouterr().err
    run_keys(capsys, "delete", key_id)
    run_keys(capsys, "plans", "delete", "gold")
    assert store.get_plan("gold") is None
    assert all(p["name"] != "ocr-api-local-gold" for p in boto3.client("apigateway").get_usage_plans()["items"])


def test_template_plans_cannot_be_deleted_by_command(store, usage_plans, capsys):
    assert keys_command(["--table", LOCAL_TABLE_NAME, "plans", "delete", "trial"]) == 1
    assert "comes from template.yaml" in capsys.readouterr().err


# The template's PlanCatalog custom resource, as CloudFormation calls it.


class CloudFormationReplies:
    """Where CloudFormation's pre-signed S3 URL would take the custom resource's answer."""

    def __init__(self) -> None:
        self.answers: list[dict] = []
        replies = self

        class Handler(BaseHTTPRequestHandler):
            def do_PUT(self):
                replies.answers.append(json.loads(self.rfile.read(int(self.headers["Content-Length"]))))
                self.send_response(200)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = HTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.url = f"http://127.0.0.1:{self.server.server_port}/reply?signature=x"


@pytest.fixture
def replies():
    server = CloudFormationReplies()
    yield server
    server.server.shutdown()


def catalog_event(request_type: str, url: str, plans: list[dict], table: str = LOCAL_TABLE_NAME) -> dict:
    return {
        "RequestType": request_type,
        "ResponseURL": url,
        "StackId": "arn:aws:cloudformation:us-east-1:123456789012:stack/ocr-api/1a2b3c",
        "RequestId": "r-1",
        "LogicalResourceId": "PlanCatalog",
        "ResourceType": "Custom::PlanCatalog",
        # CloudFormation hands every number over as text.
        "ResourceProperties": {"ServiceToken": "arn:x", "TableName": table, "Plans": plans},
    }


def test_deploying_writes_the_template_plans_and_answers_cloudformation(store, replies):
    plans = [
        {"Name": "trial", "RequestsPerSecond": "5", "TrialCalls": "50", "UsagePlanId": "up1"},
        {
            "Name": "standard",
            "RequestsPerSecond": "100",
            "Burst": "0",
            "DailyQuota": "0",
            "MonthlyQuota": "30000",
            "UsagePlanId": "up2",
        },
    ]
    plan_catalog(catalog_event("Update", replies.url, plans), None)
    assert replies.answers[-1]["Status"] == "SUCCESS"
    assert replies.answers[-1]["PhysicalResourceId"] == "1a2b3c-plan-catalog"
    assert store.get_plan("standard") == Plan(
        "standard", requests_per_second=100, monthly_quota=30000, usage_plan_id="up2", from_template=True
    )
    assert store.get_plan("trial").trial_calls == 50


def test_a_failed_deploy_step_is_reported_not_left_hanging(store, replies):
    plans = [{"Name": "broken", "RequestsPerSecond": "10", "TrialCalls": "5", "DailyQuota": "5"}]
    plan_catalog(catalog_event("Create", replies.url, plans), None)
    assert replies.answers[-1]["Status"] == "FAILED" and "trial plan" in replies.answers[-1]["Reason"]
    plan_catalog(catalog_event("Delete", replies.url, plans, table="no-such-table"), None)
    assert replies.answers[-1]["Status"] == "SUCCESS"


def test_a_key_the_table_refuses_leaves_api_gateway_as_it_was(store, usage_plans, capsys, monkeypatch):
    # GIVEN a table that fails to store keys, and an API key a customer already has
    def unavailable(self, key):
        raise KeyStoreUnavailable("the appkey store is unavailable; try again shortly")

    monkeypatch.setattr(AppKeyStore, "put", unavailable)
    secret = "customer-key-from-the-old-provider-0002"
    existing = boto3.client("apigateway").create_api_key(name="old", value=secret, enabled=True)["id"]
    # WHEN a new key and an import both fail
    assert keys_command(["--table", LOCAL_TABLE_NAME, "create", "--name", "new"]) == 1
    monkeypatch.setattr("sys.stdin", io.StringIO(secret + "\n"))
    assert keys_command(["--table", LOCAL_TABLE_NAME, "create", "--name", "old", "--import"]) == 1
    assert capsys.readouterr().err.count("unavailable") == 2
    # THEN the API key made for the new one is gone, and the customer's own is still there
    assert [key["id"] for key in boto3.client("apigateway").get_api_keys()["items"]] == [existing]
