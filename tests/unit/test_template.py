"""template.yaml and the code agree: routes, settings, binary types, the table, permissions."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import timedelta

import pytest
import yaml

from ocr_api.adapters.api_gateway_keys import usage_plan_limits
from ocr_api.config import ConfigurationError, Settings
from ocr_api.handlers.plan_catalog import plans_from_properties
from ocr_api.jobs.model import JOB_RETENTION
from ocr_api.service.uploads import UPLOAD_RETENTION
from ocr_local.apigateway import build_event
from ocr_local.template import TEMPLATE_PATH, _CloudFormationLoader, load_template


def function_environment_names(spec) -> set[str]:
    return set(spec.functions["OcrFunction"].environment)


@pytest.fixture(scope="module")
def template() -> dict:
    return yaml.load(TEMPLATE_PATH.read_text(), Loader=_CloudFormationLoader)


def test_every_template_route_reaches_a_handler_route(spec, invoke):
    declared = {(route.method, route.path) for route in spec.routes}
    assert declared == {
        ("POST", "/v1/imagerecognition/ocr"),
        ("GET", "/v1/imagerecognition/ocr/demo"),
        ("POST", "/v1/ocr/universal"),
        ("POST", "/imagerecognition/imagestreamocr"),
        ("GET", "/imagerecognition/imagestreamocr/demo"),
        ("POST", "/v3/recognition/general-ocr"),
        ("POST", "/"),
        ("GET", "/v1/usage"),
        ("POST", "/v1/uploads"),
        ("POST", "/v1/ocr/jobs"),
        ("GET", "/v1/ocr/jobs/{job_id}"),
        ("GET", "/v1/ocr/jobs/{job_id}/text"),
        ("POST", "/v1/webhook-secret"),
        ("GET", "/"),
        ("GET", "/console"),
        ("GET", "/console/{asset}"),
    }
    pages = {("GET", "/"), ("GET", "/console"), ("GET", "/console/{asset}")}
    for method, resource in declared - pages:
        path = resource.replace("{job_id}", "job_" + "0" * 32)
        event = build_event(method=method, path=path, resource=resource, stage=spec.stage)
        # A dialect's own envelope, whatever the answer: not the router's "Not found".
        body = json.loads(invoke(event)["body"])
        assert {"DataStatus", "request_id", "nonce", "Response"} & set(body), (method, resource)
    # The console's page and files (its own tests: tests/browser).
    for method, resource in pages:
        path = resource.replace("{asset}", "console.css")
        answer = invoke(build_event(method=method, path=path, resource=resource, stage=spec.stage))
        assert answer["statusCode"] == 200, resource
        assert answer["multiValueHeaders"]["Content-Type"][0].startswith("text/"), resource


def test_api_gateway_checks_keys_on_the_native_routes_only(spec):
    # The compatibility routes' clients send their key where API Gateway does not look.
    checked = {(route.method, route.path) for route in spec.routes if route.api_key_required}
    assert checked == {
        ("POST", "/v1/ocr/universal"),
        ("GET", "/v1/usage"),
        ("POST", "/v1/uploads"),
        ("POST", "/v1/ocr/jobs"),
        ("GET", "/v1/ocr/jobs/{job_id}"),
        ("GET", "/v1/ocr/jobs/{job_id}/text"),
        ("POST", "/v1/webhook-secret"),
    }


@pytest.mark.parametrize(
    "parameters",
    [
        {},
        {"StandardPlanBurst": 300, "StandardPlanDailyQuota": 1000},
        {"StandardPlanDailyQuota": 1000, "StandardPlanMonthlyQuota": 20000, "TrialPlanCalls": 7},
    ],
)
def test_usage_plans_mirror_the_plans_the_catalog_writes(parameters):
    # GIVEN the template deployed with these parameters
    spec = load_template(parameter_values=parameters)
    plans = {plan.name: plan for plan in plans_from_properties(spec.plans)}
    # THEN each plan names its usage plan, and the usage plan holds the plan's limits
    for plan in plans.values():
        usage_plan = spec.usage_plans[plan.usage_plan_id]
        mirrored = usage_plan_limits(plan)
        assert usage_plan["Throttle"] == {
            "RateLimit": mirrored["throttle"]["rateLimit"],
            "BurstLimit": mirrored["throttle"]["burstLimit"],
        }
        expected_quota = mirrored.get("quota")
        assert usage_plan.get("Quota") == (
            {"Limit": expected_quota["limit"], "Period": expected_quota["period"]} if expected_quota else None
        )
        assert usage_plan["ApiStages"] == [{"ApiId": "OcrApi", "Stage": "OcrApi.Stage"}]
    assert plans["trial"].trial_calls == parameters.get("TrialPlanCalls", 100)


def test_the_plan_catalog_may_only_write_to_the_table(template):
    function = template["Resources"]["PlanCatalogFunction"]["Properties"]
    [statement] = function["Policies"][0]["Statement"]
    assert statement["Action"] == "dynamodb:PutItem"
    assert statement["Resource"] == {"Fn::GetAtt": ["AppKeysTable", "Arn"]}
    assert "Layers" not in function and "Events" not in function


def test_a_method_the_template_does_not_declare_is_not_served(spec, invoke, capfd):
    event = build_event(
        method="GET", path="/v1/imagerecognition/ocr", resource="/v1/imagerecognition/ocr", stage=spec.stage
    )
    assert invoke(event)["statusCode"] == 404
    # AND no endpoint counts it as one of its requests
    assert '"Endpoint"' not in capfd.readouterr().out


def test_the_template_environment_is_valid_configuration(spec):
    settings = Settings.from_environment(spec.functions["OcrFunction"].environment)
    assert settings.languages == "chi_sim+eng"
    assert settings.max_image_bytes == 10 * 1024 * 1024
    assert settings.tessdata_dir == "/opt/share/tessdata"
    assert settings.quota_day_offset.total_seconds() == 0
    assert function_environment_names(spec) >= {"POWERTOOLS_METRICS_NAMESPACE", "QUOTA_UTC_OFFSET"}


def test_the_function_answers_before_api_gateway_gives_up(spec):
    function = spec.functions["OcrFunction"]
    settings = Settings.from_environment(function.environment)
    assert function.timeout_seconds < 29
    assert settings.max_recognition_seconds + settings.response_reserve_seconds < function.timeout_seconds


def test_binary_media_types_cover_every_upload_shape(spec):
    assert set(spec.binary_media_types) == {"multipart/form-data", "image/*", "application/octet-stream"}


def test_table_is_on_demand_encrypted_recoverable_with_ttl(spec):
    table = spec.table_properties
    assert table["BillingMode"] == "PAY_PER_REQUEST"
    assert table["SSESpecification"]["SSEEnabled"] is True
    assert table["PointInTimeRecoverySpecification"]["PointInTimeRecoveryEnabled"] is True
    assert table["TimeToLiveSpecification"] == {"AttributeName": "expires_at", "Enabled": True}


def test_function_may_only_read_and_count_in_its_own_table_open_secret_keys_and_use_uploads(template):
    statements = template["Resources"]["OcrFunction"]["Properties"]["Policies"][0]["Statement"]
    table, secrets, webhook_secrets, uploads, jobs, job_results, job_queue = statements
    assert sorted(table["Action"]) == ["dynamodb:GetItem", "dynamodb:UpdateItem"]
    assert table["Resource"] == {"Fn::GetAtt": ["AppKeysTable", "Arn"]}
    # Decrypt only, with this stack's key, and only what was sealed under a SecretId.
    assert secrets["Action"] == "kms:Decrypt"
    assert secrets["Resource"] == {"Fn::GetAtt": ["TencentSecretsKey", "Arn"]}
    assert secrets["Condition"] == {"Null": {"kms:EncryptionContext:SecretId": "false"}}
    # Encrypt only webhook secrets, under their own context (a sealed SecretKey never opens as one).
    assert webhook_secrets["Action"] == "kms:Encrypt"
    assert webhook_secrets["Condition"] == {"StringLike": {"kms:EncryptionContext:SecretId": "webhook#*"}}
    environment = template["Resources"]["OcrFunction"]["Properties"]["Environment"]["Variables"]
    assert environment["TENCENT_SECRETS_KEY"] == {"Ref": "TencentSecretsKeyAlias"}
    # Uploads: presign a client's POST and read it back, under uploads/ only; no list, no delete.
    assert sorted(uploads["Action"]) == ["s3:GetObject", "s3:PutObject"]
    assert uploads["Resource"] == {"Fn::Sub": "${UploadsBucket.Arn}/uploads/*"}
    assert environment["UPLOADS_BUCKET"] == {"Ref": "UploadsBucket"}
    # Jobs: started and read, never changed by the API; their pages are the worker's to write.
    assert sorted(jobs["Action"]) == ["dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:Query"]
    assert jobs["Resource"] == {"Fn::GetAtt": ["JobsTable", "Arn"]}
    assert (job_results["Action"], job_results["Resource"]) == (
        "s3:GetObject",
        {"Fn::Sub": "${UploadsBucket.Arn}/jobs/*"},
    )
    assert (job_queue["Action"], job_queue["Resource"]) == ("sqs:SendMessage", {"Fn::GetAtt": ["JobPagesQueue", "Arn"]})


def test_the_uploads_bucket_is_private_encrypted_tls_only_and_keeps_uploads_a_day(template, spec):
    bucket = spec.bucket_properties
    assert bucket["PublicAccessBlockConfiguration"] == dict.fromkeys(
        ("BlockPublicAcls", "BlockPublicPolicy", "IgnorePublicAcls", "RestrictPublicBuckets"), True
    )
    [encryption] = bucket["BucketEncryption"]["ServerSideEncryptionConfiguration"]
    assert encryption["ServerSideEncryptionByDefault"]["SSEAlgorithm"] in ("AES256", "aws:kms")
    uploads, jobs = bucket["LifecycleConfiguration"]["Rules"]
    assert (uploads["Prefix"], uploads["Status"]) == ("uploads/", "Enabled")
    assert timedelta(days=uploads["ExpirationInDays"]) == UPLOAD_RETENTION
    assert (jobs["Prefix"], jobs["Status"]) == ("jobs/", "Enabled")
    assert timedelta(days=jobs["ExpirationInDays"]) == JOB_RETENTION
    [cors] = bucket["CorsConfiguration"]["CorsRules"]
    assert cors["AllowedMethods"] == ["POST"]
    [statement] = template["Resources"]["UploadsBucketPolicy"]["Properties"]["PolicyDocument"]["Statement"]
    assert (statement["Effect"], statement["Action"]) == ("Deny", "s3:*")
    assert statement["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}
    settings = Settings.from_environment(spec.functions["OcrFunction"].environment)
    assert settings.max_upload_bytes == 50 * 1024 * 1024


def test_the_secrets_key_rotates_and_outlives_the_stack(template):
    key = template["Resources"]["TencentSecretsKey"]
    assert key["Properties"]["EnableKeyRotation"] is True
    assert key["DeletionPolicy"] == key["UpdateReplacePolicy"] == "Retain"


def test_the_deep_engine_may_be_given_reserved_concurrency(template):
    parameter = template["Parameters"]["DeepEngineReservedConcurrency"]
    assert parameter["Default"] == 0 and parameter["MinValue"] == 0
    reserved = template["Resources"]["DeepEngineFunction"]["Properties"]["ReservedConcurrentExecutions"]
    # 0 would throttle every call: it means "none reserved", and the property is left out.
    assert reserved == {
        "Fn::If": [
            "DeepEngineHasReservedConcurrency",
            {"Ref": "DeepEngineReservedConcurrency"},
            {"Ref": "AWS::NoValue"},
        ]
    }
    assert template["Conditions"]["DeepEngineHasReservedConcurrency"] == {
        "Fn::Not": [{"Fn::Equals": [{"Ref": "DeepEngineReservedConcurrency"}, 0]}]
    }


def test_a_custom_domain_serves_the_api_at_its_root(template):
    mapping = template["Resources"]["CustomDomainRoot"]
    assert mapping["Condition"] == template["Resources"]["CustomDomain"]["Condition"] == "HasCustomDomain"
    # No BasePath: POST / on the domain is the Tencent route, as Tencent's SDKs call it.
    assert "BasePath" not in mapping["Properties"]
    assert mapping["Properties"]["Stage"] == {"Ref": "OcrApi.Stage"}


def test_outputs_name_the_url_the_table_and_the_secrets_key_the_key_command_reads(template):
    assert {"ApiUrl", "AppKeysTableName", "UsageUrl", "TencentSecretsKeyName"} <= set(template["Outputs"])


@pytest.mark.parametrize(
    "variable, value",
    [
        ("MAX_IMAGE_BYTES", "12"),
        ("MAX_IMAGE_PIXELS", "lots"),
        ("OCR_LANGUAGES", "eng;rm -rf"),
        ("PARALLEL_IMAGES", "0"),
        ("MAX_RECOGNITION_SECONDS", "0.1"),
        ("QUOTA_UTC_OFFSET", "+8"),
        ("QUOTA_UTC_OFFSET", "+15:00"),
    ],
)
def test_settings_out_of_bounds_fail_at_start_up(variable, value):
    with pytest.raises(ConfigurationError, match=variable):
        Settings.from_environment({"APPKEYS_TABLE": "t", variable: value})


def test_a_table_name_is_required():
    with pytest.raises(ConfigurationError, match="APPKEYS_TABLE"):
        Settings(appkeys_table="")


def test_the_ocr_core_imports_nothing_from_aws():
    probe = (
        "import sys, ocr_api.ocr, ocr_api.ocr.recognizer, ocr_api.ocr.tesseract; "
        "loaded = [m for m in sys.modules if m.split('.')[0] in "
        "('boto3', 'botocore', 'aws_lambda_powertools', 'aws_xray_sdk')]; "
        "print(loaded); sys.exit(1 if loaded else 0)"
    )
    result = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


def test_tracing_wraps_the_handler_only_when_the_template_enables_it():
    probe = (
        "import os, sys; os.environ['APPKEYS_TABLE'] = 't'; "
        "os.environ['POWERTOOLS_TRACE_DISABLED'] = sys.argv[1]; "
        "import ocr_api.app as app; "
        "print('aws_xray_sdk.core' in sys.modules, hasattr(app.handler, '__wrapped__'))"
    )
    for disabled, expected in (("true", "False"), ("false", "True")):
        result = subprocess.run([sys.executable, "-c", probe, disabled], capture_output=True, text=True)
        assert result.returncode == 0, result.stderr
        assert result.stdout.split()[0] == expected


def test_one_tesseract_ships_and_the_layer_checks_its_models_with_it():
    # The function's Tesseract is the pinned tesserocr wheel; the layer holds models only, and its
    # build reads them with the same pin; the development install uses it too.
    root = TEMPLATE_PATH.parent
    [pin] = [
        line
        for line in (root / "functions" / "requirements.txt").read_text().splitlines()
        if line.startswith("tesserocr")
    ]
    version = pin.split("==")[1]
    dockerfile = (root / "layers" / "tesseract" / "Dockerfile").read_text()
    assert f"ARG TESSEROCR_VERSION={version}\n" in dockerfile
    assert f'"{pin}"' in (root / "pyproject.toml").read_text()
    import tesserocr

    assert tesserocr.__version__ == version
    # No Tesseract binary is built or copied into the layer.
    assert "bin/tesseract" not in dockerfile and "make install" not in dockerfile


def test_job_pages_go_to_the_dead_letter_queue_after_the_attempts_the_worker_counts(spec):
    worker = spec.functions["JobWorkerFunction"]
    pages = spec.queues["JobPagesQueue"]
    settings = Settings.from_environment(worker.environment)
    assert int(pages["RedrivePolicy"]["maxReceiveCount"]) == settings.job_page_attempts
    # Lambda asks for a visibility timeout of six times the function's timeout at least.
    assert pages["VisibilityTimeout"] >= 6 * worker.timeout_seconds
    assert {(event.queue, event.batch_size, event.reports_item_failures) for event in worker.queue_events} == {
        ("JobPagesQueue", 1, True),
        ("JobPagesDeadLetterQueue", 1, True),
    }
