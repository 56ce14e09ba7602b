"""The benchmark: the service against the raw ``tesseract`` command, image by image, same run.

    python -m ocr_local bench [--eval-dir ../shared/eval] [--repeats 3] [--out build/bench]

For every image with a ``.txt`` ground truth beside it, it times:
1. raw: ``tesseract IMAGE stdout -l LANGS`` with ``OMP_THREAD_LIMIT=1``;
2. service: an API Gateway event (multipart upload) through the real Lambda handler, with the
   key checked against moto and the template's default settings, in a fresh process per image
   (so its peak memory is its own).
It reports wall time (median of the repeats), the service/raw ratio, CER, peak memory, images
per second with two workers, and the cold start, as Markdown and JSON.
"""

from __future__ import annotations

import io
import json
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
        import boto3

        from ocr_api.adapters.dynamodb_keys import AppKeyStore
        from ocr_local.dynamodb import create_table
        from ocr_local.environment import register_appkey, write_template_plans

        create_table(boto3.client("dynamodb"), LOCAL_TABLE_NAME, spec.table_properties)
        store = AppKeyStore(LOCAL_TABLE_NAME)
        # The template's plans, as its PlanCatalog writes them on deploy: a key's plan must exist.
        write_template_plans(store, spec, usage_plan_ids={})
        register_appkey(store, "bench-appkey-000000000000", "bench", endpoint_url=None)

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
            query=[("appkey", "bench-appkey-000000000000")],
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


def cold_start(languages: str) -> dict:
    """Importing the handler in a fresh interpreter, plus what the first request takes beyond a
    warm one: recognition runs in a page worker, so it is the warm request that stands for it."""
    from ocr_local.environment import LOCAL_TABLE_NAME, function_environment
    from ocr_local.template import load_template

    function = load_template(resource_names={"AppKeysTable": LOCAL_TABLE_NAME}).functions["OcrFunction"]
    environment = {**os.environ, **function_environment(function, None), "OCR_LANGUAGES": languages}
    probe = "import time; t = time.perf_counter(); import ocr_api.app; print(time.perf_counter() - t)"
    imported = min(
        float(subprocess.run([sys.executable, "-c", probe], env=environment, capture_output=True,
                             text=True, check=True).stdout)
        for _ in range(3)
    )
    service = _Service(languages)
    first, _, _ = service.request(_warm_up_image())
    warm = min(service.request(_warm_up_image())[0] for _ in range(3))
    return {
        "import_seconds": round(imported, 4),
        "first_request_seconds": round(first, 4),
        "warm_request_seconds": round(warm, 4),
        "cold_start_without_recognition_seconds": round(imported + first - warm, 4),
    }


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
    photo = [r for r in reports if r.folder == "synthetic"]
    return {
        "images": len(corpus),
        "ratio_median": round(statistics.median(r.ratio for r in corpus), 3),
        "ratio_median_over_8_megapixels": round(statistics.median(r.ratio for r in big), 3) if big else None,
        "images_over_8_megapixels": len(big),
        "raw_cer_mean": round(statistics.mean(r.raw_cer for r in corpus), 4),
        "service_cer_mean": round(statistics.mean(r.service_cer for r in corpus), 4),
        "raw_seconds_total": round(sum(r.raw_seconds for r in corpus), 2),
        "service_seconds_total": round(sum(r.service_seconds for r in corpus), 2),
        "photo_40mp_service_peak_mb": photo[0].service_peak_mb if photo else None,
        "photo_40mp_ratio": round(photo[0].ratio, 3) if photo else None,
    }


def machine() -> dict:
    tesseract_version = subprocess.run(["tesseract", "--version"], capture_output=True, text=True).stdout
    return {
        "cpu": _cpu_name(),
        "cores": os.cpu_count(),
        "python": platform.python_version(),
        "tesseract": tesseract_version.splitlines()[0] if tesseract_version else "?",
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
    lines = [
        f"Machine: {machine_info['cpu']}, {machine_info['cores']} cores; {machine_info['tesseract']}; "
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
        f"- Median service/raw time ratio: {overall['ratio_median']:.2f} over all images; "
        f"{overall['ratio_median_over_8_megapixels']} over the {overall['images_over_8_megapixels']} "
        "images above 8 megapixels.",
        f"- Throughput with two workers: raw {summary['throughput_images_per_second']['raw_2_workers']} "
        f"images/s, service {summary['throughput_images_per_second']['service_2_workers']} images/s.",
        f"- Cold start without recognition: {summary['cold_start']['cold_start_without_recognition_seconds'] * 1000:.0f} ms "
        f"(imports {summary['cold_start']['import_seconds'] * 1000:.0f} ms).",
        f"- 40-megapixel, {overall['photo_40mp_megabytes']} MB synthetic photo: service peak {overall['photo_40mp_service_peak_mb']} MB, "
        f"service/raw {overall['photo_40mp_ratio']}.",
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

