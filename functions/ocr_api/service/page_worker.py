"""The worker side of the page path: ``python -m ocr_api.service.page_worker``.

Started by the handler (``worker_process``), it caps its own address space, builds its
``Recognizer`` with the warm engine and the default languages' models loaded, says "ready" (with
the languages it reads), and then reads pages until the handler closes its stdin: one job and
its bytes in, "received", "decoded" and the result (or the error) out. Its own stdout is moved
to stderr, so nothing a library prints can break a frame.
"""

from __future__ import annotations

import logging
import os
import sys

from ocr_api.errors import ImageNeedsTooMuchMemory, InternalError, ServiceError
from ocr_api.ocr.engine import UPRIGHT_UNSURE, Orientation, PageLayout
from ocr_api.ocr.images import PreparedImage
from ocr_api.ocr.page_transfer import encode_page, lines_from_json, scaled_lines
from ocr_api.ocr.ppocr import LANGUAGES as PPOCR_LANGUAGES
from ocr_api.ocr.ppocr import PAGE_SIDE as PPOCR_PAGE_SIDE
from ocr_api.ocr.recognizer import Recognizer
from ocr_api.ocr.result import TextLine
from ocr_api.service.worker_protocol import (
    TOO_MUCH_MEMORY,
    Decoded,
    DeepRead,
    PageRead,
    Ready,
    Received,
    RecognizerSettings,
    receive_frame,
    receive_message,
    send_frame,
    send_message,
)

logger = logging.getLogger(__name__)


def serve(frames_in, frames_out) -> None:
    """Reads jobs until the handler closes the pipe; one reply (or two) per job."""
    import resource

    start = receive_message(frames_in, None)
    resource.setrlimit(resource.RLIMIT_AS, (start.memory_bytes, start.memory_bytes))
    try:
        recognizer = _warm_recognizer(start.settings, frames_in, frames_out)
    except ServiceError as err:
        send_message(frames_out, Ready(error=err))
        return
    # The handler checks a request's languages against these before its key is charged.
    send_message(frames_out, Ready(languages=recognizer.engine.installed_languages))
    while True:
        try:
            job = receive_message(frames_in, None)
            data = receive_frame(frames_in, None)
        except EOFError:
            return
        send_message(frames_out, Received())
        try:
            result = recognizer.recognize(
                data, job.deadline, job.options, on_decoded=lambda: send_message(frames_out, Decoded())
            )
            reply = PageRead(result=result)
        except ServiceError as err:
            reply = PageRead(error=err)
        except MemoryError:
            # A heap that ran out is not worth trusting with the next page: this worker ends.
            data = result = None
            reply = PageRead(error=ImageNeedsTooMuchMemory(TOO_MUCH_MEMORY), exiting=True)
        except Exception:
            logger.exception("unexpected error in the page worker")
            reply = PageRead(error=InternalError())
        send_message(frames_out, reply)
        if reply.exiting:
            return


def _warm_recognizer(settings: RecognizerSettings, frames_in, frames_out) -> Recognizer:
    """The worker's recognizer, with the default languages' models already loaded."""
    import importlib

    from ocr_api.ocr.images import ImageLimits

    module, name = settings.engine.split(":")
    engine = getattr(importlib.import_module(module), name)(settings.tessdata_dir)
    engine.load(settings.languages)
    return Recognizer(
        engine,
        ImageLimits(max_bytes=settings.max_image_bytes, max_pixels=settings.max_image_pixels),
        settings.languages,
        max_recognition_pixels=settings.max_recognition_pixels,
        deep_engine=DeepEngineThroughHandler(frames_in, frames_out) if settings.deep_engine else None,
        default_engine=settings.default_engine,
    )


class DeepEngineThroughHandler:
    """PP-OCR as a worker reaches it: the page goes to the handler, which invokes the deep-learning
    engine's function, and the lines (or its error) come back on the worker's stdin."""

    def __init__(self, frames_in, frames_out) -> None:
        self._in, self._out = frames_in, frames_out

    installed_languages = PPOCR_LANGUAGES

    def load(self, languages: str) -> None:
        pass  # loaded in its own function

    def read_lines(
        self, image: PreparedImage, languages: str, deadline: float, layout: PageLayout = PageLayout.AUTO
    ) -> list[TextLine]:
        page, scale = encode_page(image, PPOCR_PAGE_SIDE)
        send_message(self._out, DeepRead(languages, layout.value, deadline))
        send_frame(self._out, page)
        reading = receive_message(self._in, None)
        if reading.error is not None:
            raise reading.error
        return scaled_lines(lines_from_json(reading.lines), 1 / scale)

    def detect_orientation(self, image: PreparedImage, deadline: float) -> Orientation:
        return UPRIGHT_UNSURE


def main() -> None:
    logging.basicConfig(stream=sys.stderr, level=logging.INFO, format="page-worker %(levelname)s %(message)s")
    # Frames go out on the real stdout; anything printed goes to stderr instead.
    frames_out = os.fdopen(os.dup(1), "wb")
    os.dup2(2, 1)
    serve(sys.stdin.buffer, frames_out)


if __name__ == "__main__":
    main()
