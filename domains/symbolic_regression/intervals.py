"""Interval arithmetic over a box of inputs: output bounds and pole safety of GP trees.

The search scores trees with protected operators (``primitives``): ``div(a, b)`` is 1
where ``|b|`` is tiny, ``log(a)`` is ``log|a|`` (0 where ``a`` is tiny) and ``exp(a)``
is ``exp(min(a, EXP_CAP))``. Those guards keep every fitness case finite, but they also
hide poles: a formula can fit the training points well and divide by zero between them,
and pasted into numpy or sympy it computes something else wherever a guard fires.

Keijzer (2003, "Improving symbolic regression with interval arithmetic and linear
scaling") bounds each subtree's range over the box the data span, in one pass, and
rejects formulas whose denominators (or logarithm arguments) can reach zero there. We do
the same: :func:`tree_interval` bounds what ``evaluate_tree`` can return on the box, and
:func:`find_pole` names the first guard that may fire (or says none can), so a formula
it passes means exactly ``a / b``, ``log|a|`` and ``exp(a)`` on the box.

The bounds are sound for the computed (floating-point) values, not only for exact real
arithmetic: rounding to nearest is monotone, so evaluating ``+ - * /`` at the corners of
the argument intervals bounds every computed result in between; the transcendental
functions, whose library implementations may differ by a few units in the last place,
are widened outwards by a relative ``1e-14``.

Both functions walk the prefix tree once, from the end, like
``primitives.evaluate_tree``, and keep plain floats on the stack (no objects per node),
because the search may call them on every evaluated candidate.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TypeAlias

import numba
import numpy as np
from deap import gp

from domains.symbolic_regression.compiled import Program
from domains.symbolic_regression.primitives import EXP_CAP, PROTECTED_DIV_EPSILON, to_infix

BoundValues: TypeAlias = "Sequence[float] | np.ndarray"
"""One bound per variable: a sequence of floats, or a 1-D array such as ``X.min(axis=0)``."""

_INF = math.inf
_TWO_PI = 2.0 * math.pi
_HALF_PI = 0.5 * math.pi
# Relative outward widening of sin, cos, exp and log bounds: numpy's vectorised kernels
# and libm may each be a few ULP (2.2e-16 relative) off the true value.
_WIDEN = 1e-14
# Beyond this magnitude, locating the peaks of sin and cos with a float multiple of 2*pi
# is no longer accurate enough to trust; we return [-1, 1] instead.
_PERIODIC_SAFE = 1e6


@dataclass(frozen=True, slots=True)
class Interval:
    """A closed range ``[lo, hi]`` of floats (either end may be infinite).

    Attributes:
        lo: Lower bound.
        hi: Upper bound.
    """

    lo: float
    hi: float

    @property
    def finite(self) -> bool:
        """Both ends are finite numbers."""
        return -_INF < self.lo <= self.hi < _INF

    def __contains__(self, value: float) -> bool:
        return self.lo <= value <= self.hi

    def __str__(self) -> str:
        return f"[{self.lo:.4g}, {self.hi:.4g}]"


def tree_interval(tree: gp.PrimitiveTree, lows: BoundValues, highs: BoundValues) -> Interval:
    """A bound on every value ``evaluate_tree`` can return when each ``xi`` spans its range.

    The bound covers the protected operators as the search computes them (so it is finite
    even across a pole: protected division never exceeds ``|a| / PROTECTED_DIV_EPSILON``).
    It may be wider than the true range (interval arithmetic forgets that two subtrees
    share a variable), except where cheap rules tighten it: ``a * a`` is a square,
    ``a - a`` is 0, ``a / a`` is 1, and sin, cos, exp and log are bounded exactly.

    Args:
        tree: A DEAP tree from ``primitives.make_pset``.
        lows: Lower end of each variable's range; ``lows[i]`` is for ``x{i+1}``.
        highs: Upper end of each variable's range.

    Returns:
        The output range bound; infinite ends mean the output may overflow.

    Raises:
        ValueError: ``lows`` and ``highs`` differ in length or some low exceeds its high.
        KeyError: The tree uses a variable beyond ``len(lows)``.
    """
    lo, hi, _ = _walk(tree, _variable_bounds(lows, highs), stop_at_pole=False)
    return Interval(lo, hi)


def find_pole(tree: gp.PrimitiveTree, lows: BoundValues, highs: BoundValues) -> str | None:
    """Why the formula is unsafe to export on the box, or None when it is safe.

    Unsafe means some protected operator may take its guard branch at a point of the box,
    or some range is not finite: a division whose denominator's range meets
    ``[-PROTECTED_DIV_EPSILON, PROTECTED_DIV_EPSILON]``, a log whose argument's range
    meets it, an exp whose argument may exceed ``EXP_CAP``, or a subformula whose range
    bound is infinite. When this returns None, plain ``a / b``, ``log|a|`` and ``exp(a)``
    compute exactly what the search scored at every point of the box. Being an interval
    bound, it may flag a formula that is in fact safe (never the other way round).

    Args:
        tree: A DEAP tree from ``primitives.make_pset``.
        lows: Lower end of each variable's range (the data's minimum per column).
        highs: Upper end of each variable's range (the data's maximum per column).

    Returns:
        None, or a sentence naming the first offending subformula found and its range,
        such as ``"division by (x1 - 0.5), which spans [-1.5, 0.5] and so reaches 0 on
        the box"``.

    Raises:
        ValueError: ``lows`` and ``highs`` differ in length or some low exceeds its high.
        KeyError: The tree uses a variable beyond ``len(lows)``.
    """
    return _walk(tree, _variable_bounds(lows, highs), stop_at_pole=True)[2]


def node_intervals(tree: gp.PrimitiveTree, lows: BoundValues, highs: BoundValues) -> list[Interval]:
    """The range bound of every subtree, indexed by the position of its root in ``tree``.

    ``node_intervals(tree, ...)[0]`` is ``tree_interval(tree, ...)``. The exporter uses
    the others to drop exactly those guards that cannot fire on the box.

    Args:
        tree: A DEAP tree from ``primitives.make_pset``.
        lows: Lower end of each variable's range.
        highs: Upper end of each variable's range.

    Returns:
        One :class:`Interval` per node.

    Raises:
        ValueError: ``lows`` and ``highs`` differ in length or some low exceeds its high.
        KeyError: The tree uses a variable beyond ``len(lows)``.
    """
    spans: list = [None] * len(tree)
    _walk(tree, _variable_bounds(lows, highs), stop_at_pole=False, spans=spans)
    return [Interval(lo, hi) for lo, hi in spans]


def touches_zero(lo: float, hi: float) -> bool:
    """The range meets ``[-PROTECTED_DIV_EPSILON, PROTECTED_DIV_EPSILON]``: a guard may fire."""
    return lo <= PROTECTED_DIV_EPSILON and hi >= -PROTECTED_DIV_EPSILON


# ------------------------------------------------------------------------------ the walk


def _variable_bounds(lows: BoundValues, highs: BoundValues) -> dict[str, tuple]:
    if len(lows) != len(highs):
        raise ValueError(
            f"lows has {len(lows)} entries but highs has {len(highs)}: give one (low, high) "
            "pair per variable, e.g. X.min(axis=0), X.max(axis=0)"
        )
    bounds = {}
    for i, (low, high) in enumerate(zip(lows, highs, strict=True)):
        low, high = float(low), float(high)
        if not low <= high:
            raise ValueError(f"x{i + 1} has low {low} above high {high} (or a NaN bound)")
        bounds[f"x{i + 1}"] = (low, high)
    return bounds


def _walk(
    tree: gp.PrimitiveTree,
    bounds: dict[str, tuple],
    *,
    stop_at_pole: bool,
    spans: list | None = None,
) -> tuple[float, float, str | None]:
    """One pass from the last node to the first; returns (lo, hi, first pole reason).

    Each stack entry is ``(lo, hi, end)``: the subtree's range and the index just past
    its last node (it starts at the index where it was pushed), so the operands of the
    node at ``index`` are ``tree[index + 1:middle]`` and ``tree[middle:end]``.
    """
    eps, inf, minus_inf = PROTECTED_DIV_EPSILON, _INF, -_INF  # locals: the loop is hot
    primitive = gp.Primitive
    stack: list[tuple[float, float, int]] = []
    push, pop = stack.append, stack.pop
    for index in range(len(tree) - 1, -1, -1):
        node = tree[index]
        if not isinstance(node, primitive):
            value = node.value
            if value.__class__ is str:
                lo, hi = bounds[value]
            else:
                lo = hi = float(value)
            if spans is not None:
                spans[index] = (lo, hi)
            if stop_at_pole and not minus_inf < lo <= hi < inf:
                return lo, hi, _unbounded_reason(tree, index, index + 1, lo, hi)
            push((lo, hi, index + 1))
            continue
        name = node.name
        if node.arity == 2:
            a_lo, a_hi, middle = pop()
            b_lo, b_hi, end = pop()
            if name == "add":
                lo, hi = a_lo + b_lo, a_hi + b_hi
            else:
                # Identical operands (an equal-sized slice first, as that is cheap) make
                # a square, 0 or 1. The last two need finite operands (inf - inf is NaN).
                twins = middle - index - 1 == end - middle and _same(tree, index + 1, middle, end)
                finite_twins = twins and a_hi - a_lo < inf
                if name == "sub":
                    lo, hi = (0.0, 0.0) if finite_twins else (a_lo - b_hi, a_hi - b_lo)
                elif name == "mul":
                    lo, hi = _square(a_lo, a_hi) if twins else _product(a_lo, a_hi, b_lo, b_hi)
                elif b_lo <= eps and b_hi >= -eps:  # div where the guard may fire
                    if stop_at_pole:
                        reason = _zero_reason(tree, "division by", middle, end, b_lo, b_hi)
                        return -_INF, _INF, reason
                    guarded = _guarded_quotient(a_lo, a_hi, b_lo, b_hi)
                    lo, hi = (1.0, 1.0) if finite_twins else guarded
                else:
                    lo, hi = (1.0, 1.0) if finite_twins else _quotient(a_lo, a_hi, b_lo, b_hi)
        else:
            a_lo, a_hi, end = pop()
            if name == "sin":
                lo, hi = _periodic(math.sin, a_lo, a_hi, _HALF_PI)
            elif name == "cos":
                lo, hi = _periodic(math.cos, a_lo, a_hi, 0.0)
            elif name == "sqrt":
                lo, hi = _sqrt_magnitude(a_lo, a_hi)
            elif name == "exp":
                if a_hi > EXP_CAP and stop_at_pole:
                    return -_INF, _INF, _cap_reason(tree, index + 1, end, a_lo, a_hi)
                lo = math.exp(min(a_lo, EXP_CAP)) * (1.0 - _WIDEN)
                hi = math.exp(min(a_hi, EXP_CAP)) * (1.0 + _WIDEN)
            else:  # log
                if a_lo <= eps and a_hi >= -eps:
                    if stop_at_pole:
                        return -_INF, _INF, _zero_reason(tree, "log of", index + 1, end, a_lo, a_hi)
                    lo, hi = _guarded_log(a_lo, a_hi)
                else:
                    lo, hi = _log(min(abs(a_lo), abs(a_hi)), max(abs(a_lo), abs(a_hi)))
        if not lo <= hi:  # NaN from inf - inf or 0 * inf: nothing is known
            lo, hi = minus_inf, inf
        if spans is not None:
            spans[index] = (lo, hi)
        if stop_at_pole and not minus_inf < lo <= hi < inf:
            return lo, hi, _unbounded_reason(tree, index, end, lo, hi)
        push((lo, hi, end))
    lo, hi, _ = stack[0]
    return lo, hi, None


def _same(tree: gp.PrimitiveTree, start: int, middle: int, end: int) -> bool:
    """The equal-sized subtrees ``tree[start:middle]`` and ``tree[middle:end]`` are identical."""
    # Nodes of one primitive set are shared objects, so list equality (identity first)
    # is cheap; ephemeral constants compare by value.
    return tree[start:middle] == tree[middle:end]


def _square(lo: float, hi: float) -> tuple[float, float]:
    if lo >= 0.0:
        return lo * lo, hi * hi
    if hi <= 0.0:
        return hi * hi, lo * lo
    return 0.0, max(lo * lo, hi * hi)


def _product(a_lo: float, a_hi: float, b_lo: float, b_hi: float) -> tuple[float, float]:
    p1, p2, p3, p4 = a_lo * b_lo, a_lo * b_hi, a_hi * b_lo, a_hi * b_hi
    if p1 != p1 or p2 != p2 or p3 != p3 or p4 != p4:  # 0 * inf
        return -_INF, _INF
    return min(p1, p2, p3, p4), max(p1, p2, p3, p4)


def _quotient(a_lo: float, a_hi: float, b_lo: float, b_hi: float) -> tuple[float, float]:
    """``a / b`` for a ``b`` that excludes 0."""
    q1, q2, q3, q4 = a_lo / b_lo, a_lo / b_hi, a_hi / b_lo, a_hi / b_hi
    if q1 != q1 or q2 != q2 or q3 != q3 or q4 != q4:  # inf / inf
        return -_INF, _INF
    return min(q1, q2, q3, q4), max(q1, q2, q3, q4)


def _guarded_quotient(a_lo: float, a_hi: float, b_lo: float, b_hi: float) -> tuple[float, float]:
    """Protected ``a / b`` where ``b`` meets the guard band: 1 there, ``a / b`` outside it."""
    eps = PROTECTED_DIV_EPSILON
    lo = hi = 1.0
    if b_lo < -eps:
        q_lo, q_hi = _quotient(a_lo, a_hi, b_lo, -eps)
        lo, hi = min(lo, q_lo), max(hi, q_hi)
    if b_hi > eps:
        q_lo, q_hi = _quotient(a_lo, a_hi, eps, b_hi)
        lo, hi = min(lo, q_lo), max(hi, q_hi)
    return lo, hi


def _log(m_lo: float, m_hi: float) -> tuple[float, float]:
    """``log`` of magnitudes in ``[m_lo, m_hi]``, ``m_lo > 0``, widened outwards."""
    lo, hi = math.log(m_lo), math.log(m_hi)
    return lo - abs(lo) * _WIDEN, hi + abs(hi) * _WIDEN


def _guarded_log(a_lo: float, a_hi: float) -> tuple[float, float]:
    """Protected ``log|a|`` where ``a`` meets the guard band: 0 there, ``log|a|`` outside."""
    eps = PROTECTED_DIV_EPSILON
    m_hi = max(abs(a_lo), abs(a_hi))
    if m_hi <= eps:
        return 0.0, 0.0
    lo, hi = _log(eps, m_hi)
    return min(lo, 0.0), max(hi, 0.0)


def _sqrt_magnitude(a_lo: float, a_hi: float) -> tuple[float, float]:
    """``sqrt|a|`` for ``a`` in ``[a_lo, a_hi]``, widened outwards; no pole (it is total)."""
    m_lo = 0.0 if a_lo <= 0.0 <= a_hi else min(abs(a_lo), abs(a_hi))
    m_hi = max(abs(a_lo), abs(a_hi))
    return math.sqrt(m_lo) * (1.0 - _WIDEN), math.sqrt(m_hi) * (1.0 + _WIDEN)


def _periodic(function, lo: float, hi: float, peak: float) -> tuple[float, float]:
    """Exact range of sin (``peak`` pi/2) or cos (``peak`` 0) on ``[lo, hi]``, widened.

    The range is the hull of the two end values, plus 1 when a peak
    ``peak + 2k*pi`` lies inside and -1 when a trough ``peak + pi + 2k*pi`` does.
    """
    if not (hi - lo < _TWO_PI and lo > -_PERIODIC_SAFE and hi < _PERIODIC_SAFE):
        return -1.0, 1.0  # a full period, an infinite end, or too far out to be precise
    f_lo, f_hi = function(lo), function(hi)
    low, high = min(f_lo, f_hi), max(f_lo, f_hi)
    # A slack makes a peak just outside count as inside: that only widens the bound,
    # whereas missing a peak by a rounding error would break it.
    slack = 1e-9
    if peak + _TWO_PI * math.ceil((lo - slack - peak) / _TWO_PI) <= hi + slack:
        high = 1.0
    trough = peak + math.pi
    if trough + _TWO_PI * math.ceil((lo - slack - trough) / _TWO_PI) <= hi + slack:
        low = -1.0
    return max(-1.0, low - abs(low) * _WIDEN), min(1.0, high + abs(high) * _WIDEN)


# --------------------------------------------------------------------------- the reasons


def _subformula(tree: gp.PrimitiveTree, start: int, end: int) -> str:
    text = to_infix(tree[start:end])
    if isinstance(tree[start], gp.Primitive) and tree[start].arity == 2:
        return f"({text})"  # to_infix drops the outer brackets of an operator
    return text


def _zero_reason(
    tree: gp.PrimitiveTree, what: str, start: int, end: int, lo: float, hi: float
) -> str:
    reach = (
        "reaches 0"
        if lo <= 0.0 <= hi
        else f"comes within {PROTECTED_DIV_EPSILON:g} of 0 (the protection threshold)"
    )
    span = Interval(lo, hi)
    return f"{what} {_subformula(tree, start, end)}, which spans {span} and so {reach} on the box"


def _cap_reason(tree: gp.PrimitiveTree, start: int, end: int, lo: float, hi: float) -> str:
    return (
        f"exp of {_subformula(tree, start, end)}, which spans {Interval(lo, hi)} and so "
        f"exceeds the cap {EXP_CAP:g} (the search computed exp({EXP_CAP:g}) there) on the box"
    )


def _unbounded_reason(tree: gp.PrimitiveTree, start: int, end: int, lo: float, hi: float) -> str:
    return (
        f"{_subformula(tree, start, end)} spans {Interval(lo, hi)}, which is not finite "
        "on the box (it may overflow)"
    )


# ------------------------------------------------------------ the check on compiled programs

# What ``_program_pole`` found: nothing, or which reason ``find_pole`` would give.
_NO_POLE, _DIVISION, _LOG, _EXP_CAP, _UNBOUNDED = 0, 1, 2, 3, 4


def find_pole_compiled(
    tree: gp.PrimitiveTree, program: Program, lows: np.ndarray, highs: np.ndarray
) -> str | None:
    """:func:`find_pole` of ``tree`` from its compiled ``program``: the same answer.

    The search checks every candidate; walking the tree in Python cost as much as
    scoring it. This runs the same interval arithmetic (the same operations in the same
    order, Python's ``min``/``max`` tie rules, the same twin rules) in one numba call
    over the postfix program the scorer runs anyway, and builds the sentence in Python
    only for a formula that has a pole. ``tests/test_sr_speed.py`` checks that both give
    the same sentence (or None), and the same root interval, on 10,000 random trees.

    Args:
        tree: The formula (only read to name the offending subformula).
        program: ``compile_tree(tree, len(lows))``, with the tree's constants (or others
            of the same tree shape: tuned ones).
        lows: Lower end of each variable's range, float64 (the data's minimum).
        highs: Upper end of each variable's range, float64.
    """
    kind, start, end, lo, hi = _program_pole(
        program.codes, program.slots, program.constants, lows, highs
    )
    return pole_reason(tree, kind, start, end, lo, hi)


def pole_reason(
    tree: gp.PrimitiveTree, kind: int, start: int, end: int, lo: float, hi: float
) -> str | None:
    """The sentence :func:`find_pole` gives, from what ``_program_pole`` returned."""
    if kind == _NO_POLE:
        return None
    if kind == _DIVISION:
        return _zero_reason(tree, "division by", start, end, lo, hi)
    if kind == _LOG:
        return _zero_reason(tree, "log of", start, end, lo, hi)
    if kind == _EXP_CAP:
        return _cap_reason(tree, start, end, lo, hi)
    return _unbounded_reason(tree, start, end, lo, hi)


POLE_KINDS = {
    _DIVISION: "division by a subformula that reaches 0 on the box",
    _LOG: "log of a subformula that reaches 0 on the box",
    _EXP_CAP: f"exp of a subformula that exceeds the cap {EXP_CAP:g} on the box",
    _UNBOUNDED: "a subformula that is not finite on the box",
}
"""The reason of a pole of each kind, without naming the subformula (the text costs
more than the check: ``SymbolicRegression(explain_invalid=False)``)."""


def root_interval_compiled(
    program: Program, lows: np.ndarray, highs: np.ndarray
) -> tuple[float, float] | None:
    """The root's ``(lo, hi)`` as ``find_pole``'s walk ends with it, or None on a pole.

    For the tests, which compare it with the Python walk to the bit.
    """
    kind, _, _, lo, hi = _program_pole(program.codes, program.slots, program.constants, lows, highs)
    return None if kind != _NO_POLE else (lo, hi)


_jit = numba.njit(cache=True, nogil=True, error_model="numpy", fastmath=False)


@_jit
def _py_min(a, b):
    """Python's ``min(a, b)``: the first unless the second is smaller (so -0.0 vs 0.0 and
    NaN resolve as in the Python walk)."""
    return b if b < a else a


@_jit
def _py_max(a, b):
    """Python's ``max(a, b)``: the first unless the second is larger."""
    return b if b > a else a


@_jit
def _periodic_jit(is_sin, lo, hi, peak):
    """:func:`_periodic` with ``math.sin`` (``is_sin``) or ``math.cos``."""
    if not (hi - lo < _TWO_PI and lo > -_PERIODIC_SAFE and hi < _PERIODIC_SAFE):
        return -1.0, 1.0
    if is_sin:
        f_lo, f_hi = math.sin(lo), math.sin(hi)
    else:
        f_lo, f_hi = math.cos(lo), math.cos(hi)
    low, high = _py_min(f_lo, f_hi), _py_max(f_lo, f_hi)
    slack = 1e-9
    if peak + _TWO_PI * math.ceil((lo - slack - peak) / _TWO_PI) <= hi + slack:
        high = 1.0
    trough = peak + math.pi
    if trough + _TWO_PI * math.ceil((lo - slack - trough) / _TWO_PI) <= hi + slack:
        low = -1.0
    return _py_max(-1.0, low - abs(low) * _WIDEN), _py_min(1.0, high + abs(high) * _WIDEN)


@_jit
def _same_jit(codes, slots, constants, size, start, middle, end):
    """:func:`_same` on the program: prefix position ``i`` is postfix ``size - 1 - i``;
    functions compare by opcode, variables by column, constants by value (``==``)."""
    for offset in range(middle - start):
        first, second = size - 1 - (start + offset), size - 1 - (middle + offset)
        code = codes[first]
        if code != codes[second]:
            return False
        if code == 0 and slots[first] != slots[second]:
            return False
        if code == 1 and constants[slots[first]] != constants[slots[second]]:
            return False
    return True


@_jit
def _program_pole(codes, slots, constants, lows, highs):
    """``_walk(tree, bounds, stop_at_pole=True)`` on the postfix program.

    Returns ``(kind, start, end, lo, hi)``: ``kind`` 0 (no pole; ``lo, hi`` the root's
    range), or which reason the walk returns, with the prefix slice of the subformula it
    names and the range it quotes.
    """
    inf = math.inf
    eps = 1e-6  # PROTECTED_DIV_EPSILON
    size = codes.size
    stack_lo = np.empty(size)
    stack_hi = np.empty(size)
    stack_end = np.empty(size, dtype=np.int64)
    top = -1
    lo = hi = 0.0
    for k in range(size):
        index = size - 1 - k
        code = codes[k]
        if code <= 1:
            if code == 0:
                lo, hi = lows[slots[k]], highs[slots[k]]
            else:
                lo = hi = constants[slots[k]]
            if not (-inf < lo and lo <= hi and hi < inf):
                return _UNBOUNDED, index, index + 1, lo, hi
            top += 1
            stack_lo[top], stack_hi[top], stack_end[top] = lo, hi, index + 1
            continue
        if code <= 5:
            a_lo, a_hi, middle = stack_lo[top], stack_hi[top], stack_end[top]
            b_lo, b_hi, end = stack_lo[top - 1], stack_hi[top - 1], stack_end[top - 1]
            top -= 2
            if code == 2:
                lo, hi = a_lo + b_lo, a_hi + b_hi
            else:
                twins = middle - index - 1 == end - middle and _same_jit(
                    codes, slots, constants, size, index + 1, middle, end
                )
                finite_twins = twins and a_hi - a_lo < inf
                if code == 3:
                    if finite_twins:
                        lo, hi = 0.0, 0.0
                    else:
                        lo, hi = a_lo - b_hi, a_hi - b_lo
                elif code == 4:
                    if twins:
                        if a_lo >= 0.0:
                            lo, hi = a_lo * a_lo, a_hi * a_hi
                        elif a_hi <= 0.0:
                            lo, hi = a_hi * a_hi, a_lo * a_lo
                        else:
                            lo, hi = 0.0, _py_max(a_lo * a_lo, a_hi * a_hi)
                    else:
                        p1, p2, p3, p4 = a_lo * b_lo, a_lo * b_hi, a_hi * b_lo, a_hi * b_hi
                        if p1 != p1 or p2 != p2 or p3 != p3 or p4 != p4:
                            lo, hi = -inf, inf
                        else:
                            lo = _py_min(_py_min(_py_min(p1, p2), p3), p4)
                            hi = _py_max(_py_max(_py_max(p1, p2), p3), p4)
                elif b_lo <= eps and b_hi >= -eps:
                    return _DIVISION, middle, end, b_lo, b_hi
                elif finite_twins:
                    lo, hi = 1.0, 1.0
                else:
                    q1, q2, q3, q4 = a_lo / b_lo, a_lo / b_hi, a_hi / b_lo, a_hi / b_hi
                    if q1 != q1 or q2 != q2 or q3 != q3 or q4 != q4:
                        lo, hi = -inf, inf
                    else:
                        lo = _py_min(_py_min(_py_min(q1, q2), q3), q4)
                        hi = _py_max(_py_max(_py_max(q1, q2), q3), q4)
        else:
            a_lo, a_hi, end = stack_lo[top], stack_hi[top], stack_end[top]
            top -= 1
            if code == 6:
                lo, hi = _periodic_jit(True, a_lo, a_hi, _HALF_PI)
            elif code == 7:
                lo, hi = _periodic_jit(False, a_lo, a_hi, 0.0)
            elif code == 10:  # sqrt|a|, as _sqrt_magnitude
                m_lo = 0.0 if a_lo <= 0.0 <= a_hi else _py_min(abs(a_lo), abs(a_hi))
                m_hi = _py_max(abs(a_lo), abs(a_hi))
                lo, hi = math.sqrt(m_lo) * (1.0 - _WIDEN), math.sqrt(m_hi) * (1.0 + _WIDEN)
            elif code == 8:
                if a_hi > 50.0:  # EXP_CAP
                    return _EXP_CAP, index + 1, end, a_lo, a_hi
                lo = math.exp(_py_min(a_lo, 50.0)) * (1.0 - _WIDEN)
                hi = math.exp(_py_min(a_hi, 50.0)) * (1.0 + _WIDEN)
            else:
                if a_lo <= eps and a_hi >= -eps:
                    return _LOG, index + 1, end, a_lo, a_hi
                m_lo = _py_min(abs(a_lo), abs(a_hi))
                m_hi = _py_max(abs(a_lo), abs(a_hi))
                log_lo, log_hi = math.log(m_lo), math.log(m_hi)
                lo, hi = log_lo - abs(log_lo) * _WIDEN, log_hi + abs(log_hi) * _WIDEN
        if not lo <= hi:
            lo, hi = -inf, inf
        if not (-inf < lo and lo <= hi and hi < inf):
            return _UNBOUNDED, index, end, lo, hi
        top += 1
        stack_lo[top], stack_hi[top], stack_end[top] = lo, hi, end
    return _NO_POLE, 0, 0, stack_lo[0], stack_hi[0]


# The kernel spells these as literals; keep them tied to the interpreter's.
assert PROTECTED_DIV_EPSILON == 1e-6 and EXP_CAP == 50.0
