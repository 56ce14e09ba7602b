#!/usr/bin/env bash
# Proves the function's contract with the Tesseract layer's layout, without Docker.
#
# The layer holds the models (share/tessdata); Tesseract itself comes with the function (the
# tesserocr wheel, with its own libtesseract). This script assembles a layer-shaped tree from
# THIS machine's models, checks it with layers/tesseract/verify_layer.py, then hides the
# system's models, its tesseract binary and its libtesseract/liblept in a private mount
# namespace and runs the layer's tests with TESSDATA_PREFIX pointing at the tree, as the template
# sets it. What it proves: the function reads only the layer's models, with its own Tesseract.
# What it does not prove: the models the Docker build downloads (tessdata_fast), which only
# `sam build` with Docker fetches.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh

layer="$PWD/build/layer-from-system"
system_tessdata="$(.venv/bin/python -c 'from ocr_local.environment import system_tessdata_dir; print(system_tessdata_dir())')"
system_binary="$(readlink -f "$(command -v tesseract)")"

echo "== Assembling $layer from $system_tessdata"
rm -rf "$layer"
mkdir -p "$layer/share/tessdata"
for model in eng chi_sim chi_sim_vert osd; do
  cp "$system_tessdata/$model.traineddata" "$layer/share/tessdata/"
done
.venv/bin/python layers/tesseract/verify_layer.py "$layer"

# Everything of the system's Tesseract, to be made unreachable.
hidden_files=("$system_binary")
while read -r library; do
  hidden_files+=("$(readlink -f "$library")")
done < <(ldd "$system_binary" | awk '/libtesseract|liblept/ {print $3}')
hidden_dir="$(dirname "$system_tessdata")"

unshare_flags=(--mount --propagation private)
[ "$(id -u)" -eq 0 ] || unshare_flags+=(--map-root-user)

echo "== Running the tests with the system Tesseract hidden"
LAYER="$layer" HIDDEN_DIR="$hidden_dir" HIDDEN_FILES="${hidden_files[*]}" \
unshare "${unshare_flags[@]}" bash -euo pipefail -c '
  for file in $HIDDEN_FILES; do mount --bind /dev/null "$file"; done
  mount -t tmpfs none "$HIDDEN_DIR"
  export TESSDATA_PREFIX="$LAYER/share/tessdata" OCR_LAYER_DIR="$LAYER"

  for file in $HIDDEN_FILES; do
    if [ -s "$file" ]; then echo "still visible: $file"; exit 1; fi
  done
  [ -z "$(ls -A "$HIDDEN_DIR")" ] || { echo "the system models are still visible"; exit 1; }
  library="$(.venv/bin/python -c "import tesserocr.tesserocr as t; print(t.__file__)")"
  ldd "$library" | grep -E "libtesseract|liblept"
  ldd "$library" | grep -E "libtesseract|liblept" | grep -q "tesserocr.libs" \
    || { echo "tesserocr does not use the libtesseract it ships with"; exit 1; }
  echo "system tesseract hidden; models from $TESSDATA_PREFIX"

  # Only the tests that prove the layer (marked layer): Tesseract reading English, Chinese and
  # turned pages from its models, and the local server end to end. No other lane runs them.
  .venv/bin/python -m pytest -q -p no:cacheprovider -m layer "$@"
' prove "$@"
