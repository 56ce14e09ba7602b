#!/usr/bin/env bash
# Starts the API on http://127.0.0.1:3000 with an embedded DynamoDB; prints a demo key and curl line.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
exec .venv/bin/python -m ocr_local serve "$@"
