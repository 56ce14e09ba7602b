#!/usr/bin/env bash
# Proves the function's contract with the Tesseract layer's layout, without Docker.
#
# It assembles a layer-shaped tree (bin/tesseract, lib/, share/tessdata/) from THIS machine's
# own Tesseract, checks it with layers/tesseract/verify_layer.py, then hides the system
# tesseract binary, its libtesseract/liblept and its models in a private mount namespace and
# runs the test suite with PATH, LD_LIBRARY_PATH and TESSDATA_PREFIX pointing at the tree.
# What it proves: the code finds and runs Tesseract only through the layer's paths. What it
# does not prove: the Amazon Linux 2023 build itself, which only `sam build` with Docker runs.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh

layer="$PWD/build/layer-from-system"
system_binary="$(readlink -f "$(command -v tesseract)")"
system_tessdata="$(tesseract --list-langs 2>&1 | sed -n 's/^List of available languages in "\(.*\)".*/\1/p')"
system_tessdata="${system_tessdata%/}"

echo "== Assembling $layer from $system_binary"
rm -rf "$layer"
mkdir -p "$layer/bin" "$layer/share/tessdata"
cp "$system_binary" "$layer/bin/tesseract"
python3 layers/tesseract/collect_libraries.py "$layer/bin/tesseract" "$layer/lib"
for model in eng chi_sim osd; do
  cp "$system_tessdata/$model.traineddata" "$layer/share/tessdata/"
done
.venv/bin/python layers/tesseract/verify_layer.py "$layer"

# Everything of the system's Tesseract that the layer replaces, to be made unreachable.
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
  export PATH="$LAYER/bin:$PATH" LD_LIBRARY_PATH="$LAYER/lib" \
         TESSDATA_PREFIX="$LAYER/share/tessdata" OCR_LAYER_DIR="$LAYER"

  for file in $HIDDEN_FILES; do
    if [ -s "$file" ]; then echo "still visible: $file"; exit 1; fi
  done
  [ "$(command -v tesseract)" = "$LAYER/bin/tesseract" ] || { echo "tesseract is not the layer'"'"'s"; exit 1; }
  ldd "$LAYER/bin/tesseract" | grep -E "libtesseract|liblept"
  ldd "$LAYER/bin/tesseract" | grep -E "libtesseract|liblept" | grep -qv "$LAYER/lib" \
    && { echo "a Tesseract library resolves outside the layer"; exit 1; }
  echo "system tesseract hidden; using $(command -v tesseract)"

  # The reliability checks (hostile inputs, faults, fuzzing, load) ran once already in scripts/test.sh;
  # they exercise parsing and bookkeeping, not where Tesseract comes from.
  .venv/bin/python -m pytest -q -p no:cacheprovider -m "not reliability" "$@"
' prove "$@"
