"""Decoding and limits in the OCR core: every format, mode and bad input the API accepts."""

from __future__ import annotations

import pytest
from PIL import Image, ImageDraw

from helpers import data_image, encode
from ocr_api.errors import ImageTooLarge, InvalidRequest, UnsupportedImage
from ocr_api.ocr import ImageLimits, prepare_image
from ocr_api.ocr.images import sniff_format

LIMITS = ImageLimits(max_bytes=10 * 1024 * 1024, max_pixels=40_000_000)


def grey_at(prepared, point) -> int:
    return prepared.image.convert("L").getpixel(point)


def page_with_mark(mode: str = "RGB", background=(255, 255, 255)) -> Image.Image:
    """A 200x100 page with a black box at the left half: easy to find after decoding."""
    image = Image.new(mode, (200, 100), background)
    ImageDraw.Draw(image).rectangle((10, 10, 90, 90), fill=(0, 0, 0) if mode == "RGB" else 0)
    return image


@pytest.mark.parametrize(
    "format, options",
    [
        ("JPEG", {}),
        ("PNG", {}),
        ("BMP", {}),
        ("GIF", {}),
        ("WEBP", {"lossless": True}),
        ("TIFF", {}),
        ("HEIF", {"quality": 90}),
        ("AVIF", {"quality": 90}),
    ],
)
def test_each_supported_format_decodes_to_upright_grey(format, options):
    # GIVEN a page in a supported format
    data = encode(page_with_mark(), format, **options)
    # WHEN it is prepared
    prepared = prepare_image(data, LIMITS)
    # THEN it is a plain 8-bit image with the mark dark and the background light
    assert prepared.image.mode in ("L", "RGB")
    assert (prepared.width, prepared.height) == (200, 100)
    assert grey_at(prepared, (50, 50)) < 40
    assert grey_at(prepared, (150, 50)) > 215


@pytest.mark.parametrize("format", ["JPEG", "HEIF", "AVIF"])
def test_exif_orientation_is_honoured(format):
    # GIVEN a landscape photo whose EXIF says "rotate 90° clockwise to display" (HEIF and AVIF
    # writers store it as the container's own turn, which their decoders apply)
    exif = Image.Exif()
    exif[0x0112] = 6
    data = encode(page_with_mark(), format, exif=exif.tobytes())
    # WHEN prepared
    prepared = prepare_image(data, LIMITS)
    # THEN the image is turned upright: portrait, with the mark now at the top
    assert (prepared.width, prepared.height) == (100, 200)
    assert grey_at(prepared, (50, 50)) < 40
    assert grey_at(prepared, (50, 150)) > 215


def test_transparency_is_flattened_onto_white():
    # GIVEN black text pixels on a fully transparent *black* background (as eurotext_deskew)
    image = Image.new("RGBA", (200, 100), (0, 0, 0, 0))
    ImageDraw.Draw(image).rectangle((10, 10, 90, 90), fill=(0, 0, 0, 255))
    # WHEN prepared
    prepared = prepare_image(encode(image, "PNG"), LIMITS)
    # THEN the background becomes white, and the opaque mark stays black
    assert grey_at(prepared, (150, 50)) == 255
    assert grey_at(prepared, (50, 50)) == 0


def test_real_rgba_page_with_transparent_surround_is_readable():
    prepared = prepare_image(data_image("tess4j/eurotext_deskew.png"), LIMITS)
    assert grey_at(prepared, (0, 0)) == 255


def test_palette_with_transparency_is_flattened():
    image = page_with_mark().convert("P")
    image.info["transparency"] = image.getpixel((150, 50))
    prepared = prepare_image(encode(image, "PNG", transparency=image.info["transparency"]), LIMITS)
    assert grey_at(prepared, (150, 50)) == 255
    assert grey_at(prepared, (50, 50)) < 40


def test_16_bit_grey_keeps_its_contrast():
    # GIVEN a 16-bit PNG: mark at 0, background at 60000 (Pillow's plain convert clips this to 255)
    image = Image.new("I;16", (200, 100), 60000)
    ImageDraw.Draw(image).rectangle((10, 10, 90, 90), fill=0)
    prepared = prepare_image(encode(image, "PNG"), LIMITS)
    assert grey_at(prepared, (50, 50)) == 0
    assert grey_at(prepared, (150, 50)) == 255


def test_16_bit_grey_with_low_values_is_not_stretched_to_white():
    image = Image.new("I;16", (200, 100), 200)
    ImageDraw.Draw(image).rectangle((10, 10, 90, 90), fill=10)
    prepared = prepare_image(encode(image, "PNG"), LIMITS)
    assert grey_at(prepared, (150, 50)) == 200
    assert grey_at(prepared, (50, 50)) == 10


def test_cmyk_jpeg_is_converted():
    image = page_with_mark().convert("CMYK")
    prepared = prepare_image(encode(image, "JPEG"), LIMITS)
    assert grey_at(prepared, (50, 50)) < 60
    assert grey_at(prepared, (150, 50)) > 200


def test_animated_gif_reads_the_first_frame():
    first = page_with_mark().convert("P")
    second = Image.new("P", (200, 100), 0)
    data = encode(first, "GIF", save_all=True, append_images=[second], duration=100, loop=0)
    prepared = prepare_image(data, LIMITS)
    assert grey_at(prepared, (150, 50)) > 215


def test_multipage_tiff_reads_the_first_page():
    first = page_with_mark()
    second = Image.new("RGB", (200, 100), (0, 0, 0))
    data = encode(first, "TIFF", save_all=True, append_images=[second])
    prepared = prepare_image(data, LIMITS)
    assert grey_at(prepared, (150, 50)) > 215


def test_a_phone_photo_with_further_images_reads_its_primary_one_even_where_only_stills_are_read():
    # A HEIF's further images are other shots (a burst, an edit), not animation frames.
    data = encode(page_with_mark(), "HEIF", save_all=True, append_images=[Image.new("RGB", (200, 100), (0, 0, 0))])
    prepared = prepare_image(data, LIMITS, still_only=True)
    assert grey_at(prepared, (50, 50)) < 40
    assert grey_at(prepared, (150, 50)) > 215


def test_an_animated_avif_is_refused_where_only_stills_are_read():
    frames = [page_with_mark(), Image.new("RGB", (200, 100), (0, 0, 0))]
    data = encode(frames[0], "AVIF", save_all=True, append_images=frames[1:], duration=100)
    with pytest.raises(UnsupportedImage, match="animated images are not accepted"):
        prepare_image(data, LIMITS, still_only=True)
    assert grey_at(prepare_image(data, LIMITS), (150, 50)) > 215


def _ftyp(major: bytes, *compatible: bytes) -> bytes:
    size = 16 + 4 * len(compatible)
    return size.to_bytes(4, "big") + b"ftyp" + major + b"\0\0\0\0" + b"".join(compatible)


@pytest.mark.parametrize(
    "head, format",
    [
        (_ftyp(b"heic", b"mif1", b"heic"), "HEIF"),
        (_ftyp(b"mif1", b"mif1", b"heic"), "HEIF"),
        (_ftyp(b"avif", b"avif", b"mif1"), "AVIF"),
        (_ftyp(b"mif1", b"mif1", b"avif"), "AVIF"),
        (_ftyp(b"mif1", b"mif1", b"miaf"), None),
        (_ftyp(b"isom", b"isom", b"mp41"), None),
    ],
    ids=["heic", "mif1-holding-hevc", "avif", "mif1-holding-av1", "mif1-naming-no-codec", "mp4-video"],
)
def test_heif_and_avif_are_told_apart_by_the_brands_their_file_names(head, format):
    # A "mif1" container holds either codec: the compatible brands name which.
    assert sniff_format(head + b"\0" * 64) == format


@pytest.mark.parametrize("format", ["HEIF", "AVIF"])
def test_phone_photo_pixels_are_checked_from_the_header_before_decoding(format, monkeypatch):
    # GIVEN a photo over the pixel limit, and decoders that would fail the test if they ran
    data = encode(page_with_mark(), format)
    prepare_image(data, LIMITS)  # (the HEIF decoder is registered on first use)

    def decoded(_image):
        raise AssertionError("the pixels were decoded")

    monkeypatch.setattr(Image.OPEN[format][0], "load", decoded)
    # THEN it is refused from the size its header declares
    with pytest.raises(ImageTooLarge, match="200x100 pixels; the limit is 10000"):
        prepare_image(data, ImageLimits(LIMITS.max_bytes, max_pixels=10_000))


def test_resolution_from_the_header_is_kept_for_tesseract():
    assert prepare_image(data_image("tesseract-test/8071_093.3B.tif"), LIMITS).dpi == 300
    assert prepare_image(encode(page_with_mark(), "PNG"), LIMITS).dpi is None


def test_empty_bytes_are_a_bad_request():
    with pytest.raises(InvalidRequest, match="empty"):
        prepare_image(b"", LIMITS)


def test_more_bytes_than_the_limit_are_refused_before_decoding():
    limits = ImageLimits(max_bytes=1000, max_pixels=LIMITS.max_pixels)
    with pytest.raises(ImageTooLarge, match="1000 bytes"):
        prepare_image(b"\x89PNG" + b"\0" * 2000, limits)


def test_decompression_bomb_is_refused_from_its_header():
    # GIVEN a tiny PNG that declares 100 megapixels
    data = encode(Image.new("1", (10_000, 10_000), 1), "PNG", optimize=True)
    assert len(data) < 100_000
    # THEN it is refused as too large, naming the limit
    with pytest.raises(ImageTooLarge, match="10000x10000 pixels; the limit is 40000000"):
        prepare_image(data, LIMITS)


def test_a_bomb_beyond_pillows_own_guard_is_still_a_413():
    data = encode(Image.new("1", (20_000, 20_000), 1), "PNG", optimize=True)
    with pytest.raises(ImageTooLarge):
        prepare_image(data, ImageLimits(LIMITS.max_bytes, max_pixels=200_000_000))


def test_a_side_longer_than_tesseract_accepts_is_too_large():
    data = encode(Image.new("L", (60_000, 1), 255), "PNG")
    with pytest.raises(ImageTooLarge, match="60000x1"):
        prepare_image(data, LIMITS)


@pytest.mark.parametrize("size", [(2000, 1), (3000, 2), (32000, 8), (32000, 319), (8, 900)])
def test_a_shape_too_elongated_for_a_line_of_text_is_too_large(size):
    # A 415-byte PNG of 2000x1 took PP-OCR to 4.2 GB; Tesseract spent over 100 s on 32000x8.
    data = encode(Image.new("L", size, 255), "PNG")
    with pytest.raises(ImageTooLarge, match="at most 100 times its shorter"):
        prepare_image(data, LIMITS)


def test_a_long_single_line_is_accepted():
    assert prepare_image(encode(Image.new("L", (3000, 30), 255), "PNG"), LIMITS).width == 3000


def test_one_pixel_image_is_accepted():
    assert prepare_image(encode(Image.new("L", (1, 1), 255), "PNG"), LIMITS).width == 1


@pytest.mark.parametrize(
    "data",
    [
        b"these are notes, not a picture",
        b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF",
        b"GIF89a",
        b"\0" * 64,
    ],
    ids=["text", "pdf", "gif-header-only", "zeros"],
)
def test_bytes_that_are_not_a_supported_image_are_415(data):
    with pytest.raises(UnsupportedImage):
        prepare_image(data, LIMITS)


@pytest.mark.parametrize(
    "format, says",
    [
        ("PNG", "truncated or corrupt"),
        ("JPEG", "truncated or corrupt"),
        ("HEIF", "truncated or corrupt"),
        # libavif reads the whole file when it opens one: a cut AVIF is not recognised at all.
        ("AVIF", "not a supported image"),
    ],
)
def test_truncated_image_is_415(format, says):
    whole = encode(Image.effect_noise((400, 400), 64).convert("L"), format)
    with pytest.raises(UnsupportedImage, match=says):
        prepare_image(whole[: len(whole) // 2], LIMITS)


def test_other_formats_pillow_knows_are_refused():
    # ICO and PPM decode in Pillow, but are not formats this API accepts.
    with pytest.raises(UnsupportedImage):
        prepare_image(encode(page_with_mark(), "ICO"), LIMITS)
    with pytest.raises(UnsupportedImage):
        prepare_image(encode(page_with_mark(), "PPM"), LIMITS)


def test_big_images_are_scaled_to_the_recognition_cap_keeping_their_upload_size():
    image = Image.new("L", (4000, 3000), 255)
    for format in ("PNG", "JPEG"):
        prepared = prepare_image(encode(image, format), LIMITS, max_recognition_pixels=3_000_000)
        assert prepared.original_size == (4000, 3000)
        assert prepared.width * prepared.height <= 3_000_000
        assert abs(prepared.width / prepared.height - 4 / 3) < 0.01


def test_exif_turned_images_report_their_upright_size_when_scaled():
    exif = Image.Exif()
    exif[0x0112] = 6
    data = encode(Image.new("RGB", (4000, 2000), "white"), "JPEG", exif=exif)
    prepared = prepare_image(data, LIMITS, max_recognition_pixels=2_000_000)
    assert prepared.original_size == (2000, 4000)
    assert prepared.height > prepared.width


def test_colour_stays_colour_and_bilevel_stays_bilevel_for_tesseract():
    # Tesseract then converts and thresholds them exactly as the plain command would.
    assert prepare_image(encode(page_with_mark(), "PNG"), LIMITS).image.mode == "RGB"
    assert prepare_image(encode(page_with_mark("L", 255), "PNG"), LIMITS).image.mode == "L"
    assert prepare_image(data_image("tesseract-test/8071_093.3B.tif"), LIMITS).image.mode == "1"


# One format decision from the bytes, the same on every route: a signature at byte 0 wins.


def test_a_png_whose_text_says_pdf_is_a_png_even_where_pdfs_are_read():
    from ocr_tools.hostile_files import png_saying_pdf

    data = png_saying_pdf(encode(page_with_mark(), "PNG"))
    assert b"%PDF-" in data[:1024]
    assert sniff_format(data) == "PNG"
    assert prepare_image(data, LIMITS, pdf_page=1).source_format == "PNG"


def test_a_png_carrying_a_pdf_reads_as_the_png_on_every_route():
    from ocr_tools.hostile_files import png_pdf_polyglot
    from ocr_tools.pdf_files import pdf_file

    pdf = pdf_file([b"<< /Type /Catalog /Pages 2 0 R >>", b"<< /Type /Pages /Kids [] /Count 0 >>"])
    data = png_pdf_polyglot(encode(page_with_mark(), "PNG"), pdf)
    for pdf_page in (None, 1):
        prepared = prepare_image(data, LIMITS, pdf_page=pdf_page)
        assert prepared.source_format == "PNG" and grey_at(prepared, (50, 50)) == 0


def test_a_file_that_starts_as_a_pdf_is_a_pdf_everywhere():
    data = encode(page_with_mark(), "PDF")
    assert sniff_format(data) == "PDF"
    assert prepare_image(data, LIMITS, pdf_page=1).source_format == "PDF"
    with pytest.raises(UnsupportedImage, match="not a supported image"):
        prepare_image(data, LIMITS)


def test_an_image_inside_a_pdf_is_held_to_the_pixel_limit():
    from ocr_tools.hostile_files import pdf_with_a_huge_image

    with pytest.raises(ImageTooLarge, match="holds an image of 8000x8000 pixels"):
        prepare_image(pdf_with_a_huge_image(side=8000), LIMITS, pdf_page=1)


@pytest.mark.parametrize("content_filter", [None, "FlateDecode"])
def test_an_inline_image_over_the_pixel_limit_is_refused_before_pdfium_loads_its_page(content_filter, monkeypatch):
    import pypdfium2

    from ocr_tools.hostile_files import pdf_with_an_inline_image

    def loads_the_page(document, index):
        raise AssertionError("PDFium loaded the page, decoding its inline image")

    monkeypatch.setattr(pypdfium2.PdfDocument, "__getitem__", loads_the_page)
    with pytest.raises(ImageTooLarge, match="holds an image of 8000x8000 pixels"):
        prepare_image(pdf_with_an_inline_image(8000, content_filter), LIMITS, pdf_page=1)


def test_an_inline_image_the_look_does_not_read_is_held_to_the_limit_once_its_page_is_loaded():
    from ocr_tools.hostile_files import pdf_with_an_inline_image

    with pytest.raises(ImageTooLarge, match="holds an image of 8000x8000 pixels"):
        prepare_image(pdf_with_an_inline_image(8000, "ASCIIHexDecode"), LIMITS, pdf_page=1)


@pytest.mark.parametrize("content_filter", [None, "FlateDecode", "ASCIIHexDecode"])
def test_an_inline_image_within_the_limit_is_read(content_filter):
    from ocr_tools.hostile_files import pdf_with_an_inline_image

    page = prepare_image(pdf_with_an_inline_image(200, content_filter), LIMITS, pdf_page=1)
    assert page.image.size[0] > 0 and page.source_format == "PDF"
