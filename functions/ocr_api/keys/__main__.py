"""``python -m ocr_api.keys``: the operator's key command (it lives in ``ocr_api.cli.keys``)."""

from ocr_api.cli.keys import main

if __name__ == "__main__":
    raise SystemExit(main())
