"""``sqrt`` (the protected ``sqrt|a|``), opt-in: every part of the SR stack knows it.

Eighteen of the 100 AI Feynman laws take a square root; without the function a search
can only approximate them. Each layer is checked against the reference the others are:
the compiled kernels against the numpy interpreter (to the bit), the interval bounds
against sampled outputs, the batch path against the one-tree path, units (a root halves
the exponents), export (no ``Abs`` where the argument has one sign), and a search that
finds a law with a root.
"""

from __future__ import annotations

import random

import numpy as np
import pytest
from deap import gp

from domains.symbolic_regression import SymbolicRegression
from domains.symbolic_regression.compiled import run
from domains.symbolic_regression.estimator import QDSymbolicRegressor
from domains.symbolic_regression.export import simplified, to_sympy
from domains.symbolic_regression.intervals import find_pole, tree_interval
from domains.symbolic_regression.primitives import (
    DEFAULT_FUNCTIONS,
    FUNCTIONS,
    decode_tree,
    encode_tree,
    evaluate_tree,
    make_pset,
)
from domains.symbolic_regression.unit_trees import consistent_tree
from domains.symbolic_regression.units import check_units, make_units

WITH_SQRT = (*DEFAULT_FUNCTIONS, "sqrt")
PSET = make_pset(3, WITH_SQRT)


def _random_trees(n: int, seed: int) -> list[gp.PrimitiveTree]:
    generator = random.Random(seed)
    saved = gp.random
    gp.random = generator
    try:
        return [gp.PrimitiveTree(gp.genHalfAndHalf(PSET, 1, 6)) for _ in range(n)]
    finally:
        gp.random = saved


def test_sqrt_is_opt_in_and_known() -> None:
    assert "sqrt" in FUNCTIONS and "sqrt" not in DEFAULT_FUNCTIONS
    assert "sqrt" not in make_pset(2).mapping  # the default language is unchanged
    assert "sqrt" in PSET.mapping
    with pytest.raises(ValueError, match="unknown \\['cbrt'\\]"):
        make_pset(2, ("add", "cbrt"))


def test_the_kernel_computes_sqrt_of_the_magnitude_to_the_bit() -> None:
    X = np.array([[4.0, -9.0, 0.0], [-0.0, 2.0, np.inf], [np.nan, 1e-300, -1e300]])
    tree = decode_tree(["add", "sqrt", "x1", "mul", "sqrt", "x2", "sqrt", "x3"], PSET)
    with np.errstate(all="ignore"):
        expected = evaluate_tree(tree, X)
    got = run(tree, X)
    assert expected[0] == 2.0  # sqrt|4| + sqrt|-9| * sqrt|0|
    assert np.array_equal(expected, got, equal_nan=True)
    assert np.array_equal(np.signbit(expected), np.signbit(got))
    # a root of a constant subtree is folded to a number, the same number
    folded = decode_tree(["mul", "x1", "sqrt", -2.25], PSET)
    assert run(folded, X)[0] == 4.0 * 1.5


def test_random_trees_with_sqrt_agree_with_the_interpreter() -> None:
    rng = np.random.default_rng(5)
    X = rng.uniform(-3.0, 3.0, size=(60, 3))
    X[:5] = [[0.0, -0.0, 1e-7], [1e150, -1e150, 2.0], [np.inf, 1.0, -1.0], [np.nan] * 3, [1e-6] * 3]
    trees = [t for t in _random_trees(3000, seed=11) if any(n.name == "sqrt" for n in t)]
    assert len(trees) > 800
    arithmetic = 0
    with np.errstate(all="ignore"):
        for tree in trees:
            expected, got = evaluate_tree(tree, X), run(tree, X)
            if not any(n.name in ("sin", "cos", "exp", "log") for n in tree):
                arithmetic += 1  # sqrt is IEEE correctly rounded: the bits must match
                assert np.array_equal(expected, got, equal_nan=True), str(tree)
            else:  # libm's functions: within an ulp where numpy has its own SIMD ones
                close = np.isclose(expected, got, rtol=1e-13, atol=0.0, equal_nan=True)
                assert close.all(), str(tree)
    assert arithmetic > 100


def test_interval_bounds_hold_every_sampled_output_and_sqrt_has_no_pole() -> None:
    rng = np.random.default_rng(2)
    lows, highs = np.array([-2.0, 0.5, 1.0]), np.array([3.0, 4.0, 2.0])
    X = rng.uniform(lows, highs, size=(400, 3))
    checked = 0
    for tree in _random_trees(1500, seed=4):
        if not any(n.name == "sqrt" for n in tree) or find_pole(tree, lows, highs) is not None:
            continue
        bound = tree_interval(tree, lows, highs)
        lo, hi = bound.lo, bound.hi
        with np.errstate(all="ignore"):
            outputs = evaluate_tree(tree, X)
        assert np.all((outputs >= lo) & (outputs <= hi)), (str(tree), lo, hi)
        checked += 1
    assert checked > 300
    root_of_a_sign_change = decode_tree(["sqrt", "sub", "x1", 0.5], PSET)
    assert find_pole(root_of_a_sign_change, lows, highs) is None
    assert tree_interval(root_of_a_sign_change, lows, highs).lo == 0.0


@pytest.mark.parametrize(("benchmark", "tuning"), [("pagie-1", 0), ("vladislavleva-4", 10)])
def test_a_batch_with_sqrt_scores_each_tree_as_the_one_tree_path(benchmark, tuning) -> None:
    domain = SymbolicRegression(
        benchmark=benchmark, functions=WITH_SQRT, max_depth=6, max_size=30, tune_constants=tuning
    )
    trees = domain.initial(200, np.random.default_rng(3))
    assert sum(any(n.name == "sqrt" for n in t) for t in trees) > 40
    batch = domain.evaluate(trees)
    for tree, scored in zip(trees, batch, strict=True):
        alone = domain.assess(tree)[0]
        assert scored.valid == alone.valid
        if scored.valid:
            assert scored.objective == alone.objective and scored.measures == alone.measures
            assert scored.cost == alone.cost
            if alone.candidate is not None:
                assert encode_tree(scored.candidate) == encode_tree(alone.candidate)


def test_a_root_halves_the_units() -> None:
    # speed of sound: sqrt(gamma * p / rho), p in kg/(m s^2), rho in kg/m^3 -> m/s
    sound = make_units(["1", "kg/m/s^2", "kg/m^3"], n_vars=3, target="m/s")
    law = ["sqrt", "div", "mul", "x1", "x2", "x3"]
    assert check_units(law, sound).consistent
    assert sound.text(check_units(law, sound).units) == "m*s^-1"
    wrong = check_units(["sqrt", "x2"], sound)
    assert wrong.violations == 1 and "kg^0.5" in wrong.reason
    assert check_units(["sin", "sqrt", "x1"], sound).units == check_units(["x1"], sound).units
    drawn = [
        consistent_tree(PSET, sound, random.Random(s), depth=4, max_size=20) for s in range(150)
    ]
    trees = [t for t in drawn if t is not None]
    assert all(check_units(t, sound).consistent for t in trees)
    assert any(any(n.name == "sqrt" for n in t) for t in trees)  # roots are drawn too


def test_export_drops_abs_where_the_argument_has_one_sign() -> None:
    pset = make_pset(2, WITH_SQRT)
    tree = decode_tree(["sqrt", "add", "mul", "x1", "x1", "mul", "x2", "x2"], pset)
    assert str(to_sympy(tree, exact=True)) == "sqrt(x1**2 + x2**2)"  # sympy: never negative
    difference = decode_tree(["sqrt", "sub", "x1", "x2"], pset)
    assert str(to_sympy(difference, exact=True)) == "sqrt(Abs(x1 - x2))"
    text = simplified(tree, bounds=([-1.0, -1.0], [1.0, 1.0]))
    assert text == "sqrt(x1**2 + x2**2)"
    negative = decode_tree(["sqrt", "sub", "x1", 5.0], pset)
    assert simplified(negative, bounds=([0.0, 0.0], [1.0, 1.0])) == "sqrt(5 - x1)"
    both = decode_tree(["sqrt", "x1"], pset)
    assert simplified(both, bounds=([-1.0, 0.0], [1.0, 1.0])) == "sqrt(Abs(x1))"


def test_the_estimator_finds_a_law_with_a_root() -> None:
    """The speed of sound, sqrt(gamma * p / rho), found exactly with units given."""
    rng = np.random.default_rng(0)
    X = rng.uniform(1.0, 5.0, size=(150, 3))
    y = np.sqrt(X[:, 0] * X[:, 1] / X[:, 2])
    common = {"max_evaluations": 6000, "random_state": 0, "functions": WITH_SQRT}
    units = {"units": ["1", "kg/m/s^2", "kg/m^3"], "target_units": "m/s"}
    model = QDSymbolicRegressor(**common, **units).fit(X, y)
    assert model.best_.error < 1e-9, str(model.best_)
    assert "sqrt" in str(model.best_)
    # Without a root, no formula over these inputs is in m/s: the search keeps none.
    without = QDSymbolicRegressor(**{**common, "functions": DEFAULT_FUNCTIONS}, **units)
    with pytest.raises(RuntimeError, match="kept no formula"):
        without.fit(X, y)
