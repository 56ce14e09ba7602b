"""Character error rate, as the evaluation set's README defines it."""

from __future__ import annotations

import re

_SPACE = re.compile(r"\s+")


def levenshtein(a: str, b: str) -> int:
    previous = list(range(len(b) + 1))
    for i, char_a in enumerate(a, 1):
        current = [i]
        for j, char_b in enumerate(b, 1):
            current.append(
                min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (char_a != char_b))
            )
        previous = current
    return previous[-1]


def cer(recognised: str, truth: str, ignore_case: bool = False) -> float:
    recognised, truth = _SPACE.sub("", recognised), _SPACE.sub("", truth)
    if ignore_case:
        recognised, truth = recognised.lower(), truth.lower()
    return levenshtein(recognised, truth) / max(1, len(truth))
