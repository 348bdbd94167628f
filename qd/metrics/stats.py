"""Comparing two methods over independent runs: tests, effect sizes, corrections.

Evolutionary runs give skewed, often tied samples (many runs at zero error, diversities
bunched near 1), so the tests are rank-based: the two-sided Mann-Whitney U test, with
the Vargha-Delaney A (the probability that a run of the first method scores higher than
one of the second, ties counting half) as its effect size. Success rates are compared
with Fisher's exact test. Holm's step-down correction keeps the family-wise error rate
when one table holds many comparisons.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np
from scipy import stats as sps


@dataclass(frozen=True)
class Comparison:
    """One two-sample comparison.

    Attributes:
        n_a: Runs of the first method.
        n_b: Runs of the second.
        u: Mann-Whitney U of the first sample.
        p: Two-sided p-value (1.0 when both samples are constant and equal).
        a12: Vargha-Delaney A: P(a > b) + P(a = b) / 2; 0.5 is no effect.
        magnitude: Vargha and Delaney's label for |A - 0.5|: negligible (< 0.06),
            small (< 0.14), medium (< 0.21) or large.
    """

    n_a: int
    n_b: int
    u: float
    p: float
    a12: float
    magnitude: str

    @property
    def rank_biserial(self) -> float:
        """2A - 1, in [-1, 1]."""
        return 2 * self.a12 - 1


def vargha_delaney_a(a: Sequence[float] | np.ndarray, b: Sequence[float] | np.ndarray) -> float:
    """P(a > b) + P(a == b) / 2 over all pairs (the common-language effect size).

    Raises:
        ValueError: An empty sample.
    """
    x, y = _sample(a, "a"), _sample(b, "b")
    greater = (x[:, None] > y[None, :]).sum()
    equal = (x[:, None] == y[None, :]).sum()
    return float((greater + 0.5 * equal) / (len(x) * len(y)))


def magnitude(a12: float) -> str:
    """Vargha and Delaney's (2000) thresholds on |A - 0.5|."""
    distance = abs(a12 - 0.5)
    if distance < 0.06:
        return "negligible"
    if distance < 0.14:
        return "small"
    if distance < 0.21:
        return "medium"
    return "large"


def mann_whitney(a: Sequence[float], b: Sequence[float]) -> Comparison:
    """Two-sided Mann-Whitney U test of ``a`` against ``b``, with the A effect size.

    NaN values are dropped (a run without a number, e.g. a diverged error).

    Raises:
        ValueError: A sample is empty after dropping NaN.
    """
    x, y = _sample(a, "a"), _sample(b, "b")
    a12 = vargha_delaney_a(x, y)
    if np.all(x == x[0]) and np.all(y == y[0]) and x[0] == y[0]:
        u, p = len(x) * len(y) / 2, 1.0  # scipy returns NaN when every value ties
    else:
        result = sps.mannwhitneyu(x, y, alternative="two-sided")
        u, p = float(result.statistic), float(result.pvalue)
    return Comparison(len(x), len(y), u, p, a12, magnitude(a12))


def fisher_exact(successes_a: int, n_a: int, successes_b: int, n_b: int) -> float:
    """Two-sided p-value of Fisher's exact test on two success rates."""
    table = [[successes_a, n_a - successes_a], [successes_b, n_b - successes_b]]
    return float(sps.fisher_exact(table, alternative="two-sided").pvalue)


def holm(pvalues: Sequence[float]) -> list[float]:
    """Holm-Bonferroni adjusted p-values, in the input order (NaN stays NaN)."""
    values = np.asarray(pvalues, dtype=float)
    finite = np.flatnonzero(~np.isnan(values))
    adjusted = np.full(len(values), np.nan)
    running = 0.0
    for rank, index in enumerate(finite[np.argsort(values[finite], kind="stable")]):
        running = max(running, (len(finite) - rank) * values[index])
        adjusted[index] = min(1.0, running)
    return adjusted.tolist()


def _sample(values: Iterable[float | None], name: str) -> np.ndarray:
    array = np.asarray([v for v in values if v is not None], dtype=float)
    array = array[~np.isnan(array)]
    if not len(array):
        raise ValueError(f"sample {name} has no numbers; each method needs at least one run")
    return array


def format_p(p: float) -> str:
    """A p-value for a table: three significant digits, or ``<1e-4``."""
    if math.isnan(p):
        return "-"
    return "<1e-4" if p < 1e-4 else f"{p:.3g}"
