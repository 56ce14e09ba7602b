# Shortcuts; each target works without make too (see the command it runs).
.PHONY: setup serve test keys invoke events validate bench

setup:
	scripts/setup.sh

serve:
	scripts/serve.sh

test:
	scripts/test.sh

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

# The benchmark on ../shared/eval: raw tesseract, RapidOCR's defaults and each engine of the service,
# side by side (about 30 minutes); results in build/bench/
bench: setup
	.venv/bin/python -m ocr_local bench
