"""``python -m ocr_local serve | invoke EVENT | keys ...``: the OCR API on this machine."""

from __future__ import annotations

import argparse
import contextlib
import json
import logging
import os
import signal
import sys
from pathlib import Path

import boto3

from ocr_api.adapters.dynamodb_keys import AppKeyStore
from ocr_api.keys import new_appkey
from ocr_local.dynamodb import (
    LOCAL_AWS_ENVIRONMENT,
    EmbeddedDynamoDB,
    create_table,
    credentials_for_endpoint,
)
from ocr_local.environment import (
    LOCAL_JOBS_TABLE,
    LOCAL_QUEUE_NAMES,
    LOCAL_RESOURCE_NAMES,
    LOCAL_SECRETS_KEY_ALIAS,
    LOCAL_TABLE_NAME,
    LOCAL_UPLOADS_BUCKET,
    create_secrets_key,
    create_uploads_bucket,
    function_environment,
    register_appkey,
    register_tencent_credential,
    write_template_plans,
)
from ocr_local.events import EVENTS_APPKEY
from ocr_local.gateway import LocalUsagePlans
from ocr_local.lambda_endpoint import LocalLambdaEndpoint
from ocr_local.lambda_runtime import LambdaInstances, invoke_in_process
from ocr_local.queue_poller import QueuePoller, create_queues, queue_arn, queue_url
from ocr_local.server import LocalApiGateway
from ocr_local.template import PROJECT_ROOT, ApiSpec, load_template

DEFAULT_DYNAMODB_PORT = 3001
DEFAULT_LAMBDA_PORT = 3002
DEMO_IMAGE = PROJECT_ROOT / "functions" / "ocr_api" / "service" / "demo.png"
# A table page the tests read (a title, a ruled table with spans, a note).
TABLE_IMAGE = PROJECT_ROOT / "tests" / "data" / "tables" / "table_01.png"


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    return args.command(args)


def serve(args: argparse.Namespace) -> int:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    logging.getLogger("werkzeug").setLevel(logging.WARNING)  # moto's per-call access log
    spec = _spec()
    endpoint = args.dynamodb_endpoint
    embedded = None
    if endpoint:
        os.environ.update(credentials_for_endpoint())
    else:
        os.environ.update(LOCAL_AWS_ENVIRONMENT)
        embedded = EmbeddedDynamoDB(args.dynamodb_port)
        embedded.start()
        endpoint = embedded.endpoint_url
    store, usage_plans = _prepare_store(spec, endpoint, args.queue_visibility_seconds)
    demo_appkey = new_appkey()
    demo_key = register_appkey(store, demo_appkey, "local demo key", endpoint)
    demo_credential = register_tencent_credential(store, demo_key, endpoint)

    # Functions other functions invoke (the deep-learning engine) answer Lambda's Invoke API.
    lambda_endpoint = _start_invoked_functions(spec, args.host, args.lambda_port, endpoint, args.instances)
    routed = {route.function for route in spec.routes}
    instances = {
        name: LambdaInstances(
            function,
            function_environment(
                function,
                endpoint,
                args.layer_dir,
                args.allow_network,
                lambda_endpoint.endpoint_url,
            )
            | dict(args.env),
            args.instances,
        )
        for name, function in spec.functions.items()
        if name in routed
    }
    for pool in instances.values():
        pool.warm_up()
    pollers, workers = _start_queue_pollers(spec, endpoint, args, lambda_endpoint.endpoint_url)
    server = LocalApiGateway((args.host, args.port), spec, instances, usage_plans)
    signal.signal(signal.SIGTERM, _stop)
    _print_banner(args, endpoint, embedded is not None, demo_appkey, demo_credential, lambda_endpoint)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
        for poller in pollers:
            poller.stop()
        lambda_endpoint.stop()
        for pool in [*instances.values(), *lambda_endpoint.functions.values(), *workers]:
            pool.close()
        if embedded:
            embedded.stop()
    return 0


def _variable(text: str) -> tuple[str, str]:
    name, equals, value = text.partition("=")
    if not equals or not name:
        raise argparse.ArgumentTypeError(f"expected NAME=VALUE, got {text!r}")
    return name, value


def _start_invoked_functions(
    spec: ApiSpec, host: str, port: int, dynamodb_endpoint: str | None, instances: int
) -> LocalLambdaEndpoint:
    """The functions another function names in its environment, warm, behind a local Lambda
    Invoke endpoint (as ``sam local start-lambda`` serves them)."""
    invoked = {
        value
        for function in spec.functions.values()
        for value in function.environment.values()
        if value in spec.functions
    }
    pools = {
        name: LambdaInstances(
            spec.functions[name], function_environment(spec.functions[name], dynamodb_endpoint), instances
        )
        for name in sorted(invoked)
    }
    for pool in pools.values():
        pool.warm_up()
    lambda_endpoint = LocalLambdaEndpoint((host, port), pools)
    lambda_endpoint.start()
    return lambda_endpoint


def _start_queue_pollers(
    spec: ApiSpec, endpoint: str, args: argparse.Namespace, lambda_endpoint_url: str
) -> tuple[list[QueuePoller], list[LambdaInstances]]:
    """The functions with SQS event sources (the job worker), warm, each queue polled for them
    as Lambda's event source mapping polls it: one poller per instance on a work queue, one on a
    dead-letter queue."""
    pollers, pools = [], []
    for function in spec.functions.values():
        if not function.queue_events:
            continue
        environment = function_environment(function, endpoint, args.layer_dir, args.allow_network, lambda_endpoint_url)
        pool = LambdaInstances(function, environment | dict(args.env), args.instances)
        pool.warm_up()
        pools.append(pool)
        for event in function.queue_events:
            name = LOCAL_QUEUE_NAMES[event.queue]
            dead_letters = "RedrivePolicy" not in spec.queues[event.queue]
            poller = QueuePoller(
                endpoint, queue_url(endpoint, name), queue_arn(name), event, pool, 1 if dead_letters else args.instances
            )
            poller.start()
            pollers.append(poller)
    return pollers, pools


def _stop(signum, frame) -> None:
    raise KeyboardInterrupt


def invoke(args: argparse.Namespace) -> int:
    """Like ``sam local invoke -e EVENT``: one event through the real handler, in-process."""
    spec = _spec()
    function = spec.functions[args.function] if args.function else next(iter(spec.functions.values()))
    event = json.loads(Path(args.event).read_text(encoding="utf-8"))
    endpoint = os.environ.get("DYNAMODB_ENDPOINT_URL")
    os.environ.update(function_environment(function, endpoint, args.layer_dir))
    os.environ.setdefault("AWS_DEFAULT_REGION", LOCAL_AWS_ENVIRONMENT["AWS_DEFAULT_REGION"])
    # The functions it invokes, as sam local invoke reaches those of sam local start-lambda.
    lambda_endpoint = _start_invoked_functions(spec, "127.0.0.1", 0, endpoint, instances=1)
    os.environ["LAMBDA_ENDPOINT_URL"] = lambda_endpoint.endpoint_url
    # As with sam local invoke: the function's logs on stderr, its response alone on stdout.
    with contextlib.redirect_stdout(sys.stderr), _stopped_after(lambda_endpoint):
        if endpoint:
            register_appkey(_prepare_store(spec, endpoint)[0], EVENTS_APPKEY, "events/ appkey", endpoint)
            response = invoke_in_process(function, event)
        else:
            from moto import mock_aws

            with mock_aws():
                register_appkey(_prepare_store(spec, None)[0], EVENTS_APPKEY, "events/ appkey", None)
                response = invoke_in_process(function, event)
    print(json.dumps(response, ensure_ascii=False, indent=2))
    return 0


@contextlib.contextmanager
def _stopped_after(lambda_endpoint: LocalLambdaEndpoint):
    try:
        yield
    finally:
        lambda_endpoint.stop()
        for pool in lambda_endpoint.functions.values():
            pool.close()


def keys(args: argparse.Namespace) -> int:
    """The key command, pointed at the local server's store."""
    from ocr_api.cli.keys import main as keys_main

    os.environ.setdefault("DYNAMODB_ENDPOINT_URL", f"http://127.0.0.1:{DEFAULT_DYNAMODB_PORT}")
    os.environ.setdefault("APPKEYS_TABLE", LOCAL_TABLE_NAME)
    os.environ.setdefault("TENCENT_SECRETS_KEY", LOCAL_SECRETS_KEY_ALIAS)
    os.environ.setdefault("QUOTA_UTC_OFFSET", _spec().functions["OcrFunction"].environment["QUOTA_UTC_OFFSET"])
    os.environ.update(credentials_for_endpoint())
    return keys_main(args.keys_args)


def run_bench(args: argparse.Namespace) -> int:
    from ocr_tools import bench
    from ocr_tools.eval_set import default_eval_dir, require_eval_dir

    bench.run(require_eval_dir(args.eval_dir or default_eval_dir()), args.out, args.repeats, args.languages, args.limit)
    return 0


def run_fuzz(args: argparse.Namespace) -> int:
    from ocr_tools import fuzz

    return fuzz.run(args.target, args.seconds, args.out)


def run_load(args: argparse.Namespace) -> int:
    from ocr_tools import load

    report = load.run(args.duration, args.users, args.out, args.instances)
    print(load.markdown(report), end="")
    return 0 if report.passed else 1


def _spec() -> ApiSpec:
    return load_template(resource_names=LOCAL_RESOURCE_NAMES)


def _prepare_store(
    spec: ApiSpec, endpoint: str | None, visibility_seconds: int | None = None
) -> tuple[AppKeyStore, LocalUsagePlans]:
    """The tables, the key, the bucket, the queues, the usage plans and the plans, as a deploy
    of the template leaves them."""
    client = boto3.client("dynamodb", endpoint_url=endpoint)
    create_table(client, LOCAL_TABLE_NAME, spec.table_properties)
    create_table(client, LOCAL_JOBS_TABLE, spec.jobs_table_properties)
    create_secrets_key(endpoint)
    create_uploads_bucket(endpoint, spec.bucket_properties)
    create_queues(endpoint, spec, LOCAL_QUEUE_NAMES, visibility_seconds)
    store = AppKeyStore(LOCAL_TABLE_NAME, endpoint_url=endpoint)
    usage_plans = LocalUsagePlans(endpoint)
    write_template_plans(store, spec, usage_plans.create(spec))
    return store, usage_plans


def _print_banner(
    args: argparse.Namespace,
    endpoint: str,
    embedded: bool,
    appkey: str,
    credential: tuple[str, str],
    lambda_endpoint: LocalLambdaEndpoint,
) -> None:
    base = f"http://{args.host}:{args.port}"
    store = f"embedded moto server at {endpoint}" if embedded else endpoint
    invoked = ", ".join(lambda_endpoint.functions) or "none"
    secret_id, secret_key = credential
    print(
        f"\nOCR API listening on {base}  ({args.instances} Lambda instance(s) per function)\n"
        f"DynamoDB, KMS, S3 and SQS: {store}, table {LOCAL_TABLE_NAME}, key {LOCAL_SECRETS_KEY_ALIAS}, "
        f"uploads bucket {LOCAL_UPLOADS_BUCKET}, job queues {', '.join(LOCAL_QUEUE_NAMES.values())}\n"
        f"Lambda Invoke API: {lambda_endpoint.endpoint_url} (functions: {invoked})\n"
        f"Demo appkey (valid while this server runs): {appkey}\n"
        f"Demo Tencent SecretId: {secret_id}\n"
        f"Demo Tencent SecretKey: {secret_key}\n\n"
        f"The web console (open it in a browser; paste the demo appkey): {base}/console\n"
        f"Recognise an image:\n"
        f'  curl -s -F "imagefile=@{DEMO_IMAGE}" "{base}/v1/imagerecognition/ocr?appkey={appkey}"\n'
        f"The universal endpoint (boxes, orientation, Markdown; engine auto, tesseract or ppocr):\n"
        f'  curl -s -F "file=@{DEMO_IMAGE}" -F engine=ppocr -H "x-api-key: {appkey}" {base}/v1/ocr/universal\n'
        f"Tencent's own Python SDK (GeneralAccurateOCR), signing with the demo SecretId/SecretKey:\n"
        f"  {PROJECT_ROOT / '.venv' / 'bin' / 'python'} - <<'EOF'\n"
        + _tencent_sdk_example(f"{args.host}:{args.port}", secret_id, secret_key)
        + "EOF\n"
        "Tables: the cells, rows and columns of a table page, as JSON, HTML and Markdown in place:\n"
        f'  curl -s -F "file=@{TABLE_IMAGE}" -F return_tables=true -F return_markdown=true '
        f'-H "x-api-key: {appkey}" {base}/v1/ocr/universal\n'
        "and through Tencent's SDK (RecognizeTableAccurateOCR; Data is the tables as an Excel workbook):\n"
        f"  {PROJECT_ROOT / '.venv' / 'bin' / 'python'} - <<'EOF'\n"
        + _tencent_sdk_example(f"{args.host}:{args.port}", secret_id, secret_key, "RecognizeTableAccurateOCR")
        + "EOF\n"
        "A file larger than a request carries (up to 50 MB): upload it to S3, then read it by upload_id:\n"
        + _upload_example(base, appkey)
        + "Many pages as a job (any PDF, up to 1,000 pages): start one on the upload above, then poll it\n"
        "(IN_PROGRESS, with Retry-After, until every page is read; then its pages in page order):\n"
        + _job_example(base, appkey)
        + "The demo endpoint (no appkey):\n"
        f"  curl -s {base}/v1/imagerecognition/ocr/demo\n"
        f"The API's OpenAPI description: {base}/openapi.yaml (or .json)\n"
        f"Manage keys: python -m ocr_local keys list   (or: make keys ARGS=list)\n"
        f"Stop with Ctrl-C.\n",
        flush=True,
    )


def _upload_example(base: str, appkey: str) -> str:
    """Three shell lines: ask for an upload, POST the file with the form's fields, read it."""
    field = "python3 -c 'import json, sys; print(json.load(sys.stdin)[\"upload_id\"])'"
    form = (
        'python3 -c \'import json, sys; u = json.load(sys.stdin)["upload"]; '
        'print(" ".join(f"--form-string {k}={v}" for k, v in u["fields"].items()), u["url"])\''
    )
    return (
        f'  offer=$(curl -s -H "x-api-key: {appkey}" -H "Content-Type: application/json" '
        f'-d \'{{"content_type": "image/png"}}\' {base}/v1/uploads)\n'
        f'  curl -s $(echo "$offer" | {form}) -F "file=@{DEMO_IMAGE}"\n'
        f'  curl -s -H "x-api-key: {appkey}" -F "upload_id=$(echo "$offer" | {field})" {base}/v1/ocr/universal\n'
    )


def _job_example(base: str, appkey: str) -> str:
    """Two shell lines, after the upload example's: start a job on its upload, then poll it."""
    upload_id = "python3 -c 'import json, sys; print(json.load(sys.stdin)[\"upload_id\"])'"
    job_id = "python3 -c 'import json, sys; print(json.load(sys.stdin)[\"job_id\"])'"
    return (
        f'  job=$(curl -s -H "x-api-key: {appkey}" -F "upload_id=$(echo "$offer" | {upload_id})" {base}/v1/ocr/jobs)\n'
        f'  curl -s -H "x-api-key: {appkey}" {base}/v1/ocr/jobs/$(echo "$job" | {job_id})\n'
    )


def _tencent_sdk_example(endpoint: str, secret_id: str, secret_key: str, action: str = "GeneralAccurateOCR") -> str:
    """Three lines of Python with Tencent's SDK, changed only in endpoint and credentials: the
    demo image read, or (RecognizeTableAccurateOCR) the table page's tables."""
    image = DEMO_IMAGE if action == "GeneralAccurateOCR" else TABLE_IMAGE
    return (
        "from tencentcloud.common import credential; from tencentcloud.common.profile import client_profile, "
        "http_profile; from tencentcloud.ocr.v20181119 import ocr_client, models; import base64\n"
        f'client = ocr_client.OcrClient(credential.Credential("{secret_id}", "{secret_key}"), "ap-guangzhou", '
        f'client_profile.ClientProfile(httpProfile=http_profile.HttpProfile(protocol="http", endpoint="{endpoint}")))\n'
        f'request = models.{action}Request(); request.ImageBase64 = base64.b64encode(open("{image}", '
        f'"rb").read()).decode(); print(client.{action}(request).to_json_string())\n'
    )


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m ocr_local", description=__doc__)
    commands = parser.add_subparsers(required=True, metavar="COMMAND")

    run = commands.add_parser("serve", help="serve the API on http://127.0.0.1:3000")
    run.add_argument("--host", default="127.0.0.1")
    run.add_argument("--port", type=int, default=3000)
    run.add_argument("--instances", type=int, default=2, help="Lambda instances per function")
    run.add_argument("--dynamodb-port", type=int, default=DEFAULT_DYNAMODB_PORT)
    run.add_argument(
        "--lambda-port",
        type=int,
        default=DEFAULT_LAMBDA_PORT,
        help="Lambda's Invoke API for the functions others invoke (the deep engine)",
    )
    run.add_argument(
        "--dynamodb-endpoint",
        default=os.environ.get("DYNAMODB_ENDPOINT_URL") or None,
        help="use this endpoint (DynamoDB, API Gateway, KMS, S3 and SQS: a moto server) instead of the embedded one",
    )
    run.add_argument("--layer-dir", type=Path, help="a layer-shaped tree to take Tesseract from")
    run.add_argument(
        "--allow-network",
        action="append",
        default=[],
        metavar="CIDR",
        help="let image URLs reach this private network (e.g. 127.0.0.1/32); repeatable",
    )
    run.add_argument(
        "--env",
        action="append",
        default=[],
        type=_variable,
        metavar="NAME=VALUE",
        help="set a variable of the API functions' environment over the template's "
        "(as sam local start-api --env-vars does), e.g. MAX_DECODE_SECONDS=4; repeatable",
    )
    run.add_argument(
        "--queue-visibility-seconds",
        type=int,
        metavar="SECONDS",
        help="every queue's visibility timeout instead of the template's (a failed job page then "
        "comes back sooner: for tests)",
    )
    run.set_defaults(command=serve)

    one = commands.add_parser("invoke", help="invoke the handler with an event file")
    one.add_argument("event", help="an API Gateway event, e.g. events/v1-ocr-multipart.json")
    one.add_argument("--function", help="the function's logical id in template.yaml")
    one.add_argument("--layer-dir", type=Path, help="a layer-shaped tree to take Tesseract from")
    one.set_defaults(command=invoke)

    bench = commands.add_parser("bench", help="the service against raw tesseract on an image set")
    bench.add_argument(
        "--eval-dir", type=Path, default=None, help="the evaluation set; default $OCR_EVAL_DIR, else ../shared/eval"
    )
    bench.add_argument("--out", type=Path, default=PROJECT_ROOT / "build" / "bench")
    bench.add_argument("--repeats", type=int, default=3, help="runs per image; the median counts")
    bench.add_argument("--languages", default="chi_sim+eng")
    bench.add_argument("--limit", type=int, help="only the first N images (a quick look)")
    bench.set_defaults(command=run_bench)

    fuzzing = commands.add_parser("fuzz", help="atheris over request parsing and image decoding")
    fuzzing.add_argument("--seconds", type=float, default=60, help="how long, for all targets together")
    fuzzing.add_argument("--target", choices=["parsing", "images", "all"], default="all")
    fuzzing.add_argument("--out", type=Path, default=PROJECT_ROOT / "build" / "fuzz")
    fuzzing.set_defaults(command=run_fuzz)

    load = commands.add_parser("load", help="a fixed-length load test of the local server, with checks")
    load.add_argument("--duration", type=int, default=180, help="seconds of load")
    load.add_argument("--users", type=int, default=8, help="concurrent clients")
    load.add_argument("--instances", type=int, default=2, help="Lambda instances per function")
    load.add_argument("--out", type=Path, default=PROJECT_ROOT / "build" / "load")
    load.set_defaults(command=run_load)

    manage = commands.add_parser("keys", help="python -m ocr_api.keys against the local store")
    manage.add_argument("keys_args", nargs=argparse.REMAINDER)
    manage.set_defaults(command=keys)
    return parser


if __name__ == "__main__":
    sys.exit(main())
