"""The local Lambda runtime holds functions to Lambda's limits, so that tests see what Lambda
would do: a synchronous answer of at most 6 MB, and an instance within its function's memory.
Called with boto3's own invoke, as the API function calls the deep engine."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys

import boto3
import pytest
from botocore.config import Config

from ocr_local.lambda_endpoint import LocalLambdaEndpoint
from ocr_local.lambda_runtime import LambdaInstances
from ocr_local.memory_limit import memory_cgroups_available
from ocr_local.template import FunctionSpec


def function(name: str, handler: str, package_type: str = "Image", memory_mb: int = 512) -> FunctionSpec:
    return FunctionSpec(
        logical_id=name,
        handler=f"local_functions.{handler}",
        timeout_seconds=20,
        memory_mb=memory_mb,
        environment={},
        package_type=package_type,
    )


@pytest.fixture(scope="module")
def invoke():
    pools = {
        spec.logical_id: LambdaInstances(spec, {}, 1)
        for spec in (
            function("Answers", "answer_of_size"),
            function("ImageAllocates", "allocate"),
            function("ZipAllocates", "allocate", package_type="Zip"),
        )
    }
    endpoint = LocalLambdaEndpoint(("127.0.0.1", 0), pools)
    endpoint.start()
    client = boto3.client(
        "lambda",
        endpoint_url=endpoint.endpoint_url,
        region_name="us-east-1",
        aws_access_key_id="local",
        aws_secret_access_key="local",
        config=Config(retries={"total_max_attempts": 1}, read_timeout=30),
    )

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


def test_an_instance_cannot_use_more_than_its_functions_memory(invoke):
    # GIVEN a container-image function of 512 MB
    # WHEN it holds 100 MB, THEN it answers; WHEN it needs 1 GB, THEN the invocation fails
    # (killed in its memory cgroup, as Lambda would; or refused by its address-space limit)
    assert invoke("ImageAllocates", {"megabytes": 100}) == (None, {"held": 100 * 1024 * 1024})
    error, answer = invoke("ImageAllocates", {"megabytes": 1024})
    assert error == "Unhandled" and answer["errorType"] in ("MemoryError", "Runtime.ExitError")
    # AND the instance (or the one that replaced it) still answers what fits
    assert invoke("ImageAllocates", {"megabytes": 100}) == (None, {"held": 100 * 1024 * 1024})


def test_a_zip_function_is_held_to_its_memory_where_memory_cgroups_can_be_made(invoke):
    # Its handler starts processes (page workers), which only a cgroup counts with it; where none
    # can be made, its page workers still cap their own address space.
    error, answer = invoke("ZipAllocates", {"megabytes": 1024})
    if memory_cgroups_available():
        assert error == "Unhandled" and answer["errorType"] == "Runtime.ExitError"
    else:
        assert (error, answer) == (None, {"held": 1024 * 1024 * 1024})


def test_a_process_started_by_an_instance_counts_against_its_memory():
    # GIVEN an instance's process held to 256 MB, and a process it starts that needs 512 MB
    if not memory_cgroups_available():
        pytest.skip("this machine makes no memory cgroups")
    script = (
        "import subprocess, sys\n"
        "from ocr_local.memory_limit import hold_to_memory\n"
        "print(hold_to_memory(256, single_process=False))\n"
        "child = subprocess.run([sys.executable, '-c', 'bytearray(512 * 2**20); print(1)'])\n"
        "print(child.returncode)\n"
    )
    answer = subprocess.run(
        [sys.executable, "-c", script],
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, "PYTHONPATH": os.pathsep.join(p for p in sys.path if p)},
    )
    # THEN the started process is killed, as Lambda stops an instance whose processes need more
    assert answer.stdout.split() == ["cgroup", str(-signal.SIGKILL)], answer.stderr
