"""Turning a request's image sources into bytes."""

from __future__ import annotations

from ocr_api.adapters.url_fetcher import UrlFetcher
from ocr_api.keys import AppKey
from ocr_api.service.request import ImageSource, ImageUrl
from ocr_api.service.uploads import UploadRef, Uploads


def load_images(
    sources: tuple[ImageSource, ...],
    fetcher: UrlFetcher,
    uploads: Uploads,
    owner: AppKey,
    deadline: float,
    referer: str | None = None,
) -> list[bytes]:
    """The bytes of each source by ``deadline``: URLs downloaded, uploads read from ``owner``'s own."""

    def loaded(source: ImageSource) -> bytes:
        if isinstance(source, ImageUrl):
            return fetcher.fetch(source.url, deadline, referer=referer)
        if isinstance(source, UploadRef):
            return uploads.read(owner, source, deadline)
        return source

    return [loaded(source) for source in sources]
