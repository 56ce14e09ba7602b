"""``python -m ocr_local load``: the local server under a fixed-length load, and what it kept.

Starts the server (two Lambda instances, the embedded DynamoDB) with its own temp directory,
makes keys on three plans (unlimited, a daily quota, a low rate), and runs locust headless on
loopback against every endpoint for a fixed time. Then it checks what a production API must:
no 5xx and no undocumented answer; every key's usage counters equal to the answers its clients
saw (nothing lost, nothing counted twice); the resident memory and open files of the Lambda
instances flat from the warmed-up start to the end; no temp file left behind. The server
process (the gateway and the embedded moto DynamoDB) is measured too, but not held flat: moto
keeps objects from every update it applies, which DynamoDB itself, a service, does not.
"""

from __future__ import annotations

import csv
import json
import os
import shutil
import statistics
import subprocess
import sys
import threading
import time
from collections import Counter
from dataclasses import asdict, dataclass, field
from pathlib import Path

from PIL import Image

from ocr_local.server_process import ServerProcess
from ocr_tools.eval_set import TEST_DATA

LOCUSTFILE = Path(__file__).with_name("locustfile.py")
PAGE_SOURCE = TEST_DATA / "tesseract-test" / "phototest.tif"
# Keys and the plans that make their limits bite under load.
PLANS = {
    "load": ["--rps", "10000"],
    "daily-quota": ["--rps", "10000", "--daily", "25"],
    "slow": ["--rps", "1"],
}
KEYS = {"standard-1": "load", "standard-2": "load", "standard-3": "load", "daily-quota": "daily-quota", "slow": "slow"}
COUNTED_OUTCOMES = ("ok", "client_error", "server_error", "rate_limited", "quota_exceeded")
# Memory may settle a little after warm-up (allocator arenas, caches); a leak grows with requests.
MEMORY_GROWTH_ALLOWED_MB = 20.0
# The deep engine's instances hold a few hundred MB for each page in flight and give it back
# (under auto, every page): a sample says what was in flight as much as what stayed. Their floor
# in a tenth of the run is judged, with room for one page's worth of difference.
DEEP_ENGINE_GROWTH_ALLOWED_MB = 100.0


@dataclass
class Sample:
    seconds: float
    rss_mb: float  # the API function's instances and their page workers, together
    deep_rss_mb: float  # the deep engine's instances, together
    server_rss_mb: float  # the gateway and the embedded DynamoDB
    open_files: int
    # The API function's instances and page workers one by one: pid -> resident MB.
    rss_by_process_mb: dict[int, float] = field(default_factory=dict)


@dataclass
class LoadReport:
    duration_seconds: int
    users: int
    instances: int
    requests: int = 0
    failures: int = 0
    requests_per_second: float = 0.0
    endpoints: list[dict] = field(default_factory=list)
    outcomes: dict[str, int] = field(default_factory=dict)
    usage_checks: list[dict] = field(default_factory=list)
    memory_start_mb: float = 0.0
    memory_end_mb: float = 0.0
    deep_memory_start_mb: float = 0.0
    deep_memory_end_mb: float = 0.0
    # Resident memory at each tenth of the run: a leak climbs steadily, settling flattens out.
    memory_by_tenth_mb: list[float] = field(default_factory=list)
    # What the processes alive at both the warmed-up start and the end grew by, together, less
    # each one's largest single step (see _growth_in_processes); and how many processes there were.
    memory_growth_in_processes_mb: float = 0.0
    processes_start: int = 0
    processes_end: int = 0
    server_memory_start_mb: float = 0.0
    server_memory_end_mb: float = 0.0
    open_files_start: int = 0
    open_files_end: int = 0
    temp_files_left: int = 0
    problems: list[str] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        return not self.problems


def run(duration: int, users: int, out_dir: Path, instances: int = 2) -> LoadReport:
    out_dir.mkdir(parents=True, exist_ok=True)
    temp_dir = out_dir / "tmp"
    shutil.rmtree(temp_dir, ignore_errors=True)
    temp_dir.mkdir()
    report = LoadReport(duration, users, instances)
    server = ServerProcess(instances=instances, temp_dir=temp_dir)
    try:
        key_ids, config = _prepare(server, out_dir)
        temp_before = _files_under(temp_dir)
        sampler = _Sampler(server)
        sampler.start()
        _run_locust(server, config, duration, users, out_dir)
        samples = sampler.stop()
        _read_locust_stats(report, out_dir / "locust_stats.csv")
        tally = json.loads(Path(out_dir / "tally.json").read_text())
        _check_usage(report, server, key_ids, tally)
        _check_resources(report, samples)
        report.temp_files_left = len(_files_under(temp_dir) - temp_before)
    finally:
        server.stop()
    if report.failures:
        report.problems.append(f"{report.failures} requests failed (5xx or undocumented answers)")
    if report.temp_files_left:
        report.problems.append(f"{report.temp_files_left} temp files left behind")
    _write(report, out_dir)
    return report


def _prepare(server: ServerProcess, out_dir: Path) -> tuple[dict[str, str], Path]:
    for plan, limits in PLANS.items():
        server.keys("plans", "create", plan, *limits)
    appkeys, key_ids = {}, {}
    for label, plan in KEYS.items():
        appkeys[label], key_ids[label] = server.create_key(f"load {label}", plan)
    # The top of a real page: a few lines of text, small enough for many requests a second.
    page = out_dir / "page.png"
    with Image.open(PAGE_SOURCE) as source:
        source.crop((0, 0, source.width, 260)).save(page)
    config = out_dir / "config.json"
    config.write_text(json.dumps({"keys": appkeys, "page": str(page), "tally": str(out_dir / "tally.json")}))
    return key_ids, config


def _run_locust(server: ServerProcess, config: Path, duration: int, users: int, out_dir: Path) -> None:
    command = [
        sys.executable,
        "-m",
        "locust",
        "-f",
        str(LOCUSTFILE),
        "--headless",
        "--users",
        str(users),
        "--spawn-rate",
        str(users),
        "--run-time",
        f"{duration}s",
        "--stop-timeout",
        "60",
        "--host",
        server.base_url,
        "--csv",
        str(out_dir / "locust"),
        "--only-summary",
        "--loglevel",
        "WARNING",
    ]
    environment = {**os.environ, "OCR_LOAD_CONFIG": str(config)}
    with open(out_dir / "locust.log", "w") as log:
        # locust exits 1 when a request failed; the report counts those failures itself.
        subprocess.run(
            command, env=environment, stdout=log, stderr=subprocess.STDOUT, timeout=duration + 180, check=False
        )
    if not (out_dir / "tally.json").exists():
        raise RuntimeError(f"locust did not finish; see {out_dir / 'locust.log'}")


def _read_locust_stats(report: LoadReport, stats_csv: Path) -> None:
    with stats_csv.open(newline="") as rows:
        for row in csv.DictReader(rows):
            entry = {
                "endpoint": row["Name"],
                "requests": int(row["Request Count"]),
                "failures": int(row["Failure Count"]),
                "per_second": round(float(row["Requests/s"]), 2),
                "p50_ms": _ms(row["50%"]),
                "p95_ms": _ms(row["95%"]),
                "p99_ms": _ms(row["99%"]),
            }
            if row["Name"] == "Aggregated":
                report.requests, report.failures = entry["requests"], entry["failures"]
                report.requests_per_second = entry["per_second"]
            report.endpoints.append(entry)


def _ms(value: str) -> int | None:
    return None if value in ("", "N/A") else int(float(value))


def _check_usage(report: LoadReport, server: ServerProcess, key_ids: dict[str, str], tally: list[dict]) -> None:
    """Each key's counters against the answers its clients received."""
    seen: dict[str, Counter] = {label: Counter() for label in key_ids}
    for row in tally:
        report.outcomes[row["outcome"]] = report.outcomes.get(row["outcome"], 0) + row["answers"]
        if row["key"] in seen and row["outcome"] in COUNTED_OUTCOMES:
            seen[row["key"]][row["outcome"]] += row["answers"]
    for label, key_id in key_ids.items():
        # The month's counters: a run that crosses midnight still adds up.
        counted = json.loads(server.keys("usage", key_id, "--json"))["this_month"]
        expected = {outcome: seen[label][outcome] for outcome in COUNTED_OUTCOMES}
        # Every request of the load test reads one image: one call each; it starts no job.
        expected["calls"] = expected["requests"] = expected["ok"] + expected["client_error"]
        expected["job_pages"] = 0
        matches = counted == expected
        report.usage_checks.append(
            {"key": label, "plan": KEYS[label], "answers_seen": expected, "counted": counted, "matches": matches}
        )
        if not matches:
            report.problems.append(f"usage of {label} is {counted}, but its clients saw {expected}")


def _check_resources(report: LoadReport, samples: list[Sample]) -> None:
    """Warmed-up start (the sixth tenth of the run) against the end (its last tenth)."""
    if len(samples) < 10:
        report.problems.append("too few memory samples to judge")
        return
    tenth = len(samples) // 10
    # Warmed up is the middle of the run: the instances take up what they keep over about its
    # first half (the deep engine's heap grows to the largest pages of the mix; the API
    # function's stepped up once by about 30 MB in three runs, at a different moment each time,
    # and stayed flat after). A leak goes on growing with requests, into the second half.
    start, end = samples[5 * tenth : 6 * tenth], samples[-tenth:]
    report.memory_start_mb = round(statistics.median(s.rss_mb for s in start), 1)
    report.memory_end_mb = round(statistics.median(s.rss_mb for s in end), 1)
    report.deep_memory_start_mb = round(min(s.deep_rss_mb for s in start), 1)
    report.deep_memory_end_mb = round(min(s.deep_rss_mb for s in end), 1)
    report.server_memory_start_mb = round(statistics.median(s.server_rss_mb for s in start), 1)
    report.server_memory_end_mb = round(statistics.median(s.server_rss_mb for s in end), 1)
    report.memory_by_tenth_mb = [
        round(statistics.median(s.rss_mb for s in samples[i * tenth : (i + 1) * tenth]), 1) for i in range(10)
    ]
    report.open_files_start = max(s.open_files for s in start)
    report.open_files_end = max(s.open_files for s in end)
    report.processes_start = len(start[-1].rss_by_process_mb)
    report.processes_end = len(end[-1].rss_by_process_mb)
    report.memory_growth_in_processes_mb = round(_growth_in_processes(start, end, samples[5 * tenth :]), 1)
    if report.memory_growth_in_processes_mb > MEMORY_GROWTH_ALLOWED_MB:
        report.problems.append(
            f"the instances' processes grew by {report.memory_growth_in_processes_mb:.0f} MB under load"
        )
    deep_growth = report.deep_memory_end_mb - report.deep_memory_start_mb
    if deep_growth > DEEP_ENGINE_GROWTH_ALLOWED_MB:
        report.problems.append(f"the deep engine's resident memory grew by {deep_growth:.0f} MB under load")
    if report.open_files_end > report.open_files_start + 8:
        report.problems.append(f"open files grew from {report.open_files_start} to {report.open_files_end}")


def _growth_in_processes(start: list[Sample], end: list[Sample], between: list[Sample]) -> float:
    """How much the processes seen throughout both windows grew, each by its median, less each
    one's largest single step in between: a process takes up memory once, at a moment that comes
    later the slower the run (a first page of a kind, a deeper heap), and keeps it; a leak goes on
    growing, step after step."""

    def medians(window: list[Sample]) -> dict[int, float]:
        throughout = set.intersection(*(set(sample.rss_by_process_mb) for sample in window))
        return {pid: statistics.median(sample.rss_by_process_mb[pid] for sample in window) for pid in throughout}

    def largest_step(pid: int) -> float:
        series = [sample.rss_by_process_mb[pid] for sample in between if pid in sample.rss_by_process_mb]
        # Each sample as the median of it and its neighbours: a page in flight is a spike, not a step.
        smooth = [statistics.median(series[max(0, i - 1) : i + 2]) for i in range(len(series))]
        return max((later - earlier for earlier, later in zip(smooth, smooth[1:])), default=0.0)

    before, after = medians(start), medians(end)
    return sum(max(0.0, after[pid] - before[pid] - max(0.0, largest_step(pid))) for pid in before.keys() & after.keys())


class _Sampler:
    """Resident memory of the instances and of the server, and their open files, once a second."""

    def __init__(self, server: ServerProcess) -> None:
        self._server = server
        self._samples: list[Sample] = []
        self._stopped = threading.Event()
        self._thread = threading.Thread(target=self._loop, daemon=True)

    def start(self) -> None:
        self._started = time.monotonic()
        self._thread.start()

    def stop(self) -> list[Sample]:
        self._stopped.set()
        self._thread.join()
        return self._samples

    def _loop(self) -> None:
        while not self._stopped.wait(1.0):
            instances_kb, deep_kb, server_kb, open_files = 0, 0, 0, 0
            by_process: dict[int, float] = {}
            for pid in self._server.resident_processes():
                try:
                    status = Path(f"/proc/{pid}/status").read_text()
                    rss_kb = int(status.split("VmRSS:")[1].split()[0])
                    open_files += len(list(Path(f"/proc/{pid}/fd").iterdir()))
                except (OSError, IndexError):
                    continue  # a process that just ended
                if pid == self._server.process.pid:
                    server_kb = rss_kb
                elif _runs_the_deep_engine(pid):
                    deep_kb += rss_kb
                else:
                    instances_kb += rss_kb
                    by_process[pid] = rss_kb / 1024
            self._samples.append(
                Sample(
                    time.monotonic() - self._started,
                    instances_kb / 1024,
                    deep_kb / 1024,
                    server_kb / 1024,
                    open_files,
                    by_process,
                )
            )


def _runs_the_deep_engine(pid: int) -> bool:
    """Whether the process has onnxruntime loaded: only the deep engine's instances do."""
    try:
        return "onnxruntime" in Path(f"/proc/{pid}/maps").read_text()
    except OSError:
        return False


def _files_under(directory: Path) -> set[Path]:
    return {path for path in directory.rglob("*") if path.is_file() or path.is_dir()}


def _write(report: LoadReport, out_dir: Path) -> None:
    (out_dir / "report.json").write_text(json.dumps({**asdict(report), "passed": report.passed}, indent=2))
    (out_dir / "report.md").write_text(markdown(report))


def markdown(report: LoadReport) -> str:
    lines = [
        f"{report.users} concurrent clients for {report.duration_seconds} s against {report.instances} "
        f"Lambda instances: {report.requests} requests, {report.requests_per_second} per second, "
        f"{report.failures} failed.",
        "",
        "| endpoint | requests | failed | per s | p50 ms | p95 ms | p99 ms |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    for entry in report.endpoints:
        name = f"**{entry['endpoint'].lower()}**" if entry["endpoint"] == "Aggregated" else entry["endpoint"]
        lines.append(
            f"| {name} | {entry['requests']} | {entry['failures']} | {entry['per_second']} | "
            f"{entry['p50_ms']} | {entry['p95_ms']} | {entry['p99_ms']} |"
        )
    lines += [
        "",
        "| key (plan) | ok | client_error | rate_limited | quota_exceeded | server_error | "
        "calls counted | counters match the answers |",
        "|---|---:|---:|---:|---:|---:|---:|---|",
    ]
    for check in report.usage_checks:
        counted = check["counted"]
        lines.append(
            f"| {check['key']} ({check['plan']}) | {counted['ok']} | {counted['client_error']} | "
            f"{counted['rate_limited']} | {counted['quota_exceeded']} | {counted['server_error']} | "
            f"{counted['calls']} | {'yes' if check['matches'] else 'NO'} |"
        )
    lines += [
        "",
        f"Resident memory of the API function's instances: {report.memory_start_mb} MB once warm (the "
        f"middle of the run), "
        f"{report.memory_end_mb} MB at the end (by tenth of the run: "
        f"{', '.join(str(mb) for mb in report.memory_by_tenth_mb)}). The deep engine's instances, their floor "
        f"in those tenths: {report.deep_memory_start_mb} -> {report.deep_memory_end_mb} MB. "
        "The server process with the "
        f"embedded DynamoDB: {report.server_memory_start_mb} -> {report.server_memory_end_mb} MB. "
        f"Open files {report.open_files_start} -> "
        f"{report.open_files_end}; temp files left: {report.temp_files_left}.",
        "",
        "Result: " + ("passed" if report.passed else "FAILED: " + "; ".join(report.problems)),
    ]
    return "\n".join(lines) + "\n"
