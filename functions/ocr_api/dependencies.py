"""The composition root: what a request handler needs, built once per container.

Built lazily from the environment on first use; tests and the local server install their own.
"""

from __future__ import annotations

from dataclasses import dataclass

from ocr_api.api.metering import MeasuredRecognizer
from ocr_api.config import Settings
from ocr_api.keys import AccessGuard, AppKeyStore
from ocr_api.ocr import ImageLimits, Recognizer, Tesseract
from ocr_api.ocr.fetch import FetchLimits, UrlFetcher


@dataclass(frozen=True)
class Dependencies:
    settings: Settings
    recognizer: MeasuredRecognizer
    access: AccessGuard
    fetcher: UrlFetcher

    @classmethod
    def from_settings(cls, settings: Settings, store: AppKeyStore | None = None) -> Dependencies:
        engine = Tesseract(
            command=settings.tesseract_cmd,
            tessdata_dir=settings.tessdata_dir,
            threads=settings.tesseract_threads,
        )
        limits = ImageLimits(max_bytes=settings.max_image_bytes, max_pixels=settings.max_image_pixels)
        store = store or AppKeyStore(settings.appkeys_table, settings.dynamodb_endpoint_url)
        return cls(
            settings=settings,
            recognizer=MeasuredRecognizer(Recognizer(
                engine, limits, settings.languages, settings.parallel_images,
                settings.max_recognition_pixels,
            )),
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
    return _installed


def install(dependencies: Dependencies | None) -> None:
    """Replaces what ``current()`` returns; ``None`` rebuilds from the environment next time."""
    global _installed
    _installed = dependencies
