"""A prepared page and its lines, sent to an engine in another process or function and back.

The page travels compressed and no larger than the engine reads it, so that it fits Lambda
Invoke's 6 MB payload with room to spare; the lines come back as JSON and are scaled to the
page as it was prepared.
"""

from __future__ import annotations

import io
from dataclasses import asdict, replace

from PIL import Image

from ocr_api.ocr.images import PreparedImage
from ocr_api.ocr.result import BoundingBox, TextLine, Word

# Base64 makes 4 bytes of 3; the rest of the request is a few hundred bytes.
MAX_PAGE_BYTES = 4 * 1024 * 1024
# Photos bigger than this travel as JPEG: as PNG they are several times larger and slower to
# make, and their grain is not text. Smaller pages, and every page that is not a photo, go as
# PNG, pixel for pixel (a small JPEG compressed again loses strokes).
_PHOTO_AS_JPEG_PIXELS = 2_000_000
_FORMATS = ("PNG", "JPEG")


def encode_page(page: PreparedImage, longest_side: int, max_bytes: int = MAX_PAGE_BYTES) -> tuple[bytes, float]:
    """The page as PNG (or JPEG, for big photos and for pages PNG cannot fit in ``max_bytes``),
    scaled down to ``longest_side``; and the scale it was sent at."""
    image = page.image.convert("L") if page.image.mode == "1" else page.image
    scale = min(1.0, longest_side / max(image.size))
    if scale < 1.0:
        size = (max(1, round(image.width * scale)), max(1, round(image.height * scale)))
        image = image.resize(size, Image.Resampling.BILINEAR, reducing_gap=2.0)
    if page.source_format != "JPEG" or image.width * image.height <= _PHOTO_AS_JPEG_PIXELS:
        data = _encoded(image, "PNG", compress_level=1)
        if len(data) <= max_bytes:
            return data, scale
    for quality in (92, 85, 75, 60):
        data = _encoded(image, "JPEG", quality=quality)
        if len(data) <= max_bytes:
            return data, scale
    raise ValueError("the page cannot be compressed to the size allowed")


def decode_page(data: bytes, max_pixels: int) -> PreparedImage:
    """A page ``encode_page`` made; ``ValueError`` for anything else."""
    try:
        image = Image.open(io.BytesIO(data), formats=_FORMATS)
        if image.width * image.height > max_pixels:
            raise ValueError("the page has more pixels than an encoded page may")
        image.load()
    except (OSError, Image.DecompressionBombError) as err:
        raise ValueError("the page does not decode") from err
    return PreparedImage(image, image.format, None)


def lines_to_json(lines: list[TextLine]) -> list[dict]:
    return [asdict(line) for line in lines]


def lines_from_json(documents: list[dict]) -> list[TextLine]:
    return [line_from_json(document) for document in documents]


def line_from_json(document: dict) -> TextLine:
    def box(values: dict) -> BoundingBox:
        return BoundingBox(**values)

    def quad(points: list) -> tuple:
        return tuple(tuple(point) for point in points)

    return TextLine(**{
        **document, "box": box(document["box"]), "quad": quad(document["quad"]),
        "words": tuple(
            Word(**{**word, "box": box(word["box"]), "quad": quad(word["quad"])}) for word in document["words"]
        ),
    })


def scaled_lines(lines: list[TextLine], factor: float) -> list[TextLine]:
    """The lines with every coordinate multiplied by ``factor``."""
    if factor == 1.0:
        return lines

    def point(x: int, y: int) -> tuple[int, int]:
        return round(x * factor), round(y * factor)

    def box(b: BoundingBox) -> BoundingBox:
        left, top = point(b.left, b.top)
        right, bottom = point(b.right, b.bottom)
        return BoundingBox(left, top, right - left, bottom - top)

    def quad(q) -> tuple:
        return tuple(point(x, y) for x, y in q)

    return [
        replace(line, box=box(line.box), quad=quad(line.quad), words=tuple(
            replace(word, box=box(word.box), quad=quad(word.quad)) for word in line.words
        ))
        for line in lines
    ]


def _encoded(image: Image.Image, format: str, **options) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format=format, **options)
    return buffer.getvalue()
