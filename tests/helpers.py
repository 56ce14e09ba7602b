"""Small helpers the tests share: the images in tests/data, encoders, stand-in engines."""

from __future__ import annotations

import functools
import hashlib
import importlib
import io
import os
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from PIL import Image

# The images the tests read, with their transcriptions and licences: all inside the repository.
TEST_DATA = Path(__file__).resolve().parent / "data"


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
    buffer = io.BytesIO()
    image.save(buffer, format=format, **options)
    return buffer.getvalue()


# Stand-in engines, for fault injection at the one place pages are read: the real Tesseract
# with a fault put before each read, in a module the page workers can import (they are started
# with this process's sys.path).
STAND_IN_ENGINES = Path(tempfile.mkdtemp(prefix="stand-in-engines-"))
sys.path.insert(0, str(STAND_IN_ENGINES))
_STAND_IN = """\
import os, pathlib, signal, time
from PIL import Image
from ocr_api.ocr.tesseract import Tesseract

class Engine(Tesseract):
    def read_lines(self, image, *args, **kwargs):
        {script}
        return super().read_lines(image, *args, **kwargs)
"""
# What a stand-in may do before reading; each runs in the page worker's own process.
CRASHES = "os.kill(os.getpid(), signal.SIGSEGV)"
ABORTS = "os.abort()"
KILLED = "os.kill(os.getpid(), signal.SIGKILL)"
HANGS = "time.sleep(30)"
# Tesseract raises on a page with no pixels: the read itself fails.
REFUSES_THE_PAGE = 'image = image.replaced(Image.new("L", (0, 0)))'


_DEEP_STAND_IN = """\
import os, signal, time
from ocr_api.handlers.deep_engine import handler as real_handler

def handler(event, context):
    {script}
    return real_handler(event, context)
"""
# What the deep-learning engine's function may do instead of answering (besides the above).
RAISES = 'raise RuntimeError("inference failed")'


def fake_deep_engine(*script: str) -> str:
    """The handler of a stand-in deep-learning engine function: the real one, with ``script``
    (Python lines) run first in the function's instance."""
    body = "\n    ".join(script)
    name = "stand_in_deep_" + hashlib.sha256(body.encode()).hexdigest()[:16]
    (STAND_IN_ENGINES / f"{name}.py").write_text(_DEEP_STAND_IN.format(script=body))
    importlib.invalidate_caches()
    return f"{name}.handler"


def touches(marker: Path) -> str:
    return f"pathlib.Path({str(marker)!r}).touch()"


def fake_engine(*script: str) -> str:
    """The ``engine`` setting of a stand-in that runs ``script`` (Python lines) before each read."""
    body = "\n        ".join(script)
    name = "stand_in_" + hashlib.sha256(body.encode()).hexdigest()[:16]
    (STAND_IN_ENGINES / f"{name}.py").write_text(_STAND_IN.format(script=body))
    importlib.invalidate_caches()
    return f"{name}:Engine"


def busy_worker(workers: list[int], cpu_seconds: float = 0.3, timeout: float = 30.0) -> int:
    """The first of the worker processes seen to spend ``cpu_seconds`` more on the CPU than when
    this was called: well into a page, past decoding it."""
    started, until = {pid: cpu_seconds_of(pid) for pid in workers}, time.monotonic() + timeout
    while time.monotonic() < until:
        for pid in workers:
            if cpu_seconds_of(pid) - started[pid] >= cpu_seconds:
                return pid
        time.sleep(0.01)
    raise AssertionError("no worker started reading")


def cpu_seconds_of(pid: int) -> float:
    """User and system CPU time of a process, from /proc."""
    fields = _stat_fields(pid)
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


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
