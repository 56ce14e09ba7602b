#!/usr/bin/env bash
# Runs the whole test suite (real Tesseract, moto, the local server over HTTP).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
scripts/setup_node_sdk.sh
exec .venv/bin/python -m pytest "$@"
