"""Recognition in worker processes: untrusted bytes are decoded, rendered and read away from the
handler, under the request's deadline and a cap on memory.

Pillow and PDFium cannot be interrupted from Python, and a PDF or a JPEG can be built to keep them
busy for minutes or to need gigabytes. So every page is read by a worker process that the handler
can kill: it starts once per instance, keeps its ``Recognizer`` and the warm engine that holds
(Tesseract in the worker's own process, its models loaded once) across requests, and is started
again when it dies or is killed. So an engine that crashes, aborts or hangs takes one worker
down, never the handler. Each worker runs with an address-space limit (``RLIMIT_AS``), so a page
that needs too much memory fails there with a ``MemoryError`` instead of taking the instance
down; and with an environment of its own, without the function's AWS credentials.

A started worker says "ready" once it has loaded its engine and the default languages' models
(or why it could not); a page goes to a ready worker before one still loading. The handler's
side then waits for two answers per page: "decoded" within ``decode_seconds`` (decoding and
rendering have no business taking longer), then the result by the request's deadline. A worker that misses either is killed with everything it started, and
the page is answered with ``RecognitionTimedOut``. The protocol is length-prefixed frames on
the worker's stdin and stdout:
JSON, and the image bytes raw; the worker's own stdout is moved to stderr, so nothing a library
prints can break a frame.

The deep-learning engine runs in a Lambda function of its own, and only the handler holds the
credentials to invoke it. So a worker that wants PP-OCR's reading of a page sends the handler a
"deep_read" frame and the page, and waits for the lines (or the error) in return; the handler
makes the call, bounded by the same deadline, while it waits for the worker's result.
"""

from __future__ import annotations

import ctypes
import json
import logging
import os
import select
import signal
import struct
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass
from typing import Protocol

from ocr_api import errors
from ocr_api.adapters.deep_engine_function import deep_engine_for
from ocr_api.config import Settings
from ocr_api.errors import (
    ImageNeedsTooMuchMemory,
    InternalError,
    RecognitionFailed,
    RecognitionTimedOut,
    RecognitionUnavailable,
    ServiceError,
)
from ocr_api.ocr.deadline import seconds_left
from ocr_api.ocr.engine import UPRIGHT_UNSURE, Orientation, PageLayout
from ocr_api.ocr.images import PreparedImage
from ocr_api.ocr.page_transfer import encode_page, line_from_json, lines_from_json, scaled_lines
from ocr_api.ocr.ppocr import LANGUAGES as PPOCR_LANGUAGES
from ocr_api.ocr.ppocr import PAGE_SIDE as PPOCR_PAGE_SIDE
from ocr_api.ocr.recognizer import (
    TESSERACT,
    RecognitionOptions,
    Recognizer,
    engine_choice,
    requested_languages,
)
from ocr_api.ocr.result import RecognitionResult, TextLine

logger = logging.getLogger(__name__)

_FRAME_HEADER = struct.Struct(">I")
# The worker's own deadline comes this much before the handler's: a Tesseract that overruns is
# cancelled by the worker, which still has time to say so before the handler stops the worker.
_WORKER_DEADLINE_MARGIN_SECONDS = 0.3
# The worker's environment: what Python and Tesseract need, nothing of the function's secrets.
_PASSED_ENVIRONMENT = ("PATH", "LANG", "LC_ALL", "LD_LIBRARY_PATH", "TMPDIR")
# What a worker runs (this module's worker side).
WORKER_MODULE = "ocr_api.service.page_worker"
_TOO_MUCH_MEMORY = "the image needs more memory to decode than this service allows"
# What the handler takes from a worker, which reads untrusted bytes and so is not trusted in turn:
# no frame larger than a page's result or a page for the deep engine can be (the deep engine's
# page is at most 4 MB; a dense page's result, words and boxes, well under 16 MB), and at most
# the deep-engine readings a page asks for (the page, and once more turned upright).
MAX_WORKER_FRAME_BYTES = 32 * 1024 * 1024
MAX_DEEP_READS_PER_PAGE = 2


@dataclass(frozen=True)
class RecognizerSettings:
    """What a worker builds its ``Recognizer`` from."""

    tessdata_dir: str
    max_image_bytes: int
    max_image_pixels: int
    languages: str
    max_recognition_pixels: int | None
    # The engine's class, as "module:name", built with ``tessdata_dir``.
    engine: str
    # Whether PP-OCR can be asked (through the handler), and the engine a request gets by default.
    deep_engine: bool = False
    default_engine: str = TESSERACT


@dataclass(frozen=True)
class WorkerLimits:
    # The worker's address space, its engine's models included.
    memory_bytes: int
    # How long decoding and rendering one page may take.
    decode_seconds: float


class IsolatedRecognizer:
    """A ``Recognizer`` whose work happens in ``workers`` worker processes, one page each."""

    def __init__(
        self, settings: RecognizerSettings, limits: WorkerLimits, workers: int, deep_engine: DeepReader | None = None,
    ) -> None:
        self.workers = workers
        self.settings = settings
        self.deep_engine = deep_engine
        self._all = [PageWorker(settings, limits, deep_engine) for _ in range(workers)]
        # Idle workers, the one given back last at the end.
        self._idle = list(self._all)
        self._given_back = threading.Condition()

    def start(self, count: int | None = None) -> None:
        """Starts the first ``count`` workers (all by default) that are not running yet."""
        for worker in self._all[:count]:
            worker.start()

    def wait_until_ready(self, deadline: float, count: int | None = None) -> None:
        """Returns once the first ``count`` workers (all by default) have started and loaded
        what they read pages with."""
        for worker in self._all[:count]:
            worker.start()
            worker.wait_until_ready(deadline)

    def check_options(self, options: RecognitionOptions, deadline: float) -> None:
        """Refuses the options no page could be read with (languages not installed, an engine
        not deployed or not reading them) as the workers would, before the request is charged.
        The languages are those a worker reported when it was ready (the first starts at INIT,
        and every request needs one ready anyway). Where no worker can say (it cannot start or
        load its models), nothing is refused here: the pages meet that failure after admission,
        and are answered and given back as any failure of ours."""
        try:
            installed = self._installed_languages(deadline)
        except ServiceError:
            return
        languages = requested_languages(options.languages, self.settings.languages, installed)
        engine_choice(options.engine, self.settings.default_engine, languages,
                      PPOCR_LANGUAGES if self.settings.deep_engine else None)

    def _installed_languages(self, deadline: float) -> tuple[str, ...]:
        ready = [worker for worker in self._all if worker.installed_languages]
        if ready:
            return ready[0].installed_languages
        first = self._all[0]
        for _ in range(2):
            first.start()
            try:
                first.wait_until_ready(deadline)
                return first.installed_languages
            except EOFError:
                first.stop()  # died before it was ready: started once more, as a page would
            except TimeoutError:
                raise RecognitionTimedOut("no time was left to start recognition") from None
        raise RecognitionFailed("the recognition engine could not be started")

    def recognize(
        self, data: bytes, deadline: float, options: RecognitionOptions = RecognitionOptions()
    ) -> RecognitionResult:
        worker = self._lend()
        try:
            return worker.recognize(data, deadline, options)
        finally:
            with self._given_back:
                self._idle.append(worker)
                self._given_back.notify()

    def _lend(self) -> PageWorker:
        """An idle worker: a ready one before one still loading its models, before one not
        started; of equals, the one given back last (its caches are warm)."""
        with self._given_back:
            self._given_back.wait_for(lambda: self._idle)
            worker = max(reversed(self._idle), key=PageWorker.readiness)
            self._idle.remove(worker)
            return worker

    def recognize_many(
        self, images: list[bytes], deadline: float, options: RecognitionOptions = RecognitionOptions()
    ) -> list[RecognitionResult]:
        """One result per image, in order, as many at once as there are workers, by one deadline.

        Workers beyond the first start with the first request that has pages for them: most
        requests carry one image, and an idle worker holds its models (about 100 MB)."""
        if len(images) == 1:
            return [self.recognize(images[0], deadline, options)]
        self.start(count=len(images))
        with ThreadPoolExecutor(max_workers=min(self.workers, len(images))) as pool:
            futures = [pool.submit(self.recognize, data, deadline, options) for data in images]
            results, failures = [], []
            for future in futures:
                try:
                    results.append(future.result())
                except ServiceError as err:
                    failures.append(err)
        if failures:
            # The request fails with its first page's error; the pages read are work done.
            failures[0].pages_read = len(results)
            raise failures[0]
        return results

    def worker_processes(self) -> list[int]:
        """The process ids of the workers running now."""
        return [worker.pid for worker in self._all if worker.running]

    def close(self) -> None:
        for worker in self._all:
            worker.stop()
        if self.deep_engine is not None:
            self.deep_engine.close()


class DeepReader(Protocol):
    """What the handler calls for a worker's "deep_read": the deep-learning engine's function."""

    def read(self, page: bytes, languages: str, layout: str, deadline: float) -> list[dict]: ...

    def close(self) -> None: ...


def page_workers(settings: Settings) -> IsolatedRecognizer:
    """The page workers ``settings`` ask for, not started yet, with the deep-learning engine's
    function when the deployment has one."""
    deep_engine = deep_engine_for(settings)
    return IsolatedRecognizer(
        RecognizerSettings(
            tessdata_dir=settings.tessdata_dir,
            max_image_bytes=settings.max_image_bytes,
            max_image_pixels=settings.max_image_pixels,
            languages=settings.languages,
            max_recognition_pixels=settings.max_recognition_pixels,
            engine=settings.engine,
            deep_engine=deep_engine is not None,
            default_engine=settings.default_engine,
        ),
        WorkerLimits(memory_bytes=settings.worker_memory_bytes, decode_seconds=settings.max_decode_seconds),
        workers=settings.parallel_images,
        deep_engine=deep_engine,
    )


class PageWorker:
    """One worker process, started when needed, killed when it overruns."""

    def __init__(self, settings: RecognizerSettings, limits: WorkerLimits, deep_engine: DeepReader | None = None) -> None:
        self.settings = settings
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
        _keep_handler_from_workers()
        try:
            self._process = subprocess.Popen(
                [sys.executable, "-m", WORKER_MODULE],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                env=_worker_environment(),
                # Its own process group: killing it kills anything it started too.
                start_new_session=True,
            )
        except OSError as err:
            logger.error("page worker cannot be started", extra={"error": type(err).__name__})
            raise RecognitionUnavailable("the recognition engine is not available") from err
        self._ready = False
        _send(self._process.stdin, json.dumps({
            "settings": asdict(self.settings), "memory_bytes": self.limits.memory_bytes,
        }).encode())

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
        reply = json.loads(_receive(self._process.stdout, deadline))
        if not reply.get("ready"):
            self.stop()
            _result_or_error(reply)
        self.installed_languages = tuple(reply["languages"])
        self._ready = True

    def recognize(self, data: bytes, deadline: float, options: RecognitionOptions) -> RecognitionResult:
        if time.monotonic() >= deadline:
            raise RecognitionTimedOut("no time is left to recognise the image")
        self._hand_over(data, deadline, options)
        decoded_by = min(deadline, time.monotonic() + self.limits.decode_seconds)
        reply = self._receive(decoded_by, "decoding the image took more time than allowed", decoding=True)
        if reply.get("decoded"):
            reply = self._receive(deadline, "recognition did not finish in the time this request has")
        deep_reads = 0
        while "deep_read" in reply:
            if deep_reads == MAX_DEEP_READS_PER_PAGE:
                logger.error("page worker asked the deep engine too often for one page")
                self._restart()
                raise RecognitionFailed("the recognition engine failed on this image")
            deep_reads += 1
            self._read_with_deep_engine(reply["deep_read"], deadline)
            reply = self._receive(deadline, "recognition did not finish in the time this request has")
        if reply.get("exiting"):
            self._restart()  # it ran out of memory: the next page gets a fresh one
        return _result_or_error(reply)

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
                # time.monotonic() is the system's monotonic clock: the same instant in the worker.
                _send(self._process.stdin, json.dumps({
                    "deadline": deadline - _WORKER_DEADLINE_MARGIN_SECONDS, "options": asdict(options),
                }).encode())
                _send(self._process.stdin, data)
                if json.loads(_receive(self._process.stdout, deadline)).get("received"):
                    return
            except (BrokenPipeError, ConnectionResetError, EOFError):
                logger.warning("page worker was gone; starting another", extra={"exit_status": self._process.poll()})
            except TimeoutError:
                self._restart()
                raise RecognitionTimedOut("no time was left to start recognition") from None
            self.stop()
        raise RecognitionFailed("the recognition engine could not be started")

    def _read_with_deep_engine(self, job: dict, deadline: float) -> None:
        """Reads the page that follows with the deep-learning engine, and gives the worker its
        lines or the error that stopped them."""
        page = self._receive_frame(deadline, "recognition did not finish in the time this request has")
        try:
            if self.deep_engine is None:
                raise RecognitionUnavailable("the recognition engine is not available")
            reply = {"lines": self.deep_engine.read(page, job["languages"], job["layout"], min(job["deadline"], deadline))}
        except ServiceError as err:
            reply = _error_reply(err)
        try:
            _send(self._process.stdin, json.dumps(reply, ensure_ascii=False).encode())
        except (BrokenPipeError, ConnectionResetError):
            pass  # the worker died meanwhile: its result, never coming, answers for it

    def _receive(self, until: float, overrun: str, decoding: bool = False) -> dict:
        return json.loads(self._receive_frame(until, overrun, decoding))

    def _receive_frame(self, until: float, overrun: str, decoding: bool = False) -> bytes:
        """The worker's next frame by ``until``; a worker that overruns it is stopped and
        replaced (``RecognitionTimedOut``), one that died is replaced (``RecognitionFailed``).

        A worker that aborted while ``decoding`` met its memory cap in a decoder that aborts
        when an allocation fails (PDFium decodes a page's inline images as it loads the page,
        before any limit can read their size): the page needs more memory than allowed."""
        try:
            return _receive(self._process.stdout, until, MAX_WORKER_FRAME_BYTES)
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
                raise ImageNeedsTooMuchMemory(_TOO_MUCH_MEMORY) from None
            raise RecognitionFailed("the recognition engine failed on this image") from None

    def _restart(self) -> None:
        # Started again at once: its start-up overlaps with answering this request.
        self.stop()
        self.start()


def _result_or_error(reply: dict) -> RecognitionResult:
    if "result" in reply:
        return _result_from_json(reply["result"])
    error = reply.get("error", {})
    kind = _SERVICE_ERRORS.get(error.get("kind"), InternalError)
    raise kind(str(error.get("description", "internal error")))


# The errors a worker may report, by name; anything else it says is an internal error.
_SERVICE_ERRORS = {
    kind.__name__: kind for kind in vars(errors).values()
    if isinstance(kind, type) and issubclass(kind, ServiceError)
}


def _keep_handler_from_workers() -> None:
    """Makes the handler's process non-dumpable: the workers run as the same user, and could
    otherwise read its environment (the function's AWS credentials) and memory through /proc.
    A non-dumpable process's /proc files belong to root, and it cannot be traced. (Workers are
    started with execve, which makes them dumpable again: their own /proc stays theirs.)"""
    if not sys.platform.startswith("linux"):
        return
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.prctl(_PR_SET_DUMPABLE, 0, 0, 0, 0) != 0:
        logger.warning("handler could not be made non-dumpable", extra={"errno": ctypes.get_errno()})


_PR_SET_DUMPABLE = 4


def _worker_environment() -> dict[str, str]:
    environment = {name: os.environ[name] for name in _PASSED_ENVIRONMENT if name in os.environ}
    # The worker imports what the handler imported, from the same places.
    environment["PYTHONPATH"] = os.pathsep.join(path for path in sys.path if path)
    # One malloc arena: each further one reserves 64 MB of the capped address space.
    environment["MALLOC_ARENA_MAX"] = "1"
    # One thread per worker, should Tesseract ever be built with OpenMP: on Lambda's few vCPUs
    # its threads make it several times slower.
    environment["OMP_THREAD_LIMIT"] = "1"
    return environment


def _send(stream, payload: bytes) -> None:
    stream.write(_FRAME_HEADER.pack(len(payload)) + payload)
    stream.flush()


class FrameTooLarge(Exception):
    """A worker announced a frame larger than any it has reason to send."""


def _receive(stream, until: float | None, max_bytes: int | None = None) -> bytes:
    """One frame; ``TimeoutError`` when it is not whole by ``until``, ``EOFError`` on a closed
    pipe, ``FrameTooLarge`` when it announces more than ``max_bytes``."""
    header = _read_exactly(stream.fileno(), _FRAME_HEADER.size, until)
    (length,) = _FRAME_HEADER.unpack(header)
    if max_bytes is not None and length > max_bytes:
        raise FrameTooLarge(length)
    return _read_exactly(stream.fileno(), length, until)


def _read_exactly(descriptor: int, size: int, until: float | None) -> bytes:
    chunks, left = [], size
    while left:
        if until is not None:
            wait = seconds_left(until)
            if wait <= 0 or not select.select([descriptor], [], [], wait)[0]:
                raise TimeoutError
        chunk = os.read(descriptor, min(left, 1 << 20))
        if not chunk:
            raise EOFError
        chunks.append(chunk)
        left -= len(chunk)
    return b"".join(chunks)


def _result_from_json(document: dict) -> RecognitionResult:
    return RecognitionResult(**{**document, "lines": tuple(line_from_json(line) for line in document["lines"])})


# The worker's side.


def serve(frames_in, frames_out) -> None:
    """Reads jobs until the handler closes the pipe; one reply (or two) per job."""
    import resource

    start = json.loads(_receive(frames_in, None))
    memory = start["memory_bytes"]
    resource.setrlimit(resource.RLIMIT_AS, (memory, memory))
    try:
        recognizer = _warm_recognizer(RecognizerSettings(**start["settings"]), frames_in, frames_out)
    except ServiceError as err:
        _send(frames_out, json.dumps({**_error_reply(err), "ready": False}).encode())
        return
    # The handler checks a request's languages against these before its key is charged.
    _send(frames_out, json.dumps({"ready": True, "languages": recognizer.engine.installed_languages}).encode())
    while True:
        try:
            job = json.loads(_receive(frames_in, None))
            data = _receive(frames_in, None)
        except EOFError:
            return
        _send(frames_out, b'{"received": true}')
        options = RecognitionOptions(**{**job["options"], "formats": tuple(job["options"]["formats"])})
        exiting = False
        try:
            result = recognizer.recognize(
                data, job["deadline"], options, on_decoded=lambda: _send(frames_out, b'{"decoded": true}')
            )
            reply = {"result": asdict(result)}
        except ServiceError as err:
            reply = _error_reply(err)
        except MemoryError:
            # A heap that ran out is not worth trusting with the next page: this worker ends.
            data = result = None
            exiting = True
            reply = _error_reply(ImageNeedsTooMuchMemory(_TOO_MUCH_MEMORY))
        except Exception:
            logger.exception("unexpected error in the page worker")
            reply = _error_reply(InternalError())
        _send(frames_out, json.dumps({**reply, "exiting": exiting}, ensure_ascii=False).encode())
        if exiting:
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
        _send(self._out, json.dumps({"deep_read": {
            "languages": languages, "layout": layout.value, "deadline": deadline,
        }}).encode())
        _send(self._out, page)
        reply = json.loads(_receive(self._in, None))
        if "lines" not in reply:
            _result_or_error(reply)
        return scaled_lines(lines_from_json(reply["lines"]), 1 / scale)

    def detect_orientation(self, image: PreparedImage, deadline: float) -> Orientation:
        return UPRIGHT_UNSURE


def _error_reply(err: ServiceError) -> dict:
    return {"error": {"kind": type(err).__name__, "description": err.description}}


def main() -> None:
    logging.basicConfig(stream=sys.stderr, level=logging.INFO, format="page-worker %(levelname)s %(message)s")
    # Frames go out on the real stdout; anything printed goes to stderr instead.
    frames_out = os.fdopen(os.dup(1), "wb")
    os.dup2(2, 1)
    serve(sys.stdin.buffer, frames_out)


if __name__ == "__main__":
    main()
