"""The tools behind auto's weights: the logistic fit, and the pages made to judge it on."""

from __future__ import annotations

import random
from decimal import Decimal

from PIL import Image

from ocr_tools.fit_fusion import logistic
from ocr_tools.generated_pages import generate


def test_the_weighted_fit_finds_the_rule_the_labels_follow():
    # GIVEN points labelled by 2x - y > 0.5, with a bias column as the fusion's features have
    rng = random.Random(3)
    points = [(rng.uniform(-2, 2), rng.uniform(-2, 2)) for _ in range(400)]
    features = [(1.0, x, y) for x, y in points]
    labels = [1.0 if 2 * x - y > 0.5 else 0.0 for x, y in points]
    # WHEN fitted
    weights = logistic(features, labels, [1.0] * len(points))
    # THEN it decides almost every point as the rule does, with the rule's signs
    agree = sum((sum(w * f for w, f in zip(weights, row)) > 0) == bool(label) for row, label in zip(features, labels))
    assert agree >= 0.97 * len(points)
    assert weights[1] > 0 > weights[2] and weights[0] < 0


def test_one_label_only_gives_a_bias_that_says_it():
    assert logistic([(1.0, 0.3)] * 5, [1.0] * 5, [1.0] * 5)[0] > 0
    assert logistic([(1.0, 0.3)] * 5, [0.0] * 5, [1.0] * 5)[0] < 0


def test_generated_pages_carry_their_exact_truth(tmp_path):
    # WHEN a page of each layout is made, as drawn
    assert generate(tmp_path, random.Random(7), 1) == 4
    # THEN each image has its truth beside it, and a receipt's total is the sum of its prices
    for truth in tmp_path.glob("*.txt"):
        image = Image.open(truth.with_suffix(".png"))
        assert image.width > 300 and truth.read_text().strip()
    receipt = (tmp_path / "receipt_01.txt").read_text().splitlines()
    prices = [Decimal(line) for line in receipt[2:-2] if line[0].isdigit()]
    assert receipt[-2] == "TOTAL" and Decimal(receipt[-1]) == sum(prices)
