"""Levenberg-Marquardt for the few constants of one formula, reproducible to the bit.

Why not ``scipy.optimize.least_squares(method="lm")``: its MINPACK (C since SciPy 1.15)
returned different constants for the same formula, start and data depending on where
the heap put its work arrays: 4 runs in 300 differed in the last bits of an early
step, and on the flat directions a formula's constants often have (``x / c1 / cos(c2)``
scales like the slope) that grew into other constants, other elites and another map.
Its call budget is also loose (``max_nfev=10`` made 22 calls). This solver is small
enough to read: forward-difference Jacobians, Marquardt's scaled damping with
Nielsen's update, normal equations solved by LAPACK on an ``n x n`` system, and a
budget that is never exceeded, so the same inputs give the same constants on every
backend and every run.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

__all__ = ["minimise"]

STEP = float(np.sqrt(np.finfo(float).eps))
"""Relative forward-difference step, MINPACK's default for exact residuals."""
GRADIENT_TOLERANCE = 1e-12
DAMPING_START = 1e-3
DAMPING_FLOOR = 1e-300


def minimise(
    residuals: Callable[[np.ndarray], np.ndarray],
    start: np.ndarray,
    *,
    max_calls: int,
    first: np.ndarray | None = None,
    residuals_many: Callable[[np.ndarray], np.ndarray] | None = None,
    bound: float = np.inf,
) -> tuple[np.ndarray, int]:
    """The parameters with the smallest sum of squared residuals found, and the calls used.

    Args:
        residuals: ``residuals(x)`` -> finite 1-D array (map failures to a large value).
        start: Initial parameters (not changed).
        max_calls: Most calls of ``residuals``, Jacobian columns included; never exceeded.
        first: ``residuals(start)`` when the caller has it already (saves a call).
        residuals_many: ``residuals`` of each row of a ``(k, n)`` matrix at once, as a
            ``(k, m)`` matrix equal to calling ``residuals`` row by row; when given, the
            ``n`` Jacobian columns come from one call of it (still counted as ``n``
            calls), so a compiled formula evaluates them without a Python loop.
        bound: Every trial step is clipped to the box ``[-bound, bound]`` (projected
            Levenberg-Marquardt), so no parameter leaves it along a flat direction;
            a step the box cuts to nothing ends the search.

    Returns:
        ``(x, calls)``: ``x`` is ``start`` when no step improved on it; inside the box
        whenever it moved.
    """
    x = np.array(start, dtype=float)
    n = x.size
    calls = 0
    if first is None:
        if max_calls < 1:
            return x, 0
        first = residuals(x)
        calls += 1
    r = np.asarray(first, dtype=float)
    cost = float(r @ r)
    damping = DAMPING_START
    growth = 2.0
    while calls + n + 1 <= max_calls:  # a Jacobian and at least one trial step
        shifted = np.repeat(x[None, :], n, axis=0)
        for j in range(n):
            shifted[j, j] += STEP * max(abs(x[j]), 1.0)
        steps = np.diagonal(shifted) - x  # the steps as represented
        if residuals_many is not None:
            moved = residuals_many(shifted)
        else:
            moved = np.array([residuals(row) for row in shifted])
        jacobian = np.ascontiguousarray(((moved - r) / steps[:, None]).T)
        calls += n
        normal = jacobian.T @ jacobian
        gradient = jacobian.T @ r
        if not (np.isfinite(normal).all() and np.isfinite(gradient).all()):
            break
        if float(np.abs(gradient).max()) <= GRADIENT_TOLERANCE * max(cost, 1.0):
            break
        scale = np.maximum(np.diag(normal), DAMPING_FLOOR)
        improved = False
        while calls < max_calls:
            try:
                delta = np.linalg.solve(normal + damping * np.diag(scale), -gradient)
            except np.linalg.LinAlgError:
                break  # singular even when damped: nowhere to step
            if not np.isfinite(delta).all():
                break
            trial = x + delta
            if bound < np.inf and float(np.abs(trial).max()) > bound:
                trial = np.clip(trial, -bound, bound)
                delta = trial - x  # the step as taken, for the gain ratio
                if not delta.any():
                    break  # the box stops every coordinate: nowhere left to step
            trial_r = residuals(trial)
            calls += 1
            trial_cost = float(trial_r @ trial_r)
            predicted = float(delta @ (damping * scale * delta - gradient))
            if np.isfinite(trial_cost) and trial_cost < cost and predicted > 0:
                gain = (cost - trial_cost) / predicted
                x, r, cost = trial, trial_r, trial_cost
                damping *= max(1.0 / 3.0, 1.0 - (2.0 * gain - 1.0) ** 3)
                damping = max(damping, DAMPING_FLOOR)
                growth = 2.0
                improved = True
                break
            damping *= growth
            growth *= 2.0
        if not improved:
            break
    return x, calls
