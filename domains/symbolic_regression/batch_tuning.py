"""Constant tuning of a whole batch of formulas in one compiled call.

:func:`~.marquardt.minimise` in numba, over each formula's postfix program: the same
Levenberg-Marquardt (forward-difference Jacobian, Marquardt's scaled damping with
Nielsen's update, steps clipped to the constant bound, a call budget never exceeded),
with linear scaling solved inside every residual (variable projection). In Python each
step paid numpy's per-call cost on a few dozen points and a 2 x 2 solve through LAPACK;
here a step is plain loops, and the small normal equations are solved by Gaussian
elimination with partial pivoting (LAPACK's ``gesv`` without blocking, which is what
it does on systems this small).

``tests/test_sr_batch.py`` checks that it reaches the cost the reference
``marquardt.minimise`` reaches, formula by formula.
"""

from __future__ import annotations

import math

import numba
import numpy as np

from domains.symbolic_regression.batch_kernels import postfix, scale, score
from domains.symbolic_regression.compiled import _execute, _shape
from domains.symbolic_regression.intervals import _program_pole

_jit = numba.njit(cache=True, nogil=True, error_model="numpy", fastmath=False)

STEP = 1.4901161193847656e-08  # marquardt.STEP: sqrt(machine epsilon)
GRADIENT_TOLERANCE = 1e-12
DAMPING_START = 1e-3
DAMPING_FLOOR = 1e-300
FAILED_RESIDUAL = 1e6  # fitting.FAILED_RESIDUAL


@_jit
def _residuals(codes, slots, constants, XT, depth, y, y_mean, y_centred, scaling, outputs, r):
    """Run the program into ``outputs`` and its (scaled) residuals into ``r``; returns
    their sum of squares. Non-finite residuals become ``FAILED_RESIDUAL``."""
    _execute(codes, slots, constants, XT, depth, outputs)
    intercept, slope = 0.0, 1.0
    if scaling:
        intercept, slope = scale(outputs, y_mean, y_centred)
    cost = 0.0
    for i in range(outputs.size):
        value = intercept + slope * outputs[i] - y[i]
        if not math.isfinite(value):
            value = FAILED_RESIDUAL
        r[i] = value
        cost += value * value
    return cost


@_jit
def _solve(matrix, rhs, out):
    """``out = matrix^-1 rhs`` by Gaussian elimination with partial pivoting; False when
    a pivot is zero (singular). ``matrix`` and ``rhs`` are overwritten."""
    n = rhs.size
    for column in range(n):
        pivot = column
        for row in range(column + 1, n):
            if abs(matrix[row, column]) > abs(matrix[pivot, column]):
                pivot = row
        if matrix[pivot, column] == 0.0:
            return False
        if pivot != column:
            for k in range(n):
                matrix[column, k], matrix[pivot, k] = matrix[pivot, k], matrix[column, k]
            rhs[column], rhs[pivot] = rhs[pivot], rhs[column]
        for row in range(column + 1, n):
            factor = matrix[row, column] / matrix[column, column]
            for k in range(column, n):
                matrix[row, k] -= factor * matrix[column, k]
            rhs[row] -= factor * rhs[column]
    for row in range(n - 1, -1, -1):
        total = rhs[row]
        for k in range(row + 1, n):
            total -= matrix[row, k] * out[k]
        out[row] = total / matrix[row, row]
    return True


@_jit
def minimise(codes, slots, constants, XT, depth, y, y_mean, y_centred, scaling, max_calls, bound):
    """Levenberg-Marquardt on ``constants`` (changed in place to the best found, which
    is where they started when nothing improved); returns the calls used.

    The formula at its start must give finite outputs (the caller checked). The
    first call, at the start, is counted by the caller, as ``fit_tree`` counts it.
    """
    n = constants.size
    m = y.size
    outputs = np.empty(m)
    r = np.empty(m)
    trial_r = np.empty(m)
    moved = np.empty(m)
    x = constants.copy()
    cost = _residuals(codes, slots, x, XT, depth, y, y_mean, y_centred, scaling, outputs, r)
    calls = 0
    damping = DAMPING_START
    growth = 2.0
    jacobian = np.empty((m, n))
    normal = np.empty((n, n))
    gradient = np.empty(n)
    system = np.empty((n, n))
    rhs = np.empty(n)
    delta = np.empty(n)
    trial = np.empty(n)
    shifted = np.empty(n)
    scale = np.empty(n)
    while calls + n + 1 <= max_calls:
        for j in range(n):
            shifted[:] = x
            shifted[j] += STEP * max(abs(x[j]), 1.0)
            step = shifted[j] - x[j]
            _residuals(
                codes, slots, shifted, XT, depth, y, y_mean, y_centred, scaling, outputs, moved
            )
            for i in range(m):
                jacobian[i, j] = (moved[i] - r[i]) / step
        calls += n
        finite = True
        largest = 0.0
        for a in range(n):
            total = 0.0
            for i in range(m):
                total += jacobian[i, a] * r[i]
            gradient[a] = total
            finite = finite and math.isfinite(total)
            largest = max(largest, abs(total))
            for b in range(n):
                total = 0.0
                for i in range(m):
                    total += jacobian[i, a] * jacobian[i, b]
                normal[a, b] = total
                finite = finite and math.isfinite(total)
        if not finite:
            break
        if largest <= GRADIENT_TOLERANCE * max(cost, 1.0):
            break
        for a in range(n):
            scale[a] = max(normal[a, a], DAMPING_FLOOR)
        improved = False
        while calls < max_calls:
            for a in range(n):
                for b in range(n):
                    system[a, b] = normal[a, b]
                system[a, a] += damping * scale[a]
                rhs[a] = -gradient[a]
            if not _solve(system, rhs, delta):
                break
            ok = True
            widest = 0.0
            for a in range(n):
                ok = ok and math.isfinite(delta[a])
                trial[a] = x[a] + delta[a]
                widest = max(widest, abs(trial[a]))
            if not ok:
                break
            if widest > bound:
                any_step = False
                for a in range(n):
                    trial[a] = min(max(trial[a], -bound), bound)
                    delta[a] = trial[a] - x[a]
                    any_step = any_step or delta[a] != 0.0
                if not any_step:
                    break
            trial_cost = _residuals(
                codes, slots, trial, XT, depth, y, y_mean, y_centred, scaling, outputs, trial_r
            )
            calls += 1
            predicted = 0.0
            for a in range(n):
                predicted += delta[a] * (damping * scale[a] * delta[a] - gradient[a])
            if math.isfinite(trial_cost) and trial_cost < cost and predicted > 0:
                gain = (cost - trial_cost) / predicted
                x[:] = trial
                r[:] = trial_r
                cost = trial_cost
                damping *= max(1.0 / 3.0, 1.0 - (2.0 * gain - 1.0) ** 3)
                damping = max(damping, DAMPING_FLOOR)
                growth = 2.0
                improved = True
                break
            damping *= growth
            growth *= 2.0
        if not improved:
            break
    constants[:] = x
    return calls


@_jit
def fit_many(
    trees,
    starts,
    XT,
    y,
    y_mean,
    y_centred,
    y_spread,
    lows,
    highs,
    pole_check,
    scaling,
    n_vars,
    tuning,
    bound,
):
    """``SymbolicRegression.assess`` of every packed tree, tuning included.

    Returns ``(results, poles, tuned)``: ``results[t]`` is ``(error, intercept, slope,
    height, nonlinear, variables, evaluations, kept_tuning)``; ``poles[t]`` is
    ``(kind, start, end, lo, hi)`` as ``_program_pole`` returns it, kind 0 for no pole
    (``intervals.pole_reason`` names it from the tree); ``tuned`` holds each tree's constants
    as scored (tuned when ``kept_tuning``), tree ``t``'s from the count of constants in
    the trees before it.
    """
    n = starts.size - 1
    results = np.zeros((n, 8))
    poles = np.zeros((n, 5))
    longest = 1
    total_constants = 0
    for t in range(n):
        longest = max(longest, starts[t + 1] - starts[t])
        for k in range(starts[t], starts[t + 1]):
            if trees[0, k] == 1.0:
                total_constants += 1
    tuned = np.empty(total_constants)
    codes = np.empty(longest, dtype=np.int64)
    slots = np.empty(longest, dtype=np.int64)
    constants = np.zeros(longest + 1)
    outputs = np.empty(XT.shape[1])
    at = 0
    for t in range(n):
        tree = trees[:, starts[t] : starts[t + 1]]
        size = tree.shape[1]
        depth, n_constants = postfix(tree, codes, slots, constants)
        program_codes, program_slots = codes[:size], slots[:size]
        program_constants = constants[:n_constants]
        tuned[at : at + n_constants] = program_constants
        mine = tuned[at : at + n_constants]
        at += n_constants
        if pole_check:
            kind, start, end, lo, hi = _program_pole(
                program_codes, program_slots, program_constants, lows, highs
            )
            if kind != 0:
                poles[t, 0], poles[t, 1], poles[t, 2] = kind, start, end
                poles[t, 3], poles[t, 4] = lo, hi
                continue
        _execute(program_codes, program_slots, program_constants, XT, depth, outputs)
        error, intercept, slope = score(outputs, y, y_mean, y_centred, y_spread, scaling)
        evaluations = 1
        kept = 0
        if tuning > 1 and n_constants > 0 and math.isfinite(error) and error > 0:
            trial = program_constants.copy()
            evaluations += minimise(
                program_codes,
                program_slots,
                trial,
                XT,
                depth,
                y,
                y_mean,
                y_centred,
                scaling,
                tuning,
                bound,
            )
            _execute(program_codes, program_slots, trial, XT, depth, outputs)
            tuned_error, tuned_intercept, tuned_slope = score(
                outputs, y, y_mean, y_centred, y_spread, scaling
            )
            if tuned_error < error:
                pole = 0
                if pole_check:
                    pole, _, _, _, _ = _program_pole(
                        program_codes, program_slots, trial, lows, highs
                    )
                if pole == 0:
                    error, intercept, slope = tuned_error, tuned_intercept, tuned_slope
                    mine[:] = trial
                    kept = 1
                else:  # tuning moved a pole into the box: the constants as they came
                    evaluations += 1
        tall, nonlinear, used = _shape(program_codes, program_slots, n_vars)
        results[t, 0] = error
        results[t, 1] = intercept
        results[t, 2] = slope
        results[t, 3] = tall
        results[t, 4] = nonlinear
        results[t, 5] = used
        results[t, 6] = evaluations
        results[t, 7] = kept
    return results, poles, tuned
