"""Manage appkeys and plans: ``python -m ocr_api.keys COMMAND``.

Keys: create, list, usage, plan (move a key to another plan), disable, enable, delete.
Plans: plans list, plans create, plans delete.
Tencent SecretId/SecretKey pairs of a key: tencent-credentials create, list, disable, enable,
delete, rotate.

Works against a deployed stack (``--stack NAME``), a table by name (``--table``), or any
endpoint (``--endpoint-url``, e.g. the local server's, which serves DynamoDB, API Gateway and
KMS). A new key, or SecretKey, is printed once; SecretKeys are stored sealed with the stack's KMS
key, bound to their SecretId. Where a key's plan has an API Gateway usage plan, the key is also an
API Gateway API key with the same secret in that usage plan, and every change here is made on
both sides.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from functools import cached_property

import boto3
from botocore.exceptions import BotoCoreError, ClientError

from ocr_api.adapters.api_gateway_keys import GatewayKeys
from ocr_api.adapters.dynamodb_keys import REMOTE, AppKeyStore
from ocr_api.adapters.kms_secrets import KmsSecretCipher
from ocr_api.config import parse_utc_offset
from ocr_api.errors import KeyStoreUnavailable
from ocr_api.keys.access import AccessGuard
from ocr_api.keys.credentials import SigningCredential, issue
from ocr_api.keys.model import AppKey, KeyStatus, new_appkey
from ocr_api.keys.plans import DEFAULT_PLAN, Plan

TABLE_OUTPUT = "AppKeysTableName"
SECRETS_KEY_OUTPUT = "TencentSecretsKeyName"
OFFSET_PARAMETER = "QuotaUtcOffset"
_MIN_IMPORTED_LENGTH = 20  # API Gateway's shortest API key


@dataclass
class Operator:
    store: AppKeyStore
    gateway: GatewayKeys
    utc_offset: str
    # Seals new SecretKeys; None when the deployment names no KMS key.
    cipher: KmsSecretCipher | None = None

    @cached_property
    def guard(self) -> AccessGuard:
        return AccessGuard(self.store, cache_seconds=0, utc_offset=parse_utc_offset(self.utc_offset))

    def plan(self, name: str) -> Plan:
        plan = self.store.get_plan(name)
        if plan is None:
            known = ", ".join(sorted(p.name for p in self.store.plans())) or "none yet"
            raise LookupError(f"no plan named {name!r} (plans: {known})")
        return plan


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        table, offset, secrets_key = _deployment(args)
        operator = Operator(
            AppKeyStore(table, endpoint_url=args.endpoint_url, timeouts=REMOTE),
            GatewayKeys(args.endpoint_url),
            args.utc_offset or offset,
            KmsSecretCipher(secrets_key, args.endpoint_url, timeouts=REMOTE) if secrets_key else None,
        )
        return args.command(operator, args)
    except (KeyStoreUnavailable, LookupError, ValueError, BotoCoreError, ClientError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 1


# Keys.


def create(operator: Operator, args: argparse.Namespace) -> int:
    secret = _imported_secret() if args.import_secret else new_appkey()
    plan = operator.plan(args.plan)
    key = AppKey.for_secret(
        secret,
        args.name,
        plan=plan.name,
        expires_at=args.expires,
        allowed_apis=frozenset(args.api or ()),
    )
    if operator.store.get(key.key_hash) is not None:
        raise ValueError(f"that appkey is already registered, as key id {key.key_id}")
    gateway_key_id, created = (
        operator.gateway.link(secret, key, plan.usage_plan_id) if plan.usage_plan_id else (None, False)
    )
    try:
        operator.store.put(replace(key, gateway_key_id=gateway_key_id))
    except Exception:
        if created:  # an API key that was there before stays
            operator.gateway.delete(gateway_key_id)
        raise
    if not args.import_secret:
        print(f"appkey: {secret}")
    print(f"key id: {key.key_id}  name: {key.name}  plan: {plan.name}")
    print(
        f"API Gateway API key: {gateway_key_id}"
        if gateway_key_id
        else "API Gateway: the plan has no usage plan, so the key is not an API Gateway API key"
    )
    if not args.import_secret:
        print("The appkey is shown only now; only its SHA-256 is stored.")
    return 0


def list_keys(operator: Operator, args: argparse.Namespace) -> int:
    rows = sorted(operator.store.keys(), key=lambda key: key.created_at)
    print(f"{'key id':<14}{'status':<10}{'plan':<12}{'gateway key':<14}{'expires':<27}{'apis':<16}name")
    for key in rows:
        expires = key.expires_at.isoformat() if key.expires_at else "-"
        apis = ",".join(sorted(key.allowed_apis)) or "all"
        print(
            f"{key.key_id:<14}{key.status.value:<10}{key.plan:<12}{key.gateway_key_id or '-':<14}"
            f"{expires:<27}{apis:<16}{key.name}"
        )
    return 0


def usage(operator: Operator, args: argparse.Namespace) -> int:
    report = operator.guard.usage(operator.store.find(args.key_id)).as_json()
    if args.json:
        print(json.dumps(report, indent=2))
        return 0
    plan = report["plan"]
    print(f"key {report['key_id']} ({report['name']}), {report['status']}, plan {plan['name']}: " + _plan_summary(plan))
    for label, counts in (
        (f"today ({report['date']})", report["today"]),
        (f"this month ({report['month']})", report["this_month"]),
    ):
        outcomes = "  ".join(f"{name} {count}" for name, count in counts.items() if name != "calls")
        print(f"{label:<26} calls {counts['calls']:<8} {outcomes}")
    if report["trial_calls_used"] is not None:
        print(f"{'trial calls used':<26} {report['trial_calls_used']}")
    remaining = {name: left for name, left in report["remaining"].items() if left is not None}
    print(
        "remaining: " + (", ".join(f"{left} {name}" for name, left in remaining.items()) if remaining else "no quota")
    )
    return 0


def move_to_plan(operator: Operator, args: argparse.Namespace) -> int:
    key = operator.store.find(args.key_id)
    old, new = operator.plan(key.plan), operator.plan(args.plan)
    gateway_key_id = key.gateway_key_id
    if gateway_key_id:
        operator.gateway.move(gateway_key_id, old.usage_plan_id, new.usage_plan_id)
    elif new.usage_plan_id:
        print(
            "note: the key is not an API Gateway API key (its secret is not stored), so it "
            "stays off API Gateway's routes; create a new key to have one",
            file=sys.stderr,
        )
    operator.store.set_plan(key.key_hash, new.name, gateway_key_id)
    print(f"{key.key_id} ({key.name}) is now on the {new.name} plan")
    return 0


def disable(operator: Operator, args: argparse.Namespace) -> int:
    return _set_status(operator, args.key_id, KeyStatus.DISABLED)


def enable(operator: Operator, args: argparse.Namespace) -> int:
    return _set_status(operator, args.key_id, KeyStatus.ACTIVE)


def delete(operator: Operator, args: argparse.Namespace) -> int:
    key = operator.store.find(args.key_id)
    if key.gateway_key_id:
        operator.gateway.delete(key.gateway_key_id)
    pairs = [c.secret_id for c in operator.store.credentials() if c.key_hash == key.key_hash]
    for secret_id in pairs:
        operator.store.delete_credential(secret_id)
    operator.store.delete(key.key_hash)
    also = f" and its {len(pairs)} Tencent credential(s)" if pairs else ""
    print(f"deleted {key.key_id} ({key.name}){also}; its usage records stay in the table")
    return 0


def _set_status(operator: Operator, key_id: str, status: KeyStatus) -> int:
    key = operator.store.find(key_id)
    if key.gateway_key_id:
        operator.gateway.set_enabled(key.gateway_key_id, status is KeyStatus.ACTIVE)
    operator.store.set_status(key.key_hash, status)
    print(f"{key.key_id} ({key.name}) is now {status.value}")
    return 0


def _imported_secret() -> str:
    """An existing appkey, from standard input so it stays out of shell history."""
    secret = sys.stdin.readline().strip()
    if len(secret) < _MIN_IMPORTED_LENGTH or not secret.isprintable() or " " in secret:
        raise ValueError(
            f"an imported appkey must be {_MIN_IMPORTED_LENGTH}+ printable characters "
            "without spaces (API Gateway's rule for API keys)"
        )
    return secret


# Tencent credentials.


def create_credential(operator: Operator, args: argparse.Namespace) -> int:
    key = operator.store.find(args.key_id)
    secret_id = _issue_credential(operator, key)
    print(f"Requests signed with {secret_id} count as {key.key_id}'s: its plan, quota and usage apply.")
    return 0


def list_credentials(operator: Operator, args: argparse.Namespace) -> int:
    keys = {key.key_hash: key for key in operator.store.keys()}
    owner = operator.store.find(args.key_id).key_hash if args.key_id else None
    print(f"{'SecretId':<38}{'status':<10}{'key id':<14}{'created':<27}name")
    for credential in sorted(operator.store.credentials(), key=lambda c: c.created_at):
        if owner and credential.key_hash != owner:
            continue
        key = keys.get(credential.key_hash)
        print(
            f"{credential.secret_id:<38}{credential.status.value:<10}{credential.key_hash[:12]:<14}"
            f"{credential.created_at.isoformat():<27}{key.name if key else '(key deleted)'}"
        )
    return 0


def disable_credential(operator: Operator, args: argparse.Namespace) -> int:
    return _set_credential_status(operator, args.secret_id, KeyStatus.DISABLED)


def enable_credential(operator: Operator, args: argparse.Namespace) -> int:
    return _set_credential_status(operator, args.secret_id, KeyStatus.ACTIVE)


def delete_credential(operator: Operator, args: argparse.Namespace) -> int:
    credential = _credential(operator, args.secret_id)
    operator.store.delete_credential(credential.secret_id)
    print(f"deleted {credential.secret_id}")
    return 0


def rotate_credential(operator: Operator, args: argparse.Namespace) -> int:
    """A new pair for the same key; the old one is disabled, to delete once clients have moved."""
    old = _credential(operator, args.secret_id)
    key = operator.store.get(old.key_hash)
    if key is None:
        raise LookupError(f"{old.secret_id}'s appkey no longer exists")
    _issue_credential(operator, key)
    operator.store.set_credential_status(old.secret_id, KeyStatus.DISABLED)
    print(f"{old.secret_id} is now disabled (enable it again, or delete it once clients use the new pair)")
    return 0


def _issue_credential(operator: Operator, key: AppKey) -> str:
    if operator.cipher is None:
        raise LookupError("name the KMS key that seals SecretKeys: --stack NAME, --kms-key or TENCENT_SECRETS_KEY")
    credential, secret_key = issue(key.key_hash, operator.cipher)
    operator.store.put_credential(credential)
    print(f"SecretId:  {credential.secret_id}")
    print(f"SecretKey: {secret_key}")
    print(f"key id: {key.key_id}  name: {key.name}  plan: {key.plan}")
    print(f"SecretKey is shown only now; only its encryption under {operator.cipher.key_id} is stored.")
    return credential.secret_id


def _credential(operator: Operator, secret_id: str) -> SigningCredential:
    credential = operator.store.get_credential(secret_id)
    if credential is None:
        raise LookupError(f"no credential has the SecretId {secret_id!r}")
    return credential


def _set_credential_status(operator: Operator, secret_id: str, status: KeyStatus) -> int:
    credential = _credential(operator, secret_id)
    operator.store.set_credential_status(credential.secret_id, status)
    print(f"{credential.secret_id} is now {status.value}")
    return 0


# Plans.


def list_plans(operator: Operator, args: argparse.Namespace) -> int:
    print(f"{'plan':<14}{'source':<10}{'usage plan':<14}limits")
    for plan in sorted(operator.store.plans(), key=lambda plan: plan.name):
        source = "template" if plan.from_template else "table"
        print(f"{plan.name:<14}{source:<10}{plan.usage_plan_id or '-':<14}{_plan_summary(plan.describe())}")
    return 0


def create_plan(operator: Operator, args: argparse.Namespace) -> int:
    plan = Plan(
        name=args.name,
        requests_per_second=args.rps,
        burst=args.burst,
        daily_quota=args.daily,
        monthly_quota=args.monthly,
        trial_calls=args.trial,
    )
    if operator.store.get_plan(plan.name) is not None:
        raise ValueError(f"a plan named {plan.name!r} exists already")
    # Keys on this plan need a usage plan too, on the API stage the template's plans use.
    model = next((p.usage_plan_id for p in operator.store.plans() if p.usage_plan_id), None)
    usage_plan_id = operator.gateway.create_usage_plan(plan, model) if model else None
    operator.store.put_plan(replace(plan, usage_plan_id=usage_plan_id))
    print(
        f"plan {plan.name}: {_plan_summary(plan.describe())}; "
        f"API Gateway usage plan {usage_plan_id or '- (none: no template plans found)'}"
    )
    return 0


def delete_plan(operator: Operator, args: argparse.Namespace) -> int:
    plan = operator.plan(args.name)
    if plan.from_template:
        raise ValueError(f"{plan.name} comes from template.yaml; change it there and deploy")
    users = [key.key_id for key in operator.store.keys() if key.plan == plan.name]
    if users:
        raise ValueError(f"{len(users)} key(s) are on {plan.name} (e.g. {users[0]}); move them first")
    if plan.usage_plan_id:
        operator.gateway.delete_usage_plan(plan.usage_plan_id)
    operator.store.delete_plan(plan.name)
    print(f"deleted plan {plan.name}")
    return 0


def _plan_summary(plan: dict) -> str:
    parts = [f"{plan['requests_per_second']}/s"]
    if plan["burst"]:
        parts.append(f"burst {plan['burst']}")
    for name, label in (("daily_quota", "a day"), ("monthly_quota", "a month"), ("trial_calls", "in all")):
        if plan[name]:
            parts.append(f"{plan[name]} {label}")
    return ", ".join(parts)


# Where the table is.


def _deployment(args: argparse.Namespace) -> tuple[str, str, str | None]:
    """The table's name, the quota day's UTC offset and the KMS key sealing SecretKeys, from
    wherever the user pointed."""
    offset = os.environ.get("QUOTA_UTC_OFFSET", "+00:00")
    secrets_key = args.kms_key or os.environ.get("TENCENT_SECRETS_KEY") or None
    if args.table:
        return args.table, offset, secrets_key
    if args.stack:
        stack = boto3.client("cloudformation").describe_stacks(StackName=args.stack)["Stacks"][0]
        outputs = {o["OutputKey"]: o["OutputValue"] for o in stack.get("Outputs", [])}
        parameters = {p["ParameterKey"]: p.get("ParameterValue") for p in stack.get("Parameters", [])}
        if TABLE_OUTPUT not in outputs:
            raise LookupError(f"stack {args.stack} has no {TABLE_OUTPUT} output")
        return (
            outputs[TABLE_OUTPUT],
            parameters.get(OFFSET_PARAMETER) or offset,
            args.kms_key or outputs.get(SECRETS_KEY_OUTPUT),
        )
    if os.environ.get("APPKEYS_TABLE"):
        return os.environ["APPKEYS_TABLE"], offset, secrets_key
    raise LookupError("name the table: --stack NAME, --table NAME or APPKEYS_TABLE")


def _expiry(text: str) -> datetime:
    moment = datetime.fromisoformat(text)
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _count(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError("must be at least 1")
    return value


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m ocr_api.keys", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    where = parser.add_mutually_exclusive_group()
    where.add_argument("--stack", help="a deployed stack; its AppKeysTableName output is used")
    where.add_argument("--table", help="the DynamoDB table name")
    parser.add_argument(
        "--endpoint-url",
        default=os.environ.get("DYNAMODB_ENDPOINT_URL") or None,
        help="an endpoint other than AWS's for DynamoDB, API Gateway and KMS (the local server's)",
    )
    parser.add_argument(
        "--kms-key", help="the KMS key that seals Tencent SecretKeys (default: the stack's, or TENCENT_SECRETS_KEY)"
    )
    parser.add_argument("--utc-offset", help="where quota days begin (default: the stack's)")
    commands = parser.add_subparsers(required=True, metavar="COMMAND")

    new = commands.add_parser("create", help="create a key and print it once")
    new.add_argument("--name", required=True, help="who or what the key is for")
    new.add_argument("--plan", default=DEFAULT_PLAN, help=f"the key's plan ({DEFAULT_PLAN})")
    new.add_argument("--expires", type=_expiry, help="ISO date or time the key stops working")
    new.add_argument("--api", action="append", help="allow only this API (repeatable)")
    new.add_argument(
        "--import",
        dest="import_secret",
        action="store_true",
        help="register an existing appkey, read from standard input",
    )
    new.set_defaults(command=create)

    commands.add_parser("list", help="list keys (never their secrets)").set_defaults(command=list_keys)

    report = commands.add_parser("usage", help="a key's plan, calls today and this month, what is left")
    report.add_argument("key_id")
    report.add_argument("--json", action="store_true", help="as GET /v1/usage answers")
    report.set_defaults(command=usage)

    move = commands.add_parser("plan", help="move a key to another plan")
    move.add_argument("key_id")
    move.add_argument("plan")
    move.set_defaults(command=move_to_plan)

    for name, action in (("disable", disable), ("enable", enable), ("delete", delete)):
        sub = commands.add_parser(name, help=f"{name} a key by its key id")
        sub.add_argument("key_id", help="the key id that create and list print")
        sub.set_defaults(command=action)

    plans = commands.add_parser("plans", help="list, create or delete plans").add_subparsers(
        required=True, metavar="ACTION"
    )
    plans.add_parser("list", help="every plan, from the template and the table").set_defaults(command=list_plans)
    make = plans.add_parser("create", help="a plan of your own, with its API Gateway usage plan")
    make.add_argument("name")
    make.add_argument("--rps", type=_count, default=100, help="requests per second (100)")
    make.add_argument("--burst", type=_count, help="most requests in one second (default: --rps)")
    make.add_argument("--daily", type=_count, help="calls a day")
    make.add_argument("--monthly", type=_count, help="calls a month")
    make.add_argument("--trial", type=_count, help="calls in all (a trial; not with --daily/--monthly)")
    make.set_defaults(command=create_plan)
    drop = plans.add_parser("delete", help="delete a plan no key is on")
    drop.add_argument("name")
    drop.set_defaults(command=delete_plan)

    tencent = commands.add_parser(
        "tencent-credentials", help="SecretId/SecretKey pairs with which Tencent SDKs sign for a key"
    ).add_subparsers(required=True, metavar="ACTION")
    issue = tencent.add_parser("create", help="a new pair for a key; the SecretKey is printed once")
    issue.add_argument("key_id", help="the key id that create and list print")
    issue.set_defaults(command=create_credential)
    show = tencent.add_parser("list", help="pairs (never their SecretKeys), of one key or all")
    show.add_argument("key_id", nargs="?")
    show.set_defaults(command=list_credentials)
    for name, action, says in (
        ("disable", disable_credential, "refuse the pair's signatures"),
        ("enable", enable_credential, "accept the pair's signatures again"),
        ("delete", delete_credential, "delete the pair"),
        ("rotate", rotate_credential, "a new pair for the same key, and the old one disabled"),
    ):
        sub = tencent.add_parser(name, help=says)
        sub.add_argument("secret_id")
        sub.set_defaults(command=action)
    return parser


if __name__ == "__main__":
    sys.exit(main())
