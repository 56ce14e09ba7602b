"""Checks a Tesseract layer tree the way the function will use it.

    python verify_layer.py LAYER_DIR [--report FILE]

It runs LAYER_DIR/bin/tesseract with only the layer's libraries and models, reads the self-test
page in Chinese and English, detects its orientation, and checks the unzipped size. The Docker
build runs it inside the Lambda runtime image; CI runs it on a tree assembled from the build
machine's own Tesseract. Standard library only: the runtime image has nothing else.
"""

from __future__ import annotations

import argparse
import os
import subprocess
from pathlib import Path

SELFTEST_PAGE = Path(__file__).with_name("selftest.pbm")
REQUIRED_MODELS = ("eng", "chi_sim", "osd")
EXPECTED_LINES = ("图片文字识别", "Image to text in one API call", "English")
# Lambda allows 250 MB unzipped for the function and all its layers together.
MAX_LAYER_MB = 100


def main(layer: Path) -> list[str]:
    """Checks the tree; returns the report lines, or exits with what is wrong."""
    binary = layer / "bin" / "tesseract"
    environment = {
        **os.environ,
        "OMP_THREAD_LIMIT": "1",
        "TESSDATA_PREFIX": str(layer / "share" / "tessdata"),
        "LD_LIBRARY_PATH": os.pathsep.join(
            filter(None, [str(layer / "lib"), os.environ.get("LD_LIBRARY_PATH")])
        ),
    }

    def tesseract(*arguments: str) -> str:
        done = subprocess.run(
            [str(binary), *arguments], env=environment, capture_output=True, text=True, timeout=120
        )
        if done.returncode != 0:
            raise SystemExit(f"tesseract {' '.join(arguments)} failed:\n{done.stderr}")
        return done.stdout + done.stderr

    report = [tesseract("--version").splitlines()[0]]
    # The first line says where the models are; one model name a line follows.
    languages = [line.strip() for line in tesseract("--list-langs").splitlines()[1:] if line.strip()]
    missing = [model for model in REQUIRED_MODELS if model not in languages]
    if missing:
        raise SystemExit(f"models missing from the layer: {missing}")
    text = tesseract(str(SELFTEST_PAGE), "-", "-l", "chi_sim+eng")
    unread = [line for line in EXPECTED_LINES if line not in text]
    if unread:
        raise SystemExit(f"the self-test page was misread; missing {unread} in:\n{text}")
    if "Orientation in degrees: 0" not in tesseract(str(SELFTEST_PAGE), "-", "--psm", "0"):
        raise SystemExit("orientation detection (osd) did not work")
    size_mb = sum(path.stat().st_size for path in layer.rglob("*") if path.is_file()) / 2**20
    if size_mb > MAX_LAYER_MB:
        raise SystemExit(f"the layer is {size_mb:.1f} MB; it must stay under {MAX_LAYER_MB} MB")
    report.append(f"models: {', '.join(sorted(languages))}")
    report.append(f"unzipped layer size: {size_mb:.1f} MB")
    return report


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("layer", type=Path)
    parser.add_argument("--report", type=Path, help="append the report to this file too")
    args = parser.parse_args()
    lines = main(args.layer)
    print("\n".join(lines))
    if args.report:
        with args.report.open("a", encoding="utf-8") as report:
            report.write("\n".join(lines) + "\n")
    print("layer verified")
