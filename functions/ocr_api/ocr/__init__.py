"""The OCR core: image decoding and limits, orientation, the engines behind one seam, and the
result model.

It knows nothing about AWS, HTTP or the network, so a script, a test or any handler can use it.
The Tesseract engine (``ocr_api.ocr.tesseract``) is imported only where pages are read: it loads
libtesseract, which the handler's own process never needs.
"""

from ocr_api.ocr.engine import OcrEngine, Orientation, PageLayout
from ocr_api.ocr.images import ImageLimits, PreparedImage, prepare_image
from ocr_api.ocr.recognizer import RecognitionOptions, Recognizer
from ocr_api.ocr.result import BoundingBox, RecognitionResult, TextLine

__all__ = [
    "BoundingBox",
    "ImageLimits",
    "OcrEngine",
    "Orientation",
    "PageLayout",
    "PreparedImage",
    "RecognitionOptions",
    "RecognitionResult",
    "Recognizer",
    "TextLine",
    "prepare_image",
]
