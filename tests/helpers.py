"""Small helpers the tests share: evaluation images, encoders, a fake Tesseract."""

from __future__ import annotations

import io
import time
from collections.abc import Callable
from pathlib import Path

from PIL import Image

from ocr_local.template import PROJECT_ROOT

EVAL_DIR = PROJECT_ROOT.parent / "shared" / "eval"


# Noon UTC on a fixed day: quotas by day and month are decided by this clock, never by the
# wall clock crossing midnight during a test. Its seconds pass as real ones do.
FIXED_NOON = 1_804_075_200.0  # 2027-03-03T12:00:00Z


def day_clock() -> Callable[[], float]:
    started = time.monotonic()
    return lambda: FIXED_NOON + (time.monotonic() - started)


def eval_image(relative: str) -> bytes:
    return (EVAL_DIR / relative).read_bytes()


def eval_truth(relative_image: str) -> str:
    return (EVAL_DIR / relative_image).with_suffix(".txt").read_text(encoding="utf-8")


def encode(image: Image.Image, format: str, **options) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format=format, **options)
    return buffer.getvalue()


def fake_tesseract(tmp_path: Path, script: str) -> str:
    """A stand-in for the tesseract binary, for fault injection at the one call site."""
    path = tmp_path / "tesseract"
    path.write_text("#!/bin/sh\n" + script + "\n")
    path.chmod(0o755)
    return str(path)
