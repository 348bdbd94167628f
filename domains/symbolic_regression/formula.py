"""A fitted formula: a GP tree with its linear scaling, and every way to take it out.

What a user of a regressor wants from one model: predictions that are exactly what the
search scored, a readable and simplified form, sympy and LaTeX for papers, a numpy
callable for production. :class:`Formula` holds the tree and the ``intercept`` and
``slope`` of its scaling and hands each of those out (``export.py`` does the work).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from deap import gp

from domains.symbolic_regression.compiled import run
from domains.symbolic_regression.primitives import to_infix

__all__ = ["Formula", "pareto_front", "scaled_infix"]


def pareto_front(items: Sequence[Any], *, key: Callable[[Any], tuple[float, float]]) -> list:
    """The items no other beats on both size and error, smallest first.

    ``key(item)`` gives ``(size, error)``: the estimator's records and the report's
    formulas share the rule.
    """
    front: list = []
    for item in sorted(items, key=key):
        if not front or key(item)[1] < key(front[-1])[1]:
            front.append(item)
    return front


def scaled_infix(tree: gp.PrimitiveTree, intercept: float, slope: float) -> str:
    """The formula as scored: ``a + b * (f)``, leaving out an intercept of 0 and a slope of 1."""
    text = to_infix(tree)
    if slope == 0.0:
        return f"{intercept:.6g}"
    if slope != 1.0:
        text = f"{slope:.6g} * ({text})"
    if intercept != 0.0:
        text = f"{intercept:.6g} + {text}"
    return text


@dataclass(frozen=True, eq=False)
class Formula:
    """``intercept + slope * tree(x)``, as a search scored it.

    Attributes:
        tree: The DEAP tree over ``x1..xn``.
        intercept: ``a`` of the linear scaling (0 when the search did not scale).
        slope: ``b`` of the linear scaling (1 when the search did not scale).
        error: Training NRMSE (RMSE over the target's spread; ``1 - error**2`` is R^2).
        bounds: ``(lows, highs)`` of the inputs the formula was checked on for poles.
        names: Optional column names of the data, in the order of ``x1..xn``.
    """

    tree: gp.PrimitiveTree
    intercept: float = 0.0
    slope: float = 1.0
    error: float = float("nan")
    bounds: tuple[np.ndarray, np.ndarray] | None = None
    names: tuple[str, ...] | None = None

    @property
    def size(self) -> int:
        """Nodes of the tree (the scaling's two numbers are not counted)."""
        return len(self.tree)

    @property
    def depth(self) -> int:
        return int(self.tree.height)

    @property
    def r2(self) -> float:
        """Training R^2."""
        return 1.0 - self.error**2

    def predict(self, X: Any) -> np.ndarray:
        """Exactly what the search scored, on rows of ``X`` (shape ``(n, n_vars)``)."""
        X = np.asarray(X, dtype=float)
        if X.ndim == 1:
            X = X[:, None]
        with np.errstate(all="ignore"):
            return self.intercept + self.slope * run(self.tree, X)

    def __str__(self) -> str:
        return scaled_infix(self.tree, self.intercept, self.slope)

    def __repr__(self) -> str:
        return f"Formula({self}, size={self.size}, error={self.error:.4g})"

    def _scale(self) -> dict[str, float]:
        return {"intercept": self.intercept, "slope": self.slope}

    def to_sympy(self, *, exact: bool = True):
        """A sympy expression; ``exact=True`` keeps the protected operators explicit.

        ``exact=False`` gives plain division, ``log|a|`` and ``exp``: equal to what the
        search scored wherever the formula has no pole, which the pole check guarantees
        on the data's box.
        """
        from domains.symbolic_regression.export import to_sympy

        return to_sympy(self.tree, exact=exact, **self._scale())

    def simplified(self) -> str:
        """A short readable form (sympy-simplified, numbers to 4 significant digits),
        over the data's column names when it has them."""
        from domains.symbolic_regression.export import simplified

        return simplified(self.tree, bounds=self.bounds, names=self.names, **self._scale())

    def latex(self) -> str:
        """LaTeX of :meth:`simplified`, for reports and papers."""
        from domains.symbolic_regression.export import to_latex

        return to_latex(self.tree, bounds=self.bounds, names=self.names, **self._scale())

    def to_numpy(self):
        """A picklable callable ``f(X) -> y`` that computes what the search scored."""
        from domains.symbolic_regression.export import to_numpy

        return to_numpy(self.tree, **self._scale())
