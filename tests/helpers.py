"""Small helpers the tests share: the images in tests/data, encoders, a fixed clock."""

from __future__ import annotations

import functools
import io
import time
from collections.abc import Callable
from pathlib import Path

from PIL import Image

# The images the tests read (tests/data), with their transcriptions and licences.
from ocr_tools.eval_set import TEST_DATA  # noqa: F401  (the tests import it from here)

# Noon UTC on a fixed day: quotas by day and month are decided by this clock, never by the
# wall clock crossing midnight during a test. Its seconds pass as real ones do.
FIXED_NOON = 1_804_075_200.0  # 2027-03-03T12:00:00Z


def day_clock() -> Callable[[], float]:
    started = time.monotonic()
    return lambda: FIXED_NOON + (time.monotonic() - started)


def data_image(relative: str) -> bytes:
    return (TEST_DATA / relative).read_bytes()


def data_truth(relative_image: str) -> str:
    return (TEST_DATA / relative_image).with_suffix(".txt").read_text(encoding="utf-8")


def encode(image: Image.Image, format: str, **options) -> bytes:
    if format == "HEIF":
        import pillow_heif

        pillow_heif.register_heif_opener()  # its encoder; the service registers it on its first HEIC
    buffer = io.BytesIO()
    image.save(buffer, format=format, **options)
    return buffer.getvalue()


def process_state(pid: int) -> str:
    """A process's state letter from /proc ("Z" for a zombie)."""
    return _stat_fields(pid)[0]


def _stat_fields(pid: int) -> list[str]:
    # The fields after the command name, which may itself hold spaces and parentheses.
    return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()


@functools.cache
def transparent_40_megapixel_png(mode: str) -> bytes:
    """A transparent page at the pixel limit, "LA" or "RGBA": within every limit, costly to flatten."""
    return encode(Image.new(mode, (8000, 5000), (0,) * len(mode)), "PNG")
