"""The one request every dialect reads its own into: what to read, how, and on whose key."""

from __future__ import annotations

from dataclasses import dataclass

from ocr_api.keys.access import Caller
from ocr_api.keys.signature import SignedRequest
from ocr_api.ocr import RecognitionOptions
from ocr_api.service.uploads import UploadRef


@dataclass(frozen=True)
class ImageUrl:
    """An image to download first."""

    url: str


# Where one image comes from: its bytes as sent, a URL, or a file the key uploaded before. A new
# kind is added here, in the source loader, and in the dialects that name it.
ImageSource = bytes | ImageUrl | UploadRef

__all__ = ["Caller", "ImageSource", "ImageUrl", "OcrRequest", "SignedRequest", "UploadRef"]


@dataclass(frozen=True)
class OcrRequest:
    # The API the key must be allowed on.
    api: str
    # Whose request it is: the appkey it gave, or its TC3 signature.
    caller: Caller
    # One entry per image; each is charged as one call.
    images: tuple[ImageSource, ...]
    options: RecognitionOptions = RecognitionOptions()
    # Sent as Referer when image URLs are downloaded.
    referer: str | None = None
    # An image without text is an error (NoTextFound), not an empty result.
    text_required: bool = False
