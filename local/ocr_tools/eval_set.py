"""Where the images are: the larger evaluation set the benchmark and the fusion fit read, and
the small set the tests carry in the repository.

The evaluation set is not part of the repository. It is found by ``--eval-dir``, else by the
``OCR_EVAL_DIR`` environment variable, else at ``../shared/eval`` beside the project.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

from ocr_local.template import PROJECT_ROOT

EVAL_DIR_VARIABLE = "OCR_EVAL_DIR"
# The images the tests read (and the tools that need one real page), with their licences.
TEST_DATA = PROJECT_ROOT / "tests" / "data"


def default_eval_dir() -> Path:
    return Path(os.environ.get(EVAL_DIR_VARIABLE) or PROJECT_ROOT.parent / "shared" / "eval")


def require_eval_dir(eval_dir: Path) -> Path:
    """The set's folder, or an exit that says where it was looked for and how to name another."""
    if not eval_dir.is_dir():
        sys.exit(
            f"no evaluation set at {eval_dir}: this tool measures on a larger set of images than "
            f"the tests carry. Pass --eval-dir DIR or set {EVAL_DIR_VARIABLE}; its layout is "
            "<folder>/<image> beside <image stem>.txt (see docs/performance.md)."
        )
    return eval_dir
