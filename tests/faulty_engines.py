"""Engines that fail on command, for the fault tests: the real Tesseract, and the deep engine's
real handler, each with a fault put before it reads.

A test names one as the deployment would name an engine: ``faulty_engines:Crashes`` for the
``engine`` setting (page workers import it by that name: they run with the test process's
sys.path), ``faulty_engines.deep_engine_raises`` for the deep engine function's handler.

Where a test must act while a page is being read, it waits for an event, not for the clock:
``Reading`` engines announce the page in a folder the test watches (``ReadingSignal``), and
``Blocks`` then waits there until the test releases it, or kills or stops its process.
"""

from __future__ import annotations

import os
import signal
import tempfile
import threading
import time
from pathlib import Path

from PIL import Image

from ocr_api.ocr.tesseract import Tesseract


def _hang() -> None:
    """Waits for ever: the page's deadline ends it (its worker or instance is killed)."""
    threading.Event().wait()


class _Faulty(Tesseract):
    def read_lines(self, image, *args, **kwargs):
        image = self.before_reading(image)
        return super().read_lines(image, *args, **kwargs)

    def before_reading(self, image):
        raise NotImplementedError


class Crashes(_Faulty):
    def before_reading(self, image):
        os.kill(os.getpid(), signal.SIGSEGV)


class Aborts(_Faulty):
    def before_reading(self, image):
        os.abort()


class Killed(_Faulty):
    def before_reading(self, image):
        os.kill(os.getpid(), signal.SIGKILL)


class Hangs(_Faulty):
    def before_reading(self, image):
        _hang()


class RefusesThePage(_Faulty):
    """Tesseract raises on a page with no pixels: the read itself fails."""

    def before_reading(self, image):
        return image.replaced(Image.new("L", (0, 0)))


# Engines that tell the test they are reading.


def _signal_folder(test_process: int) -> Path:
    return Path(tempfile.gettempdir()) / f"faulty-engines-{test_process}"


class Reading(_Faulty):
    """Announces each page, then reads it."""

    def before_reading(self, image):
        # The page worker's parent is the handler: the test process.
        folder = _signal_folder(os.getppid())
        (folder / f"reading-{os.getpid()}").touch()
        return image


class ReadingThenHangs(Reading):
    def before_reading(self, image):
        super().before_reading(image)
        _hang()


class Blocks(Reading):
    """Announces each page, then waits until the test releases it (or kills or stops it)."""

    def before_reading(self, image):
        super().before_reading(image)
        release = _signal_folder(os.getppid()) / "release"
        while not release.exists():
            time.sleep(0.01)
        return image


class ReadingSignal:
    """The test's side: which workers have begun a page, and the release of ``Blocks``."""

    def __init__(self) -> None:
        self.folder = _signal_folder(os.getpid())
        self.folder.mkdir(exist_ok=True)
        self.clear()

    def clear(self) -> None:
        for entry in self.folder.iterdir():
            entry.unlink()

    @property
    def pattern(self) -> str:
        """A glob that matches once a page is being read (for another process to watch)."""
        return str(self.folder / "reading-*")

    def started(self) -> bool:
        return any(self.folder.glob("reading-*"))

    def wait_for_reader(self, timeout: float = 60.0) -> int:
        """The pid of the first worker to begin a page. The timeout only ends a broken test."""
        until = time.monotonic() + timeout
        while time.monotonic() < until:
            for entry in self.folder.glob("reading-*"):
                return int(entry.name.removeprefix("reading-"))
            time.sleep(0.01)
        raise AssertionError("no worker began reading")

    def release(self) -> None:
        (self.folder / "release").touch()


# The deep engine's function, failing.


def deep_engine_crashes(event, context):
    os.kill(os.getpid(), signal.SIGSEGV)


def deep_engine_raises(event, context):
    raise RuntimeError("inference failed")


def deep_engine_hangs(event, context):
    _hang()


def engine_setting(engine: type[Tesseract]) -> str:
    """The ``engine`` setting that makes page workers read with ``engine``."""
    return f"{engine.__module__}:{engine.__qualname__}"


def handler_setting(handler) -> str:
    """A function's ``handler`` setting for one of the deep engine stand-ins above."""
    return f"{handler.__module__}.{handler.__name__}"
