"""openapi.yaml: a valid OpenAPI 3 document of exactly the template's routes, whose error codes
are exactly those each dialect answers with (tests/http serves it)."""

from __future__ import annotations

import json

import pytest
import yaml
from openapi_schema_validator import OAS30Validator
from openapi_spec_validator import validate
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT4

from ocr_api import errors
from ocr_api.dialects import gugudata_legacy, gugudata_v1, jobs, tencent, tupu, universal
from ocr_local.openapi import load_openapi
from ocr_local.template import TEMPLATE_PATH, _CloudFormationLoader

HTTP_METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")
DOCUMENT_URI = "urn:ocr-api:openapi"


@pytest.fixture(scope="module")
def document() -> dict:
    return load_openapi()


def documented_routes(document: dict) -> set[tuple[str, str]]:
    return {
        (method.upper(), path) for path, item in document["paths"].items() for method in HTTP_METHODS if method in item
    }


def test_the_document_is_valid_openapi_3(document):
    validate(document)
    assert document["openapi"].startswith("3.0.")


def test_it_describes_exactly_the_routes_of_the_template(document, spec):
    assert documented_routes(document) == {(route.method, route.path) for route in spec.routes}


def test_the_api_gateway_key_is_required_exactly_where_the_template_requires_it(document, spec):
    # GIVEN the one scheme for the header API Gateway reads keys from
    [gateway_key] = [
        name
        for name, scheme in document["components"]["securitySchemes"].items()
        if scheme["type"] == "apiKey" and scheme["in"] == "header" and scheme["name"].lower() == "x-api-key"
    ]
    for route in spec.routes:
        requirements = document["paths"][route.path][route.method.lower()].get("security", document.get("security", []))
        # THEN a route needs the key when every way to call it includes the key
        required = bool(requirements) and all(gateway_key in requirement for requirement in requirements)
        assert required == route.api_key_required, f"{route.method} {route.path}"


def test_the_server_url_offers_the_stages_the_template_allows(document):
    template = yaml.load(TEMPLATE_PATH.read_text(), Loader=_CloudFormationLoader)
    stage_name = template["Parameters"]["StageName"]
    [server] = document["servers"]
    assert server["url"] == "https://{restApiId}.execute-api.{region}.amazonaws.com/{stage}"
    assert server["variables"]["stage"]["enum"] == stage_name["AllowedValues"]
    assert server["variables"]["stage"]["default"] == stage_name["Default"]


# Each dialect: the operation it serves, how it renders an error, where its answer carries the
# code, and the document's schema that lists the codes.
DIALECTS = {
    "gugudata-v1": (
        gugudata_v1,
        "post",
        gugudata_v1.PATH,
        gugudata_v1.ENVELOPE.error,
        lambda body: body["DataStatus"]["statusCode"],
        "GugudataV1ErrorCode",
    ),
    "gugudata-legacy": (
        gugudata_legacy,
        "post",
        gugudata_legacy.PATH,
        gugudata_legacy.ENVELOPE.error,
        lambda body: body["DataStatus"]["StatusCode"],
        "GugudataLegacyErrorCode",
    ),
    "universal": (
        universal,
        "post",
        universal.PATH,
        universal.render_error,
        lambda body: body["error"],
        "UniversalErrorName",
    ),
    "tupu": (tupu, "post", tupu.PATH, tupu.render_error, lambda body: body["code"], "TupuErrorCode"),
    "jobs": (
        jobs,
        "get",
        jobs.JOB_PATH,
        jobs.render_error,
        lambda body: body["error"],
        "UniversalErrorName",
    ),
    "tencent": (
        tencent,
        "post",
        tencent.PATH,
        tencent.render_error,
        lambda body: body["Response"]["Error"]["Code"],
        "TencentErrorCode",
    ),
}


# gugudata's requests carry no image URLs, so nothing is ever downloaded for them; only Tencent's
# ask for an error where an image has no text; only the universal endpoint reads uploads.
UPLOAD_ERRORS = {errors.UploadNotFound, errors.UploadExpired}
# Jobs have routes of their own (their errors are checked in test_jobs_errors_are_documented).
JOB_ERRORS = {errors.JobNotFound, errors.JobStoreUnavailable}
NEVER_RAISED = {
    gugudata_v1: {errors.DownloadFailed, errors.NoTextFound, *UPLOAD_ERRORS, *JOB_ERRORS},
    gugudata_legacy: {errors.DownloadFailed, errors.NoTextFound, *UPLOAD_ERRORS, *JOB_ERRORS},
    universal: {errors.NoTextFound, errors.JobNotFound},
    # Reading a job's state reads no image and charges nothing.
    jobs: {
        errors.DownloadFailed,
        errors.NoTextFound,
        errors.EmptyImage,
        errors.UnsupportedImage,
        errors.UnsupportedContentType,
        errors.ImageTooLarge,
        errors.ImageTooManyBytes,
        errors.ImageTooManyPixels,
        errors.ImageNeedsTooMuchMemory,
        errors.RecognitionFailed,
        errors.QuotaExceeded,
        *UPLOAD_ERRORS,
    },
    tupu: {errors.NoTextFound, *UPLOAD_ERRORS, *JOB_ERRORS},
    tencent: {*UPLOAD_ERRORS, *JOB_ERRORS},
}


def error_classes(dialect_module) -> list[type[errors.ServiceError]]:
    """Every error a dialect can raise: the shared hierarchy's and the dialect's own."""
    found, pending = [], list(errors.ServiceError.__subclasses__())
    while pending:
        kind = pending.pop()
        pending.extend(kind.__subclasses__())
        if kind.__module__ in (errors.__name__, dialect_module.__name__):
            found.append(kind)
    return [kind for kind in found if kind not in NEVER_RAISED.get(dialect_module, set())]


def response_validator(document: dict, method: str, path: str, status: int) -> OAS30Validator:
    """A validator for the body the document promises for ``status`` of ``method path``."""
    responses = document["paths"][path][method]["responses"]
    assert str(status) in responses, f"{method.upper()} {path} does not document HTTP {status}"
    pointer = "/paths/" + path.replace("~", "~0").replace("/", "~1") + f"/{method}/responses/{status}"
    response = responses[str(status)]
    if "$ref" in response:
        pointer = response["$ref"].removeprefix("#")
        response = document["components"]["responses"][pointer.rsplit("/", 1)[1]]
    assert "application/json" in response["content"]
    registry = Registry().with_resource(DOCUMENT_URI, Resource.from_contents(document, DRAFT4))
    schema_pointer = f"{pointer}/content/application~1json/schema"
    return OAS30Validator({"$ref": f"{DOCUMENT_URI}#{schema_pointer}"}, registry=registry)


@pytest.mark.parametrize("dialect", DIALECTS)
def test_every_error_a_dialect_renders_is_documented_under_its_status(document, dialect):
    module, method, path, render, code_of, codes_schema = DIALECTS[dialect]
    rendered_codes = set()
    for kind in error_classes(module):
        # WHEN the dialect renders the error
        response = render(kind("a description"), "r-1")
        body = json.loads(response.body)
        rendered_codes.add(code_of(body))
        # THEN the document promises that body under that status
        problems = [
            error.message
            for error in response_validator(document, method, path, response.status_code).iter_errors(body)
        ]
        assert not problems, f"{kind.__name__} -> HTTP {response.status_code} {body}: {problems}"
    # AND the document lists no code the dialects writing this schema never answer with
    for other, (other_module, *_, other_render, other_code_of, other_schema) in DIALECTS.items():
        if other_schema == codes_schema and other != dialect:
            rendered_codes |= {
                other_code_of(json.loads(other_render(kind("d"), "r").body)) for kind in error_classes(other_module)
            }
    assert set(document["components"]["schemas"][codes_schema]["enum"]) == rendered_codes
