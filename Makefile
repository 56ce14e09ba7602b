# Shortcuts; each target works without make too (see the command it runs).
.PHONY: setup serve test unit lint keys invoke events validate bench bench-tables fusion-fit

setup:
	scripts/setup.sh

serve:
	scripts/serve.sh

test:
	scripts/test.sh

# The unit lane alone (seconds), and ruff's checks alone.
unit:
	scripts/test.sh tests/unit

lint: setup
	.venv/bin/ruff check . && .venv/bin/ruff format --check .

# make keys ARGS="create --name alice --plan trial"   (against the running local server)
keys: setup
	.venv/bin/python -m ocr_local keys $(ARGS)

# make invoke EVENT=events/v1-ocr-multipart.json
invoke: setup
	.venv/bin/python -m ocr_local invoke $(EVENT)

events: setup
	.venv/bin/python scripts/make_events.py

validate: setup
	SAM_CLI_TELEMETRY=0 .venv/bin/sam validate --lint

# The benchmark on the evaluation set (--eval-dir, OCR_EVAL_DIR or ../shared/eval): raw tesseract, RapidOCR's defaults and each engine of the service,
# side by side (about 30 minutes); results in build/bench/
bench: setup
	.venv/bin/python -m ocr_local bench $(ARGS)

# The table benchmark alone (make bench runs it too): TEDS and cell accuracy against no structure.
bench-tables: setup
	.venv/bin/python -m ocr_tools.table_bench $(ARGS)

# Fits auto's fusion weights on ../shared/eval (or OCR_EVAL_DIR) and prints the scores of the
# folds each image was left out of, then the weights for functions/ocr_api/ocr/fusion.py
fusion-fit: setup
	.venv/bin/python -m ocr_tools.fit_fusion
