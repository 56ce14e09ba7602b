"""The composition root: what a request handler needs, built once per container.

Built lazily from the environment on first use; tests and the local server install their own.
"""

from __future__ import annotations

from dataclasses import dataclass

from ocr_api.api.metering import MeasuredRecognizer
from ocr_api.config import Settings
from ocr_api.keys import AccessGuard, AppKeyStore
from ocr_api.ocr.fetch import FetchLimits, UrlFetcher
from ocr_api.ocr.page_worker import IsolatedRecognizer, RecognizerSettings, WorkerLimits


@dataclass(frozen=True)
class Dependencies:
    settings: Settings
    recognizer: MeasuredRecognizer
    access: AccessGuard
    fetcher: UrlFetcher

    @classmethod
    def from_settings(cls, settings: Settings, store: AppKeyStore | None = None) -> Dependencies:
        recognizer = IsolatedRecognizer(
            RecognizerSettings(
                tesseract_cmd=settings.tesseract_cmd,
                tessdata_dir=settings.tessdata_dir,
                tesseract_threads=settings.tesseract_threads,
                max_image_bytes=settings.max_image_bytes,
                max_image_pixels=settings.max_image_pixels,
                languages=settings.languages,
                max_recognition_pixels=settings.max_recognition_pixels,
            ),
            WorkerLimits(memory_bytes=settings.worker_memory_bytes, decode_seconds=settings.max_decode_seconds),
            workers=settings.parallel_images,
        )
        store = store or AppKeyStore(settings.appkeys_table, settings.dynamodb_endpoint_url)
        return cls(
            settings=settings,
            recognizer=MeasuredRecognizer(recognizer),
            access=AccessGuard(
                store,
                cache_seconds=settings.appkey_cache_seconds,
                utc_offset=settings.quota_day_offset,
            ),
            fetcher=UrlFetcher(
                FetchLimits(max_bytes=settings.max_image_bytes, total_timeout=settings.url_timeout_seconds),
                settings.allowed_networks,
            ),
        )


_installed: Dependencies | None = None


def current() -> Dependencies:
    global _installed
    if _installed is None:
        _installed = Dependencies.from_settings(Settings.from_environment())
        # The page workers start while this first request is still reading and admitting.
        _installed.recognizer.start()
    return _installed


def install(dependencies: Dependencies | None) -> None:
    """Replaces what ``current()`` returns (stopping the workers of what it returned before);
    ``None`` rebuilds from the environment next time."""
    global _installed
    if _installed is not None and _installed is not dependencies:
        _installed.recognizer.close()
    _installed = dependencies
