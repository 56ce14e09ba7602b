"""Checks a Tesseract layer tree the way the function will use it.

    python verify_layer.py LAYER_DIR [--report FILE]

With the models in LAYER_DIR/share/tessdata and nothing else, the function's own Tesseract
(tesserocr, which must be importable; nothing else is needed) reads the self-test page in Chinese and English and
detects its orientation, and the unzipped size is checked. The Docker build runs it inside the
Lambda runtime image; CI runs it on a tree assembled from the build machine's own models, and
`scripts/sam_build.sh` again with the function as `sam build` packaged it, under Python 3.12.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import tesserocr

SELFTEST_PAGE = Path(__file__).with_name("selftest.pbm")
REQUIRED_MODELS = ("eng", "chi_sim", "osd")
EXPECTED_LINES = ("图片文字识别", "Image to text in one API call", "English")
# Lambda allows 250 MB unzipped for the function and all its layers together.
MAX_LAYER_MB = 100


def main(layer: Path) -> list[str]:
    """Checks the tree; returns the report lines, or exits with what is wrong."""
    tessdata = str(layer / "share" / "tessdata")
    report = [f"tesserocr {tesserocr.__version__}, " + tesserocr.tesseract_version().splitlines()[0]]
    _, languages = tesserocr.get_languages(tessdata)
    missing = [model for model in REQUIRED_MODELS if model not in languages]
    if missing:
        raise SystemExit(f"models missing from the layer: {missing}")
    with tesserocr.PyTessBaseAPI(path=tessdata, lang="chi_sim+eng") as tesseract:
        tesseract.SetImageFile(str(SELFTEST_PAGE))
        text = tesseract.GetUTF8Text()
    unread = [line for line in EXPECTED_LINES if line not in text]
    if unread:
        raise SystemExit(f"the self-test page was misread; missing {unread} in:\n{text}")
    with tesserocr.PyTessBaseAPI(path=tessdata, lang="osd", psm=tesserocr.PSM.OSD_ONLY) as tesseract:
        tesseract.SetImageFile(str(SELFTEST_PAGE))
        orientation = tesseract.DetectOrientationScript()
    if not orientation or orientation["orient_deg"] != 0:
        raise SystemExit(f"orientation detection (osd) did not work: {orientation}")
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
