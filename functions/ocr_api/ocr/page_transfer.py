"""A prepared page and its lines, sent to an engine in another process or function and back.

The page travels compressed and no larger than the engine reads it, so that it fits Lambda
Invoke's 6 MB payload with room to spare; the lines come back as JSON and are scaled onto the
image as uploaded.
"""

from __future__ import annotations

import io
from dataclasses import asdict

from PIL import Image

from ocr_api.ocr.geometry import PageTransform, grid_on_original, line_on_original
from ocr_api.ocr.images import PreparedImage
from ocr_api.ocr.result import BoundingBox, TextLine, Word
from ocr_api.ocr.table_structure import GridCell, TableGrid

# Base64 makes 4 bytes of 3; the rest of the request is a few hundred bytes.
MAX_PAGE_BYTES = 4 * 1024 * 1024
# Photos bigger than this travel as JPEG: as PNG they are several times larger and slower to
# make, and their grain is not text. Smaller pages, and every page that is not a photo, go as
# PNG, pixel for pixel (a small JPEG compressed again loses strokes).
_PHOTO_AS_JPEG_PIXELS = 2_000_000
_FORMATS = ("PNG", "JPEG")


def encode_page(
    page: PreparedImage, longest_side: int, max_bytes: int = MAX_PAGE_BYTES
) -> tuple[bytes, tuple[int, int]]:
    """The page as PNG (or JPEG, for big photos and for pages PNG cannot fit in ``max_bytes``),
    scaled down to ``longest_side``; and its size as sent."""
    image = page.image.convert("L") if page.image.mode == "1" else page.image
    scale = min(1.0, longest_side / max(image.size))
    if scale < 1.0:
        size = (max(1, round(image.width * scale)), max(1, round(image.height * scale)))
        image = image.resize(size, Image.Resampling.BILINEAR, reducing_gap=2.0)
    if page.source_format != "JPEG" or image.width * image.height <= _PHOTO_AS_JPEG_PIXELS:
        data = _encoded(image, "PNG", compress_level=1)
        if len(data) <= max_bytes:
            return data, image.size
    for quality in (92, 85, 75, 60):
        data = _encoded(image, "JPEG", quality=quality)
        if len(data) <= max_bytes:
            return data, image.size
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

    return TextLine(
        **{
            **document,
            "box": box(document["box"]),
            "quad": quad(document["quad"]),
            "words": tuple(
                Word(**{**word, "box": box(word["box"]), "quad": quad(word["quad"])}) for word in document["words"]
            ),
        }
    )


def lines_on_upload(lines: list[TextLine], sent_size: tuple[int, int], upload_size: tuple[int, int]) -> list[TextLine]:
    """Lines read on a page sent at ``sent_size``, on the image as uploaded."""
    transform = PageTransform(*upload_size).scaled_to(sent_size)
    return [line_on_original(line, transform) for line in lines]


def grids_to_json(grids: list[TableGrid]) -> list[dict]:
    return [asdict(grid) for grid in grids]


def grids_from_json(documents: list[dict]) -> list[TableGrid]:
    return [
        TableGrid(
            box=BoundingBox(**document["box"]),
            rows=int(document["rows"]),
            columns=int(document["columns"]),
            cells=tuple(GridCell(**{**cell, "box": BoundingBox(**cell["box"])}) for cell in document["cells"]),
            confidence=float(document["confidence"]),
            ruled=bool(document.get("ruled", False)),
        )
        for document in documents
    ]


def grids_on_upload(
    grids: list[TableGrid], sent_size: tuple[int, int], upload_size: tuple[int, int]
) -> list[TableGrid]:
    """Grids found on a page sent at ``sent_size``, on the image as uploaded."""
    transform = PageTransform(*upload_size).scaled_to(sent_size)
    return [grid_on_original(grid, transform) for grid in grids]


def _encoded(image: Image.Image, format: str, **options) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format=format, **options)
    return buffer.getvalue()
