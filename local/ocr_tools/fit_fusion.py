"""Fits the weights of ``ocr_api.ocr.fusion`` on an evaluation set, and says how well they hold on
images they were not fitted on.

    python -m ocr_tools.fit_fusion [--eval-dir ../shared/eval] [--folds 5] [--held-out-dir DIR]

Each image is read by both engines as the service reads it (Tesseract in the page path's
``Recognizer``, PP-OCR on the page as it travels to its function). The images are split into
folds (within each folder, in turn); for each fold the model is fitted on the others and
judged on it, so every score reported is on images the model did not see. Then the model is
fitted on all of them, and its weights printed for ``fusion.MODEL``; with ``--held-out-dir``
(pages ``generated_pages`` makes, say), that model is judged on those pages too, by layout.

Labels come from the ground truth: of a region both engines read, which reading is nearer the
part of the truth the two were aligned to (weighted by the characters at stake); of a line only
one engine found, whether it is found in the truth at all.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import statistics
import sys
from collections import defaultdict
from pathlib import Path

import numpy as np
from rapidfuzz import fuzz
from rapidfuzz.distance import Levenshtein

from ocr_api.ocr.fusion import (
    FusionModel,
    fused,
    line_features,
    reading_of,
    region_features,
    regions,
)
from ocr_api.ocr.page_transfer import lines_from_json, lines_to_json
from ocr_api.ocr.result import RecognitionResult
from ocr_tools.eval_set import default_eval_dir, require_eval_dir
from ocr_tools.scoring import cer, is_upper_case_truth

_SPACE = re.compile(r"\s+")
# A line found by one engine alone is text when this much of it matches the truth somewhere.
_FOUND_IN_TRUTH = 70.0
# The L2 penalty of the fits: few examples, few features.
_PENALTY = 1.0
# Tesseract's confidence above which a cheaper "auto" would not ask PP-OCR (the former rule).
_CLEAN_PAGE_CONFIDENCE = 0.93


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--eval-dir", type=Path, default=default_eval_dir())
    parser.add_argument("--folds", type=int, default=5)
    parser.add_argument(
        "--cache",
        type=Path,
        default=Path("build/fusion-readings.json"),
        help="both engines' readings, kept to fit again without reading again (delete it after changing either engine)",
    )
    parser.add_argument("--out", type=Path, default=Path("build/fusion-fit.json"))
    parser.add_argument("--held-out-dir", type=Path, help="pages never fitted on, judged with the final model")
    args = parser.parse_args(argv)
    pages = readings(require_eval_dir(args.eval_dir), args.cache)
    report = cross_validated(pages, args.folds)
    final = fit(pages)
    report["model"] = {
        "prefer_deep": final.prefer_deep,
        "keep_tesseract_alone": final.keep_tesseract_alone,
        "keep_deep_alone": final.keep_deep_alone,
    }
    if args.held_out_dir is not None:
        report["held_out_pages"] = judged(readings(args.held_out_dir), final)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=2, ensure_ascii=False))
    print(json.dumps(report, indent=2, ensure_ascii=False))


# Readings.


def readings(eval_dir: Path, cache: Path | None = None) -> list[dict]:
    """Per image: its folder, name, truth, and both engines' lines on the upload (read again
    unless ``cache`` holds them for the same set)."""
    if cache is not None and cache.is_file():
        pages = json.loads(cache.read_text())
        if pages and pages[0].get("eval_dir") == str(eval_dir.resolve()):
            for page in pages:
                lines = tuple(lines_from_json(page["tesseract"]["lines"]))
                page["tesseract"] = RecognitionResult(**{**page["tesseract"], "lines": lines})
                page["deep"] = lines_from_json(page["deep"])
            return pages
    from ocr_api.config import Settings
    from ocr_api.ocr import ImageLimits, Recognizer
    from ocr_api.ocr.deadline import deadline_in
    from ocr_api.ocr.in_process import read_both
    from ocr_api.ocr.ppocr import LANGUAGES, PpOcr
    from ocr_api.ocr.tesseract import Tesseract
    from ocr_local.environment import system_tessdata_dir
    from ocr_tools.bench import discover

    settings = Settings()
    tesseract = Tesseract(os.environ.get("TESSDATA_PREFIX") or system_tessdata_dir())
    tesseract.load("chi_sim+eng")
    recognizer = Recognizer(
        tesseract,
        ImageLimits(settings.max_image_bytes, settings.max_image_pixels),
        "chi_sim+eng",
        settings.max_recognition_pixels,
        deep_languages=LANGUAGES,
        default_engine="auto",
    )
    deep = PpOcr()
    deep.load()
    pages = []
    for folder, path, truth in discover(eval_dir, None):
        both = read_both(recognizer, deep, path.read_bytes(), deadline_in(120))
        print(f"read {folder}/{path.name}", file=sys.stderr)
        pages.append(
            {
                "eval_dir": str(eval_dir.resolve()),
                "folder": folder,
                "image": path.name,
                "truth": truth.read_text(encoding="utf-8"),
                "tesseract": both.result,
                "deep": both.deep_lines or [],
                "deep_angle": both.deep_angle,
            }
        )
    if cache is None:
        return pages
    cache.parent.mkdir(parents=True, exist_ok=True)
    cache.write_text(
        json.dumps(
            [
                {
                    **page,
                    "tesseract": {**page["tesseract"].__dict__, "lines": lines_to_json(page["tesseract"].lines)},
                    "deep": lines_to_json(page["deep"]),
                }
                for page in pages
            ],
            ensure_ascii=False,
        )
    )
    return pages


# Examples and fits.


def _examples(pages: list[dict]) -> dict[str, tuple[list, list, list]]:
    """Features, labels and weights of each model's examples."""
    examples = {name: ([], [], []) for name in ("prefer_deep", "keep_tesseract_alone", "keep_deep_alone")}
    for page in pages:
        truth = _comparable(page["truth"], page)
        first, second = list(page["tesseract"].lines), page["deep"]
        for region in regions(first, second):
            tesseract_lines = [first[i] for i in region.tesseract]
            deep_lines = [second[j] for j in region.deep]
            if tesseract_lines and deep_lines:
                mine, theirs = (
                    _comparable("".join(line.text for line in lines), page) for lines in (tesseract_lines, deep_lines)
                )
                window = _truth_window(truth, mine, theirs)
                at_stake = Levenshtein.distance(mine, window) - Levenshtein.distance(theirs, window)
                if at_stake:
                    _add(
                        examples["prefer_deep"],
                        region_features(reading_of(tesseract_lines), reading_of(deep_lines)),
                        at_stake > 0,
                        abs(at_stake),
                    )
            else:
                name = "keep_tesseract_alone" if tesseract_lines else "keep_deep_alone"
                lines = tesseract_lines or deep_lines
                text = _comparable(lines[0].text, page)
                if text:
                    found = fuzz.partial_ratio(text, truth) >= _FOUND_IN_TRUTH
                    _add(examples[name], line_features(reading_of(lines)), found, len(text))
    return examples


def _add(examples: tuple[list, list, list], features, label: bool, weight: float) -> None:
    examples[0].append(features)
    examples[1].append(1.0 if label else 0.0)
    examples[2].append(float(weight))


def _truth_window(truth: str, first: str, second: str) -> str:
    """The stretch of the truth both readings were aligned to."""
    spans = []
    for text in (first, second):
        if text:
            found = fuzz.partial_ratio_alignment(text, truth)
            if found is not None:
                spans.append((found.dest_start, found.dest_end))
    if not spans:
        return ""
    return truth[min(start for start, _ in spans) : max(end for _, end in spans)]


def _comparable(text: str, page: dict) -> str:
    text = _SPACE.sub("", text)
    return text.lower() if is_upper_case_truth(page["truth"]) else text


def logistic(features: list, labels: list, weights: list) -> tuple[float, ...]:
    """Weighted logistic regression by Newton's method, with an L2 penalty (not on the bias)."""
    x, y, w = np.array(features, dtype=float), np.array(labels), np.array(weights)
    if len(x) == 0 or y.min() == y.max():
        # Nothing to tell apart: a bias that says the one label there is (or "no").
        bias = 4.0 if len(y) and y[0] == 1.0 else -4.0
        return (bias,) + (0.0,) * (len(features[0]) - 1 if features else 4)
    w = w / w.mean()
    beta = np.zeros(x.shape[1])
    penalty = np.full(x.shape[1], _PENALTY)
    penalty[0] = 0.0
    for _ in range(50):
        p = 1.0 / (1.0 + np.exp(-np.clip(x @ beta, -60, 60)))
        gradient = x.T @ (w * (p - y)) + penalty * beta
        hessian = (x * (w * p * (1 - p))[:, None]).T @ x + np.diag(penalty) + 1e-9 * np.eye(x.shape[1])
        step = np.linalg.solve(hessian, gradient)
        beta -= step
        if np.abs(step).max() < 1e-8:
            break
    return tuple(round(float(value), 3) for value in beta)


def fit(pages: list[dict]) -> FusionModel:
    examples = _examples(pages)
    names = ("prefer_deep", "keep_tesseract_alone", "keep_deep_alone")
    return FusionModel(*(logistic(*examples[name]) for name in names))


# Judging.


def cross_validated(pages: list[dict], folds: int) -> dict:
    """CER of each way to read, every image scored by a model fitted without it."""
    by_folder: dict[str, list[int]] = defaultdict(list)
    for index, page in enumerate(pages):
        by_folder[page["folder"]].append(index)
    fold_of = {}
    turn = 0
    for folder in sorted(by_folder):
        for index in by_folder[folder]:
            fold_of[index] = turn % folds
            turn += 1
    scores: dict[str, dict[str, float]] = defaultdict(dict)
    for fold in range(folds):
        model = fit([page for index, page in enumerate(pages) if fold_of[index] != fold])
        for index, page in enumerate(pages):
            if fold_of[index] == fold:
                scores[page["folder"] + "/" + page["image"]] = _scored(page, model)
    return {
        "images": len(pages),
        "folds": folds,
        "overall": _means(scores.values()),
        "folders": {
            folder: _means([scores[folder + "/" + pages[i]["image"]] for i in indices])
            for folder, indices in sorted(by_folder.items())
        },
        "per_image": scores,
    }


def judged(pages: list[dict], model: FusionModel) -> dict:
    """CER of each way to read on ``pages`` with ``model``, by layout (the name before ``_``)."""
    by_layout: dict[str, list[dict]] = defaultdict(list)
    for page in pages:
        by_layout[page["image"].split("_")[0]].append(_scored(page, model))
    return {
        "images": len(pages),
        "overall": _means(score for scores in by_layout.values() for score in scores),
        "layouts": {layout: _means(scores) for layout, scores in sorted(by_layout.items())},
    }


def _scored(page: dict, model: FusionModel) -> dict[str, float]:
    truth = page["truth"]
    ignore_case = is_upper_case_truth(truth)
    tesseract = page["tesseract"]
    deep_text = "\n".join(line.text for line in page["deep"])
    both = fused(tesseract, page["deep"], page["deep_angle"], model)
    mean_confidence = reading_of(list(tesseract.lines)).confidence
    cheaper = tesseract if tesseract.lines and mean_confidence >= _CLEAN_PAGE_CONFIDENCE else both
    scores = {
        "tesseract": cer(tesseract.full_text, truth, ignore_case),
        "ppocr": cer(deep_text, truth, ignore_case),
        "auto": cer(both.full_text, truth, ignore_case),
        "auto_skipping_clean_pages": cer(cheaper.full_text, truth, ignore_case),
        "deep_share_of_lines": sum(line.engine == "ppocr" for line in both.lines) / max(1, len(both.lines)),
    }
    scores["better_engine_per_image"] = min(scores["tesseract"], scores["ppocr"])
    scores["skips_ppocr"] = float(cheaper is tesseract)
    return {name: round(value, 4) for name, value in scores.items()}


def _means(scores) -> dict[str, float]:
    scores = list(scores)
    return {name: round(statistics.mean(score[name] for score in scores), 4) for name in scores[0]}


if __name__ == "__main__":
    main()
