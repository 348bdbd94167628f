"""Tests for honest export of symbolic-regression models to sympy, numpy and LaTeX."""

from __future__ import annotations

import pickle
import random
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import sympy
from deap import gp

from domains.symbolic_regression.export import (
    NumpyFormula,
    simplified,
    to_latex,
    to_numpy,
    to_sympy,
)
from domains.symbolic_regression.intervals import find_pole
from domains.symbolic_regression.primitives import decode_tree, evaluate_tree, make_pset

ROOT = Path(__file__).resolve().parents[1]
PSET_1 = make_pset(1)
PSET_2 = make_pset(2)
X1, X2 = sympy.symbols("x1 x2", real=True)


def _tree(tokens: list, pset: gp.PrimitiveSet = PSET_1) -> gp.PrimitiveTree:
    return decode_tree(tokens, pset)


def _random_trees(n: int, seed: int) -> list[gp.PrimitiveTree]:
    random.seed(seed)
    return [gp.PrimitiveTree(gp.genHalfAndHalf(PSET_2, 1, 6)) for _ in range(n)]


def _inputs_where_guards_fire(seed: int) -> np.ndarray:
    """Random points plus x1 == x2, zeros and values inside the guard band."""
    rng = np.random.default_rng(seed)
    X = rng.uniform(-2.0, 2.0, size=(80, 2))
    X[:15, 1] = X[:15, 0]  # x1 - x2 == 0 exactly
    X[15:22, 0] = 0.0
    X[22:26, 1] = 0.0
    X[26:30] = rng.uniform(-1e-7, 1e-7, size=(4, 2))  # |x| <= PROTECTED_DIV_EPSILON
    return X


def _lambdified(expr: sympy.Expr, X: np.ndarray) -> np.ndarray:
    function = sympy.lambdify([X1, X2], expr, modules="numpy")
    with np.errstate(all="ignore"):
        out = function(X[:, 0], X[:, 1])
    return np.broadcast_to(np.asarray(out, dtype=float), (len(X),))


def _well_conditioned(tree: gp.PrimitiveTree, X: np.ndarray) -> np.ndarray:
    """Points where a 1e-12 relative nudge of the inputs barely moves the output.

    Elsewhere (``sin`` of ``exp`` near its cap, say) two correct evaluations that only
    round differently (sympy writes ``x / 0.79`` as ``1.2658 * x``) may disagree wholly.
    Scaling keeps ``x1 == x2`` and zeros, so the guards fire at the same points.
    """
    with np.errstate(all="ignore"):
        base = evaluate_tree(tree, X)
        nudged = [evaluate_tree(tree, X * factor) for factor in (1 + 1e-12, 1 - 1e-12)]
    return np.logical_and.reduce(
        [np.isclose(base, other, rtol=1e-6, atol=1e-9, equal_nan=True) for other in nudged]
    )


# ------------------------------------------------------------------------ exactness


def test_exact_sympy_computes_what_the_search_scored_even_where_guards_fire() -> None:
    X = _inputs_where_guards_fire(0)
    compared = skipped = 0
    for tree in _random_trees(250, seed=3):
        with np.errstate(all="ignore"):
            want = 0.25 + 1.5 * evaluate_tree(tree, X)
        got = _lambdified(to_sympy(tree, intercept=0.25, slope=1.5, exact=True), X)
        stable = _well_conditioned(tree, X)
        np.testing.assert_allclose(
            got[stable], want[stable], rtol=1e-7, atol=1e-9, equal_nan=True, err_msg=str(tree)
        )
        compared += int(stable.sum())
        skipped += int((~stable).sum())
    assert skipped < 0.01 * compared, (skipped, compared)


def test_exact_form_spells_out_each_guard() -> None:
    division = to_sympy(_tree(["div", "x1", "x2"], PSET_2))
    assert str(division) == "Piecewise((x1/x2, Abs(x2) > 1.0e-6), (1, True))"
    log = to_sympy(_tree(["log", "x1"]))
    assert str(log) == "Piecewise((log(Abs(x1)), Abs(x1) > 1.0e-6), (0, True))"
    exp = to_sympy(_tree(["exp", "x1"]))
    assert str(exp) == "exp(Min(50.0, x1))"
    assert isinstance(division, sympy.Piecewise)
    # A guard that can never fire (a nonzero constant denominator) is not written.
    assert str(to_sympy(_tree(["div", "x1", 2.0]))) == "0.5*x1"


def _distinct_nodes(expr: sympy.Basic) -> list[sympy.Basic]:
    """Every distinct subexpression once (a walk of the shared graph, not the tree)."""
    seen: dict[sympy.Basic, None] = {}
    todo = [expr]
    while todo:
        node = todo.pop()
        if node not in seen:
            seen[node] = None
            todo.extend(node.args)
    return list(seen)


def test_nested_guards_are_not_folded_into_each_other() -> None:
    # sympy's own Piecewise folds each inner guard into the outer conditions (as ITE),
    # which multiplies the expression at every level: seconds, then a RecursionError, at
    # a handful of levels. Twelve levels of log(x2 / (... - x1)) must stay 22 guards
    # (the innermost level is log(x2 / (x1 - x1)) = log(1) = 0: no guard).
    tokens: list = ["x1"]
    for _ in range(12):
        tokens = ["log", "div", "x2", "sub", *tokens, "x1"]
    nodes = _distinct_nodes(to_sympy(_tree(tokens, PSET_2)))
    assert sum(isinstance(node, sympy.Piecewise) for node in nodes) == 22
    assert not any(isinstance(node, sympy.ITE) for node in nodes)
    assert len(nodes) < 400


def test_plain_sympy_is_exact_wherever_find_pole_passes() -> None:
    rng = np.random.default_rng(5)
    checked = 0
    for tree in _random_trees(200, seed=5):
        lows = rng.uniform(0.5, 2.0, size=2)
        highs = lows + rng.uniform(0.1, 2.0, size=2)
        if find_pole(tree, lows, highs) is not None:
            continue
        X = rng.uniform(lows, highs, size=(50, 2))
        with np.errstate(all="ignore"):
            want = evaluate_tree(tree, X)
        got = _lambdified(to_sympy(tree, exact=False), X)
        np.testing.assert_allclose(got, want, rtol=1e-7, atol=1e-9, err_msg=str(tree))
        checked += 1
    assert checked > 50
    # Plain means plain: the division and log of the search, without guards.
    assert str(to_sympy(_tree(["log", "div", "x1", "x2"], PSET_2), exact=False)) == (
        "log(Abs(x1/x2))"
    )


def test_to_numpy_is_bit_for_bit_the_scored_model() -> None:
    X = _inputs_where_guards_fire(1)
    for tree in _random_trees(200, seed=7):
        model = to_numpy(tree, intercept=-0.3, slope=2.5)
        with np.errstate(all="ignore"):
            want = -0.3 + 2.5 * evaluate_tree(tree, X)
        np.testing.assert_array_equal(model(X), want, err_msg=str(tree))


def test_to_numpy_checks_its_input() -> None:
    model = to_numpy(_tree(["add", "x1", "x2"], PSET_2))
    assert model.n_vars == 2
    with pytest.raises(ValueError, match=r"X must have shape \(n_points, 2 or more columns\)"):
        model(np.zeros(5))
    with pytest.raises(ValueError, match="must be finite"):
        to_numpy(_tree(["x1"]), slope=float("nan"))


def test_to_numpy_pickles_and_has_a_readable_repr() -> None:
    model = to_numpy(_tree(["div", "sin", "x1", "add", "x2", 1.0], PSET_2), intercept=0.5)
    assert repr(model) == "NumpyFormula('sin(x1) / (x2 + 1.0)', intercept=0.5, slope=1.0)"
    X = _inputs_where_guards_fire(2)
    copy = pickle.loads(pickle.dumps(model))
    assert isinstance(copy, NumpyFormula)
    assert repr(copy) == repr(model)
    np.testing.assert_array_equal(copy(X), model(X))
    # A fresh interpreter has none of DEAP's run-time classes; the pickle must not need them.
    script = (
        "import pickle, sys, numpy as np\n"
        "model = pickle.loads(sys.stdin.buffer.read())\n"
        "print(model(np.array([[0.5, 1.0], [2.0, -1.0]])).tolist())\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", script],
        input=pickle.dumps(model),
        capture_output=True,
        cwd=ROOT,
        check=True,
    )
    assert result.stdout.decode().strip() == str(
        model(np.array([[0.5, 1.0], [2.0, -1.0]])).tolist()
    )


# -------------------------------------------------------------------- readable forms


@pytest.mark.parametrize(
    ("tokens", "bounds", "expected"),
    [
        (["div", "x1", "x1"], None, "1"),  # the guard's 1 and x1/x1 agree everywhere
        (["sub", "x1", "x1"], None, "0"),
        (["log", "exp", "x1"], ([-1.0], [1.0]), "x1"),  # exp bounded: log|exp(a)| = a
        (["log", "x1"], ([1.0], [2.0]), "log(x1)"),  # one sign on the box: no Abs
        (["div", "x1", 3.0], None, "0.3333*x1"),  # 4 significant digits
        (["mul", "div", "x1", "x1", "add", "x1", "x1"], ([1.0], [2.0]), "2*x1"),
    ],
)
def test_simplified_forms(tokens: list, bounds: tuple | None, expected: str) -> None:
    assert simplified(_tree(tokens), bounds=bounds) == expected


def test_simplified_keeps_guards_that_can_fire_on_the_box() -> None:
    tree = _tree(["log", "x1"])
    assert simplified(tree) == "Piecewise((log(Abs(x1)), Abs(x1) > 1.0e-6), (0, True))"
    assert simplified(tree, bounds=([-1.0], [1.0])) == simplified(tree)
    assert simplified(tree, bounds=([-2.0], [-1.0])) == "log(-x1)"


def test_simplified_applies_linear_scaling() -> None:
    assert simplified(_tree(["div", "x1", "x1"]), intercept=0.5, slope=2.0) == "2.5"
    text = simplified(_tree(["sin", "x1"]), intercept=1.23456, slope=-2.0, bounds=([0], [1]))
    assert text == "1.235 - 2*sin(x1)"


def test_simplified_big_trees_still_compute_the_model() -> None:
    # Over SIMPLIFY_MAX_OPS operations sympy.simplify is skipped; the result must still
    # be a correct formula: compare it numerically with the scored model.
    tree = _random_trees(1, seed=11)[0]
    while len(tree) < 40:
        tree = gp.PrimitiveTree(gp.genFull(PSET_2, 5, 5))
    text = simplified(tree, bounds=([0.5, 0.5], [1.5, 1.5]))
    expr = sympy.sympify(text, locals={"x1": X1, "x2": X2})
    X = np.random.default_rng(0).uniform(0.5, 1.5, size=(30, 2))
    with np.errstate(all="ignore"):
        want = evaluate_tree(tree, X)
    stable = _well_conditioned(tree, X) & np.isfinite(want)
    # Constants are shown to 4 digits, so agreement is to display precision only.
    np.testing.assert_allclose(_lambdified(expr, X)[stable], want[stable], rtol=0.05, atol=0.05)


def test_latex_of_a_fraction_and_a_guard() -> None:
    latex = to_latex(_tree(["div", "sin", "x1", "add", "x1", 1.0]), bounds=([0.0], [1.0]))
    assert latex == r"\frac{\sin{\left(x_{1} \right)}}{x_{1} + 1}"
    guarded = to_latex(_tree(["log", "x1"]))
    assert r"\begin{cases}" in guarded
    assert r"\log{\left(\left|{x_{1}}\right| \right)}" in guarded


def test_the_documented_snippet_runs_and_prints_what_it_says() -> None:
    page = (ROOT / "docs" / "symbolic_regression.md").read_text()
    blocks = [b.split("```", 1)[0] for b in page.split("```python\n")[1:]]
    snippet = next(b for b in blocks if "find_pole" in b)
    result = subprocess.run(
        [sys.executable, "-c", snippet], capture_output=True, text=True, cwd=ROOT, check=True
    )
    lines = result.stdout.splitlines()
    assert lines[0] == "None"
    assert lines[2] == "x1**2/(x1 + 1.1)"
    assert lines[3] == r"\frac{x_{1}^{2}}{x_{1} + 1.1}"
    assert lines[5].startswith("division by (x1 - 0.5), which spans [")
    assert lines[6].startswith("Piecewise((x1/(x1 - 0.5), Abs(x1 - 0.5) > 1.0e-6), (1, True))")
