#!/usr/bin/env bash
# The longer reliability runs behind docs/reliability.md's figures (CI runs shorter ones):
#   1. the bad-input corpus, the faults, the API checked against openapi.yaml and the
#      hypothesis fuzzing, with the "long" profile (1000 examples per property);
#   2. coverage-guided fuzzing with atheris for FUZZ_SECONDS (default 600);
#   3. the load test for LOAD_SECONDS (default 300) with LOAD_USERS clients (default 8).
# Results: build/fuzz/ and build/load/report.md. About 45 minutes with the defaults.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh

echo "== Property-based and corpus checks, long profile"
HYPOTHESIS_PROFILE=long .venv/bin/python -m pytest -q -m reliability --deselect tests/reliability/test_load.py

echo "== atheris for ${FUZZ_SECONDS:-600} s"
.venv/bin/python -m ocr_local fuzz --seconds "${FUZZ_SECONDS:-600}"

echo "== Load for ${LOAD_SECONDS:-300} s"
.venv/bin/python -m ocr_local load --duration "${LOAD_SECONDS:-300}" --users "${LOAD_USERS:-8}"
