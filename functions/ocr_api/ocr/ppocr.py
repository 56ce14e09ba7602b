"""The deep-learning engine: PP-OCR (PP-OCRv6 small detection and recognition) on onnxruntime's
CPU provider, through rapidocr.

The models are the ones the pinned rapidocr wheel ships, loaded by path: nothing is ever
downloaded (rapidocr would fetch a model it cannot find). Their digests are pinned below; the
container image checks them when it is built, and the tests check the installed copies.

Tuned for a Lambda vCPU or two, each choice measured on the evaluation set (docs/engines.md):
- detection sees the page at most ``DETECTION_SIDE`` pixels on its longer side and never
  enlarged (rapidocr's default enlarges the shorter side to 736: a 280x32 line became 6440x736,
  ten times the time, for the same reading); recognition crops each line from the page itself;
- the line-direction classifier is on: rapidocr stands tall cut-outs on their side, and the
  classifier turns those the right way up for little time; wide lines are turned over all
  together or not at all, as most of them say (``lines_the_page_way_up``: on one line its
  verdict is noise). Its verdicts, with the shapes of the detected lines, also say how a whole
  page stands turned (``read_page``), so no other orientation detection runs in front of this
  engine;
- detection gets one onnxruntime thread per vCPU (one thread took 1.7 times as long on two
  cores); recognition, three quarters of a page's time, reads each line alone at its own width,
  single-threaded, the lines spread over one thread per vCPU. rapidocr pads every line to at
  least 320 pixels and a batch to its widest, which cost a receipt of short lines a quarter of
  its time; and a line read alone reads the same whatever the host's vCPUs (set CER 0.057 ->
  0.057, zh-rendered 0.0022 -> 0.0014). No memory arena (it keeps the largest page's peak for
  the instance's life).

Not thread-safe: one engine per process, one page at a time.
"""

from __future__ import annotations

import logging
import math
import os
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from ocr_api.errors import RecognitionFailed, RecognitionTimedOut, RecognitionUnavailable
from ocr_api.ocr.deadline import seconds_left
from ocr_api.ocr.engine import UPRIGHT_UNSURE, Orientation, PageLayout
from ocr_api.ocr.geometry import PageTransform, line_on_original
from ocr_api.ocr.images import PreparedImage
from ocr_api.ocr.orientation import QUARTER_TURNS
from ocr_api.ocr.result import BoundingBox, TextLine, Word

logger = logging.getLogger(__name__)

# How its lines name the engine that read them.
ENGINE_NAME = "ppocr"
# What the PP-OCRv6 recognition model reads, in the service's (Tesseract's) language names.
LANGUAGES = ("chi_sim", "eng")
# The model files of rapidocr 3.10.0, by the name it ships them under, with their SHA-256.
MODEL_FILES = {
    "detection": ("PP-OCRv6_det_small.onnx", "090f04abcd9d9a7498bc4ebf677e4cb9bdce1fe4197ddb7e529f1ef44e1ff94f"),
    "recognition": ("PP-OCRv6_rec_small.onnx", "6f327246b50388f3c176ae304bd95767ea6dc0c9ae92153ef8cbe210b3c14884"),
    # Whether a cut-out line is upside down (0 or 180 degrees): small, and cheap per line.
    "direction": (
        "ch_ppocr_mobile_v2.0_cls_mobile.onnx",
        "e47acedf663230f8863ff1ab0e64dd2d82b838fceb5957146dab185a89d6215c",
    ),
}
# Pages are read at most this long on their longer side (recognition crops lines from it).
PAGE_SIDE = 2000
# The detector sees the page with its longer side at most this long (small pages as they are).
DETECTION_SIDE = 960
# A short line is read at least as wide as it is high (48 pixels; rapidocr's 320 was padding).
MIN_LINE_ASPECT = 1.0
# Recognition reads each cut-out line 48 pixels high and as wide as its shape says: a hairline
# box would be tens of thousands wide (rapidocr made a 2000x1 page 60000x32, 4.2 GB). Lines
# longer than this are padded with their own edge above and below; whole pages come within it
# already (the core refuses pages over 100:1, and rapidocr rounds what it shrinks to multiples
# of 32 pixels).
MAX_LINE_ASPECT = 100


def packaged_model_dir() -> Path:
    """Where the rapidocr package keeps the models it ships."""
    import importlib.util

    spec = importlib.util.find_spec("rapidocr")
    if spec is None or spec.origin is None:
        raise RecognitionUnavailable("the deep-learning engine is not installed")
    return Path(spec.origin).parent / "models"


class PpOcr:
    def __init__(
        self,
        model_dir: str | None = None,
        threads: int | None = None,
        page_side: int = PAGE_SIDE,
        detection_side: int = DETECTION_SIDE,
        detection_limit: str = "max",
        line_direction: bool = True,
    ) -> None:
        self.model_dir = Path(model_dir) if model_dir else None
        self.threads = threads or max(1, len(os.sched_getaffinity(0)))
        self.page_side = page_side
        self.detection_side = detection_side
        self.detection_limit = detection_limit
        self.line_direction = line_direction
        self._engine = None

    @property
    def installed_languages(self) -> tuple[str, ...]:
        return LANGUAGES

    def load(self, languages: str = "chi_sim+eng") -> None:
        """Loads both models (one set reads every language it knows); ``RecognitionUnavailable``
        when they are missing or cannot be loaded."""
        if self._engine is not None:
            return
        model_dir = self.model_dir or packaged_model_dir()
        paths = {role: model_dir / name for role, (name, _) in MODEL_FILES.items()}
        missing = [path.name for path in paths.values() if not path.is_file()]
        if missing:
            logger.error("deep-learning models missing", extra={"missing": missing})
            raise RecognitionUnavailable("the deep-learning engine's models are not available")
        try:
            engine = _rapidocr_with_bounded_lines(
                params={
                    "Global.log_level": "error",
                    "Global.use_cls": self.line_direction,
                    "Cls.model_path": str(paths["direction"]),
                    "Global.max_side_len": self.page_side,
                    "Global.return_word_box": True,
                    "Det.model_path": str(paths["detection"]),
                    "Det.limit_side_len": self.detection_side,
                    "Det.limit_type": self.detection_limit,
                    "Rec.model_path": str(paths["recognition"]),
                    "EngineConfig.onnxruntime.intra_op_num_threads": self.threads,
                    "EngineConfig.onnxruntime.inter_op_num_threads": 1,
                    "EngineConfig.onnxruntime.enable_cpu_mem_arena": False,
                },
                threads=self.threads,
            )
            # rapidocr creates its sessions on first use; load them now, not on the first page,
            # the detector's with a thread per vCPU, the per-line models' with one.
            engine._load_det_model()
            engine.cfg.EngineConfig.onnxruntime.intra_op_num_threads = 1
            engine._load_rec_model()
            if self.line_direction:
                engine._load_cls_model()
        except Exception as err:  # onnxruntime reports a bad model file with its own errors
            logger.error("deep-learning models cannot be loaded", extra={"error": type(err).__name__})
            raise RecognitionUnavailable("the deep-learning engine's models cannot be loaded") from err
        self._engine = engine

    def read_lines(
        self, image: PreparedImage, languages: str, deadline: float, layout: PageLayout = PageLayout.AUTO
    ) -> list[TextLine]:
        self.load(languages)
        if seconds_left(deadline) <= 0:
            raise RecognitionTimedOut("no time is left to recognise the image")
        pixels = image.image.convert("RGB")
        single_line = layout is PageLayout.SINGLE_LINE
        self._engine.deadline = deadline
        try:
            output = self._engine(
                pixels,
                use_det=not single_line,
                use_cls=self.line_direction and not single_line,
                return_word_box=not single_line,
            )
        except (RecognitionTimedOut, _PageTurned):
            raise
        except Exception as err:
            logger.error("deep-learning engine failed", extra={"error": type(err).__name__})
            raise RecognitionFailed("the recognition engine failed on this image") from err
        if seconds_left(deadline) <= 0:
            raise RecognitionTimedOut("recognition did not finish in the time this request has")
        if single_line:
            return _single_line(output, image)
        return _lines(output)

    def read_page(
        self,
        image: PreparedImage,
        languages: str,
        deadline: float,
        layout: PageLayout = PageLayout.AUTO,
        find_orientation: bool = True,
    ) -> tuple[list[TextLine], int]:
        """The page's lines, read after turning it upright where ``find_orientation`` allows and
        its own lines say it stands turned (by quarter turns), in the coordinates of ``image`` as
        given; and the clockwise degrees its text stood at.

        The detector finds lines whichever way up a page is, and the line-direction classifier
        says which way each stands: so a turned page costs a second pass, an upright one
        nothing (Tesseract's orientation detection, in front of every page, cost half a
        Tesseract reading)."""
        if layout is PageLayout.SINGLE_LINE or not find_orientation:
            return self.read_lines(image, languages, deadline, layout), 0
        self.load(languages)
        self._engine.judge_turn = True
        try:
            return self.read_lines(image, languages, deadline, layout), 0
        except _PageTurned as turned:
            degrees = turned.degrees
        finally:
            self._engine.judge_turn = False
        upright = image.replaced(image.image.transpose(QUARTER_TURNS[degrees]))
        back = PageTransform(*image.image.size).turned(degrees, image.image.size, upright.image.size)
        lines = self.read_lines(upright, languages, deadline, layout)
        # As the service reports turns: clockwise degrees in (-180, 180].
        return [line_on_original(line, back) for line in lines], degrees if degrees <= 180 else degrees - 360

    def detect_orientation(self, image: PreparedImage, deadline: float) -> Orientation:
        # PP-OCR judges each page's orientation as it reads it (``read_page``).
        return UPRIGHT_UNSURE


def _rapidocr_with_bounded_lines(params: dict, threads: int):
    """rapidocr (imported only here: the API function's page workers never need it) with every
    cut-out line held to MAX_LINE_ASPECT before recognition, and its lines recognised one by one
    on ``threads`` threads."""
    from rapidocr import RapidOCR
    from rapidocr.ch_ppocr_rec.typings import TextRecOutput

    class BoundedRapidOCR(RapidOCR):
        # No stage or line starts past this instant (time.monotonic()): a page whose request gave
        # up ends at the next one, instead of holding its instance to the end of recognition.
        deadline = math.inf
        # Whether a page whose lines stand turned is given up (``_PageTurned``) after they are
        # classified, before recognition, to be read again upright.
        judge_turn = False
        _boxes = ()
        _lines_at_once = ThreadPoolExecutor(threads, "ppocr-line") if threads > 1 else None

        def crop_text_regions(self, img, det_boxes):
            self._boxes = det_boxes
            return [_padded_line(crop) for crop in super().crop_text_regions(img, det_boxes)]

        def cls_and_rotate(self, img):
            _stop_if_past(self.deadline)
            classified, directions = super().cls_and_rotate(img)
            if self.judge_turn:
                degrees = quarter_turn(self._boxes, directions.cls_res)
                if degrees:
                    raise _PageTurned(degrees)
            return lines_the_page_way_up(img, classified, self._boxes, directions.cls_res), directions

        def recognize_txt(self, img):
            _stop_if_past(self.deadline)
            started = time.perf_counter()
            recognizer = self._load_rec_model()
            with_words = bool(self.return_word_box)

            def read(line):
                return _recognised_line(recognizer, line, with_words, self.deadline)

            results = list(self._lines_at_once.map(read, img) if self._lines_at_once else map(read, img))
            return TextRecOutput(
                imgs=img,
                txts=tuple(text for (text, _), _ in results),
                scores=tuple(score for (_, score), _ in results),
                word_results=tuple(words for _, words in results),
                elapse=time.perf_counter() - started,
            )

    return BoundedRapidOCR(params=params)


class _PageTurned(Exception):
    """The page's lines stand turned by ``degrees`` clockwise: it is read again upright."""

    def __init__(self, degrees: int) -> None:
        super().__init__(degrees)
        self.degrees = degrees


# A line counts for a quarter turn when it is this much taller than wide (rapidocr stands such
# cut-outs on their side before recognition), and the page is judged turned when such lines,
# by length, outweigh the others this many times over; the same for lines upside down.
_TALL_LINE = 1.5
_TURNED_MAJORITY = 2.0
# Only the classifier's sure verdicts count (rapidocr turns a cut-out at this score).
_SURE_DIRECTION = 0.9


def quarter_turn(boxes, directions) -> int:
    """How far (clockwise degrees) the text on a page stands turned, judged from its detected
    line boxes (four corners each) and the classifier's (label, score) for each cut-out: tall
    lines say a quarter turn, the classifier says which one (a cut-out stood on its side
    counter-clockwise reads upright for text turned clockwise), and upside-down lines a half."""
    shapes = _line_shapes(boxes)
    tall = sum(length for standing, length in shapes if standing)
    wide = sum(length for standing, length in shapes if not standing)
    tally = _sure_directions(shapes, directions)
    if tall > wide * _TURNED_MAJORITY:
        return 270 if tally[(True, "180")] > tally[(True, "0")] else 90
    if _wide_lines_upside_down(tally):
        return 180
    return 0


def lines_the_page_way_up(cut_outs, classified, boxes, directions) -> list:
    """The cut-out lines as recognition is to read them: each standing line turned as the
    classifier says (``classified``), and the wide lines all turned upside down or none, as
    most of them say. On one wide line the classifier's verdict is noise: on an upright
    receipt it turned "Fruit cup" over, sure at 0.99, and that line read "ut rcu"."""
    import cv2

    shapes = _line_shapes(boxes)
    turn_wide_lines = _wide_lines_upside_down(_sure_directions(shapes, directions))
    return [
        turned if standing else cv2.rotate(cut_out, cv2.ROTATE_180) if turn_wide_lines else cut_out
        for cut_out, turned, (standing, _) in zip(cut_outs, classified, shapes)
    ]


def _line_shapes(boxes) -> list[tuple[bool, float]]:
    """Whether each detected line stands (rapidocr stands such cut-outs on their side before
    recognition), and its length."""
    import numpy as np

    shapes = []
    for box in boxes:
        width = float(np.linalg.norm(box[0] - box[1]))
        height = float(np.linalg.norm(box[0] - box[3]))
        shapes.append((height >= width * _TALL_LINE, max(width, height)))
    return shapes


def _sure_directions(shapes, directions) -> dict[tuple[bool, str], float]:
    """The length of line the classifier is sure of, by (standing, direction)."""
    tally = {(True, "0"): 0.0, (True, "180"): 0.0, (False, "0"): 0.0, (False, "180"): 0.0}
    for (standing, length), (label, score) in zip(shapes, directions):
        if score >= _SURE_DIRECTION and (standing, label) in tally:
            tally[(standing, label)] += length
    return tally


def _wide_lines_upside_down(tally) -> bool:
    return tally[(False, "180")] > tally[(False, "0")] * _TURNED_MAJORITY


def _stop_if_past(deadline: float) -> None:
    if seconds_left(deadline) <= 0:
        raise RecognitionTimedOut("recognition did not finish in the time this request has")


def _recognised_line(recognizer, line, with_words: bool, deadline: float):
    """One cut-out line read alone by rapidocr's recogniser at its own width (at least
    MIN_LINE_ASPECT): its (text, score) and, with ``with_words``, where its words lie."""
    _stop_if_past(deadline)
    height, width = line.shape[:2]
    aspect = width / height
    read_as = max(aspect, MIN_LINE_ASPECT)
    pixels = recognizer.resize_norm_img(line, read_as)[None]
    texts, words = recognizer.postprocess_op(
        recognizer.session(pixels), with_words, wh_ratio_list=[aspect], max_wh_ratio=read_as
    )
    return texts[0], words[0] if with_words else None


def _padded_line(crop):
    """A cut-out line (a NumPy image, upright: rapidocr stands tall ones on their side) padded
    with its own edge above and below to at most MAX_LINE_ASPECT."""
    import cv2

    height, width = crop.shape[:2]
    if width <= height * MAX_LINE_ASPECT:
        return crop
    extra = -(-width // MAX_LINE_ASPECT) - height
    return cv2.copyMakeBorder(crop, extra // 2, extra - extra // 2, 0, 0, cv2.BORDER_REPLICATE)


def _lines(output) -> list[TextLine]:
    if output.boxes is None or output.txts is None or len(output.boxes) == 0:
        return []
    words_by_line = _words_by_line(output)
    lines = []
    for index, (polygon, text, score) in enumerate(zip(output.boxes, output.txts, output.scores)):
        quad = _quad(polygon)
        box = _enclosing(quad)
        words = words_by_line[index] or (Word(text, box, float(score), quad),)
        lines.append(
            TextLine(
                text=text,
                box=box,
                confidence=float(score),
                block=1,
                paragraph=index + 1,
                line=1,
                words=words,
                quad=quad,
                engine=ENGINE_NAME,
            )
        )
    return lines


def _words_by_line(output) -> list[tuple[Word, ...]]:
    """Each line's words with their boxes, where rapidocr could place them; rapidocr drops the
    lines it could not place, so they are matched back by their text."""
    found: list[tuple[Word, ...]] = [() for _ in output.txts]
    placed = [line for line in (output.word_results or ()) if line and line[0] and line[0][2] is not None]
    cursor = 0
    for index, text in enumerate(output.txts):
        if cursor >= len(placed):
            break
        candidate = placed[cursor]
        if "".join(word for word, _, _ in candidate).replace(" ", "") == text.replace(" ", ""):
            words = []
            for word, score, polygon in candidate:
                quad = _quad(polygon)
                words.append(Word(word, _enclosing(quad), float(score), quad))
            found[index] = tuple(words)
            cursor += 1
    return found


def _single_line(output, image: PreparedImage) -> list[TextLine]:
    texts = [text for text in (output.txts or ()) if text.strip()]
    if not texts:
        return []
    text, score = texts[0], float(output.scores[0])
    box = BoundingBox(0, 0, image.width, image.height)
    return [TextLine(text, box, score, 1, 1, 1, (Word(text, box, score, box.corners),), box.corners, ENGINE_NAME)]


def _quad(polygon) -> tuple:
    # Corners can fall a pixel outside the page where a line touches its edge.
    return tuple((max(0, round(float(x))), max(0, round(float(y)))) for x, y in polygon[:4])


def _enclosing(quad) -> BoundingBox:
    xs, ys = [x for x, _ in quad], [y for _, y in quad]
    left, top = max(min(xs), 0), max(min(ys), 0)
    return BoundingBox(left, top, max(xs) - left, max(ys) - top)
