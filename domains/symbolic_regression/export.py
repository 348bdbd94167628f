"""Honest formula export: a scaled GP tree as sympy, numpy and LaTeX.

A model is ``intercept + slope * f(x)``, where ``f`` is a tree scored with protected
operators (``primitives``): ``div(a, b)`` is 1 where ``|b| <= PROTECTED_DIV_EPSILON``,
``log(a)`` is ``log|a|`` (0 where ``|a|`` is that small), ``sqrt(a)`` is ``sqrt|a|``
and ``exp(a)`` is ``exp(min(a, EXP_CAP))``. ``primitives.to_infix`` hides all of that, so a formula
pasted from it into numpy or sympy computes something else wherever a guard fires.

This module offers, from one tree:

- :func:`to_sympy` with ``exact=True``: the guards made explicit (``Piecewise``, ``Min``),
  so the expression equals what the search computed everywhere; ``exact=False``: plain
  ``a / b``, ``log(Abs(a))`` and ``exp(a)``, which is only right where
  ``intervals.find_pole`` passes the formula on the data's box.
- :func:`simplified` and :func:`to_latex`: a readable form for reports, honest on a box.
- :func:`to_numpy`: a picklable callable computing exactly what the search scored.

Expressions are built from the tree's nodes directly; nothing is parsed or ``eval``-ed.
"""

from __future__ import annotations

import functools
import math
import re
from collections.abc import Sequence

import numpy as np
import sympy
from deap import gp
from sympy.core.containers import Tuple
from sympy.functions.elementary.piecewise import ExprCondPair
from sympy.printing.latex import LatexPrinter
from sympy.printing.str import StrPrinter

from domains.symbolic_regression.compiled import run
from domains.symbolic_regression.intervals import (
    BoundValues,
    Interval,
    node_intervals,
    touches_zero,
)
from domains.symbolic_regression.primitives import (
    EXP_CAP,
    PROTECTED_DIV_EPSILON,
    decode_tree,
    encode_tree,
    make_pset,
    to_infix,
)

# sympy.simplify is worth its cost on small expressions only: it takes up to ~0.5 s at
# 8 operations, seconds at a dozen, and tens of seconds once Piecewise conditions are
# involved, while a report shows many formulas. Bigger guard-free expressions get
# sympy.cancel (tens of milliseconds); those with guards keep the canonical form sympy
# builds anyway.
SIMPLIFY_MAX_OPS = 8
DISPLAY_DIGITS = 4
NEGLIGIBLE = 1e-6
"""Share of the target's standard deviation below which terms are round-off: terms whose
largest magnitudes on the training inputs add up to no more are left out of
:func:`simplified` (``1.6e-15*cos(x1)`` on a target of spread ~10)."""
NOISE_SHARE = 0.01
"""Share of the fit's residual RMSE (the noise it left) that left-out terms may add up
to, when that is more than ``NEGLIGIBLE`` of the target's spread."""

Negligible = tuple[np.ndarray, float, float]
"""``(inputs, target_std, error)``: the training inputs (rows of ``x1..xn``), the
target's standard deviation and the fit's training NRMSE; what :func:`simplified`
needs to leave out negligible terms."""

_EPS = sympy.Float(PROTECTED_DIV_EPSILON)
_CAP = sympy.Float(EXP_CAP)
_VARIABLE = re.compile(r"x([1-9][0-9]*)")


def to_sympy(
    tree: gp.PrimitiveTree,
    *,
    intercept: float = 0.0,
    slope: float = 1.0,
    exact: bool = True,
    bounds: tuple[BoundValues, BoundValues] | None = None,
) -> sympy.Expr:
    """The model ``intercept + slope * tree`` as a sympy expression over real ``x1..xn``.

    With ``exact=True`` each protected operator is spelled out as the search computes it,
    so the expression equals what ``evaluate_tree`` computes at every real point (and
    for NaN operands too: they fail a ``Piecewise`` condition as they fail the
    ``numpy.where`` test, and ``Min`` passes them on as ``numpy.minimum`` does)::

        div(a, b) -> Piecewise((a / b, Abs(b) > eps), (1, True))
        log(a)    -> Piecewise((log(Abs(a)), Abs(a) > eps), (0, True))
        sqrt(a)   -> sqrt(Abs(a))
        exp(a)    -> exp(Min(a, EXP_CAP))

    A guard that is decided by a constant operand is left out (``x1 / 2.0`` is
    ``0.5*x1``). Each ``Piecewise`` names its operand twice, so the *printed* exact form
    doubles with every level of guards nested in guards' operands (the expression object
    shares them and stays small; ``sympy.cse`` prints the shared form). For reading, use
    :func:`simplified` with the data's bounds, which keeps only the guards that can fire.

    With ``exact=False`` they become ``a / b``, ``log(Abs(a))`` (the search took the log of
    the magnitude) and ``exp(a)``. That form is shorter but equals the scored model only
    on a box where ``intervals.find_pole`` returns None; elsewhere it may divide by zero
    where the search did not, or differ where ``exp`` was capped.

    Args:
        tree: A DEAP tree from ``primitives.make_pset``.
        intercept: Added after scaling (linear scaling's ``a``).
        slope: Multiplies the tree's output (linear scaling's ``b``).
        exact: Keep the guards (True) or drop them (False).
        bounds: With ``exact=False``, the data's ``(lows, highs)``: ``log`` and ``sqrt``
            of an argument of one sign on that box lose their ``Abs`` (``sqrt(1 - v**2)``
            for ``|v| < 1``), as in :func:`simplified`; ignored when ``exact``.

    Returns:
        A sympy expression; a ``Float`` for each constant of the tree.

    Raises:
        ValueError: ``intercept`` or ``slope`` is not a finite number, or bad ``bounds``.
    """
    spans = None if exact or bounds is None else node_intervals(tree, *bounds)
    return _scaled(_build(tree, guard=exact, spans=spans)[0], intercept, slope)


def simplified(
    tree: gp.PrimitiveTree,
    *,
    intercept: float = 0.0,
    slope: float = 1.0,
    bounds: tuple[BoundValues, BoundValues] | None = None,
    names: Sequence[str] | None = None,
    negligible: Negligible | None = None,
) -> str:
    """A short readable form of the model, with constants shown to 4 significant digits.

    With ``bounds`` (the data's ``(lows, highs)`` per variable), each guard that cannot
    fire anywhere on that box is dropped (a pole-free formula loses all of them, and a
    log of an argument of one sign loses its ``Abs``); the guards that can fire stay as
    ``Piecewise``. Without ``bounds`` every guard stays. Either way the result equals the
    scored model wherever it claims to: everywhere without ``bounds``, on the box with
    them. So ``x1 / x1`` gives ``1``, ``x1 - x1`` gives ``0``, and ``log(exp(x1))`` gives
    ``x1`` on a box where ``exp(x1)`` stays under the cap and away from 0.

    Small guard-free expressions (up to ``SIMPLIFY_MAX_OPS`` operations) go through
    ``sympy.simplify``, bigger ones through ``sympy.cancel`` (kept only if no longer);
    expressions with guards keep the canonical form sympy builds anyway (see
    :func:`to_sympy` on their printed size). That keeps a call well under a second, at
    the price of a less simplified big formula.

    With ``negligible`` (``(inputs, target_std, error)`` of the training data), the
    top-level terms of the simplified sum that are negligible on the training inputs
    are left out: smallest first, as long as the largest magnitudes (over the inputs)
    of the terms left out add up to at most ``NEGLIGIBLE * target_std`` or
    ``NOISE_SHARE * error * target_std`` (1% of the residual RMSE), whichever is more.
    By the triangle inequality the printed model's training NRMSE is then at most
    ``1.01 * error + 1e-6``: what goes is round-off (``1.6e-15*cos(x1)``) or far below
    the noise the fit left. Expressions that keep guards are not pruned.

    Args:
        tree: A DEAP tree from ``primitives.make_pset``.
        intercept: Added after scaling.
        slope: Multiplies the tree's output.
        bounds: ``(lows, highs)``, one value per variable, or None.
        names: The data's column names, printed in place of ``x1..xn`` (the expression
            itself keeps ``x1..xn``, so the names need not be valid identifiers).
        negligible: ``(inputs, target_std, error)``, or None to keep every term.

    Returns:
        The expression in sympy's text form, e.g. ``"0.5*x1 + sin(x2)"``.

    Raises:
        ValueError: Bad ``bounds`` (see ``intervals.tree_interval``), or a non-finite
            ``intercept`` or ``slope``.
    """
    printer = _RoundedStr({"full_prec": False})
    printer.names = _name_map(names)
    return printer.doprint(_readable(tree, intercept, slope, bounds, negligible))


def to_latex(
    tree: gp.PrimitiveTree,
    *,
    intercept: float = 0.0,
    slope: float = 1.0,
    bounds: tuple[BoundValues, BoundValues] | None = None,
    names: Sequence[str] | None = None,
    negligible: Negligible | None = None,
) -> str:
    """LaTeX of :func:`simplified`'s expression, for reports and notebooks.

    Args:
        tree: A DEAP tree from ``primitives.make_pset``.
        intercept: Added after scaling.
        slope: Multiplies the tree's output.
        bounds: ``(lows, highs)``, one value per variable, or None.
        names: The data's column names, printed in place of ``x1..xn``.
        negligible: ``(inputs, target_std, error)`` to leave out negligible terms, as
            :func:`simplified` does.

    Returns:
        A LaTeX math string without surrounding ``$``.

    Raises:
        ValueError: As for :func:`simplified`.
    """
    printer = _RoundedLatex()
    printer.names = _name_map(names)
    return printer.doprint(_readable(tree, intercept, slope, bounds, negligible))


def _name_map(names: Sequence[str] | None) -> dict[str, str]:
    return {f"x{i}": str(name) for i, name in enumerate(names or (), start=1)}


def to_numpy(tree: gp.PrimitiveTree, *, intercept: float = 0.0, slope: float = 1.0) -> NumpyFormula:
    """A callable computing exactly what the search scored: ``intercept + slope * tree``.

    It runs the same compiled kernel as the search (``compiled.run``), guards
    included, so its outputs are bit for bit the scored ones. It pickles (it holds the
    tree's tokens, not DEAP objects), so it can be saved or sent to worker processes.

    Args:
        tree: A DEAP tree from ``primitives.make_pset``.
        intercept: Added after scaling.
        slope: Multiplies the tree's output.

    Returns:
        A :class:`NumpyFormula`; call it on ``X`` of shape ``(n_points, n_vars)``.

    Raises:
        ValueError: ``intercept`` or ``slope`` is not a finite number.
    """
    return NumpyFormula(encode_tree(tree), intercept=intercept, slope=slope)


class NumpyFormula:
    """``intercept + slope * f(X)`` for a GP tree ``f``, evaluated as the search does.

    Args:
        tokens: The tree's prefix tokens (``primitives.encode_tree``).
        intercept: Added after scaling.
        slope: Multiplies the tree's output.

    Raises:
        ValueError: Malformed tokens, or a non-finite ``intercept`` or ``slope``.
    """

    def __init__(
        self, tokens: Sequence[str | float], *, intercept: float = 0.0, slope: float = 1.0
    ) -> None:
        self.tokens = tuple(tokens)
        self.intercept, self.slope = _check_scaling(intercept, slope)
        matches = (_VARIABLE.fullmatch(t) for t in self.tokens if isinstance(t, str))
        self.n_vars = max((int(m.group(1)) for m in matches if m), default=0)
        self._tree = self._decode()  # fail now on bad tokens, not at the first call

    def _decode(self) -> gp.PrimitiveTree:
        return decode_tree(self.tokens, make_pset(max(self.n_vars, 1)))

    def __call__(self, X: np.ndarray) -> np.ndarray:
        """The model's output on every row of ``X``.

        Args:
            X: Inputs of shape ``(n_points, n_columns)``, ``n_columns >= n_vars``; column
                ``i`` is ``x{i+1}``.

        Returns:
            A new array of shape ``(n_points,)``.

        Raises:
            ValueError: ``X`` is not 2-D or has too few columns.
        """
        X = np.asarray(X, dtype=float)
        if X.ndim != 2 or X.shape[1] < self.n_vars:
            raise ValueError(
                f"X must have shape (n_points, {self.n_vars} or more columns), got {X.shape}; "
                "for one variable pass X.reshape(-1, 1)"
            )
        with np.errstate(all="ignore"):
            return self.intercept + self.slope * run(self._tree, X)

    def __getstate__(self) -> dict:
        # DEAP's node classes are made at run time and do not pickle; tokens do.
        return {"tokens": self.tokens, "intercept": self.intercept, "slope": self.slope}

    def __setstate__(self, state: dict) -> None:
        NumpyFormula.__init__(
            self, state["tokens"], intercept=state["intercept"], slope=state["slope"]
        )

    def __repr__(self) -> str:
        return (
            f"NumpyFormula({to_infix(self._tree)!r}, "
            f"intercept={self.intercept!r}, slope={self.slope!r})"
        )


# ------------------------------------------------------------------------------ building


def _check_scaling(intercept: float, slope: float) -> tuple[float, float]:
    intercept, slope = float(intercept), float(slope)
    if not (np.isfinite(intercept) and np.isfinite(slope)):
        raise ValueError(
            f"intercept ({intercept}) and slope ({slope}) must be finite: a model whose "
            "linear scaling failed has nothing to export"
        )
    return intercept, slope


def _scaled(expr: sympy.Expr, intercept: float, slope: float) -> sympy.Expr:
    intercept, slope = _check_scaling(intercept, slope)
    if slope != 1.0:
        expr = sympy.Float(slope) * expr
    if intercept != 0.0:
        expr = sympy.Float(intercept) + expr
    return expr


def _build(
    tree: gp.PrimitiveTree, *, guard: bool, spans: list[Interval] | None = None
) -> tuple[sympy.Expr, bool]:
    """The tree as sympy, in one pass from the last node (as ``evaluate_tree`` walks it).

    ``guard``: keep the protected operators' guards. ``spans`` (from
    ``intervals.node_intervals``) refine that per node: a guard whose operand's range
    cannot reach it is dropped, and ``log`` of a one-signed operand loses its ``Abs``.

    Returns:
        The expression, and whether it holds any guard.

    A guarded operand is never handed to sympy's evaluation of ``Abs`` or ``Min``: those
    rewrite their argument by walking it as a tree, and each guard repeats its operand
    (``b`` in ``Abs(b) > eps`` and in ``a / b``), so the tree doubles with every level of
    nested guards while the shared object graph does not.
    """
    stack: list[tuple[sympy.Expr, int, bool]] = []
    for index in range(len(tree) - 1, -1, -1):
        node = tree[index]
        if not isinstance(node, gp.Primitive):
            value = node.value
            if isinstance(value, str):
                expr = sympy.Symbol(value, real=True)  # sympy caches symbols by name
            else:
                expr = sympy.Float(float(value))
            stack.append((expr, index + 1, False))
            continue
        name = node.name
        if node.arity == 2:
            a, middle, a_guarded = stack.pop()
            b, end, b_guarded = stack.pop()
            guarded = a_guarded or b_guarded
            if name == "add":
                expr = a + b
            elif name == "sub":
                expr = a - b
            elif name == "mul":
                expr = a * b
            elif guard and (spans is None or touches_zero(spans[middle].lo, spans[middle].hi)):
                expr = _where(_above(_abs(b, b_guarded), _EPS), a / b, sympy.S.One)
                guarded = guarded or isinstance(expr, _Guard)
            else:
                expr = a / b
        else:
            a, end, guarded = stack.pop()
            span = None if spans is None else spans[index + 1]
            if name == "sin":
                expr = sympy.sin(a)
            elif name == "cos":
                expr = sympy.cos(a)
            elif name == "sqrt":  # sqrt|a|: no guard, and no Abs where a has one sign
                if span is not None and span.lo >= 0:
                    expr = sympy.sqrt(a)
                elif span is not None and span.hi <= 0:
                    expr = sympy.sqrt(-a)
                else:
                    expr = sympy.sqrt(_abs(a, guarded))
            elif name == "exp":
                if guard and (span is None or span.hi > EXP_CAP):
                    expr = sympy.exp(_capped(a, guarded))
                else:
                    expr = sympy.exp(a)
            elif guard and (span is None or touches_zero(span.lo, span.hi)):
                magnitude = _abs(a, guarded)
                expr = _where(_above(magnitude, _EPS), sympy.log(magnitude), sympy.S.Zero)
                guarded = guarded or isinstance(expr, _Guard)
            elif span is not None and span.lo > 0:
                expr = sympy.log(a)
            elif span is not None and span.hi < 0:
                expr = sympy.log(-a)
            else:
                expr = sympy.log(_abs(a, guarded))
        stack.append((expr, end, guarded))
    expr, _, guarded = stack[0]
    return expr, guarded


def _abs(expr: sympy.Expr, guarded: bool) -> sympy.Expr:
    """``Abs(expr)``; evaluated (``Abs(exp(x))`` is ``exp(x)``) unless ``expr`` is guarded."""
    if expr.is_Number:
        return abs(expr)
    return sympy.Abs(expr, evaluate=not guarded)


def _capped(expr: sympy.Expr, guarded: bool) -> sympy.Expr:
    """``Min(expr, EXP_CAP)``, as ``guarded_exp`` computes it (NaN stays NaN in numpy)."""
    if expr.is_Number:
        return sympy.Float(min(float(expr), EXP_CAP))
    return sympy.Min(expr, _CAP, evaluate=not guarded)


class _Pair(ExprCondPair):
    """An ``(expr, condition)`` piece that, unlike sympy's, does not fold a ``Piecewise``
    inside its condition (sympy rebuilds pieces often, e.g. in ``xreplace``)."""

    def __new__(cls, expr, condition):
        return Tuple.__new__(cls, expr, condition)


class _Guard(sympy.Piecewise):
    """A ``Piecewise`` that sympy leaves as built.

    sympy's own ``Piecewise`` folds nested pieces into each other's conditions (on
    construction, on powers such as ``p * p`` or ``a / p``, and in any condition that
    holds a ``Piecewise``). That grows exponentially with nesting: tens of seconds, then
    a RecursionError, for one 40-node tree. This subclass does none of it. Printers,
    ``lambdify`` and LaTeX treat it as a ``Piecewise`` (see the name below).
    """

    def __new__(cls, *pairs, **_options):
        made = []
        for pair in pairs:
            expr, condition = getattr(pair, "args", pair)
            made.append(_Pair(sympy.sympify(expr), sympy.sympify(condition)))
        return sympy.Basic.__new__(cls, *made)

    def _eval_power(self, _exponent):
        return None

    @functools.cached_property
    def free_symbols(self) -> set[sympy.Symbol]:
        # sympy recomputes free symbols by walking the tree on every assumption query
        # (is the operand positive?); a guard repeats its operand, so uncached this walk
        # doubles with every level of nesting.
        return super().free_symbols

    def _latex(self, printer, exp: str | None = None) -> str:
        # LaTeX prints a power of a function as f^{n}(x); a guard is raised as a whole.
        cases = printer._print_Piecewise(self)
        return cases if exp is None else rf"\left({cases}\right)^{{{exp}}}"


# Printers pick a method by class name, and for subclasses of a sympy function only when
# the name is unchanged: so the subclass is called Piecewise for them (and for str),
# while pickle finds it under its own qualified name.
_Guard.__name__ = "Piecewise"


def _above(lhs: sympy.Expr, threshold: sympy.Float) -> sympy.Basic:
    """``lhs > threshold``, decided now for a number, else left unevaluated.

    sympy evaluating a relation asks the assumptions system about both sides, which is
    slow on nested guards and adds nothing here.
    """
    if lhs.is_Number:
        return sympy.true if lhs > threshold else sympy.false
    return sympy.StrictGreaterThan(lhs, threshold, evaluate=False)


def _where(condition: sympy.Basic, then: sympy.Expr, otherwise: sympy.Expr) -> sympy.Expr:
    """``Piecewise((then, condition), (otherwise, True))``, the sympy form of ``np.where``.

    The cheap cases are folded here (a condition known to be true or false, two equal
    branches), the rest left as built (see :class:`_Guard`).
    """
    if condition is sympy.true or then == otherwise:
        return then
    if condition is sympy.false:
        return otherwise
    return _Guard((then, condition), (otherwise, True))


def _readable(
    tree: gp.PrimitiveTree,
    intercept: float,
    slope: float,
    bounds: tuple[BoundValues, BoundValues] | None,
    negligible: Negligible | None = None,
) -> sympy.Expr:
    spans = None if bounds is None else node_intervals(tree, bounds[0], bounds[1])
    expr, guarded = _build(tree, guard=True, spans=spans)
    expr = _scaled(expr, intercept, slope)
    if guarded:
        # Guards repeat their operands, so tree walks (simplify, count_ops, xreplace) cost
        # time exponential in their nesting; the printers round the constants instead.
        return expr
    ops = sympy.count_ops(expr)
    shorter = sympy.simplify(expr) if ops <= SIMPLIFY_MAX_OPS else sympy.cancel(expr)
    if sympy.count_ops(shorter) <= ops:  # cancel can multiply out into something longer
        expr = shorter
    if negligible is not None:
        expr = _without_negligible_terms(expr, *negligible)
    return expr.xreplace({number: _display(number) for number in expr.atoms(sympy.Float)})


def _without_negligible_terms(
    expr: sympy.Expr, inputs: np.ndarray, target_std: float, error: float
) -> sympy.Expr:
    """``expr`` less the top-level terms that are negligible on ``inputs`` (see
    :func:`simplified` for the rule and the bound it keeps)."""
    terms = sympy.Add.make_args(expr)
    if len(terms) < 2:
        return expr
    inputs = np.asarray(inputs, dtype=float).reshape(len(inputs), -1)
    allowance = NEGLIGIBLE * target_std
    if math.isfinite(error):
        allowance = max(allowance, NOISE_SHARE * error * target_std)
    sizes = _largest_magnitudes(terms, inputs)
    left_out: set[int] = set()
    spent = 0.0
    for index in sorted(range(len(terms)), key=sizes.__getitem__):
        if not spent + sizes[index] <= allowance:
            break
        spent += sizes[index]
        left_out.add(index)
    if not left_out:
        return expr
    return sympy.Add(*(term for i, term in enumerate(terms) if i not in left_out))


def _largest_magnitudes(terms: Sequence[sympy.Expr], inputs: np.ndarray) -> list[float]:
    """``max |term|`` over the rows of ``inputs`` (column ``i`` is ``x{i+1}``) for each
    term, computed by one ``lambdify``; inf for a term that is not finite there, and for
    every term when they cannot be computed (then nothing is left out)."""
    symbols = [sympy.Symbol(f"x{i}", real=True) for i in range(1, inputs.shape[1] + 1)]
    if not set().union(*(term.free_symbols for term in terms)) <= set(symbols):
        return [math.inf] * len(terms)
    try:
        function = sympy.lambdify(symbols, list(terms), modules="numpy")
        with np.errstate(all="ignore"):
            values = [np.abs(np.asarray(v, dtype=float)) for v in function(*inputs.T)]
    except (TypeError, ValueError, NameError, ZeroDivisionError, OverflowError):
        return [math.inf] * len(terms)
    largest = [float(np.max(v)) if v.size else math.inf for v in values]
    return [m if math.isfinite(m) else math.inf for m in largest]


def _rounded(number: float) -> float:
    return float(f"{number:.{DISPLAY_DIGITS}g}")


def _display(number: sympy.Float) -> sympy.Expr:
    """A float rounded to ``DISPLAY_DIGITS`` significant digits; whole numbers as integers."""
    value = _rounded(float(number))
    if value.is_integer() and abs(value) < 1e6:
        return sympy.Integer(int(value))
    return sympy.Float(value, DISPLAY_DIGITS)


class _RoundedStr(StrPrinter):
    """sympy's text form with every float shown to ``DISPLAY_DIGITS`` significant digits,
    and the data's column names (``names``: ``x1`` -> name) for the variables."""

    names: dict[str, str] = {}  # noqa: RUF012 (set per printer, never mutated)

    def _print_Float(self, expr: sympy.Float) -> str:
        return super()._print_Float(sympy.Float(_rounded(float(expr)), DISPLAY_DIGITS))

    def _print_Symbol(self, expr: sympy.Symbol) -> str:
        return self.names.get(expr.name) or super()._print_Symbol(expr)


class _RoundedLatex(LatexPrinter):
    """sympy's LaTeX with every float shown to ``DISPLAY_DIGITS`` significant digits,
    and the data's column names for the variables."""

    names: dict[str, str] = {}  # noqa: RUF012 (set per printer, never mutated)

    def _print_Float(self, expr: sympy.Float) -> str:
        return super()._print_Float(sympy.Float(_rounded(float(expr)), DISPLAY_DIGITS))

    def _print_Symbol(self, expr: sympy.Symbol, style: str = "plain") -> str:
        name = self.names.get(expr.name)
        if name is None:
            return super()._print_Symbol(expr, style=style)
        return super()._print_Symbol(sympy.Symbol(name), style=style)
