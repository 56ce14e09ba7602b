"""The table benchmark: TEDS, TEDS-Struct and cell accuracy of the tables the service finds, against
the "no structure" reading (the page's lines in reading order, one row each), with the time and
memory the tables add to a page.

    python -m ocr_tools.table_bench [--out build/bench] [--cjk-font PATH]

Two sets: ``tests/data/tables`` (the pages the tests read; the rules that trim a region's edges
were fitted on them) and a held-out set drawn afresh with another seed, never looked at while
fitting. Both are made by ``ocr_tools.table_pages``; the held-out set is English only where no
CJK font is installed, and the report says so. ``make bench`` runs it with the rest.
"""

from __future__ import annotations

import argparse
import json
import random
import resource
import statistics
import time
from pathlib import Path

from PIL import Image

from ocr_tools import table_pages
from ocr_tools.table_scoring import cell_accuracy, table_from_json, teds, unstructured

PROJECT_ROOT = Path(__file__).resolve().parents[2]
FITTED_SET = PROJECT_ROOT / "tests" / "data" / "tables"
HELD_OUT_SEED = 12


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=PROJECT_ROOT / "build" / "bench")
    parser.add_argument("--cjk-font", type=Path, default=table_pages.DEFAULT_CJK_FONT)
    args = parser.parse_args(argv)
    summary = run(args.out, args.cjk_font)
    print(markdown(summary))


def run(out_dir: Path, cjk_font: Path = table_pages.DEFAULT_CJK_FONT) -> dict:
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
    for name, folder in (("fitted (tests/data/tables)", FITTED_SET), ("held out", held_out)):
        pages = []
        for path in sorted(folder.glob("table_*.*")):
            if path.suffix == ".json":
                continue
            truth = table_from_json(json.loads(path.with_suffix(".json").read_text(encoding="utf-8")))
            image = Image.open(path).convert("RGB")
            started = time.perf_counter()
            lines, angle = engine.read_page(PreparedImage(image, "PNG", None), "chi_sim+eng", time.monotonic() + 60)
            reading = time.perf_counter() - started
            started = time.perf_counter()
            grids = finder.find(image, time.monotonic() + 60, turned=angle)
            finding = time.perf_counter() - started
            tables = filled_tables(grids, tuple(lines))
            # The table the page holds is the one scored; none found scores as an empty table.
            best = max(tables, key=lambda table: teds(table, truth), default=unstructured([]))
            baseline = unstructured([line.text for line in lines])
            pages.append(
                {
                    "page": path.name,
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
        sets[name] = {"pages": pages, "mean": _means(pages)}
    return {
        "held_out_chinese": font is not None,
        "sets": sets,
        "memory_mb": {
            "table_models_loaded": round(loaded - before, 1),
            "peak_process": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
        },
    }


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
    return "\n".join(lines) + "\n"


def _rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


if __name__ == "__main__":
    main()
