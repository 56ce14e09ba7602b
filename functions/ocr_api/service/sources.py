"""Turning a request's image sources into bytes."""

from __future__ import annotations

from ocr_api.adapters.url_fetcher import UrlFetcher
from ocr_api.service.request import ImageSource, ImageUrl


def load_images(
    sources: tuple[ImageSource, ...], fetcher: UrlFetcher, deadline: float, referer: str | None = None
) -> list[bytes]:
    """The bytes of each source, downloading URLs by ``deadline``."""
    return [
        fetcher.fetch(source.url, deadline, referer=referer) if isinstance(source, ImageUrl) else source
        for source in sources
    ]
