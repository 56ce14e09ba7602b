"""The worker side of the page path: ``python -m ocr_api.service.page_worker``.

Started by the handler (``worker_process``), it caps its own address space, builds its
``Recognizer`` with the warm engine and the default languages' models loaded, says "ready" (with
the languages it reads), and then reads pages until the handler closes its stdin: one job and
its bytes in; "received", "decoded", the page for PP-OCR where it reads too (at once, so that it
reads while Tesseract does), and the result (or the error) out. Nothing comes back in for a page.
Its own stdout is moved to stderr, so nothing a library prints can break a frame.
"""

from __future__ import annotations

import logging
import os
import sys

from ocr_api.errors import ImageNeedsTooMuchMemory, InternalError, ServiceError
from ocr_api.ocr.page_transfer import encode_page
from ocr_api.ocr.ppocr import LANGUAGES as PPOCR_LANGUAGES
from ocr_api.ocr.ppocr import PAGE_SIDE as PPOCR_PAGE_SIDE
from ocr_api.ocr.recognizer import DeepEngineTask, Recognizer
from ocr_api.service.worker_protocol import (
    TOO_MUCH_MEMORY,
    Decoded,
    DeepPage,
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
        recognizer = _warm_recognizer(start.settings)
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

        def hand_over(task: DeepEngineTask) -> None:
            page, size = encode_page(task.page, PPOCR_PAGE_SIDE)
            send_message(
                frames_out,
                DeepPage(
                    task.languages,
                    task.layout.value,
                    task.find_orientation,
                    task.deadline,
                    task.alone,
                    size,
                    task.find_tables,
                ),
            )
            send_frame(frames_out, page)

        try:
            result = recognizer.recognize(
                data,
                job.deadline,
                job.options,
                on_decoded=lambda: send_message(frames_out, Decoded()),
                hand_over=hand_over,
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


def _warm_recognizer(settings: RecognizerSettings) -> Recognizer:
    """The worker's recognizer, with the default languages' models already loaded."""
    import importlib

    from ocr_api.ocr.images import ImageLimits

    module, name = settings.engine.split(":")
    engine = getattr(importlib.import_module(module), name)(settings.tessdata_dir)
    recognizer = Recognizer(
        engine,
        ImageLimits(max_bytes=settings.max_image_bytes, max_pixels=settings.max_image_pixels),
        settings.languages,
        max_recognition_pixels=settings.max_recognition_pixels,
        deep_languages=PPOCR_LANGUAGES if settings.deep_engine else None,
        default_engine=settings.default_engine,
    )
    recognizer.load()
    return recognizer


def main() -> None:
    logging.basicConfig(stream=sys.stderr, level=logging.INFO, format="page-worker %(levelname)s %(message)s")
    # Frames go out on the real stdout; anything printed goes to stderr instead.
    frames_out = os.fdopen(os.dup(1), "wb")
    os.dup2(2, 1)
    serve(sys.stdin.buffer, frames_out)


if __name__ == "__main__":
    main()
