#!/usr/bin/env bash
# Runs the tests. With no arguments, the whole suite as CI runs it: ruff, then every lane on all
# cores (pytest-xdist), then the layer proof and the deep engine's image proof, each of which runs
# only the tests that prove it. With arguments, pytest with them: scripts/test.sh tests/unit.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
scripts/setup_node_sdk.sh
scripts/setup_browser.sh
if [ $# -gt 0 ]; then
  exec .venv/bin/python -m pytest "$@"
fi

echo "== ruff: lint and format"
.venv/bin/ruff check .
.venv/bin/ruff format --check .

echo "== The lanes: unit, integration, http, reliability"
.venv/bin/python -m pytest -n "${TEST_WORKERS:-auto}" -m "not layer"

echo "== The layer's layout contract, with the system Tesseract hidden"
scripts/prove_layer_layout.sh

echo "== The deep engine's image contents, with only what the image holds"
scripts/prove_deep_engine_image.sh
