"""Pages made here, with their exact ground truth, to judge the fusion on layouts it was not
fitted on: prose in two columns, receipts, chat screenshots, forms, and the same turned and
photographed.

    python -m ocr_tools.generated_pages OUT_DIR [--seed 7]

The text is the licence texts every Debian system carries (``/usr/share/common-licenses``),
set in the DejaVu fonts (Debian's ``fonts-dejavu-core``); Latin script only, as no CJK font is
on a default system. Each page is
``<layout>_<nn>.png`` or ``.jpg`` beside ``<layout>_<nn>.txt``, one drawn line per line in
reading order, as ``../shared/eval`` lays its folders out, so the benchmark's tools read it alike.
"""

from __future__ import annotations

import argparse
import io
import random
import re
from pathlib import Path

from PIL import Image, ImageDraw, ImageFilter, ImageFont

FONTS = Path("/usr/share/fonts/truetype/dejavu")
FACES = (
    "DejaVuSans.ttf",
    "DejaVuSerif.ttf",
    "DejaVuSansCondensed.ttf",
    "DejaVuSansMono.ttf",
    "DejaVuSerif-Bold.ttf",
    "DejaVuSans-Oblique.ttf",
)
TEXTS = Path("/usr/share/common-licenses")
ITEMS = (
    "Coffee",
    "Green tea",
    "Bagel",
    "Croissant",
    "Orange juice",
    "Muffin",
    "Sandwich",
    "Salad",
    "Soup of the day",
    "Sparkling water",
    "Cheesecake",
    "Fruit cup",
)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("out", type=Path)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--each", type=int, default=3, help="pages of each layout")
    args = parser.parse_args(argv)
    if not FONTS.is_dir() or not TEXTS.is_dir():
        raise SystemExit(f"needs the DejaVu fonts in {FONTS} and the licence texts in {TEXTS}")
    made = generate(args.out, random.Random(args.seed), args.each)
    print(f"{made} pages in {args.out}")


def generate(out: Path, rng: random.Random, each: int) -> int:
    out.mkdir(parents=True, exist_ok=True)
    sentences = _sentences()
    layouts = {"columns": _columns, "receipt": _receipt, "chat": _chat, "form": _form}
    made = 0
    for name, draw in layouts.items():
        for number in range(1, each + 1):
            image, lines = draw(rng, sentences)
            variant = (number - 1) % 3  # as drawn, turned, photographed
            if variant == 1:
                image = image.rotate(rng.choice((90, 180, 270)), expand=True, fillcolor="white")
            stem = out / f"{name}_{number:02d}"
            if variant == 2:
                _photographed(image, rng).save(stem.with_suffix(".jpg"), quality=80)
            else:
                image.save(stem.with_suffix(".png"))
            stem.with_suffix(".txt").write_text("\n".join(lines) + "\n", encoding="utf-8")
            made += 1
    return made


def _sentences() -> list[str]:
    words = []
    for name in ("Apache-2.0", "GPL-3", "LGPL-2.1", "MPL-2.0"):
        path = TEXTS / name
        if path.is_file():
            words += re.sub(r"[^A-Za-z0-9,.;:()' -]", " ", path.read_text(encoding="utf-8", errors="ignore")).split()
    return words


def _font(rng: random.Random, size: int) -> ImageFont.FreeTypeFont:
    return ImageFont.truetype(str(FONTS / rng.choice(FACES)), size)


def _wrapped(words: list[str], start: int, font, width: int, count: int) -> list[str]:
    lines, line, index = [], "", start
    while len(lines) < count:
        word = words[index % len(words)]
        index += 1
        candidate = f"{line} {word}".strip()
        if font.getlength(candidate) > width and line:
            lines.append(line)
            line = word
        else:
            line = candidate
    return lines


def _columns(rng: random.Random, words: list[str]) -> tuple[Image.Image, list[str]]:
    size = rng.choice((18, 20, 22))
    font = _font(rng, size)
    image = Image.new("L", (1240, 1000), 255)
    draw = ImageDraw.Draw(image)
    column, gap, rows = 540, 60, 24
    lines = []
    start = rng.randrange(len(words))
    for index, left in enumerate((50, 50 + column + gap)):
        text = _wrapped(words, start + index * 400, font, column, rows)
        for row, line in enumerate(text):
            draw.text((left, 60 + row * int(size * 1.6)), line, fill=0, font=font)
        lines += text
    return image, lines


def _receipt(rng: random.Random, words: list[str]) -> tuple[Image.Image, list[str]]:
    font = _font(rng, rng.choice((20, 22, 24)))
    items = rng.sample(ITEMS, 7)
    image = Image.new("L", (560, 120 + 40 * (len(items) + 5)), 250)
    draw = ImageDraw.Draw(image)
    lines = ["CORNER CAFE", "12 Market Street"]
    for row, line in enumerate(lines):
        draw.text((280, 30 + row * 36), line, fill=20, font=font, anchor="ma")
    top, total = 130, 0
    for row, item in enumerate(items):
        cents = rng.randrange(150, 1500)
        total += cents
        price = f"{cents // 100}.{cents % 100:02d}"
        draw.text((30, top + row * 40), item, fill=20, font=font)
        draw.text((530, top + row * 40), price, fill=20, font=font, anchor="ra")
        lines += [item, price]
    row = len(items) + 1
    draw.text((30, top + row * 40), "TOTAL", fill=20, font=font)
    draw.text((530, top + row * 40), f"{total // 100}.{total % 100:02d}", fill=20, font=font, anchor="ra")
    lines += ["TOTAL", f"{total // 100}.{total % 100:02d}"]
    return image, lines


def _chat(rng: random.Random, words: list[str]) -> tuple[Image.Image, list[str]]:
    font = _font(rng, rng.choice((22, 24)))
    image = Image.new("RGB", (900, 760), (236, 229, 221))
    draw = ImageDraw.Draw(image)
    lines = []
    start = rng.randrange(len(words))
    for row in range(8):
        text = " ".join(words[(start + row * 7 + k) % len(words)] for k in range(rng.randrange(3, 7)))
        width = font.getlength(text)
        left = 40 if row % 2 == 0 else 860 - width
        top = 40 + row * 88
        colour = (255, 255, 255) if row % 2 == 0 else (220, 248, 198)
        draw.rounded_rectangle((left - 16, top - 12, left + width + 16, top + 40), 14, fill=colour)
        draw.text((left, top), text, fill=(30, 30, 30), font=font)
        lines.append(text)
    return image, lines


def _form(rng: random.Random, words: list[str]) -> tuple[Image.Image, list[str]]:
    font = _font(rng, rng.choice((20, 22)))
    fields = [
        ("Name", "Alex Morgan"),
        ("Account", f"{rng.randrange(10**7, 10**8)}"),
        ("Date", f"2026-{rng.randrange(1, 13):02d}-{rng.randrange(1, 29):02d}"),
        ("Amount due", f"{rng.randrange(100, 9999)}.{rng.randrange(100):02d}"),
        ("Reference", " ".join(words[rng.randrange(len(words))] for _ in range(3))),
    ]
    image = Image.new("L", (900, 80 + 60 * len(fields)), 255)
    draw = ImageDraw.Draw(image)
    lines = []
    for row, (label, value) in enumerate(fields):
        top = 40 + row * 60
        draw.text((40, top), f"{label}:", fill=0, font=font)
        draw.rectangle((300, top - 8, 860, top + 36), outline=120)
        draw.text((312, top), value, fill=0, font=font)
        lines += [f"{label}:", value]
    return image, lines


def _photographed(image: Image.Image, rng: random.Random) -> Image.Image:
    """The page as a phone sees it: a slight perspective, uneven light, blur, grain, JPEG."""
    image = image.convert("RGB")
    width, height = image.size
    skew = rng.uniform(0.02, 0.05)
    image = image.transform(
        image.size,
        Image.Transform.PERSPECTIVE,
        (1, skew, -skew * height / 2, 0, 1, 0, 0, skew / width, 1),
        resample=Image.Resampling.BILINEAR,
        fillcolor=(200, 200, 200),
    )
    shade = Image.linear_gradient("L").resize(image.size).point(lambda v: 255 - v // 4)
    image = Image.composite(image, Image.new("RGB", image.size, (150, 140, 120)), shade)
    image = image.filter(ImageFilter.GaussianBlur(rng.uniform(0.6, 1.1)))
    noise = Image.effect_noise(image.size, 18).convert("RGB")
    image = Image.blend(image, noise, 0.08)
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", quality=70)
    return Image.open(io.BytesIO(buffer.getvalue()))


if __name__ == "__main__":
    main()
