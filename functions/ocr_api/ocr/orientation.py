"""Turning a page upright: quarter turns from the engine's orientation detection, then deskew.

Both decisions are made on a small copy (detection costs seconds on a full page, a fraction of
a second on the copy); the corrections are applied to the full page and recorded in the
``PageTransform`` so boxes map back onto the upload.
"""

from __future__ import annotations

from collections.abc import Callable

from PIL import Image

from ocr_api.ocr.engine import Orientation
from ocr_api.ocr.geometry import PageTransform
from ocr_api.ocr.images import PreparedImage

# Long side of the copy used for decisions: text stays legible for orientation detection.
DECISION_SIDE = 1600
# Below this Tesseract's orientation guess is no better than leaving the page alone.
MIN_ORIENTATION_CONFIDENCE = 1.5
MAX_SKEW_DEGREES = 25.0
# Skews smaller than this do not trouble Tesseract; correcting them only costs a resample.
MIN_SKEW_DEGREES = 0.4
MIN_SKEW_SIDE = 100

# Each clockwise turn of the text, and the counter-clockwise turn that undoes it.
QUARTER_TURNS = {90: Image.Transpose.ROTATE_90, 180: Image.Transpose.ROTATE_180, 270: Image.Transpose.ROTATE_270}


def make_upright(
    page: PreparedImage,
    transform: PageTransform,
    detect_orientation: Callable[[PreparedImage], Orientation],
) -> tuple[PreparedImage, PageTransform, float]:
    """Returns the corrected page, its transform, and the clockwise angle the text stood at."""
    orientation = detect_orientation(_small_copy(page))
    turn = orientation.degrees if orientation.confidence >= MIN_ORIENTATION_CONFIDENCE else 0
    if turn:
        # The text stands turned clockwise by `turn`: a counter-clockwise turn undoes it.
        before = page.image.size
        page = page.replaced(page.image.transpose(QUARTER_TURNS[turn]))
        transform = transform.turned(turn, before, page.image.size)
    # A strip a line or two high has no lines to line up: its skew cannot be measured.
    skew = estimate_skew(page.image) if min(page.image.size) >= MIN_SKEW_SIDE else 0.0
    if abs(skew) >= MIN_SKEW_DEGREES:
        before = page.image.size
        # Bilevel pixels cannot be interpolated: a turned scan becomes grey.
        image = page.image.convert("L") if page.image.mode == "1" else page.image
        page = page.replaced(image.rotate(skew, resample=Image.Resampling.BILINEAR, expand=True, fillcolor="white"))
        transform = transform.turned(skew, before, page.image.size)
    else:
        skew = 0.0
    # Rounded before folding into (-180, 180]: 180.04 must read 180.0, never -180.0.
    angle = round((turn + skew) % 360, 1)
    return page, transform, round(angle - 360, 1) if angle > 180 else angle


def estimate_skew(image: Image.Image) -> float:
    """The counter-clockwise turn (degrees) that makes text lines horizontal.

    Projection profile: at the right angle, rows of ink and rows of paper alternate sharply, so
    the row sums vary most. Searched coarse then fine, on a small, binarised copy.
    """
    ink = _ink_mask(image)
    score = {}

    def sharpness(angle: float) -> float:
        if angle not in score:
            score[angle] = _profile_sharpness(ink.rotate(angle, resample=Image.Resampling.NEAREST))
        return score[angle]

    limit = int(MAX_SKEW_DEGREES)
    coarse = max(range(-limit, limit + 1), key=sharpness)
    fine = max((coarse + step / 10 for step in range(-10, 11)), key=sharpness)
    # A page without clear lines scores about the same at every angle: leave it alone.
    return round(fine, 1) if sharpness(fine) > sharpness(0) * 1.02 else 0.0


def _profile_sharpness(ink: Image.Image) -> float:
    # The mean of each row, computed in C by squeezing the image to one column.
    rows = ink.resize((1, ink.height), Image.Resampling.BOX).tobytes()
    return float(sum((b - a) ** 2 for a, b in zip(rows, rows[1:])))


def _ink_mask(image: Image.Image) -> Image.Image:
    small = image.convert("L")
    small.thumbnail((800, 800))
    histogram = small.histogram()
    threshold = _otsu_threshold(histogram)
    return small.point(lambda value: 255 if value < threshold else 0)


def _otsu_threshold(histogram: list[int]) -> int:
    total = sum(histogram)
    weighted_total = sum(value * count for value, count in enumerate(histogram))
    background = weighted_background = 0.0
    best, best_variance = 128, -1.0
    for value, count in enumerate(histogram):
        background += count
        if background == 0 or background == total:
            continue
        weighted_background += value * count
        foreground = total - background
        mean_background = weighted_background / background
        mean_foreground = (weighted_total - weighted_background) / foreground
        variance = background * foreground * (mean_background - mean_foreground) ** 2
        if variance > best_variance:
            best, best_variance = value, variance
    return best + 1


def _small_copy(page: PreparedImage) -> PreparedImage:
    image = page.image
    if max(image.size) <= DECISION_SIDE:
        return page
    if image.mode == "1":
        image = image.convert("L")
    scale = DECISION_SIDE / max(image.size)
    small = image.resize(
        (max(1, round(image.width * scale)), max(1, round(image.height * scale))), Image.Resampling.BOX
    )
    return PreparedImage(small, page.source_format, round(page.dpi * scale) if page.dpi else None)
