"""Judge metrics: accuracy, AUC, calibration error and their bootstrap intervals."""

from __future__ import annotations

import numpy as np
import pytest

from qd.metrics.judges import (
    accuracy,
    auc,
    expected_calibration_error,
    score_judge,
    stratified_folds,
)


def test_accuracy_and_auc_on_hand_checked_cases():
    p = [0.9, 0.8, 0.3, 0.6, 0.1, 0.5]
    y = [1, 1, 0, 0, 0, 1]
    # right: 0.9, 0.8, 0.3, 0.1; wrong: 0.6; the 0.5 tie counts half
    assert accuracy(p, y) == pytest.approx(4.5 / 6)
    # positives 0.9, 0.8, 0.5 against negatives 0.3, 0.6, 0.1: 8 of 9 pairs ordered right
    assert auc(p, y) == pytest.approx(8 / 9)
    assert auc([0.2, 0.2], [0, 1]) == 0.5
    assert np.isnan(auc([0.2, 0.4], [1, 1]))


def test_an_inverted_judge_has_auc_zero_and_a_constant_one_half():
    y = [0, 0, 1, 1]
    assert auc([0.9, 0.8, 0.2, 0.1], y) == 0.0
    assert auc([0.7] * 4, y) == 0.5
    assert accuracy([0.7] * 4, y) == 0.5  # calls everything positive


def test_calibration_error_separates_calibrated_from_overconfident():
    rng = np.random.default_rng(0)
    p = rng.uniform(0, 1, 20_000)
    y = (rng.uniform(0, 1, p.size) < p).astype(int)  # labels drawn at the stated odds
    assert expected_calibration_error(p, y) < 0.02
    overconfident = np.where(p > 0.5, 0.999, 0.001)
    assert expected_calibration_error(overconfident, y) > 0.2


def test_bad_inputs_are_refused_with_a_reason():
    with pytest.raises(ValueError, match="labels must be 0 or 1"):
        accuracy([0.5], [2])
    with pytest.raises(ValueError, match=r"in \[0, 1\]"):
        auc([1.5, 0.2], [1, 0])
    with pytest.raises(ValueError, match="1-D alike"):
        auc([0.1, 0.2], [1])


def test_score_judge_gives_intervals_around_the_point_and_is_seeded():
    rng = np.random.default_rng(1)
    y = np.repeat([0, 1], 40)
    p = np.clip(0.5 + (y - 0.5) * 0.4 + rng.normal(0, 0.2, y.size), 0, 1)
    first = score_judge(p, y, resamples=300, seed=3)
    assert first == score_judge(p, y, resamples=300, seed=3)
    for point, low, high in (first.accuracy, first.auc, first.ece):
        assert low <= point <= high
    assert first.auc[0] > 0.85 and first.n == 80
    assert first.row()["AUC"].startswith(f"{first.auc[0]:.2f} [")


def test_stratified_folds_partition_and_balance_labels():
    y = np.array([0] * 12 + [1] * 8)
    folds = stratified_folds(y, 4, seed=0)
    assert sorted(np.concatenate(folds).tolist()) == list(range(20))
    assert [int(y[f].sum()) for f in folds] == [2, 2, 2, 2]
    assert [len(f) for f in folds] == [5, 5, 5, 5]
