"""Turning a request's image sources into bytes, and finding its key, for every dialect."""

from __future__ import annotations

import time

from ocr_api.errors import InvalidRequest
from ocr_api.ocr.fetch import UrlFetcher

# An image source: the bytes themselves, or the URL to download them from.
ImageSource = bytes | str


def load_images(
    sources: list[ImageSource], fetcher: UrlFetcher, deadline: float, referer: str | None = None
) -> list[bytes]:
    """Downloads the URLs among ``sources`` within what is left until ``deadline``."""
    return [
        fetcher.fetch(source, timeout_seconds=deadline - time.monotonic(), referer=referer)
        if isinstance(source, str) else source
        for source in sources
    ]


def one_appkey(values: list[str | None]) -> str | None:
    """The key, wherever it was given; places that disagree are a bad request."""
    given = {value.strip() for value in values if value and value.strip()}
    if len(given) > 1:
        raise InvalidRequest("the appkey was given in more than one place with different values")
    return given.pop() if given else None
