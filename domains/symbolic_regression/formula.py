"""A fitted formula: a GP tree with its linear scaling, and every way to take it out.

What a user of a regressor wants from one model: predictions that are exactly what the
search scored, a readable and simplified form, sympy and LaTeX for papers, a numpy
callable for production. :class:`Formula` holds the tree and the ``intercept`` and
``slope`` of its scaling and hands each of those out (``export.py`` does the work).
``str(formula)`` is the simplified form (what a reader wants to see); ``formula.raw``
is the tree's own text, exactly as scored.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from deap import gp

from domains.symbolic_regression.compiled import run
from domains.symbolic_regression.primitives import to_infix

__all__ = ["STR_MAX_SIZE", "Formula", "named", "pareto_front", "scaled_infix"]

STR_MAX_SIZE = 64
"""Largest tree (nodes) whose ``str`` is simplified; bigger ones print their raw text.

``simplified()`` took at most 0.4 s on the 89 elites of a kinetic-energy map and 0.8 s
(median 0.07 s) on 120 random pole-free trees of 30-64 nodes, so ``str`` stays under a
second there; past the domain's default ``max_size`` nothing was measured, and ``str``
must never hang, so it prints the raw tree instead.
"""

_VARIABLE = re.compile(r"\bx([1-9][0-9]*)\b")


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


def named(text: str, names: Sequence[str]) -> str:
    """``text`` with each variable ``x<i>`` written as ``names[i - 1]`` (kept if none)."""

    def name(match: re.Match[str]) -> str:
        index = int(match.group(1)) - 1
        return str(names[index]) if index < len(names) else match.group(0)

    return _VARIABLE.sub(name, text)


def scaled_infix(
    tree: gp.PrimitiveTree,
    intercept: float,
    slope: float,
    names: Sequence[str] | None = None,
) -> str:
    """The formula as scored: ``a + b * (f)``, leaving out an intercept of 0 and a slope of 1.

    ``names`` (the data's column names) replace ``x1..xn`` in the text.
    """
    text = to_infix(tree)
    if names:
        text = named(text, names)
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
        names: Optional column names of the data, in the order of ``x1..xn``; every
            text of the formula (``str``, ``raw``, ``simplified``, ``latex``) uses them.
        inputs: The training inputs (rows of ``x1..xn``), or None: with
            ``target_std``, :meth:`simplified` drops terms that are negligible on them.
        target_std: The training target's standard deviation (what ``error`` is
            relative to), or None.
    """

    tree: gp.PrimitiveTree
    intercept: float = 0.0
    slope: float = 1.0
    error: float = float("nan")
    bounds: tuple[np.ndarray, np.ndarray] | None = None
    names: tuple[str, ...] | None = None
    inputs: np.ndarray | None = None
    target_std: float | None = None

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

    @property
    def raw(self) -> str:
        """The tree's own text with its scaling, exactly as scored (``5 + 3.7 * (x1 * x1)``),
        over the data's column names when it has them: nothing simplified or rounded."""
        return scaled_infix(self.tree, self.intercept, self.slope, self.names)

    def __str__(self) -> str:
        """The simplified formula (:meth:`simplified`), computed once per Formula.

        A tree over ``STR_MAX_SIZE`` nodes, or one whose export fails, prints
        :attr:`raw` instead, so ``str`` never hangs nor raises.
        """
        return self._text

    @functools.cached_property
    def _text(self) -> str:
        # cached_property writes the instance __dict__ directly, which a frozen
        # dataclass allows; sympy is what costs, so each Formula pays it once.
        if self.size > STR_MAX_SIZE:
            return self.raw
        try:
            return self.simplified()
        except (ValueError, RecursionError):  # e.g. a scaling that failed (inf)
            return self.raw

    def __repr__(self) -> str:
        return f"Formula({self.raw}, size={self.size}, error={self.error:.4g})"

    def _scale(self) -> dict[str, float]:
        return {"intercept": self.intercept, "slope": self.slope}

    def to_sympy(self, *, exact: bool = True):
        """A sympy expression; ``exact=True`` keeps the protected operators explicit.

        ``exact=False`` gives plain division, ``log|a|``, ``sqrt|a|`` and ``exp``: equal
        to what the search scored wherever the formula has no pole, which the pole check
        guarantees on the data's box; on that box (:attr:`bounds`, when known) a ``log``
        or ``sqrt`` of an argument of one sign loses its ``Abs``.
        """
        from domains.symbolic_regression.export import to_sympy

        bounds = None if exact else self.bounds
        return to_sympy(self.tree, exact=exact, bounds=bounds, **self._scale())

    def _readable(self) -> dict[str, Any]:
        """What :func:`export.simplified` and :func:`export.to_latex` take besides the tree."""
        negligible = None
        if self.inputs is not None and self.target_std is not None:
            negligible = (self.inputs, self.target_std, self.error)
        return {
            "bounds": self.bounds,
            "names": self.names,
            "negligible": negligible,
            **self._scale(),
        }

    def simplified(self) -> str:
        """A short readable form (sympy-simplified, numbers to 4 significant digits),
        over the data's column names when it has them.

        With the training ``inputs`` and ``target_std`` known (every formula of a search
        or estimator has them), top-level terms that are negligible on the training
        inputs are left out (``1.6e-15*cos(x1)``): a set of terms whose largest
        magnitudes over the inputs add up to at most ``1e-6`` of the target's standard
        deviation, or to at most 1% of the fit's residual RMSE (the noise the formula
        could not explain), whichever is more. So the printed formula's training NRMSE is
        at most ``1.01 * error + 1e-6``: what is dropped is below the data's noise or
        its round-off (see ``export.NEGLIGIBLE``).
        """
        from domains.symbolic_regression.export import simplified

        return simplified(self.tree, **self._readable())

    def latex(self) -> str:
        """LaTeX of :meth:`simplified`, for reports and papers."""
        from domains.symbolic_regression.export import to_latex

        return to_latex(self.tree, **self._readable())

    def to_numpy(self):
        """A picklable callable ``f(X) -> y`` that computes what the search scored."""
        from domains.symbolic_regression.export import to_numpy

        return to_numpy(self.tree, **self._scale())
