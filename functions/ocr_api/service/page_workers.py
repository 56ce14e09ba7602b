"""Recognition in worker processes: untrusted bytes are decoded, rendered and read away from the
handler, under the request's deadline and a cap on memory.

Pillow and PDFium cannot be interrupted from Python, and a PDF or a JPEG can be built to keep them
busy for minutes or to need gigabytes. So every page is read by a worker process that the handler
can kill (``worker_process``): each starts once per instance, keeps its ``Recognizer`` and the
warm engine that holds (Tesseract in the worker's own process, its models loaded once) across
requests, and is started again when it dies or is killed. So an engine that crashes, aborts or
hangs takes one worker down, never the handler. This module lends the workers out, a page each.
"""

from __future__ import annotations

import logging
import threading
from concurrent.futures import ThreadPoolExecutor

from ocr_api.adapters.deep_engine_function import deep_engine_for
from ocr_api.config import Settings
from ocr_api.errors import ServiceError
from ocr_api.ocr.ppocr import LANGUAGES as PPOCR_LANGUAGES
from ocr_api.ocr.recognizer import RecognitionOptions, engine_choice, requested_languages
from ocr_api.ocr.result import RecognitionResult
from ocr_api.service.worker_process import WORKER_MODULE, DeepReader, PageWorker, WorkerLimits
from ocr_api.service.worker_protocol import RecognizerSettings

logger = logging.getLogger(__name__)


class IsolatedRecognizer:
    """A ``Recognizer`` whose work happens in ``workers`` worker processes, one page each."""

    def __init__(
        self,
        settings: RecognizerSettings,
        limits: WorkerLimits,
        workers: int,
        deep_engine: DeepReader | None = None,
        worker_module: str = WORKER_MODULE,
    ) -> None:
        """``worker_module`` is what each worker runs with ``python -m``: the page path's worker
        side, unless a test hands over one that misbehaves."""
        self.workers = workers
        self.settings = settings
        self.deep_engine = deep_engine
        self._all = [PageWorker(settings, limits, deep_engine, worker_module) for _ in range(workers)]
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
        installed = self._installed_languages(deadline)
        if installed is None:
            return
        languages = requested_languages(options.languages, self.settings.languages, installed)
        engine_choice(
            options.engine,
            self.settings.default_engine,
            languages,
            PPOCR_LANGUAGES if self.settings.deep_engine else None,
            options.find_tables,
        )

    def _installed_languages(self, deadline: float) -> tuple[str, ...] | None:
        """What a ready worker reads; the first worker is waited for if none is ready yet, and
        None where it cannot say (its failure is the page path's to answer, with its retry)."""
        ready = [worker for worker in self._all if worker.installed_languages]
        if ready:
            return ready[0].installed_languages
        first = self._all[0]
        try:
            first.start()
            first.wait_until_ready(deadline)
        except EOFError:
            first.stop()
            return None
        except (ServiceError, TimeoutError):
            return None
        return first.installed_languages

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


def page_workers(settings: Settings) -> IsolatedRecognizer:
    """The page workers ``settings`` ask for, not started yet, with the deep-learning engine's
    function when the deployment has one."""
    deep_engine = deep_engine_for(settings)
    return IsolatedRecognizer(
        RecognizerSettings(
            tessdata_dir=settings.tessdata_dir,
            max_image_bytes=settings.largest_image_bytes,
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


def first_worker_started(settings: Settings) -> IsolatedRecognizer:
    """An entry point's page workers with the first already started, so that it loads its models
    while the rest of the handler is imported (the INIT of a Lambda instance). The others start
    with the first request that has pages for them: started together they would compete with
    the import for the CPU (INIT 0.33 s with one, 0.53 s with two, on two cores) and each hold
    its models in memory. A failure here is logged; the first request starts them again, and a
    failure there is that request's answer."""
    workers = page_workers(settings)
    try:
        workers.start(count=1)
    except ServiceError:
        logger.exception("page workers could not be started")
    return workers
