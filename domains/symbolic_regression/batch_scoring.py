"""A batch of trees scored in one compiled call: what ``SymbolicRegression.evaluate``
does on the search's path.

``batch_tuning.fit_many`` pole-checks, runs, tunes and scores every tree; here Python
screens what needs no data (not a tree, inconsistent units), names poles, puts tuned
constants back into trees and makes the ``Evaluation`` objects. The result equals
``SymbolicRegression.assess`` tree by tree (``tests/test_sr_batch.py``).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
from deap import gp

from domains.symbolic_regression import batch
from domains.symbolic_regression.batch_tuning import fit_many
from domains.symbolic_regression.intervals import POLE_KINDS, pole_reason
from domains.symbolic_regression.primitives import to_infix
from domains.symbolic_regression.units import UNIT_VIOLATIONS_CAP
from qd.domain import Evaluation

if TYPE_CHECKING:
    from domains.symbolic_regression.domain import SymbolicRegression

__all__ = ["score_batch"]


def score_batch(domain: SymbolicRegression, candidates: Sequence[Any]) -> list[Evaluation]:
    """One ``Evaluation`` per candidate, as ``domain.assess`` gives it, in one kernel call."""
    results: list[Evaluation | None] = [None] * len(candidates)
    violations: dict[int, int] = {}
    trees, positions = [], []
    for position, tree in enumerate(candidates):
        if tree.__class__ is batch.Tree and tree._packed is not None:  # the search's own
            if domain._units is not None:
                rejected, violations[position] = domain._unit_screen(tree)
                if rejected is not None:
                    results[position] = rejected
                    continue
            trees.append(tree)
            positions.append(position)
            continue
        if not isinstance(tree, gp.PrimitiveTree) or len(tree) == 0:
            results[position] = Evaluation.invalid(f"not a GP tree: {type(tree).__name__}")
            continue
        if domain._units is not None:  # dimensional analysis first: it needs no data
            rejected, violations[position] = domain._unit_screen(tree)
            if rejected is not None:
                results[position] = rejected
                continue
        try:
            batch.packed(tree, domain.n_vars)
        except KeyError:  # another language: the one-tree path names what is wrong
            results[position] = domain.assess(tree)[0]
            continue
        trees.append(tree)
        positions.append(position)
    if not trees:
        return results  # type: ignore[return-value]
    packed, starts = batch.pack_many(trees, domain.n_vars)
    target = domain._target
    scores, poles, constants = fit_many(
        packed,
        starts,
        domain._XT,
        target.y_float,
        target.mean_float,
        target.centred_float,
        target.spread,
        domain._lows,
        domain._highs,
        domain.pole_check,
        domain.linear_scaling,
        domain.n_vars,
        domain.tune_constants,
        domain._constant_bound,
    )
    is_constant = packed[0] == 1.0
    constant_starts = np.zeros(len(trees) + 1, dtype=np.int64)
    np.cumsum(np.add.reduceat(is_constant, starts[:-1]), out=constant_starts[1:])
    measures = _measures(domain.descriptors, scores, np.diff(starts), positions, violations)
    hit_threshold = domain.hit_threshold
    explain = domain.explain_invalid
    rows = scores.tolist()  # Python floats, read once
    for k, (tree, position, pole) in enumerate(
        zip(trees, positions, poles[:, 0].tolist(), strict=True)
    ):
        if pole:
            if explain:
                _, start, end, lo, hi = poles[k].tolist()
                reason = pole_reason(tree, int(pole), int(start), int(end), lo, hi)
                results[position] = Evaluation.invalid(f"pole: {reason}", formula=to_infix(tree))
            else:
                results[position] = Evaluation.invalid(f"pole: {POLE_KINDS[int(pole)]}")
            continue
        error, intercept, slope, _, _, _, cost, tuned = rows[k]
        candidate = None
        if tuned:
            where = np.flatnonzero(is_constant[starts[k] : starts[k + 1]])
            mine = constants[constant_starts[k] : constant_starts[k + 1]]
            candidate = batch.with_constants(tree, where, mine, domain._table)
        results[position] = Evaluation(
            1.0 / (1.0 + error),
            measures[k],
            {
                "nrmse": error if math.isfinite(error) else None,
                "hit": error < hit_threshold,
                "intercept": intercept,
                "slope": slope,
            },
            None,
            candidate,
            int(cost),
        )
    return results  # type: ignore[return-value]


def _measures(
    names: Sequence[str],
    scores: np.ndarray,
    sizes: np.ndarray,
    positions: Sequence[int],
    violations: dict[int, int],
) -> list[tuple[int, ...]]:
    """Each tree's descriptors (Python ints, in ``names`` order), read off the kernel's
    score rows a column at a time."""
    columns = []
    for name in names:
        if name == "size":
            columns.append(sizes)
        elif name == "units":
            counts = [min(violations[p], UNIT_VIOLATIONS_CAP) for p in positions]
            columns.append(np.asarray(counts, dtype=np.int64))
        else:
            columns.append(scores[:, _SCORE_COLUMNS[name]].astype(np.int64))
    return [tuple(row) for row in np.stack(columns, axis=1).tolist()]


_SCORE_COLUMNS = {"depth": 3, "nonlinear": 4, "variables": 5}
"""Where ``fit_many``'s score rows hold each shape descriptor (see its docstring)."""
