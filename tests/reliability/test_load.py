"""A short run of the load test (``python -m ocr_local load`` runs the longer one)."""

from __future__ import annotations

import pytest

from ocr_tools import load

pytestmark = [pytest.mark.http, pytest.mark.reliability, pytest.mark.slow]


def test_the_server_under_load_answers_everything_and_counts_every_call_once(tmp_path):
    # GIVEN the local server with keys on three plans, WHEN six clients call every endpoint for 45 s
    report = load.run(duration=45, users=6, out_dir=tmp_path)
    # THEN every answer was a documented one, and nothing failed
    assert report.requests > 0 and report.failures == 0
    assert set(report.outcomes) <= {"ok", "client_error", "rate_limited", "quota_exceeded", "not_counted"}
    # AND each key's counters equal the answers its clients saw; the daily quota held
    assert [check["key"] for check in report.usage_checks if not check["matches"]] == []
    [daily] = [check for check in report.usage_checks if check["key"] == "daily-quota"]
    assert daily["counted"]["calls"] <= 25
    # AND memory and open files stayed flat, and no temp file was left behind
    assert report.memory_growth_in_processes_mb <= load.MEMORY_GROWTH_ALLOWED_MB
    assert report.deep_memory_end_mb - report.deep_memory_start_mb <= load.DEEP_ENGINE_GROWTH_ALLOWED_MB
    assert report.open_files_end <= report.open_files_start + 8
    assert report.temp_files_left == 0
    assert report.passed, report.problems
