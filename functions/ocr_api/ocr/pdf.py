"""Rendering one page of a PDF at a resolution Tesseract reads well."""

from __future__ import annotations

import math
import re
import zlib

from PIL import Image

from ocr_api.errors import ImageTooManyPixels, InvalidRequest, UnsupportedImage

# Tesseract reads best at about 300 dpi; more costs time and adds nothing.
RENDER_DPI = 300
PDF_MAGIC = b"%PDF-"


def is_pdf(data: bytes) -> bool:
    # The header may follow up to 1 KiB of leading junk, as readers allow.
    return PDF_MAGIC in data[:1024]


def page_count(data: bytes) -> int:
    """How many pages the PDF has (PDFium reads its page tree, not the pages)."""
    document = _opened(data)
    try:
        pages = len(document)
    finally:
        document.close()
    if pages == 0:
        raise InvalidRequest("the PDF has no pages")
    return pages


def render_page(data: bytes, page_number: int, max_pixels: int, max_side: int) -> tuple[Image.Image, int]:
    """Page ``page_number`` (from 1) in greyscale, and the dpi it was rendered at."""
    import pypdfium2

    document = _opened(data)
    try:
        pages = len(document)
        if pages == 0:
            raise InvalidRequest("the PDF has no pages")
        if not 1 <= page_number <= pages:
            raise InvalidRequest(f"the PDF has {pages} page(s); page {page_number} does not exist")
        _check_inline_images(data, max_pixels)
        page = document[page_number - 1]
        _check_images(page, max_pixels)
        width_pt, height_pt = page.get_size()
        dpi = _render_dpi(width_pt, height_pt, max_pixels, max_side)
        if dpi < 50:
            raise ImageTooManyPixels(
                f"the PDF page is {width_pt / 72:.0f}x{height_pt / 72:.0f} inches; "
                "it cannot be rendered legibly within the pixel limit"
            )
        bitmap = page.render(scale=dpi / 72, grayscale=True, fill_color=(255, 255, 255, 255))
        return bitmap.to_pil().convert("L"), dpi
    except pypdfium2.PdfiumError:
        # The document opened, but the page's own objects are broken.
        raise UnsupportedImage(f"page {page_number} of the PDF is damaged and cannot be read") from None
    finally:
        document.close()


def _opened(data: bytes):
    import pypdfium2  # only PDF requests pay for loading PDFium

    try:
        return pypdfium2.PdfDocument(data)
    except pypdfium2.PdfiumError as err:
        # PDFium's last error outlives the call that set it (a PDF with no pages fails with
        # none of its own), so a password error counts only from a PDF that has encryption.
        if err.err_code == pypdfium2.raw.FPDF_ERR_PASSWORD and b"/Encrypt" in data:
            raise UnsupportedImage("the PDF is encrypted; send an unencrypted PDF") from None
        raise UnsupportedImage("the PDF is damaged or has no pages, and cannot be read") from None


# Form XObjects nest; PDFium's own limit on how deep it follows them.
_MAX_FORM_DEPTH = 15


def _check_images(page, max_pixels: int) -> None:
    """The pixel limit, applied to every image the page draws: rendering decodes each whole,
    however small it appears on the page. Read from the images' dictionaries, decoding none."""
    import pypdfium2.raw as pdfium_c

    for image in page.get_objects(filter=(pdfium_c.FPDF_PAGEOBJ_IMAGE,), max_depth=_MAX_FORM_DEPTH):
        width, height = image.get_px_size()
        if width * height > max_pixels:
            raise ImageTooManyPixels(
                f"the PDF page holds an image of {width}x{height} pixels; the limit is {max_pixels} pixels"
            )


# An inline image (BI /W .. /H .. ID <pixels> EI, inside a content stream) is decoded by PDFium
# as it loads the page, before any of the page's objects can be looked at: its size is read from
# the file's unfiltered or deflated streams first, within bounds (streams, bytes inflated, images)
# that keep the look cheap whatever the file. Another filter (ASCIIHex, LZW, ...) or an image past
# those bounds is left to the worker's memory cap and its time limit.
_SCAN_STREAMS = 256
_SCAN_BYTES = 4 * 1024 * 1024
_SCAN_IMAGES = 256
_STREAM_START = re.compile(rb"(?<!end)stream\r?\n")
_DEFLATED = re.compile(rb"/Filter\s*(?:/FlateDecode|/Fl|\[\s*/FlateDecode\s*\])(?![\w/])")
_INLINE_IMAGE_START = re.compile(rb"(?<![^\s\]>)}])BI\s")
_INLINE_IMAGE_DATA = re.compile(rb"\sID\s")
_INLINE_SIDE = re.compile(rb"/(W|Width|H|Height)\s+(\d{1,12})\b")


def _check_inline_images(data: bytes, max_pixels: int) -> None:
    """The pixel limit, applied to the inline images in the file's content streams."""
    for content in _content_streams(data):
        for count, start in enumerate(_INLINE_IMAGE_START.finditer(content)):
            if count == _SCAN_IMAGES:
                break
            header = content[start.end() : start.end() + 1024]
            end = _INLINE_IMAGE_DATA.search(header)
            sides = {key[:1]: int(value) for key, value in _INLINE_SIDE.findall(header[: end.start() if end else 0])}
            width, height = sides.get(b"W", 0), sides.get(b"H", 0)
            if width * height > max_pixels:
                raise ImageTooManyPixels(
                    f"the PDF page holds an image of {width}x{height} pixels; the limit is {max_pixels} pixels"
                )


def _content_streams(data: bytes):
    """The file's streams that are unfiltered or deflated, as they read (inflated), within the
    scan's bounds."""
    left = _SCAN_BYTES
    for count, stream in enumerate(_STREAM_START.finditer(data)):
        if count == _SCAN_STREAMS or left <= 0:
            return
        before = data[max(0, stream.start() - 1024) : stream.start()]
        dictionary = before[before.rfind(b"<<") :]
        if b"/Image" in dictionary or (b"/Filter" in dictionary and not _DEFLATED.search(dictionary)):
            continue  # an image's own pixels (``_check_images`` reads its size), or a filter not read here
        end = data.find(b"endstream", stream.end())
        raw = memoryview(data)[stream.end() : end if end >= 0 else len(data)][:left]
        try:
            content = zlib.decompressobj().decompress(raw, left) if b"/Filter" in dictionary else bytes(raw)
        except zlib.error:
            content = b""  # PDFium will say what is wrong with it
        # Bytes read and bytes inflated both count: the scan's work is bounded either way.
        left -= max(len(raw), len(content))
        yield content


def _render_dpi(width_pt: float, height_pt: float, max_pixels: int, max_side: int) -> int:
    width_in, height_in = width_pt / 72, height_pt / 72
    by_pixels = math.sqrt(max_pixels / max(width_in * height_in, 1e-6))
    by_side = max_side / max(width_in, height_in, 1e-6)
    return int(min(RENDER_DPI, by_pixels, by_side))
