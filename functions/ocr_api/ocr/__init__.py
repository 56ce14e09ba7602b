"""The OCR core: image decoding and limits, the Tesseract call, and the result model.

It knows nothing about AWS or HTTP, so a script, a test or any handler can use it.
"""

from ocr_api.ocr.images import ImageLimits, PreparedImage, prepare_image
from ocr_api.ocr.recognizer import RecognitionOptions, Recognizer
from ocr_api.ocr.result import BoundingBox, RecognitionResult, TextLine
from ocr_api.ocr.tesseract import Tesseract

__all__ = [
    "BoundingBox",
    "ImageLimits",
    "PreparedImage",
    "RecognitionOptions",
    "RecognitionResult",
    "Recognizer",
    "Tesseract",
    "TextLine",
    "prepare_image",
]
