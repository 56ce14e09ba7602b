"""The benchmark: the service against the raw ``tesseract`` command, image by image, same run.

    python -m ocr_local bench [--eval-dir ../shared/eval] [--repeats 3] [--out build/bench]

For every image with a ``.txt`` ground truth beside it, it times:
1. raw: ``tesseract IMAGE stdout -l LANGS`` with ``OMP_THREAD_LIMIT=1``;
2. RapidOCR with its defaults (PP-OCRv6 small on onnxruntime, every core), warm, on the file;
3. the service with each engine (tesseract, auto, ppocr): an API Gateway event (multipart upload
   to the universal endpoint) through the real Lambda handler, with the key checked against moto
   and the template's default settings, and the deep-learning engine's function warm behind
   Lambda's Invoke API, in a fresh process per image (so its peak memory is its own).
It reports wall time (median of the repeats), ratios to the raw command, CER, peak memory of
the API function and of the deep engine's, what the deep engine's function ran for (Lambda's
billed duration), images per second with two workers, the cold starts, a cold instance's first
answer against the raw command, and the cost per 1,000 images, as Markdown and JSON.
"""

from __future__ import annotations

import io
import json
import logging
import os
import platform
import statistics
import subprocess
import sys
import threading
import time
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from multiprocessing import get_context
from pathlib import Path

from PIL import Image

from ocr_local.template import PROJECT_ROOT
from ocr_tools import table_bench
from ocr_tools.eval_set import TEST_DATA
from ocr_tools.scoring import cer, is_upper_case_truth

IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".tif", ".tiff", ".bmp", ".gif", ".webp"}
BIG_IMAGE_PIXELS = 8_000_000
PATH = "/v1/imagerecognition/ocr"
UNIVERSAL_PATH = "/v1/ocr/universal"
ENGINES = ("tesseract", "auto", "ppocr")
BENCH_APPKEY = "bench-appkey-000000000000"
SMALL_IMAGE_PIXELS = 1_000_000


@dataclass
class ImageReport:
    folder: str
    name: str
    megapixels: float
    raw_seconds: float
    service_seconds: float
    raw_cer: float
    service_cer: float
    raw_peak_mb: float
    service_peak_mb: float
    service_status: int
    raw_times: list[float] = field(default_factory=list)
    service_times: list[float] = field(default_factory=list)
    # RapidOCR with its defaults, and the service with the other engines: seconds, CER, and for
    # the service which engine read the page, the deep engine function's seconds per request and
    # the peak memory of the API function (its page workers) and of the deep engine's.
    rapid_seconds: float = 0.0
    rapid_cer: float = 0.0
    engines: dict[str, dict] = field(default_factory=dict)

    @property
    def ratio(self) -> float:
        return self.service_seconds / self.raw_seconds if self.raw_seconds else float("nan")


def run(eval_dir: Path, out_dir: Path, repeats: int, languages: str, limit: int | None) -> dict:
    images = discover(eval_dir, limit)
    images.append(_in_fresh_process(synthetic_photo, out_dir))
    print(f"{len(images)} images, {repeats} repeats each, languages {languages}", flush=True)
    reports = []
    for folder, path, truth_path in images:
        truth = truth_path.read_text(encoding="utf-8")
        ignore_case = is_upper_case_truth(truth)
        raw = [raw_tesseract(path, languages) for _ in range(repeats)]
        raw_peak = raw_tesseract(path, languages, measure_memory=True)[2]
        rapid = _in_fresh_process(rapidocr_defaults_run, str(path), repeats)
        engines = _in_fresh_process(service_run, str(path), repeats, languages)
        service = engines["tesseract"]
        width, height = Image.open(path).size
        report = ImageReport(
            folder=folder,
            name=path.name,
            megapixels=round(width * height / 1e6, 2),
            raw_seconds=statistics.median(t for t, _, _ in raw),
            service_seconds=statistics.median(service["times"]),
            raw_cer=round(cer(raw[0][1], truth, ignore_case), 4),
            service_cer=round(cer(service["text"], truth, ignore_case), 4),
            raw_peak_mb=round(raw_peak, 1),
            service_peak_mb=round(service["peak_mb"], 1),
            service_status=service["status"],
            raw_times=[round(t, 4) for t, _, _ in raw],
            service_times=[round(t, 4) for t in service["times"]],
            rapid_seconds=round(statistics.median(rapid["times"]), 4),
            rapid_cer=round(cer(rapid["text"], truth, ignore_case), 4),
            engines={
                name: {
                    "seconds": round(statistics.median(run["times"]), 4),
                    "ratio": round(statistics.median(run["times"]) / statistics.median(t for t, _, _ in raw), 3),
                    "cer": round(cer(run["text"], truth, ignore_case), 4),
                    "read_by": run["read_by"],
                    "deep_seconds": round(run["deep_seconds"], 4),
                    "peak_mb": round(run["peak_mb"], 1),
                    "deep_peak_mb": round(run["deep_peak_mb"], 1),
                    "status": run["status"],
                }
                for name, run in engines.items()
            },
        )
        reports.append(report)
        auto, deep = report.engines["auto"], report.engines["ppocr"]
        print(
            f"  {folder}/{path.name}: raw {report.raw_seconds:.2f}s cer {report.raw_cer:.3f} | rapidocr "
            f"{report.rapid_seconds:.2f}s cer {report.rapid_cer:.3f} | tesseract {report.service_seconds:.2f}s "
            f"cer {report.service_cer:.3f} | auto ({auto['read_by']}) {auto['seconds']:.2f}s cer {auto['cer']:.3f} "
            f"| ppocr {deep['seconds']:.2f}s cer {deep['cer']:.3f} ({deep['deep_peak_mb']:.0f} MB)",
            flush=True,
        )
    corpus = [path for _, path, _ in images[:-1]]
    photo_megabytes = round(images[-1][1].stat().st_size / 1e6, 1)
    summary = {
        "machine": machine(),
        "languages": languages,
        "repeats": repeats,
        "images": [asdict(r) | {"ratio": round(r.ratio, 3)} for r in reports],
        "folders": folder_summary(reports),
        "overall": overall_summary(reports) | {"photo_40mp_megabytes": photo_megabytes},
        "throughput_images_per_second": {
            "raw_2_workers": round(raw_throughput(corpus, languages), 3),
            "service_2_workers": round(service_throughput(corpus, languages), 3),
        },
        "cold_start": _in_fresh_process(cold_start, languages),
        "orientation": _in_fresh_process(orientation_cost, [str(path) for path in corpus], languages),
        "deep_path": _in_fresh_process(deep_path_hops, [str(path) for path in corpus]),
        "deep_engine_cold_start": _in_fresh_process(deep_engine_cold_start),
        "fusion_held_out": _in_fresh_process(fusion_held_out, str(eval_dir)),
        "tables": _in_fresh_process(table_bench.run, out_dir, table_bench.table_pages.DEFAULT_CJK_FONT, eval_dir),
    }
    own = _in_fresh_process(engines_on_own_cpus, [str(path) for path in corpus], repeats, languages)
    raw_seconds = {str(path): report.raw_seconds for (_, path, _), report in zip(images, reports)}
    summary["engines_on_own_cpus"] = {
        engine: {
            "ratio_median": round(
                statistics.median(seconds / raw_seconds[path] for path, seconds in by_path.items()), 3
            ),
            "seconds_median": round(statistics.median(by_path.values()), 3),
        }
        for engine, by_path in own.items()
    }
    summary["engines"] = engine_summary(reports)
    summary["cost_per_1000_images"] = cost_per_1000_images(reports)
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / "results.json").write_text(json.dumps(summary, indent=2, ensure_ascii=False))
    (out_dir / "results.md").write_text(markdown(summary))
    print(markdown(summary))
    return summary


def discover(eval_dir: Path, limit: int | None) -> list[tuple[str, Path, Path]]:
    found = []
    for path in sorted(eval_dir.rglob("*")):
        if path.suffix.lower() in IMAGE_SUFFIXES and "_orig" not in path.parts:
            truth = path.with_suffix(".txt")
            if truth.exists():
                found.append((path.parent.name, path, truth))
    return found[:limit] if limit else found


def synthetic_photo(out_dir: Path) -> tuple[str, Path, Path]:
    """A 40-megapixel, roughly 10 MB JPEG made from a real receipt, for the memory goal.

    Made in a process of its own: decoding 40 megapixels here would swell this process, and
    every child forked from it would seem to start that large.
    """
    source = TEST_DATA / "sroie" / "000.jpg"
    folder = out_dir / "synthetic"
    target = folder / "receipt-40mp.jpg"
    if not target.exists():
        folder.mkdir(parents=True, exist_ok=True)
        image = Image.open(source).convert("RGB")
        # Just under the service's 40-megapixel limit, with grain to weigh what a phone photo does.
        scale = (39_900_000 / (image.width * image.height)) ** 0.5
        big = image.resize((int(image.width * scale), int(image.height * scale)), Image.Resampling.BICUBIC)
        grainy = Image.blend(big, Image.effect_noise(big.size, 64).convert("RGB"), 0.12)
        for quality in range(92, 40, -4):
            grainy.save(target, quality=quality)
            if target.stat().st_size <= 9_800_000:
                break
        (folder / "receipt-40mp.txt").write_text(source.with_suffix(".txt").read_text(encoding="utf-8"))
    return "synthetic", target, target.with_suffix(".txt")


def raw_tesseract(path: Path, languages: str, measure_memory: bool = False) -> tuple[float, str, float]:
    """(seconds, text, peak MB) of one plain tesseract run; memory only when asked."""
    environment = {**os.environ, "OMP_THREAD_LIMIT": "1"}
    started = time.perf_counter()
    process = subprocess.Popen(
        ["tesseract", str(path), "stdout", "-l", languages],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        env=environment,
    )
    sampler = PeakMemory(process.pid) if measure_memory else None
    output = process.stdout.read()
    process.wait()
    elapsed = time.perf_counter() - started
    process.stdout.close()
    return elapsed, output.decode("utf-8", "replace"), sampler.stop() if sampler else 0.0


class PeakMemory:
    """Samples the resident memory of a process and all its descendants every few ms.

    (A child's ru_maxrss would also count its parent's pages from before exec.)
    """

    def __init__(self, pid: int, interval: float = 0.005, exclude: int | None = None) -> None:
        self.pid = pid
        self.exclude = exclude
        self.peak_kb = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, args=(interval,), daemon=True)
        self._thread.start()

    def stop(self) -> float:
        self._stop.set()
        self._thread.join()
        return self.peak_kb / 1024

    def _sample(self, interval: float) -> None:
        while not self._stop.is_set():
            self.peak_kb = max(self.peak_kb, sum(_rss_kb(pid) for pid in _family(self.pid, self.exclude)))
            time.sleep(interval)


def _family(pid: int, exclude: int | None = None) -> list[int]:
    family, pending = [], [pid]
    while pending:
        current = pending.pop()
        if current == exclude:
            continue
        family.append(current)
        for task in Path(f"/proc/{current}/task").glob("*/children"):
            try:
                pending.extend(int(child) for child in task.read_text().split())
            except OSError:
                continue
    return family


def _rss_kb(pid: int) -> int:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


def raw_throughput(paths: list[Path], languages: str) -> float:
    started = time.perf_counter()
    with ThreadPoolExecutor(2) as pool:
        list(pool.map(lambda path: raw_tesseract(path, languages), paths))
    return len(paths) / (time.perf_counter() - started)


def service_throughput(paths: list[Path], languages: str) -> float:
    """Two warm instances; measured from the first request's start to the last one's end."""
    with ProcessPoolExecutor(
        2, mp_context=get_context("spawn"), initializer=_start_service, initargs=(languages, False)
    ) as pool:
        spans = list(pool.map(_serve_once, [str(path) for path in paths]))
    return len(paths) / (max(end for _, end in spans) - min(start for start, _ in spans))


# Worker side: each runs in a process of its own.

_service = None


class _Service:
    """The Lambda as it runs: template settings, moto DynamoDB with a key, the real handler, and
    the deep-learning engine's function warm behind Lambda's Invoke API on loopback."""

    def __init__(self, languages: str, deep_engine: bool = True, own_cpus: bool = False) -> None:
        """``own_cpus``: the deep engine's function on the last CPU, the API function (handler
        and page workers) on the first, as on Lambda each function has vCPUs of its own."""
        from moto import mock_aws

        from ocr_local.environment import LOCAL_RESOURCE_NAMES, function_environment
        from ocr_local.lambda_endpoint import LocalLambdaEndpoint
        from ocr_local.lambda_runtime import LambdaInstances
        from ocr_local.template import load_template

        spec = load_template(resource_names=LOCAL_RESOURCE_NAMES)
        self.function = spec.functions["OcrFunction"]
        self.spec = spec
        self.deep_instance = self.deep_endpoint = None
        cpus = sorted(os.sched_getaffinity(0))
        if deep_engine:
            deep = spec.functions["DeepEngineFunction"]
            if own_cpus:
                os.sched_setaffinity(0, {cpus[-1]})  # inherited by the instance, its threads sized to it
            self.deep_instance = LambdaInstances(deep, function_environment(deep, None), instances=1)
            self.deep_instance.warm_up()
            self.deep_endpoint = LocalLambdaEndpoint(("127.0.0.1", 0), {deep.logical_id: self.deep_instance})
            self.deep_endpoint.start()
        if own_cpus:
            os.sched_setaffinity(0, {cpus[0]})  # the handler's, and the page workers' it starts
        lambda_url = self.deep_endpoint.endpoint_url if self.deep_endpoint else None
        os.environ.update(
            function_environment(self.function, None, lambda_endpoint_url=lambda_url), OCR_LANGUAGES=languages
        )
        os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")
        self._mock = mock_aws()
        self._mock.start()
        _register_bench_key(spec, endpoint_url=None)

    def handler(self):
        from ocr_api.app import handler

        return handler

    def close(self) -> None:
        """Stops the deep engine's instance: a process that exits waits for its children."""
        if self.deep_endpoint is not None:
            self.deep_endpoint.stop()
            self.deep_instance.close()

    def deep_process(self) -> int:
        [pid] = list(self.deep_instance._pool._processes)
        return pid

    def request(self, data: bytes, engine: str | None = None) -> tuple[float, int, str, str]:
        """(seconds, status, text, engine that read it): gugudata v1 with the deployment's
        default engine, or the universal endpoint with ``engine``."""
        from ocr_local.apigateway import build_event
        from ocr_local.forms import multipart_form
        from ocr_local.lambda_runtime import LocalLambdaContext

        if engine is None:
            path, query, headers, part, fields = PATH, [("appkey", BENCH_APPKEY)], [], "imagefile", []
        else:
            path, query, headers, part = UNIVERSAL_PATH, [], [("x-api-key", BENCH_APPKEY)], "file"
            fields = [("engine", engine), ("need_location", "false")]
        content_type, body = multipart_form(fields=fields, files=[(part, "image", "application/octet-stream", data)])
        event = build_event(
            method="POST",
            path=path,
            resource=path,
            stage=self.spec.stage,
            query=query,
            headers=[("Content-Type", content_type), *headers],
            body=body,
            binary_media_types=self.spec.binary_media_types,
        )
        handler = self.handler()
        started = time.perf_counter()
        response = handler(event, LocalLambdaContext(self.function))
        elapsed = time.perf_counter() - started
        answer = json.loads(response["body"])
        if engine is None:
            texts = (answer.get("Data") or {}).get("resultText") or []
            return elapsed, response["statusCode"], "\n".join(texts), ""
        results = answer.get("results") or [{}]
        return elapsed, response["statusCode"], results[0].get("text", ""), results[0].get("engine", "")


def _start_service(languages: str, deep_engine: bool = True, own_cpus: bool = False) -> None:
    global _service
    _service = _Service(languages, deep_engine, own_cpus)
    _service.request(_warm_up_image(), engine="tesseract")
    if deep_engine:
        _service.request(_warm_up_image(), engine="ppocr")


def _serve_once(path: str) -> tuple[float, float]:
    data = Path(path).read_bytes()
    started = time.time()
    _service.request(data, engine="tesseract")
    return started, time.time()


def service_run(path: str, repeats: int, languages: str) -> dict:
    """Each engine's times, text and memory on one image, in this (fresh) process."""
    _start_service(languages)
    data = Path(path).read_bytes()
    results = {}
    for engine in ENGINES:
        billed_before = len(_service.deep_endpoint.billed_seconds)
        runs = [_service.request(data, engine) for _ in range(repeats)]
        deep_calls = _service.deep_endpoint.billed_seconds[billed_before:]
        # One more run, untimed, to sample memory: the function's process and its page workers,
        # and apart from them the deep engine's instance.
        deep_pid = _service.deep_process()
        sampler = PeakMemory(os.getpid(), exclude=deep_pid)
        deep_sampler = PeakMemory(deep_pid)
        _service.request(data, engine)
        results[engine] = {
            "times": [t for t, _, _, _ in runs],
            "status": runs[0][1],
            "text": runs[0][2],
            "read_by": runs[0][3],
            "deep_seconds": sum(deep_calls) / repeats,
            "peak_mb": sampler.stop(),
            "deep_peak_mb": deep_sampler.stop(),
        }
    _service.close()
    return results


def engines_on_own_cpus(paths: list[str], repeats: int, languages: str) -> dict:
    """Each engine's median seconds per image with the API function on one CPU and the deep
    engine's function on the other. On Lambda each function has its own vCPUs (1 at the API
    function's 1769 MB, about 1.7 at the deep engine's 3008 MB), so under auto the two engines
    read side by side; sharing this machine's two cores, they take each other's time."""
    if len(os.sched_getaffinity(0)) < 2:
        return {}
    _start_service(languages, own_cpus=True)
    times = {engine: {} for engine in ENGINES}
    for path in paths:
        data = Path(path).read_bytes()
        for engine in ENGINES:
            times[engine][path] = statistics.median(_service.request(data, engine)[0] for _ in range(repeats))
    _service.close()
    return times


def rapidocr_defaults_run(path: str, repeats: int) -> dict:
    """RapidOCR as its documentation runs it: defaults, the file's path; warm, as a service is."""
    from rapidocr import RapidOCR

    engine = RapidOCR(params={"Global.log_level": "error"})
    engine(path)
    times, text = [], ""
    for _ in range(repeats):
        started = time.perf_counter()
        output = engine(path)
        times.append(time.perf_counter() - started)
        text = "\n".join(output.txts or ())
    return {"times": times, "text": text}


# Cold start, each probe in a fresh interpreter (the best of three): the floor any Python
# Lambda that talks to AWS pays, the handler's INIT (its import, with a page worker started
# first and ready, its default models loaded), the same done one after the other (the worker
# started on first use), and the first answer of a cold instance to the demo image.
_FLOOR_PROBE = """
import time; started = time.perf_counter()
import boto3; boto3.client("dynamodb", region_name="us-east-1")
print("RESULT", time.perf_counter() - started)
"""
_INIT_PROBE = """
import time; started = time.perf_counter()
import ocr_api.app
imported = time.perf_counter() - started
ocr_api.app.service.recognizer.wait_until_ready(time.monotonic() + 60, count=1)
print("RESULT", imported, time.perf_counter() - started)
"""
_FIRST_USE_PROBE = """
import time; started = time.perf_counter()
import aws_lambda_powertools.logging, ocr_api.dialects.endpoints, ocr_api.service.ocr_service
from ocr_api.config import Settings
from ocr_api.service.page_workers import page_workers
workers = page_workers(Settings.from_environment())
workers.wait_until_ready(time.monotonic() + 60, count=1)
print("RESULT", time.perf_counter() - started)
"""
_FIRST_ANSWER_PROBE = """
import json, sys, time
from ocr_local.lambda_runtime import LocalLambdaContext
from ocr_local.template import FunctionSpec
request = json.loads(sys.stdin.read())
context = LocalLambdaContext(FunctionSpec(**request["function"]))
started = time.perf_counter()
import ocr_api.app
response = ocr_api.app.handler(request["event"], context)
elapsed = time.perf_counter() - started
assert json.loads(response["body"])["DataStatus"]["statusCode"] == 100, response["body"]
print("RESULT", elapsed)
"""


def cold_start(languages: str) -> dict:
    from ocr_local.dynamodb import LOCAL_AWS_ENVIRONMENT, EmbeddedDynamoDB, credentials_for_endpoint
    from ocr_local.environment import LOCAL_RESOURCE_NAMES, function_environment
    from ocr_local.server_process import free_port
    from ocr_local.template import load_template

    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    spec = load_template(resource_names=LOCAL_RESOURCE_NAMES)
    function = spec.functions["OcrFunction"]
    environment = {**os.environ, **function_environment(function, None), "OCR_LANGUAGES": languages}

    floor = _best_of_three(_FLOOR_PROBE, {**os.environ, **credentials_for_endpoint({})})[0]
    imported, initialised = _best_of_three(_INIT_PROBE, environment)
    first_use = _best_of_three(_FIRST_USE_PROBE, environment)[0]

    dynamodb = EmbeddedDynamoDB(free_port())
    dynamodb.start()
    try:
        answering = {**environment, **function_environment(function, dynamodb.endpoint_url)}
        answering["OCR_LANGUAGES"] = languages
        # The first answer is the tesseract engine's, the raw command's work: no deep engine runs
        # for this probe, so under auto it would time a failed Invoke and the fallback's reading.
        answering["DEFAULT_ENGINE"] = "tesseract"
        os.environ.update(LOCAL_AWS_ENVIRONMENT)
        _register_bench_key(spec, dynamodb.endpoint_url)
        request = json.dumps({"event": _demo_event(spec), "function": asdict(function)})
        first_answer = _best_of_three(_FIRST_ANSWER_PROBE, answering, request)[0]
    finally:
        dynamodb.stop()
    demo = PROJECT_ROOT / "functions" / "ocr_api" / "service" / "demo.png"
    raw_demo = statistics.median(raw_tesseract(demo, languages)[0] for _ in range(3))
    return {
        "floor_boto3_client_seconds": round(floor, 4),
        "import_seconds": round(imported, 4),
        "init_seconds": round(initialised, 4),
        "init_over_floor": round(initialised / floor, 3),
        "first_use_init_seconds": round(first_use, 4),
        "first_use_over_floor": round(first_use / floor, 3),
        "first_answer_seconds": round(first_answer, 4),
        "raw_demo_seconds": round(raw_demo, 4),
        "first_answer_over_raw_ms": round((first_answer - raw_demo) * 1000),
    }


_DEEP_ENGINE_PROBE = """
import time; started = time.perf_counter()
import ocr_api.handlers.deep_engine
print("RESULT", time.perf_counter() - started)
"""


def deep_engine_cold_start() -> dict:
    """The deep engine function's INIT: its import, which loads both models (best of three)."""
    return {"init_seconds": round(_best_of_three(_DEEP_ENGINE_PROBE, dict(os.environ))[0], 4)}


def _best_of_three(probe: str, env: dict, stdin: str = "") -> list[float]:
    """The values a probe prints after "RESULT ", from the best of three fresh interpreters."""
    runs = []
    for _ in range(3):
        output = subprocess.run(
            [sys.executable, "-c", probe], env=env, input=stdin, capture_output=True, text=True, check=True
        ).stdout
        [result] = [line for line in output.splitlines() if line.startswith("RESULT ")]
        runs.append([float(value) for value in result.split()[1:]])
    return min(runs)


# Lambda's x86 prices in us-east-1: per GB-second of duration, and per request.
PRICE_PER_GB_SECOND = 0.0000166667
PRICE_PER_REQUEST = 0.20 / 1_000_000


def _as_page_workers_decode(data: bytes):
    """The upload decoded as the page workers decode it, under the default settings' limits."""
    from ocr_api.config import Settings
    from ocr_api.ocr import ImageLimits, prepare_image

    settings = Settings()
    limits = ImageLimits(settings.max_image_bytes, settings.max_image_pixels)
    return prepare_image(data, limits, max_recognition_pixels=settings.max_recognition_pixels)


def orientation_cost(paths: list[str], languages: str, repeats: int = 3) -> dict:
    """What turning a page upright costs with Tesseract (its orientation detection on a small
    copy, then the deskew estimate), against reading the page with Tesseract, page by page, as
    the page workers prepare and read it."""
    from ocr_api.ocr.deadline import deadline_in
    from ocr_api.ocr.engine import PageLayout
    from ocr_api.ocr.geometry import PageTransform
    from ocr_api.ocr.orientation import make_upright
    from ocr_api.ocr.tesseract import Tesseract
    from ocr_local.environment import system_tessdata_dir

    engine = Tesseract(os.environ.get("TESSDATA_PREFIX") or system_tessdata_dir())
    engine.load(languages)
    pages = []
    for path in paths:
        page = _as_page_workers_decode(Path(path).read_bytes())
        transform = PageTransform(*page.original_size).scaled_to(page.image.size)
        upright_seconds = []
        for _ in range(repeats):
            started = time.perf_counter()
            _, _, angle = make_upright(page, transform, lambda small: engine.detect_orientation(small, deadline_in(60)))
            upright_seconds.append(time.perf_counter() - started)
        started = time.perf_counter()
        engine.read_lines(page, languages, deadline_in(120), PageLayout.AUTO)
        read_seconds = time.perf_counter() - started
        upright = statistics.median(upright_seconds)
        pages.append(
            {
                "image": path,
                "upright_seconds": round(upright, 4),
                "read_seconds": round(read_seconds, 4),
                "share": round(upright / read_seconds, 3),
                "angle": angle,
            }
        )
    return {
        "pages": pages,
        "upright_ms_median": round(statistics.median(p["upright_seconds"] for p in pages) * 1000),
        "upright_ms_max": round(max(p["upright_seconds"] for p in pages) * 1000),
        "share_of_reading_median": round(statistics.median(p["share"] for p in pages), 3),
        "turned_pages": sum(1 for p in pages if p["angle"] % 360),
    }


def deep_path_hops(paths: list[str]) -> dict:
    """What a page's trip to PP-OCR and back costs outside PP-OCR, step by step, in one process:
    each step as the service runs it (page worker, handler, deep engine's handler), timed on the
    evaluation pages, against PP-OCR's own reading (its orientation judged from its own lines
    included). The pipes and the Invoke call's network are not in it; the bytes each hop carries
    are."""
    import base64

    from ocr_api.ocr.deadline import deadline_in
    from ocr_api.ocr.page_transfer import decode_page, encode_page, lines_from_json, lines_on_upload, lines_to_json
    from ocr_api.ocr.ppocr import PAGE_SIDE, PpOcr

    engine = PpOcr()
    engine.load()
    steps: dict[str, list[float]] = {}
    sizes: dict[str, list[int]] = {"page sent (bytes)": [], "lines back (bytes)": []}

    @contextmanager
    def timed(step: str):
        started = time.perf_counter()
        yield
        steps.setdefault(step, []).append(time.perf_counter() - started)

    for path in paths:
        data = Path(path).read_bytes()
        with timed("decode the upload (page worker)"):
            page = _as_page_workers_decode(data)
        with timed("encode the page for the deep engine (page worker)"):
            encoded, size = encode_page(page, PAGE_SIDE)
        with timed("base64 and JSON of the Invoke payload (handler)"):
            payload = json.dumps(
                {
                    "page": base64.b64encode(encoded).decode("ascii"),
                    "languages": "chi_sim+eng",
                    "layout": "auto",
                    "seconds": 25,
                    "find_orientation": True,
                }
            )
        with timed("parse the Invoke event and decode the page (deep engine)"):
            event = json.loads(payload)
        with timed("parse the Invoke event and decode the page (deep engine)"):
            received = decode_page(base64.b64decode(event["page"], validate=True), PAGE_SIDE * PAGE_SIDE)
        with timed("PP-OCR reads the page (deep engine)"):
            lines, angle = engine.read_page(received, "chi_sim+eng", deadline_in(60))
        with timed("lines to JSON (deep engine)"):
            answer = json.dumps({"lines": lines_to_json(lines), "angle": angle})
        with timed("lines from JSON, onto the upload's pixels (handler)"):
            lines_on_upload(lines_from_json(json.loads(answer)["lines"]), size, page.original_size)
        sizes["page sent (bytes)"].append(len(payload))
        sizes["lines back (bytes)"].append(len(answer))
    # One page's two steps of the deep engine's parsing are one step.
    parse = steps.pop("parse the Invoke event and decode the page (deep engine)")
    steps["parse the Invoke event and decode the page (deep engine)"] = [
        first + second for first, second in zip(parse[::2], parse[1::2])
    ]
    reading = statistics.median(steps["PP-OCR reads the page (deep engine)"])
    return {
        "steps_ms_median": {step: round(statistics.median(times) * 1000, 1) for step, times in steps.items()},
        "outside_ppocr_share_median": round(
            statistics.median(
                sum(times[index] for step, times in steps.items() if not step.startswith("PP-OCR"))
                / steps["PP-OCR reads the page (deep engine)"][index]
                for index in range(len(paths))
            ),
            3,
        ),
        "ppocr_ms_median": round(reading * 1000, 1),
        "bytes_median": {name: int(statistics.median(values)) for name, values in sizes.items()},
    }


def fusion_held_out(eval_dir: str, folds: int = 5) -> dict:
    """auto's CER with the fusion model fitted without each image (``fit_fusion``), beside each
    engine's and the image-by-image best of the two; and the model the service ships judged on
    pages made here (``generated_pages``: layouts the evaluation set has few of)."""
    import random
    import tempfile

    from ocr_api.ocr.fusion import MODEL
    from ocr_tools.fit_fusion import cross_validated, judged, readings
    from ocr_tools.generated_pages import generate

    report = cross_validated(readings(Path(eval_dir)), folds)
    report.pop("per_image")
    with tempfile.TemporaryDirectory() as pages:
        generate(Path(pages), random.Random(7), 6)
        report["generated_pages"] = judged(readings(Path(pages)), MODEL)
    return report


def cost_per_1000_images(reports: list[ImageReport]) -> dict:
    """What 1,000 images like the evaluation set's cost on Lambda, per engine: the API function
    for the whole request (it waits while the deep engine reads), plus the deep engine function
    for its own duration, at the template's default memory sizes, from the mean times measured."""
    from ocr_local.environment import LOCAL_RESOURCE_NAMES
    from ocr_local.template import load_template

    functions = load_template(resource_names=LOCAL_RESOURCE_NAMES).functions
    api_gb = functions["OcrFunction"].memory_mb / 1024
    deep_gb = functions["DeepEngineFunction"].memory_mb / 1024
    corpus = [r for r in reports if r.folder != "synthetic"]
    costs = {}
    for engine in ENGINES:
        api_seconds = statistics.mean(r.engines[engine]["seconds"] for r in corpus)
        deep_seconds = statistics.mean(r.engines[engine]["deep_seconds"] for r in corpus)
        deep_share = statistics.mean(r.engines[engine]["deep_seconds"] > 0 for r in corpus)
        api = 1000 * (api_seconds * api_gb * PRICE_PER_GB_SECOND + PRICE_PER_REQUEST)
        deep = 1000 * (deep_seconds * deep_gb * PRICE_PER_GB_SECOND + deep_share * PRICE_PER_REQUEST)
        costs[engine] = {
            "api_seconds_mean": round(api_seconds, 3),
            "api_gb": round(api_gb, 3),
            "deep_seconds_mean": round(deep_seconds, 3),
            "deep_gb": round(deep_gb, 3),
            "deep_share": round(deep_share, 3),
            "usd": round(api + deep, 4),
        }
    return costs


def engine_summary(reports: list[ImageReport]) -> dict:
    """Per folder and over the set: CER of RapidOCR's defaults and of each engine, and each one's
    median time ratio to the raw command."""
    corpus = [r for r in reports if r.folder != "synthetic"]
    photo = [r for r in reports if r.folder == "synthetic"]

    def columns(rows: list[ImageReport]) -> dict:
        return {
            "images": len(rows),
            "raw_cer": round(statistics.mean(r.raw_cer for r in rows), 4),
            "rapid_cer": round(statistics.mean(r.rapid_cer for r in rows), 4),
            "rapid_ratio": round(statistics.median(r.rapid_seconds / r.raw_seconds for r in rows), 3),
            **{
                f"{engine}_cer": round(statistics.mean(r.engines[engine]["cer"] for r in rows), 4) for engine in ENGINES
            },
            **{
                f"{engine}_ratio": round(statistics.median(r.engines[engine]["ratio"] for r in rows), 3)
                for engine in ENGINES
            },
            "auto_read_by_ppocr": sum(r.engines["auto"]["read_by"] == "ppocr" for r in rows),
        }

    folders = {name: columns([r for r in corpus if r.folder == name]) for name in sorted({r.folder for r in corpus})}
    return {
        "folders": folders,
        "all": columns(corpus),
        "deep_peak_mb_max": max(r.engines["ppocr"]["deep_peak_mb"] for r in corpus),
        "photo_40mp_deep_peak_mb": photo[0].engines["ppocr"]["deep_peak_mb"] if photo else None,
        "photo_40mp_api_peak_mb_ppocr": photo[0].engines["ppocr"]["peak_mb"] if photo else None,
    }


def _register_bench_key(spec, endpoint_url: str | None) -> None:
    """The appkeys table in moto (in-process, or its server at ``endpoint_url``), with the
    template's plans, as its PlanCatalog writes them on deploy, and the benchmark's key."""
    import boto3

    from ocr_api.adapters.dynamodb_keys import AppKeyStore
    from ocr_local.dynamodb import create_table
    from ocr_local.environment import LOCAL_TABLE_NAME, register_appkey, write_template_plans

    create_table(boto3.client("dynamodb", endpoint_url=endpoint_url), LOCAL_TABLE_NAME, spec.table_properties)
    store = AppKeyStore(LOCAL_TABLE_NAME, endpoint_url)
    write_template_plans(store, spec, usage_plan_ids={})
    register_appkey(store, BENCH_APPKEY, "bench", endpoint_url)


def _demo_event(spec) -> dict:
    from ocr_local.apigateway import build_event
    from ocr_local.forms import multipart_form

    content_type, body = multipart_form(files=[("imagefile", "demo.png", "image/png", _warm_up_image())])
    return build_event(
        method="POST",
        path=PATH,
        resource=PATH,
        stage=spec.stage,
        query=[("appkey", BENCH_APPKEY)],
        headers=[("Content-Type", content_type)],
        body=body,
        binary_media_types=spec.binary_media_types,
    )


def _warm_up_image() -> bytes:
    buffer = io.BytesIO()
    Image.open(PROJECT_ROOT / "functions" / "ocr_api" / "service" / "demo.png").save(buffer, format="PNG")
    return buffer.getvalue()


def _in_fresh_process(function, *args):
    with ProcessPoolExecutor(1, mp_context=get_context("spawn")) as pool:
        return pool.submit(function, *args).result()


# Reporting


def folder_summary(reports: list[ImageReport]) -> dict:
    folders = {}
    for name in sorted({r.folder for r in reports}):
        rows = [r for r in reports if r.folder == name]
        folders[name] = {
            "images": len(rows),
            "raw_seconds_median": round(statistics.median(r.raw_seconds for r in rows), 3),
            "service_seconds_median": round(statistics.median(r.service_seconds for r in rows), 3),
            "ratio_median": round(statistics.median(r.ratio for r in rows), 3),
            "raw_cer_mean": round(statistics.mean(r.raw_cer for r in rows), 4),
            "service_cer_mean": round(statistics.mean(r.service_cer for r in rows), 4),
            "service_peak_mb_max": max(r.service_peak_mb for r in rows),
        }
    return folders


def overall_summary(reports: list[ImageReport]) -> dict:
    corpus = [r for r in reports if r.folder != "synthetic"]
    big = [r for r in corpus if r.megapixels * 1e6 > BIG_IMAGE_PIXELS]
    small = [r for r in corpus if r.megapixels * 1e6 < SMALL_IMAGE_PIXELS]
    photo = [r for r in reports if r.folder == "synthetic"]
    return {
        "images": len(corpus),
        "ratio_median": round(statistics.median(r.ratio for r in corpus), 3),
        "ratio_median_over_8_megapixels": round(statistics.median(r.ratio for r in big), 3) if big else None,
        "images_over_8_megapixels": len(big),
        "ratio_median_under_1_megapixel": round(statistics.median(r.ratio for r in small), 3) if small else None,
        "images_under_1_megapixel": len(small),
        "raw_cer_mean": round(statistics.mean(r.raw_cer for r in corpus), 4),
        "service_cer_mean": round(statistics.mean(r.service_cer for r in corpus), 4),
        "raw_seconds_total": round(sum(r.raw_seconds for r in corpus), 2),
        "service_seconds_total": round(sum(r.service_seconds for r in corpus), 2),
        "photo_40mp_service_peak_mb": photo[0].service_peak_mb if photo else None,
        "photo_40mp_ratio": round(photo[0].ratio, 3) if photo else None,
    }


def machine() -> dict:
    import tesserocr

    tesseract_version = subprocess.run(["tesseract", "--version"], capture_output=True, text=True).stdout
    return {
        "cpu": _cpu_name(),
        "cores": os.cpu_count(),
        "python": platform.python_version(),
        "tesseract": tesseract_version.splitlines()[0] if tesseract_version else "?",
        "service_tesseract": f"tesserocr {tesserocr.__version__}, " + tesserocr.tesseract_version().splitlines()[0],
        "date": time.strftime("%Y-%m-%d"),
    }


def _cpu_name() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "?"


def markdown(summary: dict) -> str:
    overall, machine_info = summary["overall"], summary["machine"]
    throughput, cold = summary["throughput_images_per_second"], summary["cold_start"]
    lines = [
        f"Machine: {machine_info['cpu']}, {machine_info['cores']} cores; raw: {machine_info['tesseract']}; "
        f"service: {machine_info['service_tesseract']}; "
        f"Python {machine_info['python']}; {machine_info['date']}. Languages `{summary['languages']}`, "
        f"median of {summary['repeats']} runs per image.",
        "",
        "| folder | images | raw s (median) | service s (median) | service/raw | raw CER | service CER "
        "| service peak MB |",
        "|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for name, row in summary["folders"].items():
        lines.append(
            f"| {name} | {row['images']} | {row['raw_seconds_median']:.2f} | {row['service_seconds_median']:.2f} | "
            f"{row['ratio_median']:.2f} | {row['raw_cer_mean']:.3f} | {row['service_cer_mean']:.3f} | "
            f"{row['service_peak_mb_max']:.0f} |"
        )
    lines += [
        f"| **all** | {overall['images']} | | | **{overall['ratio_median']:.2f}** | "
        f"{overall['raw_cer_mean']:.3f} | {overall['service_cer_mean']:.3f} | |",
        "",
        f"- Median service/raw time ratio: {overall['ratio_median']:.2f} over all images (goal 0.6); "
        f"{overall['ratio_median_under_1_megapixel']} over the {overall['images_under_1_megapixel']} images "
        f"under 1 megapixel (goal 0.4); {overall['ratio_median_over_8_megapixels']} over the "
        f"{overall['images_over_8_megapixels']} images above 8 megapixels (goal 0.8).",
        f"- Throughput with two workers: raw {throughput['raw_2_workers']} images/s, service "
        f"{throughput['service_2_workers']} images/s: "
        f"{throughput['service_2_workers'] / throughput['raw_2_workers']:.2f}x (goal 2).",
        f"- Cold start: `import boto3` and one client {cold['floor_boto3_client_seconds'] * 1000:.0f} ms; the "
        f"handler's INIT (import {cold['import_seconds'] * 1000:.0f} ms, page workers started first and ready "
        f"with their models) {cold['init_seconds'] * 1000:.0f} ms = {cold['init_over_floor']:.2f}x (goal 1.3); "
        f"workers started on first use instead {cold['first_use_init_seconds'] * 1000:.0f} ms = "
        f"{cold['first_use_over_floor']:.2f}x.",
        f"- First answer of a cold instance to the demo image (INIT and request): "
        f"{cold['first_answer_seconds'] * 1000:.0f} ms; the raw command {cold['raw_demo_seconds'] * 1000:.0f} ms; "
        f"{cold['first_answer_over_raw_ms']:+d} ms (goal +300).",
        f"- 40-megapixel, {overall['photo_40mp_megabytes']} MB synthetic photo: service peak "
        f"{overall['photo_40mp_service_peak_mb']} MB (goal 512), service/raw {overall['photo_40mp_ratio']}.",
        f"- Turning a page upright with Tesseract (orientation detection on a small copy, then deskew; now "
        f"run only where Tesseract's first reading is doubtful or turning is asked, never for PP-OCR): "
        f"median {summary['orientation']['upright_ms_median']} ms a page (at most "
        f"{summary['orientation']['upright_ms_max']} ms), {summary['orientation']['share_of_reading_median']:.0%} "
        f"of the time Tesseract takes to read the page (median); "
        f"{summary['orientation']['turned_pages']} pages turned or deskewed.",
        "- A page's trip to PP-OCR and back, outside PP-OCR (in one process; median ms): "
        + "; ".join(f"{step} {ms}" for step, ms in summary["deep_path"]["steps_ms_median"].items())
        + f". Outside PP-OCR: {summary['deep_path']['outside_ppocr_share_median']:.0%} of its reading (median); "
        f"the page travels as {summary['deep_path']['bytes_median']['page sent (bytes)']} bytes of JSON, the "
        f"lines come back as {summary['deep_path']['bytes_median']['lines back (bytes)']}.",
        "",
        "<details><summary>Per image</summary>",
        "",
        "| image | MP | raw s | service s | ratio | raw CER | service CER | raw MB | service MB |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for row in summary["images"]:
        lines.append(
            f"| {row['folder']}/{row['name']} | {row['megapixels']} | {row['raw_seconds']:.2f} | "
            f"{row['service_seconds']:.2f} | {row['ratio']:.2f} | {row['raw_cer']:.3f} | "
            f"{row['service_cer']:.3f} | {row['raw_peak_mb']:.0f} | {row['service_peak_mb']:.0f} |"
        )
    lines += ["", "</details>", ""]
    return "\n".join(lines) + engines_markdown(summary) + table_bench.markdown(summary["tables"])


def engines_markdown(summary: dict) -> str:
    engines, costs = summary["engines"], summary["cost_per_1000_images"]
    everything = engines["all"]
    lines = [
        "",
        "Engines side by side (CER mean; time as the median ratio to the raw command; auto: pages PP-OCR read / all):",
        "",
        "| folder | images | raw CER | RapidOCR defaults CER | tesseract CER | auto CER | ppocr CER | "
        "RapidOCR/raw | tesseract/raw | auto/raw | ppocr/raw | auto read by PP-OCR |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for name, row in [*engines["folders"].items(), ("**all**", everything)]:
        lines.append(
            f"| {name} | {row['images']} | {row['raw_cer']:.3f} | {row['rapid_cer']:.3f} | {row['tesseract_cer']:.3f} "
            f"| {row['auto_cer']:.3f} | {row['ppocr_cer']:.3f} | {row['rapid_ratio']:.2f} | "
            f"{row['tesseract_ratio']:.2f} | {row['auto_ratio']:.2f} | {row['ppocr_ratio']:.2f} | "
            f"{row['auto_read_by_ppocr']}/{row['images']} |"
        )
    held_out = summary["fusion_held_out"]
    overall = held_out["overall"]
    goal = overall["ppocr"] if overall["ppocr"] < overall["tesseract"] else overall["tesseract"]
    goal = (goal + overall["better_engine_per_image"]) / 2
    lines += [
        "",
        f"auto's fusion fitted without each image ({held_out['folds']} folds over {held_out['images']} images; "
        "in process, so no times; Tesseract's reading as auto makes it, beside PP-OCR):",
        "",
        "| folder | Tesseract beside PP-OCR CER | ppocr CER | better engine per image | auto, held out "
        "| auto, skipping PP-OCR on clean pages | RapidOCR defaults |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    for name, row in [*held_out["folders"].items(), ("**all**", overall)]:
        rapid = engines["folders"].get(name, everything)["rapid_cer"]
        lines.append(
            f"| {name} | {row['tesseract']:.4f} | {row['ppocr']:.4f} | {row['better_engine_per_image']:.4f} "
            f"| {row['auto']:.4f} | {row['auto_skipping_clean_pages']:.4f} | {rapid:.4f} |"
        )
    generated = held_out["generated_pages"]
    lines += [
        "",
        f"The shipped model on {generated['images']} pages made by `ocr_tools.generated_pages` "
        "(Latin text in the DejaVu fonts; each layout as drawn, turned and photographed):",
        "",
        "| layout | Tesseract beside PP-OCR CER | ppocr CER | better engine per image | auto |",
        "|---|---:|---:|---:|---:|",
    ]
    for name, row in [*generated["layouts"].items(), ("**all**", generated["overall"])]:
        lines.append(
            f"| {name} | {row['tesseract']:.4f} | {row['ppocr']:.4f} | {row['better_engine_per_image']:.4f} "
            f"| {row['auto']:.4f} |"
        )
    worst = max((row["auto"] - min(row["tesseract"], row["ppocr"]), name) for name, row in held_out["folders"].items())
    lines += [
        "",
        f"- auto, held out: CER {overall['auto']:.4f} (goal at most {goal:.4f}, halfway from the better engine's "
        f"to the image-by-image best); worst folder {worst[1]}, {worst[0]:+.4f} against its better engine "
        f"(goal at most +0.005); median time {everything['auto_ratio']:.2f}x the raw command's (goal 0.9).",
        f"- ppocr: median time {everything['ppocr_ratio']:.2f}x the raw command's (goal 0.8); RapidOCR "
        f"defaults {everything['rapid_ratio']:.2f}x. tesseract: {everything['tesseract_ratio']:.2f}x (goal 0.7).",
        "- With each function on a CPU of its own (the API function and its page workers on one, the deep "
        "engine's on the other, as on Lambda each function has its own vCPUs), median time against the raw "
        "command: "
        + ", ".join(
            f"{engine} {row['ratio_median']:.2f}x" for engine, row in summary.get("engines_on_own_cpus", {}).items()
        )
        + ".",
        f"- Deep engine function: INIT (import and both models) "
        f"{summary['deep_engine_cold_start']['init_seconds'] * 1000:.0f} ms (goal 1500); peak memory "
        f"{engines['photo_40mp_deep_peak_mb']} MB on the 40-megapixel photo (goal 1024), at most "
        f"{engines['deep_peak_mb_max']} MB on the set.",
        "- Cost per 1,000 images like these on Lambda (x86, us-east-1: $0.0000166667 per GB-second, "
        "$0.20 per million requests), API function at its memory for the whole request, deep engine "
        "function at its memory for its own duration:",
    ]
    for engine, cost in costs.items():
        lines.append(
            f"  - {engine}: 1000 x ({cost['api_seconds_mean']:.3f} s x {cost['api_gb']:.3f} GB + "
            f"{cost['deep_seconds_mean']:.3f} s x {cost['deep_gb']:.3f} GB) x $0.0000166667 + "
            f"{1 + cost['deep_share']:.2f} x 1000 requests x $0.0000002 = ${cost['usd']:.4f}"
        )
    return "\n".join(lines) + "\n"
