"""How well a formula fits data: linear scaling and constant optimisation.

Two standard ways to stop GP from spending its search on numbers:

- **Linear scaling** (Keijzer 2003, "Improving symbolic regression with interval
  arithmetic and linear scaling"): a formula ``f`` is scored as ``a + b * f(x)`` with
  ``a`` and ``b`` the least-squares fit, in closed form over all points at once. The
  search then looks for the *shape* of the target; scale and offset come free.
- **Constant optimisation**: the formula's own constants are tuned by nonlinear least
  squares (Levenberg-Marquardt, compiled in :mod:`.batch_tuning` after the readable
  reference :mod:`.marquardt`; reproducible to the bit, which
  SciPy's MINPACK is not), with ``a`` and ``b`` solved exactly inside each residual call
  (variable projection), as pyoperon tunes its coefficients. Every function call the
  optimiser makes is counted and the budget is never exceeded, so budgets compare.
  Tuned constants stay in a box set by the inputs' scale (:func:`constant_bound`), so
  none runs away along a flat direction of the fit.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from deap import gp

from domains.symbolic_regression.batch import Tree
from domains.symbolic_regression.batch_kernels import SLOPE_FLOOR as _KERNEL_FLOOR
from domains.symbolic_regression.batch_kernels import score as score_kernel
from domains.symbolic_regression.batch_tuning import minimise as tune_program
from domains.symbolic_regression.compiled import Program, _execute, compile_tree

__all__ = [
    "Fit",
    "Target",
    "constant_bound",
    "fit_tree",
    "linear_scale",
    "nrmse",
    "tune_constants",
]

SLOPE_FLOOR = 1e-12
assert SLOPE_FLOOR == _KERNEL_FLOOR, "the compiled scorer's floor is this one"
"""Below this output spread a formula is a constant: its slope is 0, its intercept the
target's mean."""

FAILED_RESIDUAL = 1e6
"""What a non-finite residual becomes inside the optimiser, which needs finite numbers;
the step that produced it is then rejected as far worse than the start."""

BOUND_FACTOR = 1e3
"""Tuned constants stay within this many times the inputs' scale (:func:`constant_bound`)."""


def constant_bound(X: np.ndarray) -> float:
    """The largest magnitude constant tuning may give a constant, for inputs ``X``.

    A constant that matters either sits beside a variable (``x + c``: about as large as
    the inputs) or scales one (``c * x`` inside ``cos`` or ``exp``: about the inverse of
    the inputs); the output's scale and offset are linear scaling's. So the bound is
    :data:`BOUND_FACTOR` times the largest of 1, each input column's largest magnitude
    ``s`` and its inverse ``1 / s`` (columns of zeros left out): 1e3 on inputs in
    [-1, 1], 1e4 on inputs up to 10, 1e12 on inputs near 1e-9. A constant past it is one
    running along a flat direction of the fit (``c1 * x1 + x2`` with ``c1 -> inf`` and
    the slope ``-> 0``), which buys a last digit of error with an unreadable formula.

    Args:
        X: Inputs, shape ``(n, n_vars)``.
    """
    with np.errstate(all="ignore"):
        magnitudes = np.abs(np.asarray(X, dtype=float)).max(axis=0, initial=0.0)
        magnitudes = magnitudes[np.isfinite(magnitudes) & (magnitudes > 0)]
        scale = max(
            1.0, float(magnitudes.max(initial=1.0)), float((1.0 / magnitudes).max(initial=1.0))
        )
    return BOUND_FACTOR * scale


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
    # Called for every formula and every optimiser step: numpy's reductions without
    # np.mean's Python wrapper (``_mean`` gives the same bits).
    with np.errstate(all="ignore"):
        if not np.isfinite(prediction).all():
            return float(_mean(target)), 0.0
        prediction_mean = _mean(prediction)
        centred = prediction - prediction_mean
        spread = float(centred @ centred)
        if not np.isfinite(spread) or spread <= SLOPE_FLOOR * len(prediction):
            return float(_mean(target)), 0.0
        target_mean = _mean(target)
        slope = float(centred @ (target - target_mean)) / spread
        intercept = float(target_mean - slope * prediction_mean)
    if not (np.isfinite(slope) and np.isfinite(intercept)):
        return float(_mean(target)), 0.0
    return intercept, slope


def _mean(values: np.ndarray) -> np.floating:
    """``np.mean`` of a float array, bit for bit, without its Python-level overhead."""
    if values.dtype != np.float64:
        return np.mean(values)
    return np.add.reduce(values, axis=None) / values.size


class Target:
    """A target vector with what every score of a formula against it needs, computed once.

    :func:`linear_scale` and :func:`nrmse` recompute the target's mean, its centred
    values and its spread at each call, and each call enters ``np.errstate``; a search
    scores thousands of formulas (and tuning ten times more) against one target. A
    ``Target`` holds those numbers (the very arrays and floats those functions compute,
    so scores are the same to the bit), and :meth:`score` does the rest with the
    caller's ``np.errstate``.

    Args:
        y: The target, shape ``(n,)``.
    """

    def __init__(self, y: np.ndarray) -> None:
        self.y = y
        self.mean = _mean(y)
        self.mean_float = float(self.mean)
        self.centred = y - self.mean
        self.spread = float(np.std(y)) or 1.0
        # what the compiled scorer reads: contiguous float64
        self.y_float = np.ascontiguousarray(y, dtype=np.float64)
        self.centred_float = np.ascontiguousarray(self.centred, dtype=np.float64)

    def scale(self, prediction: np.ndarray) -> tuple[float, float]:
        """:func:`linear_scale` ``(prediction, self.y)``; call within ``np.errstate``."""
        # The same numpy operations; tests of Python floats use ``math`` (no numpy call).
        if not np.isfinite(prediction).all():
            return self.mean_float, 0.0
        prediction_mean = _mean(prediction)
        centred = prediction - prediction_mean
        spread = float(centred @ centred)
        if not math.isfinite(spread) or spread <= SLOPE_FLOOR * len(prediction):
            return self.mean_float, 0.0
        slope = float(centred @ self.centred) / spread
        intercept = float(self.mean - slope * prediction_mean)
        if not (math.isfinite(slope) and math.isfinite(intercept)):
            return self.mean_float, 0.0
        return intercept, slope

    def score(self, outputs: np.ndarray, scaling: bool) -> tuple[float, float, float]:
        """``(error, intercept, slope)`` of ``outputs`` (scaled when ``scaling``).

        The compiled :func:`~.batch_kernels.score`, which scores a batch of formulas too,
        so a formula scored alone or in a batch gets the same bits.
        """
        error, intercept, slope = score_kernel(
            np.ascontiguousarray(outputs, dtype=np.float64),
            self.y_float,
            self.mean_float,
            self.centred_float,
            self.spread,
            bool(scaling),
        )
        return float(error), float(intercept), float(slope)


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


def tune_constants(
    tree: gp.PrimitiveTree,
    X: np.ndarray,
    y: np.ndarray,
    *,
    max_evaluations: int,
    scaling: bool = True,
    bound: float | None = None,
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
        bound: Tuned constants stay in ``[-bound, bound]`` (default
            ``constant_bound(X)``); constants already outside it move only inward.
    """
    if max_evaluations < 2 or not any(_is_constant(node) for node in tree):
        return tree, 0
    program = compile_tree(tree, X.shape[1])
    XT = _columns(X)
    first = program.evaluate(XT, transposed=True)
    if not np.all(np.isfinite(first)):
        return tree, 0
    with np.errstate(all="ignore"):
        tuned, calls, _ = _tune(
            tree,
            program,
            XT,
            Target(y),
            first,
            max_evaluations=max_evaluations,
            scaling=scaling,
            bound=constant_bound(X) if bound is None else bound,
        )
    return tuned, calls


def _columns(X: np.ndarray) -> np.ndarray:
    """``X`` in the compiled kernel's layout, made once for every call of a fit."""
    return np.ascontiguousarray(np.asarray(X, dtype=float).T)


def _tune(
    tree: gp.PrimitiveTree,
    program: Program,
    XT: np.ndarray,
    target: Target,
    first: np.ndarray,
    *,
    max_evaluations: int,
    scaling: bool,
    bound: float,
) -> tuple[gp.PrimitiveTree, int, np.ndarray]:
    """:func:`tune_constants` for a tree with constants and finite outputs ``first`` (not
    checked), its compiled ``program`` and transposed inputs ``XT``; also returns the
    tuned tree's outputs, computed during the search. Call within ``np.errstate``.

    The compiled Levenberg-Marquardt of :mod:`.batch_tuning` (the batch path's own, so
    a tree tuned alone or in a batch gets the same constants); the program's constants
    are left as they came.
    """
    del first  # the kernel starts from the program's outputs, computed alongside
    best = program.constants.copy()
    calls = tune_program(
        program.codes,
        program.slots,
        best,
        XT,
        program.depth,
        target.y_float,
        target.mean_float,
        target.centred_float,
        bool(scaling),
        int(max_evaluations),
        float(bound),
    )
    outputs = np.empty(XT.shape[1])
    _execute(program.codes, program.slots, best, XT, program.depth, outputs)
    # Fresh constant nodes: DEAP's copies share their nodes with the original tree.
    tuned = Tree(tree)
    for index, value in zip(program.constant_nodes, best, strict=True):
        fresh = object.__new__(type(tuned[index]))
        fresh.value = float(value)
        tuned[index] = fresh
    return tuned, int(calls), outputs


def fit_tree(
    tree: gp.PrimitiveTree,
    X: np.ndarray,
    y: np.ndarray,
    *,
    scaling: bool = True,
    tuning_evaluations: int = 0,
    program: Program | None = None,
    target: Target | None = None,
    bound: float | None = None,
) -> Fit:
    """Score ``tree`` on ``(X, y)``; with a tuning budget, tune its constants first.

    The tuned tree is kept only when it fits better than the tree as it came, so tuning
    never makes a formula worse; tuned constants lie in ``[-bound, bound]``.

    Args:
        tree: The formula.
        X: Inputs, shape ``(n, n_vars)``.
        y: Targets, shape ``(n,)``.
        scaling: Linear scaling (``a + b * f``, solved in closed form).
        tuning_evaluations: Most calls constant tuning may make (0 or 1: no tuning).
        program: ``compile_tree(tree, n_vars)`` when the caller has it (a search
            compiles each candidate once for the pole check, the fit and its
            descriptors); its constants are left as they came.
        target: ``Target(y)`` when the caller scores many formulas against ``y``.
        bound: Tuned constants stay in ``[-bound, bound]``; default
            ``constant_bound(X)`` (a caller fitting many formulas passes it once made).

    Raises:
        KeyError: The tree names a variable ``X`` does not have.
    """
    if program is None:
        program = compile_tree(tree, X.shape[1])
    if target is None or target.y is not y:
        target = Target(y)
    XT = _columns(X)
    with np.errstate(all="ignore"):
        outputs = program.evaluate(XT, transposed=True)
        error, intercept, slope = target.score(outputs, scaling)
        evaluations = 1
        # A finite error means finite outputs: tuning has somewhere to start from.
        has_constants = program.constants.size > 0
        if tuning_evaluations > 1 and has_constants and np.isfinite(error) and error > 0:
            limit = constant_bound(X) if bound is None else bound
            tuned, calls, tuned_outputs = _tune(
                tree,
                program,
                XT,
                target,
                outputs,
                max_evaluations=tuning_evaluations,
                scaling=scaling,
                bound=limit,
            )
            evaluations += calls
            tuned_fit = target.score(tuned_outputs, scaling)
            if tuned_fit[0] < error:
                tree, outputs = tuned, tuned_outputs
                error, intercept, slope = tuned_fit
    return Fit(tree, error, intercept, slope, evaluations, outputs)
