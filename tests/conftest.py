"""Shared fixtures: moto tables built from template.yaml, the real Tesseract, the handler."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from dataclasses import replace

import boto3
import pytest
from hypothesis import HealthCheck
from hypothesis import settings as hypothesis_settings
from moto import mock_aws

from faulty_engines import ReadingSignal
from helpers import day_clock
from image_server import ImageServer
from local_server import LocalServer
from ocr_api.adapters.dynamodb_keys import AppKeyStore

# Imported once before any test, as Lambda imports it before any request: it sets up the
# service's logging, which must not be tied to one test's captured output.
from ocr_api.app import lambda_handler
from ocr_api.config import Settings
from ocr_api.keys import AppKey, Plan, hash_appkey
from ocr_api.service.ocr_service import OcrService, build_service
from ocr_api.service.page_workers import IsolatedRecognizer, page_workers
from ocr_local.dynamodb import LOCAL_AWS_ENVIRONMENT, create_table
from ocr_local.environment import (
    LOCAL_RESOURCE_NAMES,
    LOCAL_SECRETS_KEY_ALIAS,
    LOCAL_TABLE_NAME,
    create_secrets_key,
    function_environment,
    register_tencent_credential,
    system_tessdata_dir,
    write_template_plans,
)
from ocr_local.events import EVENTS_APPKEY
from ocr_local.lambda_endpoint import LocalLambdaEndpoint
from ocr_local.lambda_runtime import LambdaInstances, LocalLambdaContext
from ocr_local.template import ApiSpec, load_template

# Property-based tests (fuzzing, the API checked against openapi.yaml): a bounded, repeatable
# run by default and in CI; HYPOTHESIS_PROFILE=long for the longer search (docs/reliability.md).
_PROFILE = {"deadline": None, "database": None, "suppress_health_check": list(HealthCheck)}
hypothesis_settings.register_profile("ci", max_examples=40, derandomize=True, **_PROFILE)
hypothesis_settings.register_profile("long", max_examples=1000, **_PROFILE)
hypothesis_settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """The slow tests first: spread over several workers, a minute-long test started last would
    keep one worker busy after the others have finished."""
    items.sort(key=lambda item: item.get_closest_marker("slow") is None)


@pytest.fixture(scope="session")
def spec() -> ApiSpec:
    return load_template(resource_names=LOCAL_RESOURCE_NAMES)


@pytest.fixture(scope="session")
def tessdata_dir() -> str:
    """The models the tests read with: this machine's (scripts/setup.sh installs them), or the
    layer tree's under scripts/prove_layer_layout.sh, which sets TESSDATA_PREFIX as Lambda does."""
    return system_tessdata_dir()


@pytest.fixture(autouse=True)
def _aws_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    # Never reach a real AWS account from a test, whatever the developer's shell holds.
    for name, value in LOCAL_AWS_ENVIRONMENT.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    monkeypatch.setenv("POWERTOOLS_TRACE_DISABLED", "true")


@pytest.fixture
def store(spec: ApiSpec) -> Iterator[AppKeyStore]:
    """A fresh moto DynamoDB with the appkeys table and the plans as the template declares them,
    and moto's KMS with the key that seals Tencent SecretKeys."""
    with mock_aws():
        create_table(boto3.client("dynamodb"), LOCAL_TABLE_NAME, spec.table_properties)
        create_secrets_key(None)
        store = AppKeyStore(LOCAL_TABLE_NAME)
        write_template_plans(store, spec, usage_plan_ids={})
        yield store


@pytest.fixture
def add_plan(store: AppKeyStore):
    """Stores a plan (as ``keys plans create`` would) and returns its name."""

    def add(name: str, **limits) -> str:
        store.put_plan(Plan(name, **limits))
        return name

    return add


@pytest.fixture
def add_key(store: AppKeyStore):
    """Registers an appkey (on the standard plan unless ``plan=`` says) and returns its secret."""

    def add(secret: str, name: str = "test key", **overrides) -> str:
        store.put(AppKey.for_secret(secret, name, **overrides))
        return secret

    return add


@pytest.fixture
def add_credential(store: AppKeyStore):
    """Issues a Tencent SecretId/SecretKey pair for a registered appkey; returns the pair."""

    def add(appkey: str) -> tuple[str, str]:
        return register_tencent_credential(store, store.get(hash_appkey(appkey)), None)

    return add


@pytest.fixture
def settings(tessdata_dir: str) -> Settings:
    return Settings(
        appkeys_table=LOCAL_TABLE_NAME, tessdata_dir=tessdata_dir, tencent_secrets_key=LOCAL_SECRETS_KEY_ALIAS
    )


class Deployment:
    """The Lambda handler over one service at a time; ``replace`` swaps the service (stopping the
    page workers of the one before), as a new deployment would."""

    def __init__(self) -> None:
        self.service: OcrService | None = None
        self.handler = None

    def replace(self, service: OcrService) -> OcrService:
        self.close()
        self.service, self.handler = service, lambda_handler(service)
        return service

    def close(self) -> None:
        if self.service is not None:
            self.service.close()


@pytest.fixture
def deployment() -> Iterator[Deployment]:
    deployed = Deployment()
    yield deployed
    deployed.close()


class _KeptWarm:
    """Page workers that outlive a deployment, as a warm Lambda instance keeps its own: closing
    the service leaves them running for the next test with the same settings."""

    def __init__(self, workers: IsolatedRecognizer) -> None:
        self._workers = workers

    def __getattr__(self, name: str):
        return getattr(self._workers, name)

    def close(self) -> None:
        pass


@pytest.fixture(scope="session")
def warm_workers() -> Iterator[Callable[[Settings], _KeptWarm]]:
    """The page workers of each set of settings the tests deploy, started once per session."""
    pools: dict[Settings, IsolatedRecognizer] = {}

    def for_settings(settings: Settings) -> _KeptWarm:
        if settings not in pools:
            pools[settings] = page_workers(settings)
        return _KeptWarm(pools[settings])

    yield for_settings
    for pool in pools.values():
        pool.close()


@pytest.fixture
def service(settings: Settings, store: AppKeyStore, add_key, deployment: Deployment, warm_workers) -> OcrService:
    """The handler's service, on moto and the real Tesseract, with the events/ appkey; its page
    workers warm from an earlier test with the same settings."""
    add_key(EVENTS_APPKEY, name="events")
    service = build_service(settings, store, warm_workers(settings))
    service.access.clock = day_clock()
    return deployment.replace(service)


@pytest.fixture
def reconfigure(service: OcrService, store: AppKeyStore, deployment: Deployment):
    """Deploys the service again with some settings changed (a fake engine, a limit)."""

    def apply(**changes) -> OcrService:
        changed = build_service(replace(service.settings, **changes), store)
        changed.access.clock = service.access.clock
        return deployment.replace(changed)

    return apply


@pytest.fixture
def invoke(spec: ApiSpec, service: OcrService, deployment: Deployment):
    """Calls the real Lambda handler with an event and a context that has a deadline."""
    function = spec.functions["OcrFunction"]

    def call(event: dict, remaining_seconds: float | None = None) -> dict:
        context = LocalLambdaContext(replace(function, timeout_seconds=remaining_seconds or function.timeout_seconds))
        return deployment.handler(event, context)

    return call


@pytest.fixture(scope="session")
def deep_engine(spec: ApiSpec) -> Iterator[LocalLambdaEndpoint]:
    """The deep-learning engine's function, warm, behind Lambda's Invoke API on loopback."""
    function = spec.functions["DeepEngineFunction"]
    instances = LambdaInstances(function, function_environment(function, None), instances=1)
    instances.warm_up()
    endpoint = LocalLambdaEndpoint(("127.0.0.1", 0), {function.logical_id: instances})
    endpoint.start()
    yield endpoint
    endpoint.stop()
    instances.close()


@pytest.fixture
def with_deep_engine(settings: Settings, deep_engine: LocalLambdaEndpoint) -> Settings:
    """Settings of a deployment with the deep-learning engine (its default engine "auto")."""
    return replace(settings, deep_engine_function="DeepEngineFunction", lambda_endpoint_url=deep_engine.endpoint_url)


@pytest.fixture(scope="session")
def image_server() -> Iterator[ImageServer]:
    """Test images (and misbehaving answers) over HTTP on 127.0.0.1."""
    server = ImageServer()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def local_server() -> Iterator[LocalServer]:
    """``python -m ocr_local serve`` as a subprocess; image URLs may reach 127.0.0.1 (test servers)."""
    server = LocalServer(allow_networks=("127.0.0.1/32",))
    yield server
    server.stop()


@pytest.fixture(scope="session")
def strict_local_server() -> Iterator[LocalServer]:
    """The local server as deployed: no allow-list, so image URLs reach public addresses only."""
    server = LocalServer(allow_networks=())
    yield server
    server.stop()


@pytest.fixture
def reading_signal() -> Iterator[ReadingSignal]:
    """Which page workers have begun a page (engines of faulty_engines), and their release."""
    signal = ReadingSignal()
    yield signal
    signal.clear()
