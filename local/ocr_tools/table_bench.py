"""The table benchmark: TEDS, TEDS-Struct and cell accuracy of the tables the service finds, against
the "no structure" reading (the page's lines in reading order, one row each), with the time and
memory the tables add to a page.

    python -m ocr_tools.table_bench [--out build/bench] [--cjk-font PATH]

Three sets: ``tests/data/tables`` (the pages the tests read; the rules that trim a region's edges
were fitted on them), a held-out set drawn afresh with another seed, never looked at while
fitting (both made by ``ocr_tools.table_pages``; the held-out set is English only where no CJK
font is installed, and the report says so), and real receipts from the evaluation set
(``--eval-dir``, ``OCR_EVAL_DIR`` or ``../shared/eval``) with the grids in
``ocr_tools/table_truth``, compared without case as their transcriptions are; where the set is
missing the report says so. ``make bench`` runs it with the rest.
"""

from __future__ import annotations

import argparse
import json
import random
import resource
import statistics
import time
from dataclasses import replace
from pathlib import Path

from PIL import Image

from ocr_api.ocr.tables import Table
from ocr_tools import table_pages
from ocr_tools.eval_set import default_eval_dir
from ocr_tools.table_scoring import cell_accuracy, table_from_json, teds, unstructured

PROJECT_ROOT = Path(__file__).resolve().parents[2]
FITTED_SET = PROJECT_ROOT / "tests" / "data" / "tables"
REAL_TRUTH = Path(__file__).resolve().parent / "table_truth"
HELD_OUT_SEED = 12
REAL_SET = "real receipts (evaluation set)"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=PROJECT_ROOT / "build" / "bench")
    parser.add_argument("--cjk-font", type=Path, default=table_pages.DEFAULT_CJK_FONT)
    parser.add_argument("--eval-dir", type=Path, default=None)
    args = parser.parse_args(argv)
    summary = run(args.out, args.cjk_font, args.eval_dir or default_eval_dir())
    print(markdown(summary))


def run(out_dir: Path, cjk_font: Path = table_pages.DEFAULT_CJK_FONT, eval_dir: Path | None = None) -> dict:
    from ocr_api.ocr.images import PreparedImage
    from ocr_api.ocr.ppocr import PpOcr
    from ocr_api.ocr.table_structure import TableFinder
    from ocr_api.ocr.tables import filled_tables

    held_out = out_dir / "held-out-tables"
    font = cjk_font if cjk_font.is_file() else None
    table_pages.generate(held_out, random.Random(HELD_OUT_SEED), 16, font)
    engine = PpOcr()
    engine.load()
    before = _rss_mb()
    finder = TableFinder()
    finder.load()
    loaded = _rss_mb()
    sets = {}
    generated = {"fitted (tests/data/tables)": _generated_pages(FITTED_SET), "held out": _generated_pages(held_out)}
    real = _real_pages(eval_dir) if eval_dir is not None and eval_dir.is_dir() else None
    for name, pages in {**generated, **({REAL_SET: real} if real else {})}.items():
        scored = []
        for label, path, truth in pages:
            ignore_case = name == REAL_SET
            image = Image.open(path).convert("RGB")
            started = time.perf_counter()
            lines, angle = engine.read_page(PreparedImage(image, "PNG", None), "chi_sim+eng", time.monotonic() + 60)
            reading = time.perf_counter() - started
            started = time.perf_counter()
            grids = finder.find(image, time.monotonic() + 60, turned=angle)
            finding = time.perf_counter() - started
            tables = [_compared(table, ignore_case) for table in filled_tables(grids, tuple(lines))]
            truth = _compared(truth, ignore_case)
            # The table the truth describes is the one scored; none found scores as an empty table.
            best = max(tables, key=lambda table: teds(table, truth), default=unstructured([]))
            baseline = _compared(unstructured([line.text for line in lines]), ignore_case)
            scored.append(
                {
                    "page": label,
                    "tables_found": len(tables),
                    "teds": round(teds(best, truth), 4),
                    "teds_struct": round(teds(best, truth, structure_only=True), 4),
                    "cell_accuracy": round(cell_accuracy(best, truth), 4),
                    "baseline_teds": round(teds(baseline, truth), 4),
                    "baseline_cell_accuracy": round(cell_accuracy(baseline, truth), 4),
                    "reading_seconds": round(reading, 4),
                    "table_seconds": round(finding, 4),
                }
            )
        sets[name] = {"pages": scored, "mean": _means(scored)}
    return {
        "held_out_chinese": font is not None,
        "real_set": None if real is None else str(eval_dir),
        "sets": sets,
        "memory_mb": {
            "table_models_loaded": round(loaded - before, 1),
            "peak_process": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
        },
    }


def _generated_pages(folder: Path) -> list[tuple[str, Path, Table]]:
    return [
        (path.name, path, table_from_json(json.loads(path.with_suffix(".json").read_text(encoding="utf-8"))))
        for path in sorted(folder.glob("table_*.*"))
        if path.suffix != ".json"
    ]


def _real_pages(eval_dir: Path) -> list[tuple[str, Path, Table]]:
    pages = []
    for truth_path in sorted(REAL_TRUTH.glob("*.json")):
        document = json.loads(truth_path.read_text(encoding="utf-8"))
        if (eval_dir / document["image"]).is_file():
            pages.append((document["image"], eval_dir / document["image"], table_from_json(document)))
    return pages


def _compared(table: Table, ignore_case: bool) -> Table:
    """The table as it is compared: without case where the truth was written without it."""
    if not ignore_case:
        return table
    return replace(table, cells=tuple(replace(cell, text=cell.text.casefold()) for cell in table.cells))


def _means(pages: list[dict]) -> dict:
    keys = ("teds", "teds_struct", "cell_accuracy", "baseline_teds", "baseline_cell_accuracy")
    means = {key: round(statistics.mean(page[key] for page in pages), 4) for key in keys}
    means["table_seconds_median"] = round(statistics.median(page["table_seconds"] for page in pages), 4)
    means["extra_time_ratio_median"] = round(
        statistics.median(page["table_seconds"] / page["reading_seconds"] for page in pages), 3
    )
    means["pages_with_a_table_found"] = sum(page["tables_found"] > 0 for page in pages)
    means["pages"] = len(pages)
    return means


def markdown(summary: dict) -> str:
    lines = [
        "",
        "## Tables",
        "",
        "| set | pages (table found) | TEDS | TEDS-Struct | cell accuracy | no structure: TEDS | no structure: cells "
        "| table time per page (median) | time added to the page's PP-OCR reading |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for name, found in summary["sets"].items():
        mean = found["mean"]
        lines.append(
            f"| {name} | {mean['pages']} ({mean['pages_with_a_table_found']}) | {mean['teds']:.3f} "
            f"| {mean['teds_struct']:.3f} | {mean['cell_accuracy']:.3f} | {mean['baseline_teds']:.3f} "
            f"| {mean['baseline_cell_accuracy']:.3f} | {mean['table_seconds_median']:.3f} s "
            f"| +{mean['extra_time_ratio_median'] * 100:.0f}% |"
        )
    memory = summary["memory_mb"]
    lines += [
        "",
        f"Table models loaded: +{memory['table_models_loaded']} MB resident; the process's peak with PP-OCR: "
        f"{memory['peak_process']} MB.",
    ]
    if not summary["held_out_chinese"]:
        lines.append("No CJK font was installed: the held-out pages are English only.")
    if summary["real_set"] is None:
        lines.append("No evaluation set was found (--eval-dir, OCR_EVAL_DIR or ../shared/eval): no real receipts.")
    return "\n".join(lines) + "\n"


def _rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


if __name__ == "__main__":
    main()
