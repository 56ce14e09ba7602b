"""Manage appkeys: ``python -m ocr_api.keys create|list|disable|enable|delete``.

Works against a deployed stack (``--stack NAME``), a table by name (``--table``), or any
DynamoDB endpoint (``--endpoint-url``, e.g. the local server's). A new key is printed once.
"""

from __future__ import annotations

import argparse
import os
import sys
from datetime import datetime, timezone

import boto3
from botocore.exceptions import BotoCoreError, ClientError

from ocr_api.errors import KeyStoreUnavailable
from ocr_api.keys.model import AppKey, KeyStatus, new_appkey
from ocr_api.keys.store import AppKeyStore

TABLE_OUTPUT = "AppKeysTableName"


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        store = AppKeyStore(_table_name(args), endpoint_url=args.endpoint_url)
        return args.command(store, args)
    except (KeyStoreUnavailable, LookupError, ValueError, BotoCoreError, ClientError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 1


def create(store: AppKeyStore, args: argparse.Namespace) -> int:
    secret = new_appkey()
    key = AppKey.for_secret(
        secret,
        args.name,
        requests_per_second=args.rps,
        expires_at=args.expires,
        allowed_apis=frozenset(args.api or ()),
        request_quota=args.quota,
    )
    store.put(key)
    print(f"appkey: {secret}")
    print(f"key id: {key.key_id}  name: {key.name}  rps: {key.requests_per_second}")
    print("The appkey is shown only now; only its SHA-256 is stored.")
    return 0


def list_keys(store: AppKeyStore, args: argparse.Namespace) -> int:
    rows = sorted(store.keys(), key=lambda key: key.created_at)
    print(f"{'key id':<14}{'status':<10}{'rps':>7}{'quota':>12}  {'expires':<26}{'apis':<16}name")
    for key in rows:
        expires = key.expires_at.isoformat() if key.expires_at else "-"
        apis = ",".join(sorted(key.allowed_apis)) or "all"
        print(
            f"{key.key_id:<14}{key.status.value:<10}{key.requests_per_second:>7}"
            f"{key.request_quota if key.request_quota is not None else '-':>12}  "
            f"{expires:<26}{apis:<16}{key.name}"
        )
    return 0


def disable(store: AppKeyStore, args: argparse.Namespace) -> int:
    return _set_status(store, args.key_id, KeyStatus.DISABLED)


def enable(store: AppKeyStore, args: argparse.Namespace) -> int:
    return _set_status(store, args.key_id, KeyStatus.ACTIVE)


def delete(store: AppKeyStore, args: argparse.Namespace) -> int:
    key = store.find(args.key_id)
    store.delete(key.key_hash)
    print(f"deleted {key.key_id} ({key.name})")
    return 0


def _set_status(store: AppKeyStore, key_id: str, status: KeyStatus) -> int:
    key = store.find(key_id)
    store.set_status(key.key_hash, status)
    print(f"{key.key_id} ({key.name}) is now {status.value}")
    return 0


def _table_name(args: argparse.Namespace) -> str:
    if args.table:
        return args.table
    if args.stack:
        stack = boto3.client("cloudformation").describe_stacks(StackName=args.stack)["Stacks"][0]
        for output in stack.get("Outputs", []):
            if output["OutputKey"] == TABLE_OUTPUT:
                return output["OutputValue"]
        raise LookupError(f"stack {args.stack} has no {TABLE_OUTPUT} output")
    if os.environ.get("APPKEYS_TABLE"):
        return os.environ["APPKEYS_TABLE"]
    raise LookupError("name the table: --stack NAME, --table NAME or APPKEYS_TABLE")


def _expiry(text: str) -> datetime:
    moment = datetime.fromisoformat(text)
    return moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)


def _positive(text: str) -> int:
    value = int(text)
    if not 1 <= value <= 100_000:
        raise argparse.ArgumentTypeError("must be 1..100000")
    return value


def _quota(text: str) -> int:
    value = int(text)
    if not 1 <= value <= 10**12:
        raise argparse.ArgumentTypeError("must be 1..10^12")
    return value


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m ocr_api.keys", description=__doc__)
    where = parser.add_mutually_exclusive_group()
    where.add_argument("--stack", help="a deployed stack; its AppKeysTableName output is used")
    where.add_argument("--table", help="the DynamoDB table name")
    parser.add_argument(
        "--endpoint-url",
        default=os.environ.get("DYNAMODB_ENDPOINT_URL") or None,
        help="a DynamoDB endpoint other than AWS's (the local server's, for example)",
    )
    commands = parser.add_subparsers(required=True, metavar="COMMAND")

    new = commands.add_parser("create", help="create a key and print it once")
    new.add_argument("--name", required=True, help="who or what the key is for")
    new.add_argument("--rps", type=_positive, default=100, help="requests per second (100)")
    new.add_argument("--expires", type=_expiry, help="ISO date or time the key stops working")
    new.add_argument("--api", action="append", help="allow only this API (repeatable)")
    new.add_argument("--quota", type=_quota, help="the most requests the key may make in all")
    new.set_defaults(command=create)

    commands.add_parser("list", help="list keys (never their secrets)").set_defaults(
        command=list_keys
    )
    for name, action in (("disable", disable), ("enable", enable), ("delete", delete)):
        sub = commands.add_parser(name, help=f"{name} a key by its key id")
        sub.add_argument("key_id", help="the key id that create and list print")
        sub.set_defaults(command=action)
    return parser


if __name__ == "__main__":
    sys.exit(main())
