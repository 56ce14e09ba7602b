"""DynamoDB for local runs: moto's server as the embedded default, the table from the template."""

from __future__ import annotations

import os
import threading
from collections.abc import Mapping
from typing import Any

import botocore.session

from ocr_local.s3_post_policy import checking_post_policies

# moto accepts any credentials; boto3 only needs some to sign with.
LOCAL_AWS_ENVIRONMENT = {
    "AWS_ACCESS_KEY_ID": "local",
    "AWS_SECRET_ACCESS_KEY": "local",
    "AWS_SESSION_TOKEN": "local",
    "AWS_DEFAULT_REGION": "us-east-1",
    "AWS_REGION": "us-east-1",
}


def credentials_for_endpoint(environ: Mapping[str, str] = os.environ) -> dict[str, str]:
    """For a configured endpoint: the shell's own AWS credentials if it has any, else local ones."""
    if environ.get("AWS_ACCESS_KEY_ID") or environ.get("AWS_PROFILE"):
        return {"AWS_DEFAULT_REGION": environ.get("AWS_DEFAULT_REGION", "us-east-1")}
    return dict(LOCAL_AWS_ENVIRONMENT)


def create_table(client, table_name: str, table_properties: dict[str, Any]) -> None:
    """Creates the appkeys table with the key schema and TTL that ``template.yaml`` declares."""
    existing = client.list_tables()["TableNames"]
    if table_name not in existing:
        client.create_table(
            TableName=table_name,
            KeySchema=table_properties["KeySchema"],
            AttributeDefinitions=table_properties["AttributeDefinitions"],
            BillingMode=table_properties["BillingMode"],
        )
        client.get_waiter("table_exists").wait(TableName=table_name)
    ttl = table_properties.get("TimeToLiveSpecification")
    if ttl:
        client.update_time_to_live(TableName=table_name, TimeToLiveSpecification=ttl)


class EmbeddedDynamoDB:
    """moto in server mode on loopback, so every Lambda instance process shares one store.

    It serves API Gateway's usage plans and API keys, KMS and S3 (the uploads bucket) as well.
    DynamoDB applies each write to an item atomically, conditions included; moto's backends do
    not lock, so DynamoDB's requests are served one at a time here (otherwise two instances could
    both pass one rate or quota condition), and the other services' one at a time beside them.
    """

    def __init__(self, port: int) -> None:
        self.endpoint_url = f"http://127.0.0.1:{port}"
        self._port = port
        self._server = None
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        from moto.moto_server.werkzeug_app import (
            DomainDispatcherApplication,
            MotoRequestHandler,
            create_backend_app,
        )
        from werkzeug.serving import make_server

        moto_app = DomainDispatcherApplication(create_backend_app)
        # DynamoDB's calls one at a time, and the other services' one at a time beside them: a
        # large S3 object or a queue poll never holds up a key check.
        dynamodb_calls, other_calls = threading.Lock(), threading.Lock()

        def serialised(environ, start_response):
            is_dynamodb = environ.get("HTTP_X_AMZ_TARGET", "").startswith("DynamoDB_")
            with dynamodb_calls if is_dynamodb else other_calls:
                return list(moto_app(environ, start_response))

        # Form uploads are checked as S3 checks them (moto does not), their bodies read first,
        # outside the lock.
        served = checking_post_policies(serialised, _secret_of)
        self._server = make_server("127.0.0.1", self._port, served, threaded=True, request_handler=MotoRequestHandler)
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._thread.join()


def _secret_of(access_key: str) -> str | None:
    """The secret of the credentials this process signs with (the local ones, or the shell's),
    which the functions' presigned uploads are signed with too."""
    credentials = botocore.session.get_session().get_credentials()
    if credentials is None or credentials.access_key != access_key:
        return None
    return credentials.secret_key
