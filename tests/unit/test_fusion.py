"""Fusing two readings of a page: regions by overlapping boxes, the better reading per region,
the order of columns or of rows, lines of a turned page placed on the upright page; and how
PP-OCR judges a page's turn from its own lines."""

from __future__ import annotations

from ocr_api.ocr.fusion import FusionModel, fused, in_columns, regions, upright_box
from ocr_api.ocr.result import BoundingBox, RecognitionResult, TextLine

# A model that always prefers PP-OCR's reading and keeps every line found alone.
DEEP_ALWAYS = FusionModel(
    prefer_deep=(9.0, 0, 0, 0, 0, 0), keep_tesseract_alone=(9.0, 0, 0, 0, 0), keep_deep_alone=(9.0, 0, 0, 0, 0)
)


def at(
    text: str,
    left: int,
    top: int,
    width: int,
    height: int = 20,
    engine: str = "tesseract",
    block: int = 1,
    confidence: float = 0.9,
) -> TextLine:
    box = BoundingBox(left, top, width, height)
    return TextLine(text, box, confidence, block, 1, 1, (), box.corners, engine)


def page(lines: list[TextLine], angle: float = 0.0) -> RecognitionResult:
    return RecognitionResult(tuple(lines), 1000, 1000, "eng", angle)


def test_a_tight_box_and_a_padded_one_are_one_place_and_a_long_line_joins_two_short_ones():
    tesseract = [at("$2.70 1 $2.70", 336, 559, 314, 13)]
    deep = [
        at("$2.70", 328, 550, 46, 29, "ppocr"),
        at("$2.70", 611, 550, 46, 29, "ppocr"),
        at("elsewhere", 300, 700, 100, 20, "ppocr"),
    ]
    assert sorted((r.tesseract, r.deep) for r in regions(tesseract, deep)) == [((), (2,)), ((0,), (0, 1))]


def test_side_by_side_blocks_of_prose_are_columns_and_short_rows_are_not():
    prose = "a line of prose, long enough"
    left = [at(prose, 50, 100 + 30 * k, 400, block=1) for k in range(4)]
    right = [at(prose, 550, 100 + 30 * k, 400, block=2) for k in range(4)]
    assert in_columns(left + right, 0.0, (1000, 1000))
    items = [at("Vegetables", 50, 100 + 30 * k, 200, block=1) for k in range(4)]
    prices = [at("$5.50", 800, 100 + 30 * k, 60, block=2) for k in range(4)]
    assert not in_columns(items + prices, 0.0, (1000, 1000))


def test_columns_keep_tesseracts_order_and_rows_ppocrs():
    prose = "a line of prose, long enough"
    tesseract = [at(f"L{k} {prose}", 50, 100 + 30 * k, 400, block=1) for k in range(3)] + [
        at(f"R{k} {prose}", 550, 100 + 30 * k, 400, block=2) for k in range(3)
    ]
    # PP-OCR reads across the columns, row by row
    deep = [
        at(line.text.upper(), line.box.left, line.box.top, line.box.width, engine="ppocr")
        for k in range(3)
        for line in (tesseract[k], tesseract[3 + k])
    ]
    result = fused(page(tesseract), deep, 0.0, DEEP_ALWAYS)
    assert [line.text[:2] for line in result.lines] == ["L0", "L1", "L2", "R0", "R1", "R2"]
    assert {line.engine for line in result.lines} == {"ppocr"}
    # A receipt's rows (short lines in side-by-side blocks) stay in PP-OCR's order
    items = [at(f"Item {k}", 50, 100 + 30 * k, 200, block=1) for k in range(3)]
    prices = [at(f"${k}.00", 800, 100 + 30 * k, 60, block=2) for k in range(3)]
    deep = [
        at(line.text, line.box.left, line.box.top, line.box.width, engine="ppocr")
        for k in range(3)
        for line in (items[k], prices[k])
    ]
    result = fused(page(items + prices), deep, 0.0, DEEP_ALWAYS)
    assert [line.text for line in result.lines] == ["Item 0", "$0.00", "Item 1", "$1.00", "Item 2", "$2.00"]


def test_where_the_engines_disagree_on_the_turn_tesseracts_columns_count_only_if_it_is_sure():
    # GIVEN two side-by-side blocks of long lines Tesseract read as the page stands, and PP-OCR's
    # rows across them, read after it judged the page turned a quarter
    prose = "a line of prose, long enough"

    def tesseract_at(confidence: float) -> list[TextLine]:
        return [at(f"L{k} {prose}", 50, 100 + 30 * k, 400, 20, "tesseract", 1, confidence) for k in range(3)] + [
            at(f"R{k} {prose}", 550, 100 + 30 * k, 400, 20, "tesseract", 2, confidence) for k in range(3)
        ]

    unsure, sure = tesseract_at(0.4), tesseract_at(0.9)
    deep = [
        at(line.text.upper(), line.box.left, line.box.top, line.box.width, engine="ppocr")
        for k in range(3)
        for line in (sure[k], sure[3 + k])
    ]
    rows, columns = [line.text[:2] for line in deep], ["L0", "L1", "L2", "R0", "R1", "R2"]
    # WHEN Tesseract was unsure of its reading THEN the order is PP-OCR's, as it read the page upright
    assert [line.text[:2] for line in fused(page(unsure), deep, 90.0, DEEP_ALWAYS).lines] == rows
    # WHEN Tesseract was sure of it (PP-OCR misjudged the turn) THEN the order is its columns'
    assert [line.text[:2] for line in fused(page(sure), deep, 90.0, DEEP_ALWAYS).lines] == columns
    # and where they agree, a skew of a few degrees either way being the same turn, the columns'
    assert [line.text[:2] for line in fused(page(unsure, angle=-2.5), deep, 0.0, DEEP_ALWAYS).lines] == columns


def test_each_region_keeps_the_reading_its_model_judges_better_and_names_its_engine():
    # GIVEN a model that trusts the engine surer of its reading and the one that read more, and
    # keeps a lone line where it is sure (the shipped model, fitted on the evaluation set,
    # trusts PP-OCR everywhere: docs/engines.md)
    judging = FusionModel(
        prefer_deep=(0.0, -4.0, 4.0, -3.0, 0.0, 0.0),
        keep_tesseract_alone=(-5.0, 8.0, 0.0, 0.0, 0.0),
        keep_deep_alone=(-5.0, 8.0, 0.0, 0.0, 0.0),
    )
    # AND Tesseract reading speckle in one place and a whole line in another, PP-OCR the first
    # place well, only a scrap of the second, and a line Tesseract missed
    tesseract = [
        at("~.,;:'|_ !i", 10, 10, 88, confidence=0.35),
        at("Total amount due 42.00", 10, 60, 176, confidence=0.96),
    ]
    deep = [
        at("Invoice 2024", 10, 10, 96, engine="ppocr", confidence=0.98),
        at("42", 160, 60, 16, engine="ppocr", confidence=0.9),
        at("Thank you", 10, 110, 72, engine="ppocr", confidence=0.97),
    ]
    # WHEN they are fused THEN each place keeps the better reading, in reading order
    result = fused(page(tesseract), deep, 0.0, judging)
    assert [(line.text, line.engine) for line in result.lines] == [
        ("Invoice 2024", "ppocr"),
        ("Total amount due 42.00", "tesseract"),
        ("Thank you", "ppocr"),
    ]


def test_a_line_only_one_engine_found_goes_after_the_line_above_it_on_the_upright_page():
    # GIVEN a page whose text stood turned a quarter clockwise: upright rows are columns of the
    # upload, the first at the right
    first = at("first", 900, 50, 20, 300, "ppocr")
    third = at("third", 840, 50, 20, 300, "ppocr")
    second = at("second", 870, 50, 20, 300, "tesseract")
    result = fused(
        page([second], angle=90.0),
        [first, third],
        90.0,
        FusionModel((9.0, 0, 0, 0, 0, 0), (9.0, 0, 0, 0, 0), (9.0, 0, 0, 0, 0)),
    )
    assert [line.text for line in result.lines] == ["first", "second", "third"]
    assert result.angle == 90.0


def test_upright_box_undoes_each_quarter_turn():
    box = BoundingBox(100, 200, 30, 40)  # on a 1000 x 500 upload
    assert upright_box(box, 0.0, (1000, 500)) == box
    assert upright_box(box, 90.0, (1000, 500)) == BoundingBox(200, 870, 40, 30)
    assert upright_box(box, 180.0, (1000, 500)) == BoundingBox(870, 260, 30, 40)
    assert upright_box(box, -90.0, (1000, 500)) == BoundingBox(260, 100, 40, 30)


def test_a_pages_turn_is_judged_from_its_line_shapes_and_their_directions():
    import numpy as np

    from ocr_api.ocr.ppocr import quarter_turn

    def box(width: float, height: float):
        return np.array([[0, 0], [width, 0], [width, height], [0, height]], dtype=float)

    wide, tall = [box(300, 30)] * 5, [box(30, 300)] * 5
    assert quarter_turn(wide, [("0", 0.99)] * 5) == 0
    assert quarter_turn(wide, [("180", 0.99)] * 5) == 180
    # Tall lines stood on their side counter-clockwise read upright: the text turned clockwise
    assert quarter_turn(tall, [("0", 0.99)] * 5) == 90
    assert quarter_turn(tall, [("180", 0.99)] * 5) == 270
    # Unsure verdicts and a few stray lines decide nothing
    assert quarter_turn(wide, [("180", 0.6)] * 5) == 0
    assert quarter_turn(wide + tall[:1], [("0", 0.99)] * 6) == 0


def test_wide_lines_are_turned_over_together_as_most_of_them_say_and_standing_ones_as_the_classifier_says():
    import numpy as np

    from ocr_api.ocr.ppocr import lines_the_page_way_up

    def box(width: float, height: float):
        return np.array([[0, 0], [width, 0], [width, height], [0, height]], dtype=float)

    def cut_out(seed: int):
        return np.arange(seed, seed + 2 * 6 * 3, dtype=np.uint8).reshape(2, 6, 3)

    cut_outs = [cut_out(index * 50) for index in range(4)]
    turned_over = [np.rot90(line, 2) for line in cut_outs]
    boxes = [box(300, 30)] * 3 + [box(30, 300)]

    # One wide line judged upside down on an upright page is read as it stands; the standing
    # line is read as the classifier turned it (here the classifier turned every line over)
    directions = [("0", 0.99), ("180", 0.99), ("0", 0.99), ("180", 0.99)]
    read = lines_the_page_way_up(cut_outs, turned_over, boxes, directions)
    assert all(np.array_equal(a, b) for a, b in zip(read[:3], cut_outs[:3]))
    assert np.array_equal(read[3], turned_over[3])
    # Most wide lines upside down: every wide line is turned over, the unsure one too
    directions = [("180", 0.99), ("180", 0.99), ("0", 0.5), ("0", 0.99)]
    read = lines_the_page_way_up(cut_outs, cut_outs, boxes, directions)
    assert all(np.array_equal(a, b) for a, b in zip(read[:3], turned_over[:3]))
    assert np.array_equal(read[3], cut_outs[3])
