"""How good is a judge? Accuracy, AUC and calibration on labelled data, with bootstrap CIs.

A search optimises whatever its judge rewards, so every judge is measured before it is
trusted (``experiments/judges.py`` prints these for every judge and axis):

- accuracy at the 0.5 threshold: what a descriptor bin boundary at 0.5 gets right;
- AUC: whether the judge *orders* texts right, whatever its threshold (0.5 = chance);
- expected calibration error (ECE, 10 equal-width bins): whether "0.9" means 90%,
  which matters because QDAIF's bins sit at fixed probabilities.

Cross-validated predictions (:func:`stratified_folds`) keep fitted judges honest: a
judge is scored only on texts it was not fitted on.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike

__all__ = [
    "JudgeScore",
    "accuracy",
    "auc",
    "expected_calibration_error",
    "score_judge",
    "stratified_folds",
    "top_label_calibration_error",
]


def _arrays(p: ArrayLike, y: ArrayLike) -> tuple[np.ndarray, np.ndarray]:
    p_arr = np.asarray(p, dtype=np.float64)
    y_arr = np.asarray(y, dtype=int)
    if p_arr.shape != y_arr.shape or p_arr.ndim != 1:
        raise ValueError(f"probabilities {p_arr.shape} and labels {y_arr.shape} must be 1-D alike")
    if not set(np.unique(y_arr)) <= {0, 1}:
        raise ValueError("labels must be 0 or 1")
    if np.any(~np.isfinite(p_arr)) or np.any((p_arr < 0) | (p_arr > 1)):
        raise ValueError("probabilities must be finite and in [0, 1]")
    return p_arr, y_arr


def accuracy(p: ArrayLike, y: ArrayLike) -> float:
    """Share right at threshold 0.5 (a tie at exactly 0.5 counts as half right)."""
    p_arr, y_arr = _arrays(p, y)
    if p_arr.size == 0:
        return float("nan")
    right = np.where(p_arr == 0.5, 0.5, ((p_arr > 0.5) == (y_arr == 1)).astype(float))
    return float(right.mean())


def auc(p: ArrayLike, y: ArrayLike) -> float:
    """Area under the ROC curve: P(a random positive scores above a random negative).

    Ties count half (the Mann-Whitney statistic). NaN when one class is absent.
    """
    p_arr, y_arr = _arrays(p, y)
    pos, neg = p_arr[y_arr == 1], p_arr[y_arr == 0]
    if pos.size == 0 or neg.size == 0:
        return float("nan")
    greater = (pos[:, None] > neg[None, :]).sum()
    ties = (pos[:, None] == neg[None, :]).sum()
    return float((greater + 0.5 * ties) / (pos.size * neg.size))


def expected_calibration_error(p: ArrayLike, y: ArrayLike, bins: int = 10) -> float:
    """ECE: the bin-size-weighted gap between mean confidence and accuracy.

    Confidence is ``max(p, 1 - p)`` for the predicted class, in ``bins`` equal bins.
    """
    p_arr, y_arr = _arrays(p, y)
    if p_arr.size == 0:
        return float("nan")
    confidence = np.maximum(p_arr, 1.0 - p_arr)
    correct = ((p_arr >= 0.5) == (y_arr == 1)).astype(float)
    edges = np.linspace(0.5, 1.0, bins + 1)
    which = np.clip(np.digitize(confidence, edges[1:-1]), 0, bins - 1)
    return _binned_gap(confidence, correct, which, bins)


def _binned_gap(confidence: np.ndarray, correct: np.ndarray, which: np.ndarray, bins: int) -> float:
    """Sum over bins of (share of items in the bin) x |mean confidence - accuracy|."""
    gap = 0.0
    for b in range(bins):
        in_bin = which == b
        if in_bin.any():
            gap += in_bin.mean() * abs(confidence[in_bin].mean() - correct[in_bin].mean())
    return float(gap)


def top_label_calibration_error(
    proba: np.ndarray, labels: Sequence[int] | np.ndarray, bins: int = 10
) -> float:
    """ECE of a many-class judge: confidence is its top probability, correct is whether
    its top class is the label; the bin-size-weighted gap between the two, ``bins``
    equal bins over ``[0, 1]``."""
    proba = np.asarray(proba, dtype=float)
    if proba.size == 0:
        return float("nan")
    confidence = proba.max(axis=1)
    correct = (proba.argmax(axis=1) == np.asarray(labels)).astype(float)
    which = np.clip((confidence * bins).astype(int), 0, bins - 1)
    return _binned_gap(confidence, correct, which, bins)


@dataclass(frozen=True)
class JudgeScore:
    """A judge's numbers on one axis: each a point estimate and a 95% bootstrap CI."""

    n: int
    accuracy: tuple[float, float, float]
    auc: tuple[float, float, float]
    ece: tuple[float, float, float]

    def row(self) -> dict[str, str]:
        """Formatted cells for a table: ``0.91 [0.85, 0.96]``."""

        def cell(v: tuple[float, float, float]) -> str:
            return f"{v[0]:.2f} [{v[1]:.2f}, {v[2]:.2f}]"

        return {"accuracy": cell(self.accuracy), "AUC": cell(self.auc), "ECE": cell(self.ece)}


def score_judge(
    p: Sequence[float],
    y: Sequence[int],
    *,
    resamples: int = 1000,
    seed: int = 0,
) -> JudgeScore:
    """Accuracy, AUC and ECE with percentile bootstrap 95% CIs (texts resampled).

    Args:
        p: The judge's P(positive) per text.
        y: The true labels, 0 or 1.
        resamples: Bootstrap resamples.
        seed: Seeds the resampling, so a table is reproducible.

    Returns:
        A :class:`JudgeScore`.
    """
    p_arr, y_arr = _arrays(p, y)
    rng = np.random.default_rng(seed)
    metrics: dict[str, Callable[[np.ndarray, np.ndarray], float]] = {
        "accuracy": accuracy,
        "auc": auc,
        "ece": expected_calibration_error,
    }
    out: dict[str, tuple[float, float, float]] = {}
    draws = rng.integers(0, p_arr.size, size=(resamples, p_arr.size)) if p_arr.size else None
    for name, metric in metrics.items():
        point = metric(p_arr, y_arr)
        if draws is None:
            out[name] = (point, point, point)
            continue
        values = np.array([metric(p_arr[d], y_arr[d]) for d in draws])
        values = values[np.isfinite(values)]
        low, high = np.percentile(values, [2.5, 97.5]) if values.size else (point, point)
        out[name] = (point, float(low), float(high))
    return JudgeScore(n=int(p_arr.size), **out)


def stratified_folds(y: Sequence[int], k: int, *, seed: int = 0) -> list[np.ndarray]:
    """``k`` disjoint test-index sets with each label spread evenly (for cross-fitting)."""
    y_arr = np.asarray(y)
    rng = np.random.default_rng(seed)
    folds: list[list[int]] = [[] for _ in range(k)]
    for label in np.unique(y_arr):
        idx = rng.permutation(np.flatnonzero(y_arr == label))
        for j, i in enumerate(idx):
            folds[j % k].append(int(i))
    return [np.sort(np.asarray(f, dtype=int)) for f in folds]
