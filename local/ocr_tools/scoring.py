"""Character error rate, as the evaluation set's README defines it: white space removed."""

from __future__ import annotations

import re

from rapidfuzz.distance import Levenshtein

_SPACE = re.compile(r"\s+")


def cer(recognised: str, truth: str, ignore_case: bool = False) -> float:
    """Levenshtein distance over the truth's length, both without white space."""
    recognised, truth = _SPACE.sub("", recognised), _SPACE.sub("", truth)
    if ignore_case:
        recognised, truth = recognised.lower(), truth.lower()
    return Levenshtein.distance(recognised, truth) / max(1, len(truth))


def is_upper_case_truth(truth: str) -> bool:
    """Ground truth written all in capitals (like SROIE's) is scored without case."""
    letters = [char for char in truth if char.isalpha() and char.isascii()]
    return bool(letters) and not any(char.islower() for char in letters)
