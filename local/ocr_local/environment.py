"""The function's environment for a local run: the template's, with local places swapped in."""

from __future__ import annotations

import glob
import os
from dataclasses import replace
from pathlib import Path

import boto3

from ocr_api.adapters.api_gateway_keys import GatewayKeys
from ocr_api.adapters.dynamodb_keys import AppKeyStore
from ocr_api.adapters.kms_secrets import KmsSecretCipher
from ocr_api.handlers.plan_catalog import plans_from_properties, write_plans
from ocr_api.keys import DEFAULT_PLAN, AppKey
from ocr_api.keys.credentials import issue
from ocr_local.dynamodb import credentials_for_endpoint
from ocr_local.queue_poller import queue_arn, queue_url
from ocr_local.template import ApiSpec, FunctionSpec

LOCAL_TABLE_NAME = "ocr-appkeys-local"
# The local KMS key that seals Tencent SecretKeys, by the alias the template's function is given.
LOCAL_SECRETS_KEY_ALIAS = "alias/ocr-api-local-tencent-secrets"
LOCAL_UPLOADS_BUCKET = "ocr-uploads-local"
LOCAL_JOBS_TABLE = "ocr-jobs-local"
# The template's queues, by logical id, as the local server names them.
LOCAL_QUEUE_NAMES = {
    "JobPagesQueue": "ocr-job-pages-local",
    "JobPagesDeadLetterQueue": "ocr-job-pages-dead-letters-local",
}
# What the template's !Ref of these resources names locally.
LOCAL_RESOURCE_NAMES = {
    "AppKeysTable": LOCAL_TABLE_NAME,
    "TencentSecretsKeyAlias": LOCAL_SECRETS_KEY_ALIAS,
    "UploadsBucket": LOCAL_UPLOADS_BUCKET,
    "JobsTable": LOCAL_JOBS_TABLE,
}


def function_environment(
    function: FunctionSpec,
    dynamodb_endpoint_url: str | None,
    layer_dir: Path | None = None,
    allowed_networks: list[str] = (),
    lambda_endpoint_url: str | None = None,
) -> dict[str, str]:
    environment = dict(function.environment)
    if "JOBS_TABLE" in environment:
        environment["JOBS_TABLE"] = LOCAL_JOBS_TABLE
    environment.update(
        APPKEYS_TABLE=LOCAL_TABLE_NAME,
        POWERTOOLS_TRACE_DISABLED="true",
        # Lambda's own variable, which the page workers' memory caps are cut from.
        AWS_LAMBDA_FUNCTION_MEMORY_SIZE=str(function.memory_mb),
    )
    if lambda_endpoint_url:
        # Where its Invoke calls of other functions go: the local Lambda endpoint.
        environment["LAMBDA_ENDPOINT_URL"] = lambda_endpoint_url
    if allowed_networks:
        environment["URL_ALLOWED_NETWORKS"] = ",".join(allowed_networks)
    if dynamodb_endpoint_url:
        environment["DYNAMODB_ENDPOINT_URL"] = dynamodb_endpoint_url
        # The embedded moto server answers KMS, S3 and SQS on the same endpoint.
        environment["KMS_ENDPOINT_URL"] = dynamodb_endpoint_url
        environment["S3_ENDPOINT_URL"] = dynamodb_endpoint_url
        environment["SQS_ENDPOINT_URL"] = dynamodb_endpoint_url
        if "JOBS_QUEUE_URL" in environment:
            environment["JOBS_QUEUE_URL"] = queue_url(dynamodb_endpoint_url, LOCAL_QUEUE_NAMES["JobPagesQueue"])
        if "JOBS_DEAD_LETTER_QUEUE_ARN" in environment:
            environment["JOBS_DEAD_LETTER_QUEUE_ARN"] = queue_arn(LOCAL_QUEUE_NAMES["JobPagesDeadLetterQueue"])
        environment.update(credentials_for_endpoint())
    # The layer's models, or this machine's own when no layer tree is given.
    environment["TESSDATA_PREFIX"] = str(layer_dir / "share" / "tessdata") if layer_dir else system_tessdata_dir()
    return environment


# Where Debian's tesseract-ocr-* packages (and most other distributions') put the models.
_SYSTEM_TESSDATA = ("/usr/share/tesseract-ocr/*/tessdata", "/usr/share/tessdata", "/usr/local/share/tessdata")


def system_tessdata_dir() -> str:
    """This machine's Tesseract models directory: $TESSDATA_PREFIX, or where packages put them."""
    if os.environ.get("TESSDATA_PREFIX"):
        return os.environ["TESSDATA_PREFIX"]
    for pattern in _SYSTEM_TESSDATA:
        for directory in sorted(glob.glob(pattern), reverse=True):
            if os.path.exists(os.path.join(directory, "eng.traineddata")):
                return directory
    raise SystemExit("no Tesseract models found: run scripts/setup.sh first")


def write_template_plans(store: AppKeyStore, spec: ApiSpec, usage_plan_ids: dict[str, str]) -> None:
    """What the template's PlanCatalog resource does on deploy, with the local usage plans."""
    items = [{**item, "UsagePlanId": usage_plan_ids.get(str(item.get("UsagePlanId")))} for item in spec.plans]
    write_plans(store, plans_from_properties(items))


def create_secrets_key(endpoint_url: str | None) -> str:
    """The template's TencentSecretsKey and its alias, in the local KMS (once); the alias."""
    kms = boto3.client("kms", endpoint_url=endpoint_url)
    aliases = {alias["AliasName"] for alias in kms.list_aliases()["Aliases"]}
    if LOCAL_SECRETS_KEY_ALIAS not in aliases:
        key_id = kms.create_key(Description="Seals the Tencent SecretKeys of the local API")["KeyMetadata"]["KeyId"]
        kms.create_alias(AliasName=LOCAL_SECRETS_KEY_ALIAS, TargetKeyId=key_id)
    return LOCAL_SECRETS_KEY_ALIAS


def create_uploads_bucket(endpoint_url: str | None, properties: dict) -> str:
    """The template's uploads bucket (once), with its CORS rules and lifecycle; its name.
    (moto keeps the lifecycle without acting on it; the service refuses old uploads itself.)"""
    s3 = boto3.client("s3", endpoint_url=endpoint_url)
    if LOCAL_UPLOADS_BUCKET not in {bucket["Name"] for bucket in s3.list_buckets()["Buckets"]}:
        s3.create_bucket(Bucket=LOCAL_UPLOADS_BUCKET)
    # CloudFormation's names for S3's own.
    cors = [
        {
            "AllowedMethods": rule["AllowedMethods"],
            "AllowedOrigins": rule["AllowedOrigins"],
            "AllowedHeaders": rule.get("AllowedHeaders", []),
            "MaxAgeSeconds": rule.get("MaxAge", 0),
        }
        for rule in properties["CorsConfiguration"]["CorsRules"]
    ]
    s3.put_bucket_cors(Bucket=LOCAL_UPLOADS_BUCKET, CORSConfiguration={"CORSRules": cors})
    rules = [
        {
            "ID": rule["Id"],
            "Status": rule["Status"],
            "Filter": {"Prefix": rule["Prefix"]},
            "Expiration": {"Days": rule["ExpirationInDays"]},
        }
        for rule in properties["LifecycleConfiguration"]["Rules"]
    ]
    s3.put_bucket_lifecycle_configuration(Bucket=LOCAL_UPLOADS_BUCKET, LifecycleConfiguration={"Rules": rules})
    return LOCAL_UPLOADS_BUCKET


def register_tencent_credential(store: AppKeyStore, key: AppKey, endpoint_url: str | None) -> tuple[str, str]:
    """A SecretId/SecretKey pair for ``key``, as ``keys tencent-credentials create`` makes one
    (with the key ``create_secrets_key`` made)."""
    credential, secret_key = issue(key.key_hash, KmsSecretCipher(LOCAL_SECRETS_KEY_ALIAS, endpoint_url))
    store.put_credential(credential)
    return credential.secret_id, secret_key


def register_appkey(store: AppKeyStore, secret: str, name: str, endpoint_url: str | None) -> AppKey:
    """A key on the default plan, linked into its usage plan as the key command would."""
    key = AppKey.for_secret(secret, name, plan=DEFAULT_PLAN)
    if store.get(key.key_hash) is None:
        plan = store.get_plan(DEFAULT_PLAN)
        if plan is not None and plan.usage_plan_id:
            gateway_key_id, _ = GatewayKeys(endpoint_url).link(secret, key, plan.usage_plan_id)
            key = replace(key, gateway_key_id=gateway_key_id)
        store.put(key)
    return key
