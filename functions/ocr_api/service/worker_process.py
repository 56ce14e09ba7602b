"""One page worker process, seen from the handler: started when needed, handed a page at a time,
killed when it overruns, and not trusted (it reads untrusted bytes).

A started worker says ``Ready`` once it has loaded its engine and the default languages' models
(or why it could not). The handler's side then waits for two answers per page: ``Decoded`` within
``decode_seconds`` (decoding and rendering have no business taking longer), then ``PageRead`` by
the request's deadline. A worker that misses either is killed with everything it started, and
the page is answered with ``RecognitionTimedOut``. Each worker runs with an address-space limit
(``RLIMIT_AS``), so a page that needs too much memory fails there instead of taking the instance
down, and with an environment of its own, without the function's AWS credentials.

The deep-learning engine runs in a Lambda function of its own, and only the handler holds the
credentials to invoke it. So a worker hands a page PP-OCR is to read to the handler (``DeepPage``)
as soon as it is decoded, and goes on with Tesseract; the handler starts the call at once and
weighs its reading against the worker's result (``deep_reading``). Nothing goes back to the worker.
"""

from __future__ import annotations

import logging
import os
import select
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, replace

from ocr_api.errors import (
    ImageNeedsTooMuchMemory,
    RecognitionFailed,
    RecognitionTimedOut,
    RecognitionUnavailable,
    ServiceError,
)
from ocr_api.ocr.recognizer import RecognitionOptions, read_by_tesseract_alone
from ocr_api.ocr.result import RecognitionResult
from ocr_api.service.deep_reading import DeepReader, start_deep_reading, with_pending_reading
from ocr_api.service.worker_protocol import (
    TOO_MUCH_MEMORY,
    Decoded,
    DeepPage,
    FrameTooLarge,
    Job,
    Message,
    PageRead,
    Ready,
    Received,
    RecognizerSettings,
    Start,
    UnexpectedMessage,
    decode_message,
    receive_frame,
    receive_message,
    send_frame,
    send_message,
)
from ocr_api.service.worker_sandbox import keep_handler_from_workers, worker_environment

logger = logging.getLogger(__name__)

# What a worker runs: the worker side of the page path.
WORKER_MODULE = "ocr_api.service.page_worker"
# The worker's own deadline comes this much before the handler's: a Tesseract that overruns is
# cancelled by the worker, which still has time to say so before the handler stops the worker.
_WORKER_DEADLINE_MARGIN_SECONDS = 0.3
# What the handler takes from a worker, which reads untrusted bytes and so is not trusted in turn:
# no frame larger than a page's result or a page for the deep engine can be (the deep engine's
# page is at most 4 MB; a dense page's result, words and boxes, well under 16 MB), and one page
# for the deep engine per page (a second is out of turn).
MAX_WORKER_FRAME_BYTES = 32 * 1024 * 1024


@dataclass(frozen=True)
class WorkerLimits:
    # The worker's address space, its engine's models included.
    memory_bytes: int
    # How long decoding and rendering one page may take.
    decode_seconds: float


class PageWorker:
    """One worker process, started when needed, killed when it overruns."""

    def __init__(
        self,
        settings: RecognizerSettings,
        limits: WorkerLimits,
        deep_engine: DeepReader | None = None,
        module: str = WORKER_MODULE,
    ) -> None:
        self.settings = settings
        self.module = module
        self.limits = limits
        self.deep_engine = deep_engine
        # Used by one thread at a time: IsolatedRecognizer lends each worker out to one page.
        self._process: subprocess.Popen | None = None
        # Whether the process has said it is ready for pages, and the languages it said it reads.
        self._ready = False
        self.installed_languages: tuple[str, ...] = ()

    @property
    def pid(self) -> int | None:
        return self._process.pid if self._process is not None else None

    @property
    def running(self) -> bool:
        return self._process is not None and self._process.poll() is None

    def start(self) -> None:
        if self.running:
            return
        keep_handler_from_workers()
        try:
            self._process = subprocess.Popen(
                [sys.executable, "-m", self.module],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                env=worker_environment(),
                # Its own process group: killing it kills anything it started too.
                start_new_session=True,
            )
        except OSError as err:
            logger.error("page worker cannot be started", extra={"error": type(err).__name__})
            raise RecognitionUnavailable("the recognition engine is not available") from err
        self._ready = False
        send_message(self._process.stdin, Start(self.settings, self.limits.memory_bytes))

    def readiness(self) -> int:
        """2 if ready for pages, 1 if still loading, 0 if not running; never waits."""
        if not self.running:
            return 0
        if not self._ready and select.select([self._process.stdout], [], [], 0)[0]:
            try:
                self.wait_until_ready(time.monotonic() + 1)
            except (ServiceError, EOFError, TimeoutError, OSError):
                return 0  # the page handed to it will meet the same failure and answer for it
        return 2 if self._ready else 1

    def wait_until_ready(self, deadline: float) -> None:
        """Waits for the started process to say it is ready; ``EOFError`` if it died first,
        ``TimeoutError`` if it is not ready by ``deadline``, and the worker's error if it could
        not load its engine (its models are missing, say)."""
        if self._ready:
            return
        ready = self._expect(Ready, self._next_message(deadline))
        if ready.error is not None:
            self.stop()
            raise ready.error
        self.installed_languages = ready.languages
        self._ready = True

    def recognize(self, data: bytes, deadline: float, options: RecognitionOptions) -> RecognitionResult:
        if time.monotonic() >= deadline:
            raise RecognitionTimedOut("no time is left to recognise the image")
        self._hand_over(data, deadline, options)
        decoded_by = min(deadline, time.monotonic() + self.limits.decode_seconds)
        reply = self._receive(decoded_by, "decoding the image took more time than allowed", decoding=True)
        overrun = "recognition did not finish in the time this request has"
        if isinstance(reply, Decoded):
            reply = self._receive(deadline, overrun)
        asked = None
        if isinstance(reply, DeepPage):
            # Whether tables are found is the request's to say, not a worker's (it reads hostile bytes).
            asked = replace(reply, find_tables=options.find_tables)
            pending = start_deep_reading(self.deep_engine, asked, self._receive_frame(deadline, overrun), deadline)
            reply = self._receive(deadline, overrun)
        page = self._expect(PageRead, reply)
        if page.exiting:
            self._restart()  # it ran out of memory: the next page gets a fresh one
        if page.error is not None:
            raise page.error
        if asked is None:
            return page.result
        fused = with_pending_reading(page.result, asked, pending)
        if fused is None:
            return read_by_tesseract_alone(self.recognize, data, deadline, options, page.result)
        return fused

    def stop(self) -> None:
        process, self._process = self._process, None
        if process is None:
            return
        try:
            os.killpg(process.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass  # gone already
        process.wait()
        for stream in (process.stdin, process.stdout):
            try:
                stream.close()
            except OSError:
                pass  # unsent bytes to a dead process

    def _hand_over(self, data: bytes, deadline: float, options: RecognitionOptions) -> None:
        """Gives the page to a live worker, which says it has it before doing anything with it.

        A worker that died since its last page (killed, out of memory) is noticed here, when it
        cannot take or acknowledge the job, and replaced once: no work was done, so nothing is
        done twice.
        """
        for _ in range(2):
            self.start()
            try:
                self.wait_until_ready(deadline)
                send_message(self._process.stdin, Job(deadline - _WORKER_DEADLINE_MARGIN_SECONDS, options))
                send_frame(self._process.stdin, data)
                self._expect(Received, self._next_message(deadline))
                return
            except (BrokenPipeError, ConnectionResetError, EOFError):
                logger.warning("page worker was gone; starting another", extra={"exit_status": self._process.poll()})
            except TimeoutError:
                self._restart()
                raise RecognitionTimedOut("no time was left to start recognition") from None
            self.stop()
        raise RecognitionFailed("the recognition engine could not be started")

    def _receive(self, until: float, overrun: str, decoding: bool = False) -> Message:
        """The worker's next message, a page underway (see ``_receive_frame``)."""
        frame = self._receive_frame(until, overrun, decoding)
        try:
            return decode_message(frame)
        except UnexpectedMessage:
            return self._broken("page worker sent something that is no message")

    def _next_message(self, until: float) -> Message:
        """The worker's next message, no page underway: ``EOFError`` and ``TimeoutError`` as
        ``receive_frame`` raises them, for the caller to answer."""
        try:
            return receive_message(self._process.stdout, until, MAX_WORKER_FRAME_BYTES)
        except (UnexpectedMessage, FrameTooLarge):
            return self._broken("page worker sent something that is no message, or too much")

    def _expect(self, kind: type, message: Message):
        """``message``, if it is the ``kind`` this step of the exchange expects."""
        if not isinstance(message, kind):
            return self._broken(f"page worker sent {type(message).__name__} where {kind.__name__} was due")
        return message

    def _broken(self, what: str):
        logger.error(what)
        self._restart()
        raise RecognitionFailed("the recognition engine failed on this image")

    def _receive_frame(self, until: float, overrun: str, decoding: bool = False) -> bytes:
        """The worker's next frame by ``until``; a worker that overruns it is stopped and
        replaced (``RecognitionTimedOut``), one that died is replaced (``RecognitionFailed``).

        A worker that aborted while ``decoding`` met its memory cap in a decoder that aborts
        when an allocation fails (PDFium decodes a page's inline images as it loads the page,
        before any limit can read their size): the page needs more memory than allowed."""
        try:
            return receive_frame(self._process.stdout, until, MAX_WORKER_FRAME_BYTES)
        except FrameTooLarge as err:
            logger.error("page worker sent a frame over the limit", extra={"frame_bytes": err.args[0]})
            self._restart()
            raise RecognitionFailed("the recognition engine failed on this image") from None
        except TimeoutError:
            logger.warning("page worker overran its time and was stopped", extra={"reason": overrun})
            self._restart()
            raise RecognitionTimedOut(overrun) from None
        except EOFError:
            code = self._process.wait()
            logger.error("page worker died", extra={"exit_status": code, "decoding": decoding})
            self._restart()
            if decoding and code == -signal.SIGABRT:
                raise ImageNeedsTooMuchMemory(TOO_MUCH_MEMORY) from None
            raise RecognitionFailed("the recognition engine failed on this image") from None

    def _restart(self) -> None:
        # Started again at once: its start-up overlaps with answering this request.
        self.stop()
        self.start()
