"""The local Lambda runtime holds functions to Lambda's limits, so that tests see what Lambda
would do: a synchronous answer of at most 6 MB, and a container-image function's instance within
its memory. Called with boto3's own invoke, as the API function calls the deep engine."""

from __future__ import annotations

import json

import boto3
import pytest
from botocore.config import Config

from ocr_local.lambda_endpoint import LocalLambdaEndpoint
from ocr_local.lambda_runtime import LambdaInstances
from ocr_local.template import FunctionSpec


def function(name: str, handler: str, package_type: str = "Image", memory_mb: int = 512) -> FunctionSpec:
    return FunctionSpec(logical_id=name, handler=f"local_functions.{handler}", timeout_seconds=20,
                        memory_mb=memory_mb, environment={}, package_type=package_type)


@pytest.fixture(scope="module")
def invoke():
    pools = {spec.logical_id: LambdaInstances(spec, {}, 1) for spec in (
        function("Answers", "answer_of_size"),
        function("ImageAllocates", "allocate"),
        function("ZipAllocates", "allocate", package_type="Zip"),
    )}
    endpoint = LocalLambdaEndpoint(("127.0.0.1", 0), pools)
    endpoint.start()
    client = boto3.client("lambda", endpoint_url=endpoint.endpoint_url, region_name="us-east-1",
                          aws_access_key_id="local", aws_secret_access_key="local",
                          config=Config(retries={"total_max_attempts": 1}, read_timeout=30))

    def call(name: str, event: dict) -> tuple[str | None, dict]:
        response = client.invoke(FunctionName=name, Payload=json.dumps(event))
        return response.get("FunctionError"), json.loads(response["Payload"].read())

    yield call
    endpoint.stop()
    for pool in pools.values():
        pool.close()


def test_an_answer_over_six_megabytes_is_lambdas_error_not_the_answer(invoke):
    assert invoke("Answers", {"megabytes": 5.5}) == (None, {"text": "a" * int(5.5 * 1024 * 1024)})
    error, answer = invoke("Answers", {"megabytes": 6.5})
    assert error == "Unhandled" and answer["errorType"] == "Function.ResponseSizeTooLarge"


def test_an_image_functions_instance_cannot_use_more_than_its_memory(invoke):
    # GIVEN a container-image function of 512 MB
    # WHEN it holds 100 MB, THEN it answers; WHEN it needs 1 GB, THEN the invocation fails
    assert invoke("ImageAllocates", {"megabytes": 100}) == (None, {"held": 100 * 1024 * 1024})
    error, answer = invoke("ImageAllocates", {"megabytes": 1024})
    assert error == "Unhandled" and answer["errorType"] in ("MemoryError", "Runtime.ExitError")
    # AND the instance still answers what fits
    assert invoke("ImageAllocates", {"megabytes": 100}) == (None, {"held": 100 * 1024 * 1024})


def test_a_zip_functions_instance_is_not_capped_here(invoke):
    # Its page workers cap themselves; its handler's threads reserve address space Lambda does
    # not count, so a cap on it would fail where Lambda does not.
    assert invoke("ZipAllocates", {"megabytes": 1024}) == (None, {"held": 1024 * 1024 * 1024})
