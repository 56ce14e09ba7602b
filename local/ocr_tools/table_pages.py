"""Table pages made here, with their exact structure, to measure table recognition: a title, a
table (ruled in full, ruled between header and body only, or not ruled at all; some with a
header cell across columns and a cell down rows) and a note under it.

    python -m ocr_tools.table_pages OUT_DIR [--seed 11] [--count 16] [--cjk-font PATH]

Each page is ``table_<nn>.png`` (or ``.jpg``, photographed) beside ``table_<nn>.json``: the
table's ``rows``, ``columns`` and ``cells`` (row, column, row_span, column_span, text), as
``ocr_api.ocr.tables.Table`` holds them. Latin text is set in the DejaVu fonts (Debian's
``fonts-dejavu-core``); Chinese needs a CJK font (``--cjk-font``, e.g. Debian's
``fonts-wqy-microhei``), without which the pages are English only, as the tool says.
"""

from __future__ import annotations

import argparse
import json
import random
from dataclasses import asdict
from pathlib import Path

from PIL import Image, ImageDraw, ImageFilter, ImageFont

from ocr_api.ocr.tables import Table, TableCell

FONTS = Path("/usr/share/fonts/truetype/dejavu")
LATIN_FACES = ("DejaVuSans.ttf", "DejaVuSerif.ttf", "DejaVuSansCondensed.ttf")
DEFAULT_CJK_FONT = Path("/usr/share/fonts/truetype/wqy/wqy-microhei.ttc")
RULINGS = ("grid", "header", "none")

ENGLISH_HEADERS = ("Item", "Qty", "Unit price", "Amount", "Date", "Region", "Status", "Code", "Owner", "Total")
CHINESE_HEADERS = ("名称", "数量", "单价", "金额", "日期", "地区", "状态", "编号", "负责人", "合计")
ENGLISH_WORDS = ("Coffee", "Green tea", "Bagel", "Paper A4", "Toner", "Stapler", "Cable", "Desk lamp", "Notebook")
CHINESE_WORDS = ("咖啡", "绿茶", "面包", "打印纸", "墨盒", "订书机", "数据线", "台灯", "笔记本", "北京", "上海")
GROUPS = (("Q1", "第一季度"), ("Q2", "第二季度"), ("Sales", "销售"), ("Stock", "库存"))


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("out", type=Path)
    parser.add_argument("--seed", type=int, default=11)
    parser.add_argument("--count", type=int, default=16)
    parser.add_argument("--cjk-font", type=Path, default=DEFAULT_CJK_FONT)
    args = parser.parse_args(argv)
    if not FONTS.is_dir():
        raise SystemExit(f"needs the DejaVu fonts in {FONTS}")
    cjk_font = args.cjk_font if args.cjk_font.is_file() else None
    if cjk_font is None:
        print(f"no CJK font at {args.cjk_font}: the tables are English only")
    made = generate(args.out, random.Random(args.seed), args.count, cjk_font)
    print(f"{made} table pages in {args.out}")


def generate(out: Path, rng: random.Random, count: int, cjk_font: Path | None) -> int:
    out.mkdir(parents=True, exist_ok=True)
    for number in range(1, count + 1):
        chinese = cjk_font is not None and number % 2 == 0
        ruling = RULINGS[(number - 1) % len(RULINGS)]
        table = random_table(rng, chinese, spans=number % 4 in (1, 2))
        image = draw_page(table, rng, ruling, cjk_font if chinese else None)
        stem = out / f"table_{number:02d}"
        if number % 5 == 0:
            _photographed(image, rng).save(stem.with_suffix(".jpg"), quality=85)
        else:
            image.save(stem.with_suffix(".png"))
        document = {"ruling": ruling, **asdict(table)}
        stem.with_suffix(".json").write_text(json.dumps(document, ensure_ascii=False, indent=1) + "\n", "utf-8")
    return count


def random_table(rng: random.Random, chinese: bool, spans: bool) -> Table:
    """A header row and 3-8 body rows of items, numbers and amounts; with ``spans``, a group
    header across two columns over a second header row, and the first column's first value
    down two rows."""
    columns = rng.randint(3, 5)
    body_rows = rng.randint(3, 8)
    headers = list(rng.sample(CHINESE_HEADERS if chinese else ENGLISH_HEADERS, columns))
    words = CHINESE_WORDS if chinese else ENGLISH_WORDS
    cells: list[TableCell] = []
    row = 0
    if spans:
        group = GROUPS[rng.randrange(len(GROUPS))][1 if chinese else 0]
        # The first column and those right of the group stand in both header rows as one cell.
        cells.append(TableCell(0, 0, headers[0], row_span=2))
        cells.append(TableCell(0, 1, group, column_span=2))
        cells += [TableCell(0, column, headers[column], row_span=2) for column in range(3, columns)]
        cells += [TableCell(1, column, headers[column]) for column in (1, 2)]
        row = 2
    else:
        cells += [TableCell(0, column, text) for column, text in enumerate(headers)]
        row = 1
    down = spans and body_rows >= 4
    for index in range(body_rows):
        for column in range(columns):
            if down and column == 0 and index == 1:
                continue  # covered by the cell above
            text = _value(rng, column, words)
            row_span = 2 if down and column == 0 and index == 0 else 1
            cells.append(TableCell(row + index, column, text, row_span=row_span))
    return Table(row + body_rows, columns, tuple(cells))


def _value(rng: random.Random, column: int, words: tuple[str, ...]) -> str:
    if column == 0:
        return rng.choice(words)
    kind = rng.choice(("count", "money", "date", "code"))
    if kind == "count":
        return str(rng.randint(1, 250))
    if kind == "money":
        return f"{rng.randint(1, 9999)}.{rng.randint(0, 99):02d}"
    if kind == "date":
        return f"2026-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}"
    return f"{rng.choice('ABCDEFGH')}{rng.randint(100, 999)}"


def draw_page(table: Table, rng: random.Random, ruling: str, cjk_font: Path | None) -> Image.Image:
    size = rng.randint(20, 26)
    font = ImageFont.truetype(str(cjk_font or FONTS / rng.choice(LATIN_FACES)), size)
    padding_x, padding_y = rng.randint(12, 24), rng.randint(8, 14)
    widths = [0] * table.columns
    for cell in table.cells:
        if cell.column_span == 1:
            widths[cell.column] = max(widths[cell.column], font.getbbox(cell.text or " ")[2] + 2 * padding_x)
    widths = [max(width, 60) for width in widths]
    row_height = size + 2 * padding_y
    title = "销售明细表" if cjk_font else "Sales by item"
    note = "单位：元" if cjk_font else "All amounts in EUR."
    margin = 60
    page_width = margin * 2 + sum(widths)
    table_top = margin + size * 3
    page_height = table_top + row_height * table.rows + size * 4 + margin
    image = Image.new("RGB", (page_width, page_height), "white")
    draw = ImageDraw.Draw(image)
    draw.text((margin, margin), title, fill="black", font=font)
    lefts = [margin + sum(widths[:column]) for column in range(table.columns + 1)]
    tops = [table_top + row_height * row for row in range(table.rows + 1)]
    for cell in table.cells:
        left, right = lefts[cell.column], lefts[cell.column + cell.column_span]
        top, bottom = tops[cell.row], tops[cell.row + cell.row_span]
        if ruling == "grid":
            draw.rectangle((left, top, right, bottom), outline="black", width=1)
        text_width = font.getbbox(cell.text or " ")[2]
        x = left + padding_x if cell.column == 0 else (left + right - text_width) / 2
        draw.text((x, (top + bottom - size) / 2), cell.text, fill="black", font=font)
    if ruling == "header":
        header_rows = max(cell.row + cell.row_span for cell in table.cells if cell.row == 0)
        for y, width in ((tops[0], 2), (tops[header_rows], 1), (tops[-1], 2)):
            draw.line((lefts[0], y, lefts[-1], y), fill="black", width=width)
    draw.text((margin, tops[-1] + size * 1.5), note, fill="black", font=font)
    return image


def _photographed(image: Image.Image, rng: random.Random) -> Image.Image:
    """A slight turn, blur and uneven light, as a phone photo of a printed page."""
    turned = image.rotate(rng.uniform(-1.5, 1.5), expand=True, fillcolor="white", resample=Image.Resampling.BICUBIC)
    blurred = turned.filter(ImageFilter.GaussianBlur(0.8))
    shade = Image.linear_gradient("L").resize(blurred.size).point(lambda value: 235 + value // 12)
    return Image.composite(blurred, Image.new("RGB", blurred.size, (90, 90, 90)), shade)


if __name__ == "__main__":
    main()
