"""The benchmark: the service against the raw ``tesseract`` command, image by image, same run.

    python -m ocr_local bench [--eval-dir ../shared/eval] [--repeats 3] [--out build/bench]

For every image with a ``.txt`` ground truth beside it, it times:
1. raw: ``tesseract IMAGE stdout -l LANGS`` with ``OMP_THREAD_LIMIT=1``;
2. service: an API Gateway event (multipart upload) through the real Lambda handler, with the
   key checked against moto and the template's default settings, in a fresh process per image
   (so its peak memory is its own).
It reports wall time (median of the repeats), the service/raw ratio, CER, peak memory, images
per second with two workers, the cold start against the floor of ``import boto3`` and one
client, and a cold instance's first answer against the raw command, as Markdown and JSON.
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
from dataclasses import asdict, dataclass, field
from multiprocessing import get_context
from pathlib import Path

from PIL import Image

from ocr_local.template import PROJECT_ROOT
from ocr_tools.scoring import cer, is_upper_case_truth

IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".tif", ".tiff", ".bmp", ".gif", ".webp"}
BIG_IMAGE_PIXELS = 8_000_000
PATH = "/v1/imagerecognition/ocr"
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
        service = _in_fresh_process(service_run, str(path), repeats, languages)
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
        )
        reports.append(report)
        print(f"  {folder}/{path.name}: raw {report.raw_seconds:.2f}s cer {report.raw_cer:.3f} | "
              f"service {report.service_seconds:.2f}s cer {report.service_cer:.3f} "
              f"({report.ratio:.2f}x, {report.service_peak_mb:.0f} MB)", flush=True)
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
    }
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
    source = PROJECT_ROOT.parent / "shared" / "eval" / "sroie" / "000.jpg"
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
        stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, env=environment,
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

    def __init__(self, pid: int, interval: float = 0.005) -> None:
        self.pid = pid
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
            self.peak_kb = max(self.peak_kb, sum(_rss_kb(pid) for pid in _family(self.pid)))
            time.sleep(interval)


def _family(pid: int) -> list[int]:
    family, pending = [], [pid]
    while pending:
        current = pending.pop()
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
    with ProcessPoolExecutor(2, mp_context=get_context("spawn"), initializer=_start_service,
                             initargs=(languages,)) as pool:
        spans = list(pool.map(_serve_once, [str(path) for path in paths]))
    return len(paths) / (max(end for _, end in spans) - min(start for start, _ in spans))


# Worker side: each runs in a process of its own.

_service = None


class _Service:
    """The Lambda as it runs: template settings, moto DynamoDB with a key, the real handler."""

    def __init__(self, languages: str) -> None:
        from moto import mock_aws

        from ocr_local.environment import LOCAL_TABLE_NAME, function_environment
        from ocr_local.template import load_template

        spec = load_template(resource_names={"AppKeysTable": LOCAL_TABLE_NAME})
        self.function = spec.functions["OcrFunction"]
        self.spec = spec
        os.environ.update(function_environment(self.function, None), OCR_LANGUAGES=languages)
        os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")
        self._mock = mock_aws()
        self._mock.start()
        _register_bench_key(spec, endpoint_url=None)

    def handler(self):
        from ocr_api.app import handler

        return handler

    def request(self, data: bytes) -> tuple[float, int, str]:
        from ocr_local.apigateway import build_event
        from ocr_local.forms import multipart_form
        from ocr_local.lambda_runtime import LocalLambdaContext

        content_type, body = multipart_form(files=[("imagefile", "image", "application/octet-stream", data)])
        event = build_event(
            method="POST", path=PATH, resource=PATH, stage=self.spec.stage,
            query=[("appkey", BENCH_APPKEY)],
            headers=[("Content-Type", content_type)], body=body,
            binary_media_types=self.spec.binary_media_types,
        )
        handler = self.handler()
        started = time.perf_counter()
        response = handler(event, LocalLambdaContext(self.function))
        elapsed = time.perf_counter() - started
        answer = json.loads(response["body"])
        texts = (answer.get("Data") or {}).get("resultText") or []
        return elapsed, response["statusCode"], "\n".join(texts)


def _start_service(languages: str) -> None:
    global _service
    _service = _Service(languages)
    _service.request(_warm_up_image())


def _serve_once(path: str) -> tuple[float, float]:
    data = Path(path).read_bytes()
    started = time.time()
    _service.request(data)
    return started, time.time()


def service_run(path: str, repeats: int, languages: str) -> dict:
    _start_service(languages)
    data = Path(path).read_bytes()
    runs = [_service.request(data) for _ in range(repeats)]
    # One more run, untimed, to sample memory: the function's process and its Tesseract.
    sampler = PeakMemory(os.getpid())
    _service.request(data)
    return {
        "times": [t for t, _, _ in runs],
        "status": runs[0][1],
        "text": runs[0][2],
        "peak_mb": sampler.stop(),
    }


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
from ocr_api.service.page_worker import page_workers
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
    from ocr_local.environment import LOCAL_TABLE_NAME, function_environment
    from ocr_local.server_process import free_port
    from ocr_local.template import load_template

    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    spec = load_template(resource_names={"AppKeysTable": LOCAL_TABLE_NAME})
    function = spec.functions["OcrFunction"]
    environment = {**os.environ, **function_environment(function, None), "OCR_LANGUAGES": languages}

    def best_of_three(probe: str, env: dict = environment, stdin: str = "") -> list[float]:
        runs = []
        for _ in range(3):
            output = subprocess.run([sys.executable, "-c", probe], env=env, input=stdin, capture_output=True,
                                    text=True, check=True).stdout
            [result] = [line for line in output.splitlines() if line.startswith("RESULT ")]
            runs.append([float(value) for value in result.split()[1:]])
        return min(runs)

    floor = best_of_three(_FLOOR_PROBE, {**os.environ, **credentials_for_endpoint({})})[0]
    imported, initialised = best_of_three(_INIT_PROBE)
    first_use = best_of_three(_FIRST_USE_PROBE)[0]

    dynamodb = EmbeddedDynamoDB(free_port())
    dynamodb.start()
    try:
        answering = {**environment, **function_environment(function, dynamodb.endpoint_url)}
        answering["OCR_LANGUAGES"] = languages
        os.environ.update(LOCAL_AWS_ENVIRONMENT)
        _register_bench_key(spec, dynamodb.endpoint_url)
        request = json.dumps({"event": _demo_event(spec), "function": asdict(function)})
        first_answer = best_of_three(_FIRST_ANSWER_PROBE, answering, request)[0]
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
        method="POST", path=PATH, resource=PATH, stage=spec.stage, query=[("appkey", BENCH_APPKEY)],
        headers=[("Content-Type", content_type)], body=body, binary_media_types=spec.binary_media_types,
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
        "| folder | images | raw s (median) | service s (median) | service/raw | raw CER | service CER | service peak MB |",
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
    return "\n".join(lines)

