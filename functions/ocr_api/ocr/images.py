"""Decoding uploaded bytes into an image Tesseract can read, with the limits checked first.

Limits are checked before any pixel is decoded: the byte count before opening, and the
dimensions from the header before ``load()``, so a decompression bomb costs nothing.
"""

from __future__ import annotations

import functools
import io
import math
import struct
import warnings
from dataclasses import dataclass

# The *ImagePlugin names are imported for their side effect: registering only the decoders we
# accept keeps other formats' parsers away from client bytes.
from PIL import (  # noqa: F401
    AvifImagePlugin,
    BmpImagePlugin,
    GifImagePlugin,
    Image,
    ImageOps,
    JpegImagePlugin,
    PngImagePlugin,
    TiffImagePlugin,
    UnidentifiedImageError,
    WebPImagePlugin,
)

from ocr_api.errors import EmptyImage, ImageTooManyBytes, ImageTooManyPixels, UnsupportedImage
from ocr_api.ocr import pdf

# Pillow decoders we accept. The JPEG one also opens camera JPEGs with a preview frame (MPO);
# HEIF is a phone's photo (HEIC: HEVC in a HEIF container, through the pillow-heif plugin),
# AVIF is AV1 in the same container (Pillow's own plugin).
SUPPORTED_FORMATS = ("JPEG", "PNG", "BMP", "GIF", "WEBP", "TIFF", "HEIF", "AVIF")
SUPPORTED_FORMATS_TEXT = "JPEG, PNG, BMP, GIF, WebP, TIFF, HEIC/HEIF or AVIF"
# HEIF and AVIF files share the ISO box format; the brands in their first box (ftyp) name the
# codec inside. A "mif1" file may hold either, so the compatible brands decide, not the first.
_HEVC_BRANDS = {b"heic", b"heix", b"heim", b"heis", b"hevc", b"hevx", b"hevm", b"hevs"}
_AV1_BRANDS = {b"avif", b"avis"}
_FTYP_MAX_BYTES = 256

# Tesseract refuses images with a side over 16-bit signed range ("Image too large").
TESSERACT_MAX_SIDE = 32767
# A page's longer side at most this many times its shorter: a single line of text 30 pixels high
# may be 3000 long. Beyond it no engine reads a line, and each spent seconds to minutes and
# gigabytes trying (Tesseract over 100 s on 32000x8; PP-OCR 4.2 GB on 2000x1).
MAX_ASPECT_RATIO = 100

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
    """An upright image on a white background: bilevel ("1"), 8-bit grey ("L") or "RGB".

    ``original_size`` is the upload's size once upright; ``image`` may be smaller when the
    upload was larger than Tesseract needs.
    """

    image: Image.Image
    source_format: str
    dpi: int | None
    original_size: tuple[int, int] | None = None

    def __post_init__(self) -> None:
        if self.original_size is None:
            object.__setattr__(self, "original_size", self.image.size)

    @property
    def width(self) -> int:
        return self.image.width

    def replaced(self, image: Image.Image) -> PreparedImage:
        """The same page with other pixels (turned, deskewed, a slice)."""
        return PreparedImage(image, self.source_format, self.dpi, self.original_size)

    @property
    def height(self) -> int:
        return self.image.height


def prepare_image(
    data: bytes,
    limits: ImageLimits,
    pdf_page: int | None = None,
    formats: tuple[str, ...] = SUPPORTED_FORMATS,
    still_only: bool = False,
    max_recognition_pixels: int | None = None,
) -> PreparedImage:
    """Decodes an upload; a PDF is accepted, as its page ``pdf_page``, only when that is given.

    ``formats`` narrows the accepted formats (Pillow names); ``still_only`` refuses animations.
    An image over ``max_recognition_pixels`` is scaled down to it: big photos carry far more
    pixels than their text needs, and Tesseract's time and memory grow with every one.
    """
    if not data:
        raise EmptyImage("the image is empty (0 bytes)")
    if len(data) > limits.max_bytes:
        raise ImageTooManyBytes(f"the image is {len(data)} bytes; the limit is {limits.max_bytes} bytes")
    source_format = sniff_format(data)
    if source_format == "PDF" and pdf_page is not None:
        page, dpi = pdf.render_page(data, pdf_page, limits.max_pixels, TESSERACT_MAX_SIDE)
        _check_shape(*page.size)
        return PreparedImage(image=page, source_format="PDF", dpi=dpi)
    accepted = SUPPORTED_FORMATS_TEXT if formats == SUPPORTED_FORMATS else ", ".join(formats)
    if source_format not in formats:
        raise UnsupportedImage(f"the file is not a supported image; send {accepted}")
    if source_format == "HEIF":
        _register_heif_decoder()
    try:
        image = Image.open(io.BytesIO(data), formats=(source_format,))
    except Image.DecompressionBombError:
        raise ImageTooManyPixels(_pixels_message(None, limits)) from None
    except UnidentifiedImageError:
        raise UnsupportedImage(f"the file is not a supported image; send {accepted}") from None
    except (OSError, ValueError, SyntaxError, RuntimeError) as err:
        raise UnsupportedImage("the image header is damaged and cannot be read") from err

    # A TIFF's further frames are pages and a HEIF's further images other shots, not animation:
    # the first page, or the photo's primary image, is read, as everywhere.
    if still_only and image.format not in ("TIFF", "HEIF") and getattr(image, "is_animated", False):
        raise UnsupportedImage("animated images are not accepted; send a still image")
    _check_dimensions(image, limits)
    declared_size = image.size
    scale = _recognition_scale(declared_size, max_recognition_pixels)
    dpi = _dpi(image)
    try:
        if scale < 1 and image.format == "JPEG":
            # Let the JPEG decoder skip detail we would throw away: less time, far less memory.
            image.draft("L", (math.ceil(image.width * scale), math.ceil(image.height * scale)))
        # Multi-frame GIF, WebP and TIFF: Pillow opens on the first frame, which is what we read.
        image.load()
        original_size = _upright_size(image, declared_size)
        # Turned only when EXIF says so: exif_transpose copies even an upright page.
        upright = ImageOps.exif_transpose(image) if _exif_orientation(image) != 1 else image
        page = _normalised(upright)
        if scale < 1:
            target = (max(1, round(original_size[0] * scale)), max(1, round(original_size[1] * scale)))
            if page.size != target:
                page = page.convert("L") if page.mode == "1" else page
                page = page.resize(target, Image.Resampling.BOX)
            dpi = round(dpi * scale) if dpi else None
    except Image.DecompressionBombError:
        raise ImageTooManyPixels(_pixels_message(image, limits)) from None
    except (OSError, ValueError, SyntaxError, EOFError, struct.error, RuntimeError) as err:
        # RuntimeError: what libheif and libavif (through their plugins) raise for a damaged file.
        raise UnsupportedImage("the image data is truncated or corrupt and cannot be decoded") from err
    return PreparedImage(page, source_format, dpi, original_size)


def sniff_format(data: bytes) -> str | None:
    """The one decision, from the bytes alone, of what an upload is, the same on every route.

    An image format's signature at byte 0 wins (Pillow's own test for each); only then is a PDF
    header looked for in the first KiB, where PDF readers accept it. A PNG whose text chunk says
    ``%PDF-`` is a PNG everywhere, and a file that starts as a PDF is a PDF everywhere.
    """
    iso_format = _iso_image_format(data[:_FTYP_MAX_BYTES])
    if iso_format:
        return iso_format
    head = data[:16]
    for name in SUPPORTED_FORMATS:
        if name in ("HEIF", "AVIF"):
            continue
        accepts = Image.OPEN[name][1]
        if accepts(head):
            return name
    return "PDF" if pdf.is_pdf(data) else None


def _iso_image_format(head: bytes) -> str | None:
    """HEIF or AVIF from the ftyp box that opens the file: its size, major brand, a minor
    version and the compatible brands, four bytes each."""
    if head[4:8] != b"ftyp":
        return None
    box_size = int.from_bytes(head[:4], "big")
    if box_size < 16 or box_size % 4:
        return None
    end = min(box_size, len(head))
    brands = {head[8:12]} | {head[offset : offset + 4] for offset in range(16, end - 3, 4)}
    if brands & _AV1_BRANDS:
        return "AVIF"
    if brands & _HEVC_BRANDS:
        return "HEIF"
    return None


@functools.cache
def _register_heif_decoder() -> None:
    """pillow-heif, registered on the first HEIF upload: the engines' processes that never
    decode uploads (the deep engine's function) neither load nor ship it. Only the primary
    image is decoded; thumbnails, depth and auxiliary images are not even listed."""
    import pillow_heif

    pillow_heif.register_heif_opener(thumbnails=False, depth_images=False, aux_images=False)


def _recognition_scale(size: tuple[int, int], max_pixels: int | None) -> float:
    pixels = size[0] * size[1]
    if not max_pixels or pixels <= max_pixels:
        return 1.0
    return math.sqrt(max_pixels / pixels)


def _exif_orientation(image: Image.Image) -> int:
    """EXIF's orientation tag: 1 is upright, 2 to 8 mirror or turn the page."""
    return image.getexif().get(0x0112, 1)


def _upright_size(image: Image.Image, size: tuple[int, int]) -> tuple[int, int]:
    # EXIF orientations 5 to 8 turn the image a quarter: width and height swap.
    return (size[1], size[0]) if _exif_orientation(image) in (5, 6, 7, 8) else size


def _check_dimensions(image: Image.Image, limits: ImageLimits) -> None:
    width, height = image.size
    if width * height > limits.max_pixels:
        raise ImageTooManyPixels(_pixels_message(image, limits))
    if max(width, height) > TESSERACT_MAX_SIDE:
        raise ImageTooManyPixels(
            f"the image is {width}x{height} pixels; no side may exceed {TESSERACT_MAX_SIDE} pixels"
        )
    _check_shape(width, height)


def _check_shape(width: int, height: int) -> None:
    if max(width, height) > MAX_ASPECT_RATIO * min(width, height):
        raise ImageTooManyPixels(
            f"the image is {width}x{height} pixels; its longer side may be at most {MAX_ASPECT_RATIO} times its shorter"
        )


def _pixels_message(image: Image.Image | None, limits: ImageLimits) -> str:
    size = f"is {image.width}x{image.height} pixels" if image is not None else "has too many pixels"
    return f"the image {size}; the limit is {limits.max_pixels} pixels"


def _normalised(image: Image.Image) -> Image.Image:
    """Bilevel, 8-bit grey or RGB on white: the three forms Tesseract reads as it reads files.

    Colour stays colour and bilevel stays bilevel: Tesseract's own conversion and thresholding
    then see what the plain ``tesseract`` command would, and a bilevel scan skips thresholding.
    """
    if image.mode in _WIDE_GREY_MODES:
        return _wide_grey_to_8bit(image)
    if image.mode in ("1", "L", "RGB"):
        return image
    if image.mode == "P":
        image = image.convert("RGBA" if "transparency" in image.info else "RGB")
    elif image.mode in ("CMYK", "YCbCr", "LAB", "HSV"):
        image = image.convert("RGB")
    if image.mode in _TRANSPARENT_MODES:
        # Transparent pixels often hide black RGB values; text must not vanish into them.
        # Pasted onto white through its own alpha, grey staying grey: two 8-bit planes more than
        # the page, so a 40-megapixel page fits in a worker's memory beside its models.
        if image.mode in ("LA", "La"):
            grey = image if image.mode == "LA" else image.convert("LA")
            flat = Image.new("L", grey.size, 255)
            flat.paste(grey.getchannel("L"), mask=grey.getchannel("A"))
        else:
            rgba = image if image.mode == "RGBA" else image.convert("RGBA")
            flat = Image.new("RGB", rgba.size, (255, 255, 255))
            flat.paste(rgba, mask=rgba.getchannel("A"))
        image = flat
    return image if image.mode in ("L", "RGB") else image.convert("RGB")


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
