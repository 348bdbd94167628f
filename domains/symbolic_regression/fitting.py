"""How well a formula fits data: linear scaling and constant optimisation.

Two standard ways to stop GP from spending its search on numbers:

- **Linear scaling** (Keijzer 2003, "Improving symbolic regression with interval
  arithmetic and linear scaling"): a formula ``f`` is scored as ``a + b * f(x)`` with
  ``a`` and ``b`` the least-squares fit, in closed form over all points at once. The
  search then looks for the *shape* of the target; scale and offset come free.
- **Constant optimisation**: the formula's own constants are tuned by nonlinear least
  squares (Levenberg-Marquardt, :mod:`.marquardt`: reproducible to the bit, which
  SciPy's MINPACK is not), with ``a`` and ``b`` solved exactly inside each residual call
  (variable projection), as pyoperon tunes its coefficients. Every function call the
  optimiser makes is counted and the budget is never exceeded, so budgets compare.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from deap import gp

from domains.symbolic_regression.marquardt import minimise
from domains.symbolic_regression.primitives import evaluate_tree

__all__ = ["Fit", "fit_tree", "linear_scale", "nrmse", "tune_constants"]

SLOPE_FLOOR = 1e-12
"""Below this output spread a formula is a constant: its slope is 0, its intercept the
target's mean."""

FAILED_RESIDUAL = 1e6
"""What a non-finite residual becomes inside the optimiser, which needs finite numbers;
the step that produced it is then rejected as far worse than the start."""


def nrmse(prediction: np.ndarray, target: np.ndarray) -> float:
    """Root-mean-square error over the target's standard deviation; inf if not finite.

    Dividing by the spread makes errors comparable across problems: 1 is as good as
    predicting the mean, 0 is exact, and ``1 - nrmse**2`` is R^2.
    """
    with np.errstate(all="ignore"):
        if not np.all(np.isfinite(prediction)):
            return float("inf")
        rmse = float(np.sqrt(np.mean((prediction - target) ** 2)))
    spread = float(np.std(target)) or 1.0
    return rmse / spread if np.isfinite(rmse) else float("inf")


def linear_scale(prediction: np.ndarray, target: np.ndarray) -> tuple[float, float]:
    """``(intercept, slope)`` minimising the squared error of ``intercept + slope * prediction``.

    A constant (or non-finite) prediction gets slope 0 and the target's mean, the best
    any constant can do.
    """
    with np.errstate(all="ignore"):
        if not np.all(np.isfinite(prediction)):
            return float(np.mean(target)), 0.0
        centred = prediction - prediction.mean()
        spread = float(centred @ centred)
        if not np.isfinite(spread) or spread <= SLOPE_FLOOR * len(prediction):
            return float(np.mean(target)), 0.0
        slope = float(centred @ (target - target.mean())) / spread
        intercept = float(target.mean() - slope * prediction.mean())
    if not (np.isfinite(slope) and np.isfinite(intercept)):
        return float(np.mean(target)), 0.0
    return intercept, slope


@dataclass(frozen=True)
class Fit:
    """A formula fitted to data.

    Attributes:
        tree: The formula (with tuned constants when they were tuned, else the input).
        error: NRMSE of ``intercept + slope * tree`` on the data (inf if not finite).
        intercept: ``a`` of the linear scaling (0 without scaling).
        slope: ``b`` of the linear scaling (1 without scaling).
        evaluations: Times the formula was computed on the data, tuning included.
        outputs: ``tree``'s raw outputs on the data (before scaling), for callers that
            describe behaviour without computing them again.
    """

    tree: gp.PrimitiveTree
    error: float
    intercept: float
    slope: float
    evaluations: int
    outputs: np.ndarray


def _is_constant(node) -> bool:
    return isinstance(node, gp.Terminal) and not isinstance(node.value, str)


def _score(outputs: np.ndarray, y: np.ndarray, scaling: bool) -> tuple[float, float, float]:
    intercept, slope = linear_scale(outputs, y) if scaling else (0.0, 1.0)
    with np.errstate(all="ignore"):
        error = nrmse(intercept + slope * outputs, y)
    return error, intercept, slope


def tune_constants(
    tree: gp.PrimitiveTree,
    X: np.ndarray,
    y: np.ndarray,
    *,
    max_evaluations: int,
    scaling: bool = True,
) -> tuple[gp.PrimitiveTree, int]:
    """A copy of ``tree`` whose constants minimise the squared error, and the calls used.

    The tree passed in is left unchanged. A tree without constants, or whose outputs
    are not finite at its current constants, is returned as it is (0 calls): there is
    nothing to tune, or nowhere to start from.

    Args:
        tree: The formula.
        X: Inputs, shape ``(n, n_vars)``.
        y: Targets, shape ``(n,)``.
        max_evaluations: Most calls of the formula the optimiser may make (Jacobian
            estimates included).
        scaling: Solve ``a`` and ``b`` of linear scaling inside each call.
    """
    if max_evaluations < 2 or not any(_is_constant(node) for node in tree):
        return tree, 0
    with np.errstate(all="ignore"):
        first = evaluate_tree(tree, X)
    if not np.all(np.isfinite(first)):
        return tree, 0
    tuned, calls, _ = _tune(tree, X, y, first, max_evaluations=max_evaluations, scaling=scaling)
    return tuned, calls


def _tune(
    tree: gp.PrimitiveTree,
    X: np.ndarray,
    y: np.ndarray,
    first: np.ndarray,
    *,
    max_evaluations: int,
    scaling: bool,
) -> tuple[gp.PrimitiveTree, int, np.ndarray]:
    """:func:`tune_constants` for a tree with constants and finite outputs ``first`` (not
    checked); also returns the tuned tree's outputs, computed during the search."""
    # Fresh constant nodes: DEAP's copies share their nodes with the original tree.
    tuned = gp.PrimitiveTree(tree)
    nodes = []
    for index, node in enumerate(tuned):
        if _is_constant(node):
            fresh = object.__new__(type(node))
            fresh.value = node.value
            tuned[index] = fresh
            nodes.append(fresh)
    start = np.array([float(node.value) for node in nodes])
    seen: dict[bytes, np.ndarray] = {start.tobytes(): first}

    def residual(outputs: np.ndarray) -> np.ndarray:
        with np.errstate(all="ignore"):
            intercept, slope = linear_scale(outputs, y) if scaling else (0.0, 1.0)
            result = intercept + slope * outputs - y
        return np.where(np.isfinite(result), result, FAILED_RESIDUAL)

    def residuals(values: np.ndarray) -> np.ndarray:
        for node, value in zip(nodes, values, strict=True):
            node.value = float(value)
        with np.errstate(all="ignore"):
            outputs = evaluate_tree(tuned, X)
        seen[values.tobytes()] = outputs
        return residual(outputs)

    best, calls = minimise(residuals, start, max_calls=max_evaluations, first=residual(first))
    for node, value in zip(nodes, best, strict=True):
        node.value = float(value)
    return tuned, calls, seen[best.tobytes()]


def fit_tree(
    tree: gp.PrimitiveTree,
    X: np.ndarray,
    y: np.ndarray,
    *,
    scaling: bool = True,
    tuning_evaluations: int = 0,
) -> Fit:
    """Score ``tree`` on ``(X, y)``; with a tuning budget, tune its constants first.

    The tuned tree is kept only when it fits better than the tree as it came, so tuning
    never makes a formula worse.

    Raises:
        KeyError: The tree names a variable ``X`` does not have.
    """
    with np.errstate(all="ignore"):
        outputs = evaluate_tree(tree, X)
    error, intercept, slope = _score(outputs, y, scaling)
    evaluations = 1
    # A finite error means finite outputs: tuning has somewhere to start from.
    has_constants = any(_is_constant(node) for node in tree)
    if tuning_evaluations > 1 and has_constants and np.isfinite(error) and error > 0:
        tuned, calls, tuned_outputs = _tune(
            tree, X, y, outputs, max_evaluations=tuning_evaluations, scaling=scaling
        )
        evaluations += calls
        tuned_fit = _score(tuned_outputs, y, scaling)
        if tuned_fit[0] < error:
            tree, outputs = tuned, tuned_outputs
            error, intercept, slope = tuned_fit
    return Fit(tree, error, intercept, slope, evaluations, outputs)
