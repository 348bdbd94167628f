"""The compiled evaluator computes what the numpy interpreter computes, to the bit.

``evaluate_tree`` is the reference; ``compiled.run`` is what the search scores with. They
must agree on every formula the SR tests use and on 10,000 random trees, on data that
reaches every guard (zeros, the division and log epsilon, negatives, huge values, inf,
NaN). The comparison is bitwise for every non-NaN output (so ``-0.0`` differs from
``0.0``) and NaN positions must match.

Why bitwise is the bar: both sides do the same IEEE operations in the same order (no
fastmath in the kernel), and sin/cos/exp/log come from the same C library when numpy
uses it. numpy has its own SIMD sin/cos/exp/log on some CPUs (AVX-512), within an ulp of
the C library's; there the test still demands bitwise equality on trees without those
functions and reports the largest difference of the others.
"""

from __future__ import annotations

import ast
import math
import random
from pathlib import Path

import numpy as np
import pytest
from deap import gp

from domains.symbolic_regression.compiled import (
    compile_tree,
    run,
    run_constants,
    run_many,
)
from domains.symbolic_regression.fitting import fit_tree, tune_constants
from domains.symbolic_regression.marquardt import minimise
from domains.symbolic_regression.primitives import (
    NONLINEAR,
    decode_tree,
    evaluate_tree,
    make_pset,
)

TESTS = Path(__file__).parent
N_VARS = 3
PSET = make_pset(N_VARS)
RANDOM_TREES = 10_000


def _numpy_uses_libm() -> bool:
    """numpy's float64 sin/cos/exp/log equal the C library's (``math``) on this CPU."""
    probe = np.random.default_rng(1).uniform(-60.0, 60.0, 20_000)
    positive = np.abs(probe) + 1e-3
    pairs = (
        (np.sin, math.sin, probe),
        (np.cos, math.cos, probe),
        (np.exp, math.exp, np.minimum(probe, 50.0)),
        (np.log, math.log, positive),
    )
    return all(
        np.array_equal(ufunc(values), [function(v) for v in values.tolist()])
        for ufunc, function, values in pairs
    )


NUMPY_USES_LIBM = _numpy_uses_libm()


def _data(n_random: int = 40, seed: int = 0) -> np.ndarray:
    """Points that reach every guard, then ordinary ones."""
    rng = np.random.default_rng(seed)
    special = [
        0.0,
        -0.0,
        1e-6,
        -1e-6,
        1e-7,
        np.nextafter(1e-6, 1.0),
        1e-300,
        5e-324,
        -1.0,
        -123.5,
        50.0,
        50.5,
        1e5,
        -1e5,
        1e150,
        1e300,
        -1e300,
        np.inf,
        -np.inf,
        np.nan,
    ]
    rows = [[value] * N_VARS for value in special]
    rows += [[special[(i + j * 7) % len(special)] for j in range(N_VARS)] for i in range(40)]
    X = np.array(rows, dtype=float)
    ordinary = rng.uniform(-3.0, 3.0, size=(n_random, N_VARS))
    ordinary[: n_random // 4] *= 1e3
    return np.concatenate([X, ordinary])


X = _data()


def _differences(expected: np.ndarray, actual: np.ndarray) -> tuple[int, int]:
    """(mismatched NaN positions, largest ulp distance over the other outputs)."""
    nan_expected, nan_actual = np.isnan(expected), np.isnan(actual)
    nan_mismatch = int(np.sum(nan_expected != nan_actual))
    both = ~(nan_expected | nan_actual)
    a = expected[both].view(np.int64)
    b = actual[both].view(np.int64)
    # Map the sign-magnitude bit patterns to a monotone integer line.
    a = np.where(a < 0, np.int64(-(2**63)) - a, a)
    b = np.where(b < 0, np.int64(-(2**63)) - b, b)
    with np.errstate(over="ignore"):
        ulps = int(np.max(np.abs(a - b))) if a.size else 0
    return nan_mismatch, ulps


def _assert_same(tree: gp.PrimitiveTree, data: np.ndarray = X) -> None:
    with np.errstate(all="ignore"):
        expected = evaluate_tree(tree, data)
    actual = run(tree, data)
    assert actual.shape == expected.shape and actual.dtype == expected.dtype
    assert _differences(expected, actual) == (0, 0), str(tree)


def _literal_formulas() -> list[list]:
    """Every list literal of names and numbers in the SR tests that is a formula."""
    formulas = []
    for path in sorted(TESTS.glob("test_*.py")):
        if "sr" not in path.name and "symbolic" not in path.name and "mate" not in path.name:
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            if not isinstance(node, ast.List) or not node.elts:
                continue
            try:
                tokens = [ast.literal_eval(element) for element in node.elts]
            except ValueError:
                continue
            if all(isinstance(t, str | float | int) and not isinstance(t, bool) for t in tokens):
                formulas.append(tokens)
    return formulas


def test_every_formula_of_the_sr_tests() -> None:
    trees = []
    for tokens in _literal_formulas():
        try:
            trees.append(decode_tree(tokens, PSET))
        except ValueError:
            continue  # a list that is not a formula (names, bad tokens on purpose)
    assert len(trees) >= 50  # the harvest found the tests' formulas
    for tree in trees:
        _assert_same(tree)


def _random_trees(n: int, seed: int) -> list[gp.PrimitiveTree]:
    generator = random.Random(seed)
    saved = gp.random
    gp.random = generator  # DEAP draws from the module it imported
    try:
        return [gp.PrimitiveTree(gp.genHalfAndHalf(PSET, 1, 7)) for _ in range(n)]
    finally:
        gp.random = saved


def test_ten_thousand_random_trees() -> None:
    trees = _random_trees(RANDOM_TREES, seed=2024)
    arithmetic_worst = other_worst = 0
    with np.errstate(all="ignore"):
        for tree in trees:
            expected = evaluate_tree(tree, X)
            nan_mismatch, ulps = _differences(expected, run(tree, X))
            if any(node.name in NONLINEAR for node in tree):
                other_worst = max(other_worst, ulps)
                if NUMPY_USES_LIBM:
                    assert (nan_mismatch, ulps) == (0, 0), str(tree)
            else:
                arithmetic_worst = max(arithmetic_worst, ulps)
                assert (nan_mismatch, ulps) == (0, 0), str(tree)
    print(
        f"numpy uses libm: {NUMPY_USES_LIBM}; largest ulp difference: "
        f"{arithmetic_worst} (arithmetic only), {other_worst} (with sin/cos/exp/log)"
    )


def test_batch_equals_one_by_one() -> None:
    trees = _random_trees(300, seed=7)
    programs = [compile_tree(tree, N_VARS) for tree in trees]
    rows = run_many(programs, X)
    assert rows.shape == (len(trees), X.shape[0])
    for tree, row in zip(trees, rows, strict=True):
        assert _differences(run(tree, X), row) == (0, 0)
    assert run_many([], X).shape == (0, X.shape[0])


def test_constants_change_in_place() -> None:
    tree = decode_tree(["add", "mul", 2.0, "x1", "div", "x2", -0.5], PSET)
    program = compile_tree(tree, N_VARS)
    assert program.constants.tolist() == [2.0, -0.5]  # the tree's order
    assert program.constant_nodes == (2, 6)
    program.constants[:] = [3.0, 0.25]
    other = decode_tree(["add", "mul", 3.0, "x1", "div", "x2", 0.25], PSET)
    assert _differences(evaluate_tree(other, X), program.evaluate(X)) == (0, 0)
    shifted = np.array([[3.0, 0.25], [2.0, -0.5], [1e-7, 0.0]])
    XT = np.ascontiguousarray(X.T)
    many = run_constants(program, shifted, XT)
    for values, row in zip(shifted, many, strict=True):
        program.constants[:] = values
        assert _differences(program.evaluate(XT, transposed=True), row) == (0, 0)


def test_leaves_and_unknown_names() -> None:
    for tokens in (["x1"], ["x3"], [0.5], [-0.0]):
        out = run(decode_tree(tokens, PSET), X)
        assert out.shape == (X.shape[0],)
        _assert_same(decode_tree(tokens, PSET))
    assert not np.shares_memory(run(decode_tree(["x1"], PSET), X), X)
    with pytest.raises(KeyError, match="x3"):
        run(decode_tree(["add", "x1", "x3"], PSET), X[:, :2])


def test_batched_jacobian_gives_the_same_steps() -> None:
    """``minimise`` with ``residuals_many`` takes the very steps of the column loop."""
    rng = np.random.default_rng(3)
    t = np.linspace(0.0, 2.0, 30)
    y = 1.5 * np.exp(-0.7 * t) + 0.1 * rng.normal(size=t.size)

    def residuals(p: np.ndarray) -> np.ndarray:
        return p[0] * np.exp(p[1] * t) - y

    def many(points: np.ndarray) -> np.ndarray:
        return np.array([residuals(p) for p in points])

    start = np.array([1.0, 0.1])
    looped = minimise(residuals, start, max_calls=40)
    batched = minimise(residuals, start, max_calls=40, residuals_many=many)
    assert looped[1] == batched[1] <= 40
    assert looped[0].tobytes() == batched[0].tobytes()


def test_tuning_counts_and_matches_the_interpreter() -> None:
    """Tuned constants, written back into a tree, reproduce the compiled outputs."""
    x = np.linspace(-1.0, 1.0, 40)[:, None]
    y = 2.0 * np.sin(1.3 * x[:, 0]) + 0.4
    tree = decode_tree(["sin", "mul", 0.5, "x1"], make_pset(1))
    tuned, calls = tune_constants(tree, x, y, max_evaluations=25)
    assert 0 < calls <= 25 and tuned is not tree
    assert tree[2].value == 0.5  # the input tree is unchanged
    fit = fit_tree(tree, x, y, tuning_evaluations=25)
    assert fit.evaluations == calls + 1
    assert abs(float(fit.tree[2].value) - 1.3) < 1e-6
    assert _differences(evaluate_tree(fit.tree, x), fit.outputs) == (0, 0)
