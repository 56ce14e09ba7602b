"""Decoding uploaded bytes into an image Tesseract can read, with the limits checked first.

Limits are checked before any pixel is decoded: the byte count before opening, and the
dimensions from the header before ``load()``, so a decompression bomb costs nothing.
"""

from __future__ import annotations

import io
import warnings
from dataclasses import dataclass

from PIL import Image, ImageOps, UnidentifiedImageError

# Registering only the decoders we accept keeps other formats' parsers away from client bytes.
from PIL import (  # noqa: F401  (imported for their registration side effect)
    BmpImagePlugin,
    GifImagePlugin,
    JpegImagePlugin,
    PngImagePlugin,
    TiffImagePlugin,
    WebPImagePlugin,
)

from ocr_api.errors import EmptyImage, ImageTooManyBytes, ImageTooManyPixels, UnsupportedImage
from ocr_api.ocr import pdf

# Pillow decoders we accept. The JPEG one also opens camera JPEGs with a preview frame (MPO).
SUPPORTED_FORMATS = ("JPEG", "PNG", "BMP", "GIF", "WEBP", "TIFF")
SUPPORTED_FORMATS_TEXT = "JPEG, PNG, BMP, GIF, WebP or TIFF"

# Tesseract refuses images with a side over 16-bit signed range ("Image too large").
TESSERACT_MAX_SIDE = 32767

# Pillow warns from 89 megapixels; our own, lower limit is checked right after the header is
# read, so the warning is noise. Pillow's hard stop at twice that stays as a second guard.
warnings.filterwarnings("ignore", category=Image.DecompressionBombWarning)

_TRANSPARENT_MODES = {"RGBA", "LA", "PA", "RGBa", "La"}
_WIDE_GREY_MODES = {"I", "I;16", "I;16L", "I;16B", "I;16N", "F"}


@dataclass(frozen=True)
class ImageLimits:
    max_bytes: int
    max_pixels: int


@dataclass(frozen=True)
class PreparedImage:
    """An upright, 8-bit greyscale image on a white background."""

    image: Image.Image
    source_format: str
    dpi: int | None

    @property
    def width(self) -> int:
        return self.image.width

    def replaced(self, image: Image.Image) -> PreparedImage:
        """The same page with other pixels (turned, deskewed, a slice)."""
        return PreparedImage(image=image, source_format=self.source_format, dpi=self.dpi)

    @property
    def height(self) -> int:
        return self.image.height


def prepare_image(
    data: bytes,
    limits: ImageLimits,
    pdf_page: int | None = None,
    formats: tuple[str, ...] = SUPPORTED_FORMATS,
    still_only: bool = False,
) -> PreparedImage:
    """Decodes an upload; a PDF is accepted, as its page ``pdf_page``, only when that is given.

    ``formats`` narrows the accepted formats (Pillow names); ``still_only`` refuses animations.
    """
    if not data:
        raise EmptyImage("the image is empty (0 bytes)")
    if len(data) > limits.max_bytes:
        raise ImageTooManyBytes(
            f"the image is {len(data)} bytes; the limit is {limits.max_bytes} bytes"
        )
    if pdf_page is not None and pdf.is_pdf(data):
        page, dpi = pdf.render_page(data, pdf_page, limits.max_pixels, TESSERACT_MAX_SIDE)
        return PreparedImage(image=page, source_format="PDF", dpi=dpi)
    try:
        image = Image.open(io.BytesIO(data), formats=formats)
    except Image.DecompressionBombError:
        raise ImageTooManyPixels(_pixels_message(None, limits)) from None
    except UnidentifiedImageError:
        accepted = SUPPORTED_FORMATS_TEXT if formats == SUPPORTED_FORMATS else ", ".join(formats)
        raise UnsupportedImage(f"the file is not a supported image; send {accepted}") from None
    except (OSError, ValueError, SyntaxError) as err:
        raise UnsupportedImage("the image header is damaged and cannot be read") from err

    if still_only and getattr(image, "is_animated", False):
        raise UnsupportedImage("animated images are not accepted; send a still image")
    _check_dimensions(image, limits)
    try:
        # Multi-frame GIF, WebP and TIFF: Pillow opens on the first frame, which is what we read.
        image.load()
        upright = ImageOps.exif_transpose(image)
        grey = _to_grey_on_white(upright)
    except Image.DecompressionBombError:
        raise ImageTooManyPixels(_pixels_message(image, limits)) from None
    except (OSError, ValueError, SyntaxError, EOFError) as err:
        raise UnsupportedImage("the image data is truncated or corrupt and cannot be decoded") from err
    return PreparedImage(image=grey, source_format=image.format or "", dpi=_dpi(image))


def _check_dimensions(image: Image.Image, limits: ImageLimits) -> None:
    width, height = image.size
    if width * height > limits.max_pixels:
        raise ImageTooManyPixels(_pixels_message(image, limits))
    if max(width, height) > TESSERACT_MAX_SIDE:
        raise ImageTooManyPixels(
            f"the image is {width}x{height} pixels; no side may exceed {TESSERACT_MAX_SIDE} pixels"
        )


def _pixels_message(image: Image.Image | None, limits: ImageLimits) -> str:
    size = f"{image.width}x{image.height} pixels" if image is not None else "too many pixels"
    return f"the image is {size}; the limit is {limits.max_pixels} pixels"


def _to_grey_on_white(image: Image.Image) -> Image.Image:
    if image.mode in _WIDE_GREY_MODES:
        return _wide_grey_to_8bit(image)
    if image.mode == "P":
        image = image.convert("RGBA" if "transparency" in image.info else "RGB")
    elif image.mode in ("CMYK", "YCbCr", "LAB", "HSV"):
        image = image.convert("RGB")
    if image.mode in _TRANSPARENT_MODES:
        # Transparent pixels often hide black RGB values; text must not vanish into them.
        rgba = image.convert("RGBA")
        white = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        image = Image.alpha_composite(white, rgba)
    return image.convert("L")


def _wide_grey_to_8bit(image: Image.Image) -> Image.Image:
    # Pillow's convert("L") clips 16-bit values at 255, which turns most pages white.
    wide = image.convert("F")
    _, highest = wide.getextrema()
    if highest > 255:
        wide = wide.point(lambda value: value * (255.0 / highest))
    return wide.convert("L")


def _dpi(image: Image.Image) -> int | None:
    dpi = image.info.get("dpi")
    try:
        value = round(float(dpi[0]))
    except (TypeError, ValueError, IndexError):
        return None
    # Tesseract itself ignores header resolutions under 70 and estimates one instead.
    return value if 70 <= value <= 2400 else None
