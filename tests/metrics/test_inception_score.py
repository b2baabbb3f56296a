"""The Inception Score formula against torch-fidelity's ISC (golden) and against its definition."""

import json
from pathlib import Path

import numpy as np
import pytest

from frechet.errors import InputError
from frechet.metrics.inception_score import inception_score

GOLDENS = Path(__file__).resolve().parents[1] / "goldens"


@pytest.mark.parametrize("case", ["splits_10", "splits_4"])
def test_inception_score_matches_torch_fidelity(case):
    golden = json.loads((GOLDENS / "inception_score.json").read_text())["cases"][case]
    logits = np.load(GOLDENS / "inception_score_logits.npy")
    mean, std = inception_score(logits, golden["splits"], seed=golden["seed"])
    assert mean == pytest.approx(golden["is_mean"], rel=1e-12)
    assert std == pytest.approx(golden["is_std"], rel=1e-10)


def test_inception_score_of_confident_distinct_predictions_equals_class_count():
    # Each sample certain of its own class, classes uniform: KL = log(classes), so IS = classes.
    classes = 8
    logits = np.full((classes * 5, classes), -1e3)
    logits[np.arange(classes * 5), np.arange(classes * 5) % classes] = 0.0
    mean, std = inception_score(logits, splits=5, shuffle=False)
    assert mean == pytest.approx(classes, rel=1e-12)
    assert std == pytest.approx(0.0, abs=1e-9)


def test_inception_score_of_identical_predictions_is_one():
    logits = np.tile(np.linspace(-2, 2, 10), (30, 1))
    mean, _ = inception_score(logits, splits=3)
    assert mean == pytest.approx(1.0, abs=1e-12)


def test_inception_score_needs_a_sample_per_split():
    with pytest.raises(InputError, match="at least 10 samples"):
        inception_score(np.zeros((5, 3)), splits=10)
