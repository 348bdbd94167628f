"""Tests for interval bounds and pole detection of symbolic-regression trees."""

from __future__ import annotations

import math
import random

import numpy as np
import pytest
from deap import gp

from domains.symbolic_regression.intervals import (
    Interval,
    find_pole,
    node_intervals,
    tree_interval,
)
from domains.symbolic_regression.primitives import decode_tree, evaluate_tree, make_pset

PSET_1 = make_pset(1)
PSET_2 = make_pset(2)


def _tree(tokens: list, pset: gp.PrimitiveSet = PSET_1) -> gp.PrimitiveTree:
    return decode_tree(tokens, pset)


def _unprotected(tree: gp.PrimitiveTree, X: np.ndarray) -> np.ndarray:
    """The formula as pasted into numpy: plain a / b, log|a| and exp(a)."""
    plain = {
        "add": np.add,
        "sub": np.subtract,
        "mul": np.multiply,
        "div": np.divide,
        "sin": np.sin,
        "cos": np.cos,
        "exp": np.exp,
        "log": lambda a: np.log(np.abs(a)),
    }
    stack: list = []
    for node in reversed(tree):
        if isinstance(node, gp.Primitive):
            args = [stack.pop() for _ in range(node.arity)]
            stack.append(plain[node.name](*args))
        elif isinstance(node.value, str):
            stack.append(X[:, int(node.value[1:]) - 1])
        else:
            stack.append(float(node.value))
    return np.broadcast_to(np.asarray(stack[0], dtype=float), (len(X),))


# ---------------------------------------------------------------------- hand-built trees


def test_division_by_a_difference_of_equal_subtrees_is_flagged() -> None:
    tree = _tree(["div", "x1", "sub", "x1", "x1"])
    reason = find_pole(tree, [-1.0], [1.0])
    assert reason == "division by (x1 - x1), which spans [0, 0] and so reaches 0 on the box"
    # The search computes 1 there (the guard), and the bound knows it.
    assert tree_interval(tree, [-1.0], [1.0]) == Interval(1.0, 1.0)


def test_a_square_plus_one_is_a_safe_denominator() -> None:
    tree = _tree(["div", "x1", "add", "mul", "x1", "x1", 1.0])
    assert find_pole(tree, [-1.0], [1.0]) is None
    assert node_intervals(tree, [-1.0], [1.0])[2] == Interval(1.0, 2.0)  # x1*x1 + 1
    # Without the square rule x1 * x1 would span [-1, 1] and the denominator [0, 2].
    product = _tree(["div", "x1", "add", "mul", "x1", "x2", 1.0], PSET_2)
    assert find_pole(product, [-1.0, -1.0], [1.0, 1.0]) is not None


def test_reason_names_the_subformula_and_its_range() -> None:
    reason = find_pole(_tree(["div", "x1", "sub", "x1", 0.5]), [-1.0], [1.0])
    assert reason == ("division by (x1 - 0.5), which spans [-1.5, 0.5] and so reaches 0 on the box")
    near = find_pole(_tree(["div", 1.0, "x1"]), [1e-7], [1.0])
    assert near is not None
    assert near.startswith("division by x1, which spans [1e-07, 1]")
    assert "comes within 1e-06 of 0" in near


def test_log_is_flagged_where_its_argument_reaches_zero_only() -> None:
    tree = _tree(["log", "x1"])
    reason = find_pole(tree, [-1.0], [1.0])
    assert reason == "log of x1, which spans [-1, 1] and so reaches 0 on the box"
    assert find_pole(tree, [1.0], [2.0]) is None
    assert find_pole(tree, [-2.0], [-1.0]) is None  # log|x1|: negative is fine
    bound = tree_interval(tree, [1.0], [2.0])
    assert bound.lo == pytest.approx(0.0, abs=1e-15)
    assert bound.hi == pytest.approx(math.log(2.0))


def test_exp_past_its_cap_is_flagged() -> None:
    tree = _tree(["exp", "mul", "x1", 100.0])
    reason = find_pole(tree, [0.0], [1.0])
    assert reason is not None
    assert reason.startswith("exp of (x1 * 100.0), which spans [0, 100] and so exceeds the cap 50")
    assert find_pole(tree, [0.0], [0.5]) is None  # at most exp(50): the cap never bites
    assert tree_interval(tree, [0.0], [1.0]).hi == pytest.approx(math.exp(50.0))


def test_an_overflowing_range_is_flagged_as_not_finite() -> None:
    tree = _tree(["mul", "x1", "x2"], PSET_2)
    reason = find_pole(tree, [0.0, 0.0], [1e200, 1e200])
    assert reason == "(x1 * x2) spans [0, inf], which is not finite on the box (it may overflow)"
    assert tree_interval(tree, [0.0, 0.0], [1e200, 1e200]) == Interval(0.0, math.inf)


def test_sin_and_cos_ranges_are_exact_on_short_intervals() -> None:
    sin, cos = _tree(["sin", "x1"]), _tree(["cos", "x1"])
    bound = tree_interval(sin, [0.0], [3.0])  # the peak at pi/2 is inside
    assert (bound.lo, bound.hi) == (pytest.approx(0.0, abs=1e-15), 1.0)
    bound = tree_interval(sin, [2.0], [4.0])  # monotone there: the end values
    assert (bound.lo, bound.hi) == (pytest.approx(math.sin(4.0)), pytest.approx(math.sin(2.0)))
    bound = tree_interval(cos, [-1.0], [1.0])
    assert (bound.lo, bound.hi) == (pytest.approx(math.cos(1.0)), 1.0)
    bound = tree_interval(cos, [3.0], [3.5])  # the trough at pi
    assert (bound.lo, bound.hi) == (-1.0, pytest.approx(math.cos(3.5)))
    assert tree_interval(sin, [0.0], [7.0]) == Interval(-1.0, 1.0)  # a whole period


def test_node_intervals_gives_every_subtree_and_the_root_first() -> None:
    tree = _tree(["add", "x1", "mul", 2.0, "x1"])
    spans = node_intervals(tree, [1.0], [3.0])
    assert spans == [
        Interval(3.0, 9.0),
        Interval(1.0, 3.0),
        Interval(2.0, 6.0),
        Interval(2.0, 2.0),
        Interval(1.0, 3.0),
    ]
    assert spans[0] == tree_interval(tree, [1.0], [3.0])


def test_bad_boxes_are_refused_with_advice() -> None:
    tree = _tree(["x1"])
    with pytest.raises(ValueError, match=r"one \(low, high\) pair per variable"):
        tree_interval(tree, [0.0, 1.0], [1.0])
    with pytest.raises(ValueError, match=r"x1 has low 2\.0 above high 1\.0"):
        find_pole(tree, [2.0], [1.0])


# ------------------------------------------------------------------- soundness property


def _random_box(rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    lows = rng.uniform(-3.0, 2.0, size=2)
    return lows, lows + rng.uniform(0.05, 4.0, size=2)


def test_bounds_hold_and_pole_free_trees_equal_the_plain_formula() -> None:
    random.seed(12)
    rng = np.random.default_rng(12)
    trees = [gp.PrimitiveTree(gp.genHalfAndHalf(PSET_2, 1, 6)) for _ in range(300)]
    checked = pole_free = 0
    for tree in trees:
        for _ in range(3):
            lows, highs = _random_box(rng)
            X = rng.uniform(lows, highs, size=(200, 2))
            X[:2] = [lows, highs]  # the corners, where bounds are reached
            bound = tree_interval(tree, lows, highs)
            with np.errstate(all="ignore"):
                outputs = evaluate_tree(tree, X)
            finite = np.isfinite(outputs)
            if bound.finite:
                assert finite.all(), (str(tree), lows, highs)
            inside = (outputs[finite] >= bound.lo) & (outputs[finite] <= bound.hi)
            assert inside.all(), (str(tree), lows, highs, bound, outputs[finite][~inside][:3])
            checked += 1
            if find_pole(tree, lows, highs) is None:
                pole_free += 1
                with np.errstate(all="ignore"):
                    plain = _unprotected(tree, X)
                np.testing.assert_array_equal(outputs, plain, err_msg=str(tree))
    # Not vacuous: both verdicts occur often.
    assert checked == 900
    assert 200 < pole_free < 800, pole_free
