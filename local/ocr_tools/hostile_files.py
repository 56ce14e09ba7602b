"""Files that cost a decoder far more than their size: the hostile inputs of docs/reliability.md
section, made here byte by byte so tests, the corpus and fuzzing seeds share them."""

from __future__ import annotations

import io
import zlib

from PIL import Image, PngImagePlugin

from ocr_tools.pdf_files import pdf_file

_SOS = b"\xff\xda"
_EOI = b"\xff\xd9"


def pdf_with_costly_shading(operators: int = 3000, width_pt: int = 612, height_pt: int = 792) -> bytes:
    """One page (letter size by default) painted by a function shading whose PostScript
    calculator function (FunctionType 4) runs ``operators`` operators for every pixel: 14 KB
    that PDFium spends minutes on at 300 dpi."""
    program = b"{ add 0.5 mul " + b"dup mul sqrt " * (operators // 3) + b"}"
    content = b"/Sh0 sh"
    return pdf_file(
        [
            b"<< /Type /Catalog /Pages 2 0 R >>",
            b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
            b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 %d %d] /Contents 4 0 R"
            b" /Resources << /Shading << /Sh0 5 0 R >> >> >>" % (width_pt, height_pt),
            b"<< /Length %d >>\nstream\n%s\nendstream" % (len(content), content),
            b"<< /ShadingType 1 /ColorSpace /DeviceGray /Domain [0 1 0 1] /Matrix [%d 0 0 %d 0 0]"
            b" /Function 6 0 R >>" % (width_pt, height_pt),
            b"<< /FunctionType 4 /Domain [0 1 0 1] /Range [0 1] /Length %d >>\nstream\n%s\nendstream"
            % (len(program), program),
        ]
    )


def pdf_with_a_huge_image(side: int = 26_000) -> bytes:
    """A page that shows one ``side`` x ``side`` grey image (676 megapixels at the default),
    deflated to well under a megabyte; rendering the page small still decodes all of it."""
    pixels = _deflated_white(side)
    content = b"q 612 0 0 792 0 0 cm /Im0 Do Q"
    return pdf_file(
        [
            b"<< /Type /Catalog /Pages 2 0 R >>",
            b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
            b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R"
            b" /Resources << /XObject << /Im0 5 0 R >> >> >>",
            b"<< /Length %d >>\nstream\n%s\nendstream" % (len(content), content),
            b"<< /Type /XObject /Subtype /Image /Width %d /Height %d /ColorSpace /DeviceGray"
            b" /BitsPerComponent 8 /Filter /FlateDecode /Length %d >>\nstream\n%s\nendstream"
            % (side, side, len(pixels), pixels),
        ]
    )


def pdf_with_an_inline_image(side: int = 30_000, content_filter: str | None = None) -> bytes:
    """A page whose content stream draws one ``side`` x ``side`` grey inline image (BI ... ID ...
    EI; 900 megapixels at the default, under a megabyte deflated): PDFium decodes it while it
    loads the page, before any of the page's objects can be looked at. ``content_filter`` writes
    the content stream deflated (``FlateDecode``) or in hex (``ASCIIHexDecode``, which the
    service's look for inline images does not read)."""
    content = (
        b"q 612 0 0 792 0 0 cm BI /W %d /H %d /CS /G /BPC 8 /F /Fl ID " % (side, side)
        + _deflated_white(side)
        + b" EI Q"
    )
    if content_filter == "FlateDecode":
        content = zlib.compress(content)
    elif content_filter == "ASCIIHexDecode":
        content = content.hex().encode() + b">"
    dictionary = b"/Length %d" % len(content)
    if content_filter is not None:
        dictionary += b" /Filter /%s" % content_filter.encode()
    return pdf_file(
        [
            b"<< /Type /Catalog /Pages 2 0 R >>",
            b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
            b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R >>",
            b"<< %s >>\nstream\n%s\nendstream" % (dictionary, content),
        ]
    )


def _deflated_white(side: int) -> bytes:
    """``side`` x ``side`` white 8-bit grey pixels, deflated a block of rows at a time."""
    packer, chunks, row_block = zlib.compressobj(9), [], b"\xff" * side * 256
    for top in range(0, side, 256):
        chunks.append(packer.compress(row_block[: side * min(256, side - top)]))
    chunks.append(packer.flush())
    return b"".join(chunks)


def jpeg_with_many_scans(scans: int = 8000, side: int = 3000) -> bytes:
    """A progressive JPEG whose last scan is repeated ``scans`` times: each repeat is a few
    dozen bytes, and the decoder walks every block of the image for each one."""
    buffer = io.BytesIO()
    Image.new("L", (side, side), 255).save(buffer, "JPEG", progressive=True, quality=90)
    data = buffer.getvalue()
    last_scan = data.rindex(_SOS)
    # The tables the last scan needs (DHT) come right before it, from the previous scan's end.
    start = _segment_start_before(data, last_scan)
    repeated = data[start : data.rindex(_EOI)]
    return data[:start] + repeated * scans + _EOI


def png_saying_pdf(page: bytes) -> bytes:
    """A real PNG page whose text chunk, within its first KiB, reads ``%PDF-1.7``."""
    info = PngImagePlugin.PngInfo()
    info.add_text("Comment", "%PDF-1.7 is not what this file is")
    buffer = io.BytesIO()
    Image.open(io.BytesIO(page)).save(buffer, "PNG", pnginfo=info)
    return buffer.getvalue()


def png_pdf_polyglot(page_png: bytes, pdf: bytes) -> bytes:
    """A PNG page carrying a whole PDF in a chunk of its own, right after its header: PDF readers
    find the PDF, image readers the PNG."""
    signature_and_header = page_png[:33]  # the 8-byte signature and the IHDR chunk
    chunk = _png_chunk(b"pdFa", pdf)
    return signature_and_header + chunk + page_png[33:]


def _png_chunk(kind: bytes, data: bytes) -> bytes:
    return len(data).to_bytes(4, "big") + kind + data + zlib.crc32(kind + data).to_bytes(4, "big")


def _segment_start_before(data: bytes, scan: int) -> int:
    """Where the run of table segments (DHT, DQT) right before the scan at ``scan`` begins."""
    position, start = 2, scan
    while position < scan:
        marker, length = data[position : position + 2], int.from_bytes(data[position + 2 : position + 4], "big")
        if marker == _SOS:
            # Entropy-coded data runs to the next marker that is not a stuffed 0xFF00 or RSTn.
            position += 2 + length
            while not (data[position] == 0xFF and data[position + 1] not in (0x00, *range(0xD0, 0xD8))):
                position += 1
            start = position
            continue
        position += 2 + length
    return start
