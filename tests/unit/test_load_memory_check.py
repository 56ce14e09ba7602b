"""The load test's memory judgment: a process that takes up memory once is not a leak; one that
keeps growing is."""

from __future__ import annotations

from ocr_tools.load import MEMORY_GROWTH_ALLOWED_MB, LoadReport, Sample, _check_resources


def samples(worker_series: list[float]) -> list[Sample]:
    """One sample a second: a handler at 150 MB and a page worker following ``worker_series``."""
    return [Sample(float(i), 150 + rss, 0.0, 140.0, 50, {1: 150.0, 2: rss}) for i, rss in enumerate(worker_series)]


def judged(worker_series: list[float]) -> LoadReport:
    report = LoadReport(duration_seconds=len(worker_series), users=6, instances=1)
    _check_resources(report, samples(worker_series))
    return report


def test_one_late_step_then_flat_is_no_leak():
    # A worker that takes up 32 MB at the eighth tenth of a slow run and keeps it.
    report = judged([200.0] * 35 + [232.0] * 15)
    assert report.memory_end_mb - report.memory_start_mb == 32.0
    assert report.memory_growth_in_processes_mb <= 1.0
    assert report.passed, report.problems


def test_memory_that_keeps_growing_is_a_leak():
    # 1.5 MB more every second through the run.
    report = judged([200.0 + 1.5 * second for second in range(50)])
    assert report.memory_growth_in_processes_mb > MEMORY_GROWTH_ALLOWED_MB
    assert not report.passed


def test_a_page_in_flight_is_not_taken_for_a_step():
    # Steady growth with a 60 MB spike while a page is read: the spike hides none of the growth.
    series = [200.0 + 1.5 * second for second in range(50)]
    series[40] += 60.0
    assert judged(series).memory_growth_in_processes_mb > MEMORY_GROWTH_ALLOWED_MB
