#!/usr/bin/env bash
# `sam build` for the python3.12 runtime, as a user would run it, then a check that the built
# function package imports under Python 3.12 and that the Tesseract it packaged (the tesserocr
# wheel for the runtime) reads the self-test page. The Tesseract layer (the models) and the deep
# engine's container image need Docker; where there is no Docker engine only the zip functions
# are built, and the script says so loudly.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh

source scripts/python312.sh
echo "Using $python312 for the python3.12 runtime"
export PATH="$(dirname "$python312"):$PATH" SAM_CLI_TELEMETRY=0

if docker info >/dev/null 2>&1; then
  unset TESSERACT_LAYER_BUILD
  .venv/bin/sam build --build-dir build/sam --no-cached
else
  export TESSERACT_LAYER_BUILD=skip
  cat <<'BANNER'
################################################################################
##  NO DOCKER ENGINE: the Tesseract layer's container build is SKIPPED, and   ##
##  the deep engine's container image (DeepEngineFunction) is NOT BUILT.      ##
##  The zip functions are built and checked; the layer artifact is a          ##
##  placeholder. scripts/prove_layer_layout.sh checks the layer's layout and  ##
##  scripts/prove_deep_engine_image.sh the image's contents instead.          ##
################################################################################
BANNER
  # sam build has no way to leave out one function: each zip function is built on its own, in
  # a build directory of its own (a build of one resource empties its directory first).
  rm -rf build/sam && mkdir -p build/sam
  for function in OcrFunction JobWorkerFunction PlanCatalogFunction; do
    .venv/bin/sam build "$function" --build-dir "build/sam-$function" --no-cached
    mv "build/sam-$function/$function" build/sam/
    rm -rf "build/sam-$function"
  done
fi

echo "Importing the built functions under Python 3.12"
(cd build/sam/OcrFunction && APPKEYS_TABLE=check AWS_DEFAULT_REGION=us-east-1 \
  POWERTOOLS_TRACE_DISABLED=true "$python312" -c "import ocr_api.app; print('ocr_api.app imports')")
(cd build/sam/JobWorkerFunction && APPKEYS_TABLE=check JOBS_TABLE=check UPLOADS_BUCKET=check \
  JOBS_QUEUE_URL=https://sqs.us-east-1.amazonaws.com/123456789012/check AWS_DEFAULT_REGION=us-east-1 \
  POWERTOOLS_TRACE_DISABLED=true "$python312" -c "import ocr_api.job_worker; print('ocr_api.job_worker imports')")
echo "Decoding phone photos (HEIC, AVIF) with the built function's own packages, under Python 3.12"
PYTHONPATH=build/sam/OcrFunction "$python312" -s -c "
import io, pillow_heif
from PIL import Image
from ocr_api.ocr.images import ImageLimits, prepare_image
pillow_heif.register_heif_opener()
photo = io.BytesIO(); Image.new('RGB', (64, 48), 'white').save(photo, 'HEIF')
page = prepare_image(photo.getvalue(), ImageLimits(10**6, 10**6))
assert (page.source_format, page.image.size) == ('HEIF', (64, 48)), page
assert 'sam/OcrFunction' in pillow_heif.__file__, pillow_heif.__file__
photo = io.BytesIO(); Image.new('RGB', (64, 48), 'white').save(photo, 'AVIF')
assert prepare_image(photo.getvalue(), ImageLimits(10**6, 10**6)).source_format == 'AVIF'
print('HEIC and AVIF decode, pillow-heif from', pillow_heif.__file__)"
echo "Reading the self-test page with the built function's own Tesseract, under Python 3.12"
models="build/sam-models"
rm -rf "$models" && mkdir -p "$models/share/tessdata"
system_tessdata="$(.venv/bin/python -c 'from ocr_local.environment import system_tessdata_dir; print(system_tessdata_dir())')"
cp "$system_tessdata"/{eng,chi_sim,osd}.traineddata "$models/share/tessdata/"
PYTHONPATH=build/sam/OcrFunction "$python312" -s layers/tesseract/verify_layer.py "$models"
PYTHONPATH=build/sam/OcrFunction "$python312" -s -c \
  "import tesserocr, os; assert 'sam/OcrFunction' in tesserocr.__file__, tesserocr.__file__; print('tesserocr from', os.path.dirname(tesserocr.__file__))"
(cd build/sam/PlanCatalogFunction && AWS_DEFAULT_REGION=us-east-1 "$python312" -c \
  "import ocr_api.handlers.plan_catalog as m; assert callable(m.handler); print('the plan catalog imports')")
