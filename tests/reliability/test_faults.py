"""Fault injection: every endpoint against every fault of its engine, its key store and its clock.

For each fault and endpoint: the answer is the one docs/api/'s tables give; the key's quota is not
charged (calls charged unchanged, the call counted as ``server_error`` wherever the store can
still count it, the quota left unchanged); and once the fault is gone the same request succeeds.
The key's plan allows one call a day, so a charge that was not given back would turn that next
request into a 429.

The engine's faults come from ``faulty_engines.py`` (the real Tesseract with a fault before each
read, in the page worker's process) and from real signals sent to a worker while its engine says
it holds a page. DynamoDB's are real ones at the HTTP level: the store talks to moto's server
through a proxy that throttles, hangs or refuses connections (``faulty_dynamodb.py``, both in a
process of their own). Each invocation is held to its Lambda deadline as
Lambda holds it: one still running at the deadline (and a grace for this machine) is stopped, and
API Gateway answers 502, which no test expects.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import time
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import dataclass, replace

import boto3
import pytest
from PIL import Image, ImageDraw, ImageFont

from faulty_dynamodb import Fault, FaultyDynamoDB, When
from faulty_engines import (
    Aborts,
    Blocks,
    Crashes,
    Hangs,
    Killed,
    Reading,
    ReadingThenHangs,
    RefusesThePage,
    deep_engine_crashes,
    deep_engine_hangs,
    deep_engine_raises,
    engine_setting,
    handler_setting,
)
from helpers import TEST_DATA, day_clock, encode, transparent_40_megapixel_png
from ocr_api.adapters.dynamodb_keys import IN_REGION, AppKeyStore
from ocr_api.config import Settings
from ocr_api.errors import KeyStoreUnavailable, RecognitionUnavailable
from ocr_api.keys import DEFAULT_PLAN, AccessGuard, AppKey, Plan, hash_appkey
from ocr_api.ocr.deadline import deadline_in
from ocr_api.service.budget import ANSWER_SECONDS
from ocr_api.service.ocr_service import OcrService, build_service
from ocr_local.apigateway import FUNCTION_FAILED
from ocr_local.dynamodb import LOCAL_AWS_ENVIRONMENT, create_table
from ocr_local.environment import LOCAL_TABLE_NAME, function_environment, write_template_plans
from ocr_local.lambda_endpoint import LocalLambdaEndpoint
from ocr_local.lambda_runtime import LambdaInstances, LocalLambdaContext
from ocr_local.server_process import free_port
from ocr_tools.api_clients import (
    ENDPOINTS,
    ENGINE_FAILED,
    ENGINE_UNAVAILABLE,
    OK,
    OUT_OF_TIME,
    OVER_MEMORY,
    STORE_UNAVAILABLE,
    Endpoint,
    as_event,
)
from ocr_tools.hostile_files import jpeg_with_many_scans

pytestmark = [pytest.mark.tesseract, pytest.mark.reliability]

# A small image with two words: read in a fraction of a second on every endpoint.
_WORDS = Image.new("L", (200, 60), 255)
ImageDraw.Draw(_WORDS).text((10, 12), "HELLO 42", fill=0, font=ImageFont.load_default(size=28))
PNG = encode(_WORDS, "PNG")
WORD = "HELLO"
CHINESE_SCREENSHOT = (TEST_DATA / "zh-rendered" / "screenshot_02.png").read_bytes()

ONE_A_DAY = Plan("one-call-a-day", daily_quota=1)
TWO_A_DAY = Plan("two-calls-a-day", daily_quota=2)
TRIAL_OF_ONE = Plan("trial-of-one-call", trial_calls=1)

# Every call and every read of the counters happens on this clock's day.
CLOCK = day_clock()
# Lambda stops a function at its deadline; this machine, shared and slow, gets a little more.
DEADLINE_GRACE_SECONDS = 1.0
# The function's timeout, for requests the fault does not concern.
FULL_TIME = 28.0


# What each error answer's description names.
SAYS = {
    ENGINE_FAILED: "recognition engine",
    OUT_OF_TIME: "time",
    STORE_UNAVAILABLE: "appkey store",
    OVER_MEMORY: "more memory",
    ENGINE_UNAVAILABLE: "not available",
}


@dataclass(frozen=True)
class Reply:
    status: int
    body: dict
    endpoint: Endpoint
    raw: str

    @property
    def situation(self) -> tuple[int, object]:
        """(HTTP status, business code); API Gateway's own answers have no business code."""
        if "message" in self.body and len(self.body) == 1:
            return self.status, self.body["message"]
        answer = self.endpoint.read(self.status, self.body)
        return answer.status, answer.code

    def recognised(self) -> str:
        return self.endpoint.read(self.status, self.body).text()

    def is_documented(self, situation: str, appkey: str) -> bool:
        """The status and code the docs give, a description that says why, and nothing private."""
        return (
            self.situation == self.endpoint.situations[situation]
            and SAYS[situation] in self.endpoint.read(self.status, self.body).message
            and not any(leak in self.raw for leak in ("Traceback", "/tmp", "/work", ".py", appkey))
        )


# Fixtures: one moto server behind the proxy for the module; a fresh key and handler per test.


@pytest.fixture(scope="module")
def dynamodb(spec) -> Iterator[FaultyDynamoDB]:
    with pytest.MonkeyPatch.context() as environment:
        for name, value in LOCAL_AWS_ENVIRONMENT.items():
            environment.setenv(name, value)
        server = FaultyDynamoDB()
        create_table(boto3.client("dynamodb", endpoint_url=server.moto_url), LOCAL_TABLE_NAME, spec.table_properties)
        direct = AppKeyStore(LOCAL_TABLE_NAME, server.moto_url)
        write_template_plans(direct, spec, usage_plan_ids={})
        for plan in (ONE_A_DAY, TWO_A_DAY, TRIAL_OF_ONE):
            direct.put_plan(plan)
    yield server
    server.stop()


@pytest.fixture
def table(dynamodb) -> AppKeyStore:
    """The table itself, past the proxy: for keys and for reading the counters."""
    return AppKeyStore(LOCAL_TABLE_NAME, dynamodb.moto_url)


@pytest.fixture
def new_key(table) -> Callable[[Plan], str]:
    def add(plan: Plan = ONE_A_DAY) -> str:
        secret = f"k-fault-{uuid.uuid4().hex}"
        table.put(AppKey.for_secret(secret, "fault injection", plan=plan.name))
        return secret

    return add


@pytest.fixture
def install(
    settings: Settings, dynamodb: FaultyDynamoDB, deployment, warm_workers
) -> Iterator[Callable[..., OcrService]]:
    """Deploys the handler's service: the store behind the proxy, settings as given. With the
    real engine its page workers may be warm from an earlier test; a faulty engine's start cold."""

    def apply(**changes) -> OcrService:
        store = AppKeyStore(LOCAL_TABLE_NAME, dynamodb.url)
        # English alone loads in half the time of chi_sim+eng; the faults do not care.
        changed = replace(settings, **{"languages": "eng", **changes})
        workers = warm_workers(changed) if changed.engine == Settings.engine else None
        installed = build_service(changed, store, workers)
        installed.access.clock = CLOCK
        deployment.replace(installed)
        # Its page workers up before the first call, as on a warm instance: on this 2-core machine
        # their start-up would otherwise compete with the key store's timed calls. (Workers
        # without their models say so here, and again on every call.)
        with contextlib.suppress(RecognitionUnavailable):
            installed.recognizer.wait_until_ready(deadline_in(30))
        return installed

    yield apply
    deployment.close()
    dynamodb.heal()
    dynamodb.clear_log()


@pytest.fixture
def call(spec, deployment) -> Callable[..., Reply]:
    """Sends an endpoint's request through the real handler, held to a Lambda deadline."""
    function = spec.functions["OcrFunction"]

    def send(endpoint: Endpoint, appkey: str, remaining_seconds: float = FULL_TIME, image: bytes = PNG) -> Reply:
        event = as_event(endpoint.image_request(image, appkey=appkey, filename="words.img", part_type="image/png"))
        context = LocalLambdaContext(replace(function, timeout_seconds=remaining_seconds))
        with ThreadPoolExecutor(max_workers=1) as lambda_instance:
            invocation = lambda_instance.submit(deployment.handler, event, context)
            try:
                response = invocation.result(timeout=remaining_seconds + DEADLINE_GRACE_SECONDS)
            except FutureTimeout:
                # Lambda would have stopped it: API Gateway answers for it.
                status, body = FUNCTION_FAILED
                response = {"statusCode": status, "body": json.dumps(body)}
        return Reply(response["statusCode"], json.loads(response["body"]), endpoint, response["body"])

    return send


def usage_of(table: AppKeyStore, secret: str) -> dict:
    """The key's day: calls charged, calls by outcome, and what is left of its quota."""
    guard = AccessGuard(table, clock=CLOCK)
    report = guard.usage(guard.check(secret, None))
    return {**report.today.as_json(), "left": report.remaining["today"]}


def day(calls=0, ok=0, server_error=0, left=1, client_error=0) -> dict:
    # Each request here reads one image: as many requests charged as calls.
    return {
        "calls": calls,
        "requests": calls,
        "job_pages": 0,
        "ok": ok,
        "client_error": client_error,
        "server_error": server_error,
        "rate_limited": 0,
        "quota_exceeded": 0,
        "left": left,
    }


def assert_succeeds(answer: Reply) -> None:
    assert answer.situation == answer.endpoint.situations[OK], answer.body
    assert WORD in answer.recognised()


# The engine's faults, and the Lambda's clock. Each: the settings that bring the fault (a
# faulty engine, or no models), the time the request has, and what the client is told.


@dataclass(frozen=True)
class EngineFault:
    settings: dict
    remaining_seconds: float
    situation: str
    # RESPONSE_RESERVE_SECONDS: recognition gets what the Lambda has left less this.
    reserve_seconds: float = 1.0


ENGINE_FAULTS = {
    "tesseract crashes (SIGSEGV)": EngineFault({"engine": engine_setting(Crashes)}, FULL_TIME, ENGINE_FAILED),
    "tesseract aborts (SIGABRT)": EngineFault({"engine": engine_setting(Aborts)}, FULL_TIME, ENGINE_FAILED),
    # What the kernel's OOM killer sends when the Lambda's memory runs out.
    "worker killed (SIGKILL)": EngineFault({"engine": engine_setting(Killed)}, FULL_TIME, ENGINE_FAILED),
    "tesseract refuses the page": EngineFault({"engine": engine_setting(RefusesThePage)}, FULL_TIME, ENGINE_FAILED),
    "models missing": EngineFault({"tessdata_dir": "/nonexistent/tessdata"}, FULL_TIME, ENGINE_UNAVAILABLE),
    # Recognition gets 1 s; the reserve is wider than the template's 1 s so that settling the
    # call never waits on this shared machine's scheduler (test_settling_fits_in_the_reserve):
    # 2.5 s, which a fully loaded CI run needed (1.5 s once fell short).
    "tesseract hangs past its time": EngineFault(
        {"engine": engine_setting(Hangs)}, 3.5, OUT_OF_TIME, reserve_seconds=2.5
    ),
}


@pytest.mark.parametrize("endpoint", ENDPOINTS)
@pytest.mark.parametrize("fault", ENGINE_FAULTS)
def test_engine_fault_is_answered_and_given_back(fault, endpoint, new_key, install, call, table):
    # GIVEN a key with one call a day, and an engine that fails
    endpoint, fault = ENDPOINTS[endpoint], ENGINE_FAULTS[fault]
    secret = new_key()
    install(**fault.settings, response_reserve_seconds=fault.reserve_seconds)
    # WHEN the key calls
    answer = call(endpoint, secret, fault.remaining_seconds)
    # THEN the answer is the documented one, and the call is counted but not charged
    assert answer.is_documented(fault.situation, secret), answer.body
    assert usage_of(table, secret) == day(server_error=1)
    # AND with the engine back, the same request succeeds on the day's one call
    install()
    assert_succeeds(call(endpoint, secret))
    assert usage_of(table, secret) == day(calls=1, ok=1, server_error=1, left=0)


# The deep-learning engine's faults, with PP-OCR the deployment's default engine: its function
# behind Lambda's Invoke API on loopback, called by the real boto3 client. Each fault is the real
# answer Lambda gives for it: a throttle (reserved concurrency 0), an unknown function, no
# endpoint at all, the function's process killed by a signal (Runtime.ExitError), an unhandled
# exception, a function past its own timeout, and a function whose image lost its models.

HEALTHY_DEEP_ENGINE = "DeepEngineFunction"


@dataclass(frozen=True)
class DeepEngineFault:
    function: str
    situation: str
    endpoint: str = "lambda"  # "lambda", "throttled" (reserved concurrency 0) or "closed"
    remaining_seconds: float = FULL_TIME
    reserve_seconds: float = 1.0


DEEP_ENGINE_FAULTS = {
    "deep engine throttled": DeepEngineFault(HEALTHY_DEEP_ENGINE, ENGINE_UNAVAILABLE, endpoint="throttled"),
    "deep engine not found": DeepEngineFault("NoSuchFunction", ENGINE_UNAVAILABLE),
    "lambda unreachable": DeepEngineFault(HEALTHY_DEEP_ENGINE, ENGINE_UNAVAILABLE, endpoint="closed"),
    "deep engine crashes (SIGSEGV)": DeepEngineFault("DeepEngineCrashes", ENGINE_FAILED),
    "deep engine raises": DeepEngineFault("DeepEngineRaises", ENGINE_FAILED),
    "deep engine models missing": DeepEngineFault("DeepEngineWithoutModels", ENGINE_UNAVAILABLE),
    "deep engine hangs past its time": DeepEngineFault(
        "DeepEngineHangs", OUT_OF_TIME, remaining_seconds=3.0, reserve_seconds=1.5
    ),
}


@dataclass
class DeepEngines:
    lambda_url: str
    throttled_url: str
    closed_url: str

    def settings(self, function: str, endpoint: str = "lambda", default_engine: str = "ppocr") -> dict:
        url = {"lambda": self.lambda_url, "throttled": self.throttled_url, "closed": self.closed_url}[endpoint]
        return dict(deep_engine_function=function, lambda_endpoint_url=url, default_engine=default_engine)


@pytest.fixture(scope="module")
def deep_engines(spec) -> Iterator[DeepEngines]:
    healthy = spec.functions[HEALTHY_DEEP_ENGINE]
    variants = {
        HEALTHY_DEEP_ENGINE: healthy,
        "DeepEngineCrashes": replace(healthy, handler=handler_setting(deep_engine_crashes)),
        "DeepEngineRaises": replace(healthy, handler=handler_setting(deep_engine_raises)),
        # Lambda stops it at its timeout, and throws the instance away.
        "DeepEngineHangs": replace(healthy, handler=handler_setting(deep_engine_hangs), timeout_seconds=4),
        "DeepEngineWithoutModels": replace(
            healthy, environment={**healthy.environment, "PPOCR_MODEL_DIR": "/nonexistent/models"}
        ),
    }
    pools = {
        name: LambdaInstances(replace(function, logical_id=name), function_environment(function, None), 1)
        for name, function in variants.items()
    }
    for pool in pools.values():
        pool.warm_up()
    lambda_endpoint = LocalLambdaEndpoint(("127.0.0.1", 0), pools)
    throttled = LocalLambdaEndpoint(("127.0.0.1", 0), pools, reserved_concurrency={HEALTHY_DEEP_ENGINE: 0})
    for endpoint in (lambda_endpoint, throttled):
        endpoint.start()
    yield DeepEngines(lambda_endpoint.endpoint_url, throttled.endpoint_url, f"http://127.0.0.1:{free_port()}")
    for endpoint in (lambda_endpoint, throttled):
        endpoint.stop()
    for pool in pools.values():
        pool.close()


@pytest.mark.ppocr
@pytest.mark.parametrize("endpoint", ENDPOINTS)
@pytest.mark.parametrize("fault", DEEP_ENGINE_FAULTS)
def test_deep_engine_fault_is_answered_and_given_back(fault, endpoint, deep_engines, new_key, install, call, table):
    # GIVEN a key with one call a day, on a deployment that reads with PP-OCR, whose function fails
    endpoint, fault = ENDPOINTS[endpoint], DEEP_ENGINE_FAULTS[fault]
    secret = new_key()
    install(**deep_engines.settings(fault.function, fault.endpoint), response_reserve_seconds=fault.reserve_seconds)
    # WHEN the key calls
    answer = call(endpoint, secret, fault.remaining_seconds)
    # THEN the answer is the documented one, and the call is counted but not charged
    assert answer.is_documented(fault.situation, secret), answer.body
    assert usage_of(table, secret) == day(server_error=1)
    # AND with the function healthy, the same request succeeds on the day's one call
    install(**deep_engines.settings(HEALTHY_DEEP_ENGINE))
    assert_succeeds(call(endpoint, secret))
    assert usage_of(table, secret) == day(calls=1, ok=1, server_error=1, left=0)


@pytest.mark.ppocr
def test_under_auto_a_failing_deep_engine_has_tesseract_read_the_page_alone(
    deep_engines, new_key, install, call, table
):
    # GIVEN a deployment on auto whose deep engine crashes, and a page of Chinese (beside PP-OCR,
    # Tesseract leaves Chinese to it and reads English only)
    secret = new_key()
    install(languages="chi_sim+eng", **deep_engines.settings("DeepEngineCrashes", default_engine="auto"))
    # WHEN the key sends it to the universal endpoint
    answer = call(ENDPOINTS["universal"], secret, image=CHINESE_SCREENSHOT)
    # THEN Tesseract's reading of the whole page, in Chinese too, is the answer, said to be
    # Tesseract's, and the call is charged once
    assert answer.situation == ENDPOINTS["universal"].situations[OK], answer.body
    assert answer.body["results"][0]["engine"] == "tesseract" and "秋入望乡心" in answer.recognised()
    assert usage_of(table, secret) == day(calls=1, ok=1, left=0)


# The page worker: killed or hung mid-page, dead between requests, stopped for time or memory.
# Each time the same installed handler (one warm instance) answers the next request with text.


@pytest.mark.parametrize("endpoint", ENDPOINTS)
@pytest.mark.parametrize("sent", [signal.SIGSEGV, signal.SIGKILL], ids=["segfault", "killed"])
def test_a_worker_that_dies_mid_page_is_answered_and_replaced(
    sent, endpoint, new_key, install, call, table, reading_signal
):
    # GIVEN a key with two calls a day, and a worker that dies while it holds the key's page
    endpoint = ENDPOINTS[endpoint]
    secret = new_key(TWO_A_DAY)
    installed = install(engine=engine_setting(Blocks))
    workers = installed.recognizer.worker_processes()
    with ThreadPoolExecutor(1) as killer:
        killed = killer.submit(lambda: _signalled(reading_signal.wait_for_reader(), sent))
        # WHEN the key calls
        answer = call(endpoint, secret)
        assert killed.result() in workers
    # THEN it is the engine's documented failure, given back
    assert answer.is_documented(ENGINE_FAILED, secret), answer.body
    assert usage_of(table, secret) == day(server_error=1, left=2)
    # AND the same instance reads the next request, in a new worker
    reading_signal.release()
    assert_succeeds(call(endpoint, secret))
    assert usage_of(table, secret) == day(calls=1, ok=1, server_error=1, left=1)


def test_a_worker_that_hangs_mid_page_is_stopped_and_given_back(new_key, install, call, table, reading_signal):
    # GIVEN a key with two calls a day, and a worker that stops answering while it holds the page
    secret = new_key(TWO_A_DAY)
    installed = install(engine=engine_setting(Blocks), response_reserve_seconds=1.5)
    with ThreadPoolExecutor(1) as staller:
        stalled = staller.submit(lambda: _signalled(reading_signal.wait_for_reader(), signal.SIGSTOP))
        # WHEN the key calls with three seconds left
        answer = call(ENDPOINTS["gugudata-v1"], secret, 3.0)
        stopped = stalled.result()
    # THEN the client is told it ran out of time, the call is given back, the worker is gone
    assert answer.is_documented(OUT_OF_TIME, secret), answer.body
    assert usage_of(table, secret) == day(server_error=1, left=2)
    assert stopped not in installed.recognizer.worker_processes()
    reading_signal.release()
    assert_succeeds(call(ENDPOINTS["gugudata-v1"], secret))


def _signalled(pid: int, sent: signal.Signals) -> int:
    os.kill(pid, sent)
    return pid


def test_a_worker_that_died_between_requests_is_replaced_before_the_next(new_key, install, call, table):
    # GIVEN a warm instance whose page workers have all died since its last request
    secret = new_key(TWO_A_DAY)
    installed = install()
    assert_succeeds(call(ENDPOINTS["gugudata-v1"], secret))
    workers = list(installed.recognizer.worker_processes())
    for pid in workers:
        os.kill(pid, signal.SIGKILL)
    # WHEN the next request comes
    answer = call(ENDPOINTS["universal"], secret)
    # THEN it is read as usual, by new workers
    assert_succeeds(answer)
    assert set(installed.recognizer.worker_processes()).isdisjoint(workers)
    assert usage_of(table, secret) == day(calls=2, ok=2, left=0)


@dataclass(frozen=True)
class StoppedPage:
    # What the worker is allowed here (a deployment allows several times more), and the page.
    limits: dict
    image: Callable[[], bytes]
    situation: str
    # How the key's day counts the refused call: given back either way.
    counted: dict


STOPPED_PAGES = {
    # A progressive JPEG of 8,000 scans keeps a decoder busy for about a minute.
    "decodes past its time": StoppedPage(
        {"max_decode_seconds": 2.0}, lambda: jpeg_with_many_scans(), OUT_OF_TIME, {"server_error": 1}
    ),
    # A 40-megapixel transparent PNG is within the pixel limit, and needs more than 300 MB.
    "needs more than the worker's memory": StoppedPage(
        {"worker_memory_mb": 300}, lambda: transparent_40_megapixel_png("RGBA"), OVER_MEMORY, {"client_error": 1}
    ),
}


@pytest.mark.parametrize("endpoint", ENDPOINTS)
@pytest.mark.parametrize("stopped", STOPPED_PAGES)
def test_a_page_the_worker_is_stopped_for_is_answered_and_given_back(stopped, endpoint, new_key, install, call, table):
    # GIVEN a key with two calls a day, and a page that overruns its worker's limits
    endpoint, stopped = ENDPOINTS[endpoint], STOPPED_PAGES[stopped]
    secret = new_key(TWO_A_DAY)
    install(**stopped.limits)
    # WHEN the key sends it
    answer = call(endpoint, secret, image=stopped.image())
    # THEN the worker is stopped: the answer is the documented one, and the call is given back
    assert answer.is_documented(stopped.situation, secret), answer.body
    assert usage_of(table, secret) == day(left=2, **stopped.counted)
    # AND the same instance reads the next request, in a new worker
    assert_succeeds(call(endpoint, secret))
    assert usage_of(table, secret) == day(calls=1, ok=1, left=1, **stopped.counted)


# The Lambda's clock: a request that has too little time left.


@pytest.mark.parametrize("endpoint", ENDPOINTS)
def test_a_lambda_nearly_out_of_time_answers_at_once_and_charges_nothing(
    endpoint, new_key, install, call, table, dynamodb
):
    # GIVEN a request that reaches the function with half a second left: less than one call to
    # the key store may take, so the key cannot be checked in time
    endpoint = ENDPOINTS[endpoint]
    secret = new_key()
    install()
    # WHEN it is handled
    answer = call(endpoint, secret, remaining_seconds=0.5)
    # THEN it is told the service is unavailable, in time; DynamoDB was not asked, nothing counted
    assert answer.is_documented(STORE_UNAVAILABLE, secret), answer.body
    assert "no time is left" in endpoint.read(answer.status, answer.body).message
    assert dynamodb.calls == []
    assert usage_of(table, secret) == day()
    # AND the next request, with the usual time, succeeds
    assert_succeeds(call(endpoint, secret))
    assert usage_of(table, secret) == day(calls=1, ok=1, left=0)


@pytest.mark.parametrize("endpoint", ENDPOINTS)
def test_a_lambda_out_of_time_for_recognition_is_given_back(endpoint, new_key, install, call, table):
    # GIVEN a request with no time left beyond what is kept back for answering
    endpoint = ENDPOINTS[endpoint]
    secret = new_key()
    install(response_reserve_seconds=3.0)
    # WHEN it is handled
    answer = call(endpoint, secret, remaining_seconds=3.0)
    # THEN the key is checked and counted, recognition is out of time, and the call is given back
    assert answer.is_documented(OUT_OF_TIME, secret), answer.body
    assert usage_of(table, secret) == day(server_error=1)
    # AND the next request, with the usual time, succeeds
    install()
    assert_succeeds(call(endpoint, secret))
    assert usage_of(table, secret) == day(calls=1, ok=1, server_error=1, left=0)


# DynamoDB's faults, from the start of the request: the key cannot be checked or counted.

STORE_FAULTS = [Fault.THROTTLED, Fault.THROTTLING, Fault.REFUSED, Fault.HANGS]
# How each is logged: botocore's name for what went wrong.
LOGGED_AS = {
    Fault.THROTTLED: "ProvisionedThroughputExceededException",
    Fault.THROTTLING: "ThrottlingException",
    Fault.REFUSED: "EndpointConnectionError",
    Fault.HANGS: "ReadTimeoutError",
}
# Time enough to answer; a store that ran past it would be stopped as Lambda stops it.
STORE_FAULT_SECONDS = 3.0


@pytest.mark.parametrize("endpoint", ENDPOINTS)
@pytest.mark.parametrize("fault", STORE_FAULTS, ids=lambda fault: fault.value)
def test_store_fault_at_admission_is_503_and_charges_nothing(
    fault, endpoint, new_key, install, call, table, dynamodb, caplog
):
    # GIVEN a key with one call a day, and DynamoDB failing
    endpoint = ENDPOINTS[endpoint]
    secret = new_key()
    install()
    dynamodb.fail(fault)
    # WHEN the key calls
    answer = call(endpoint, secret, STORE_FAULT_SECONDS)
    # THEN the answer is the documented "unavailable", in time, the cause is logged, and nothing
    # was charged
    assert answer.is_documented(STORE_UNAVAILABLE, secret), answer.body
    logged = [r.error_code for r in caplog.records if r.getMessage() == "appkey store failed"]
    assert logged == [LOGGED_AS[fault]]
    if fault is Fault.REFUSED:
        assert dynamodb.calls == []
    else:
        assert dynamodb.faulted and dynamodb.faulted == dynamodb.calls
    dynamodb.heal()
    assert usage_of(table, secret) == day()
    # AND with DynamoDB back, the same request succeeds on the day's one call
    assert_succeeds(call(endpoint, secret))
    assert usage_of(table, secret) == day(calls=1, ok=1, left=0)


@pytest.mark.parametrize("fault", [Fault.THROTTLED, Fault.THROTTLING])
def test_a_throttled_charge_is_not_charged(fault, new_key, install, call, table, dynamodb):
    # GIVEN DynamoDB throttling only the quota's counters: the key is read and its rate counted
    secret = new_key()
    install()
    dynamodb.fail(fault, When(operation="UpdateItem", sort_key_prefix="usage#"))
    # WHEN the key calls
    answer = call(ENDPOINTS["gugudata-v1"], secret, STORE_FAULT_SECONDS)
    # THEN it is a 503, and the quota is untouched
    assert answer.is_documented(STORE_UNAVAILABLE, secret), answer.body
    assert {c.operation for c in dynamodb.calls} >= {"GetItem", "UpdateItem"} and dynamodb.faulted
    dynamodb.heal()
    assert usage_of(table, secret) == day()
    assert_succeeds(call(ENDPOINTS["gugudata-v1"], secret))
    assert usage_of(table, secret) == day(calls=1, ok=1, left=0)


def test_a_trial_charge_is_never_left_half_done(new_key, install, call, table, dynamodb):
    # GIVEN a trial key with one call, counted on two items (its lifetime and its month), and
    # DynamoDB throttling every write to the key's usage after the first one
    secret = new_key(TRIAL_OF_ONE)
    install()
    dynamodb.fail(Fault.THROTTLED, When(after_usage_writes=1))
    # WHEN the key calls
    answer = call(ENDPOINTS["gugudata-v1"], secret, STORE_FAULT_SECONDS)
    dynamodb.heal()
    # THEN whichever way it ended, the trial paid for it only if it was served
    guard = AccessGuard(table, clock=CLOCK)
    left = guard.usage(guard.check(secret, None)).remaining["trial"]
    if answer.situation == ENDPOINTS["gugudata-v1"].situations[OK]:
        assert left == 0
    else:
        assert answer.is_documented(STORE_UNAVAILABLE, secret) and left == 1, answer.body


# DynamoDB failing after admission, while the image is read: the answer is decided by then.


@pytest.mark.parametrize("endpoint", ENDPOINTS)
# Both throttling errors take one path; ProvisionedThroughputExceededException stands for them.
@pytest.mark.parametrize("fault", [Fault.THROTTLED, Fault.REFUSED, Fault.HANGS], ids=lambda fault: fault.value)
def test_store_fault_when_settling_still_answers_with_the_text(
    fault, endpoint, new_key, install, call, table, dynamodb, reading_signal, caplog
):
    # GIVEN a key with two calls a day, and DynamoDB failing from the moment recognition starts
    endpoint = ENDPOINTS[endpoint]
    secret = new_key(TWO_A_DAY)
    install(engine=engine_setting(Reading))
    dynamodb.fail(fault, When(once_exists=reading_signal.pattern))
    # WHEN the key calls
    answer = call(endpoint, secret, STORE_FAULT_SECONDS)
    # THEN the client gets its text; the call stays charged, and the count that failed is logged
    assert_succeeds(answer)
    assert dynamodb.faulted and all(c.sort_key.startswith("usage#") for c in dynamodb.faulted)
    unrecorded = [r for r in caplog.records if r.getMessage() == "usage not recorded"]
    assert [(r.outcome, r.refund_due) for r in unrecorded] == [("ok", False)]
    dynamodb.heal()
    assert usage_of(table, secret) == day(calls=1, left=1)
    # AND with DynamoDB back, the next call is counted as usual
    assert_succeeds(call(endpoint, secret))
    assert usage_of(table, secret) == day(calls=2, ok=1, left=0)


# The key store keeps to the request's deadline whatever DynamoDB does.


def test_settling_fits_in_the_reserve(spec):
    # Recognition stops this long before the Lambda's deadline; one attempt to give a failed
    # call's quota back, and writing the answer, must fit in it.
    reserve = float(spec.functions["OcrFunction"].environment["RESPONSE_RESERVE_SECONDS"])
    assert IN_REGION.longest + ANSWER_SECONDS < reserve


def test_the_store_is_not_called_without_time_for_one_attempt(dynamodb, install):
    store = install().access.store
    with pytest.raises(KeyStoreUnavailable, match="no time is left"):
        store.get(hash_appkey("k-any"), deadline=time.monotonic() + IN_REGION.longest / 2)
    assert dynamodb.calls == []


def test_a_hanging_store_is_not_tried_again_past_the_deadline(dynamodb, install):
    # GIVEN a DynamoDB that never answers, and time for one attempt but not for two
    store = install().access.store
    dynamodb.fail(Fault.HANGS)
    # WHEN the key is read
    with pytest.raises(KeyStoreUnavailable):
        store.get(hash_appkey("k-any"), deadline=time.monotonic() + IN_REGION.longest + 0.25)
    # THEN it was tried once
    assert len(dynamodb.calls) == 1


def test_a_counting_write_left_unanswered_is_not_sent_again(dynamodb, install):
    # GIVEN a DynamoDB that takes calls and never answers, and time for several attempts
    store = install().access.store
    plan = store.get_plan(DEFAULT_PLAN)
    dynamodb.clear_log()
    dynamodb.fail(Fault.HANGS)
    # WHEN a request is counted against the rate
    with pytest.raises(KeyStoreUnavailable):
        store.admit_request(hash_appkey("k-any"), int(time.time()), plan, deadline=time.monotonic() + 10)
    # THEN the write was sent once: it may have landed, and a second one could count it twice
    assert [call.operation for call in dynamodb.calls] == ["UpdateItem"]


def test_a_throttled_store_is_tried_three_times(dynamodb, install):
    store = install().access.store
    dynamodb.fail(Fault.THROTTLED)
    with pytest.raises(KeyStoreUnavailable):
        store.get(hash_appkey("k-any"), deadline=time.monotonic() + 10)
    assert [call.operation for call in dynamodb.calls] == ["GetItem"] * 3


def test_out_of_time_with_a_hanging_store_still_answers_503_before_the_deadline(
    new_key, install, call, table, dynamodb, reading_signal, caplog
):
    # GIVEN Tesseract hanging until recognition's time is up, and DynamoDB hanging from then on
    secret = new_key()
    install(engine=engine_setting(ReadingThenHangs))
    dynamodb.fail(Fault.HANGS, When(once_exists=reading_signal.pattern))
    # WHEN the key calls with four seconds left: three for recognition (the new deployment's page
    # worker starts within them however busy the machine is; Tesseract then hangs to their end),
    # one in reserve
    answer = call(ENDPOINTS["gugudata-v1"], secret, remaining_seconds=4.0)
    # THEN Tesseract was reached, the client still gets the documented 503, and the refund that
    # could not be made is logged
    assert reading_signal.started()
    assert answer.is_documented(OUT_OF_TIME, secret), answer.body
    unrecorded = [r for r in caplog.records if r.getMessage() == "usage not recorded"]
    assert [(r.outcome, r.refund_due) for r in unrecorded] == [("server_error", True)]
