"""Linear scaling and constant optimisation: exact on formulas whose answer is known."""

from __future__ import annotations

import numpy as np
from deap import gp

from domains.symbolic_regression.domain import SymbolicRegression
from domains.symbolic_regression.fitting import (
    constant_bound,
    fit_tree,
    linear_scale,
    tune_constants,
)
from domains.symbolic_regression.marquardt import minimise
from domains.symbolic_regression.primitives import decode_tree, encode_tree, make_pset
from qd.archive import Archive
from qd.search import Search

PSET = make_pset(1)
X = np.linspace(-1, 1, 41)[:, None]


def tree(*tokens) -> gp.PrimitiveTree:
    return decode_tree(list(tokens), PSET)


def test_linear_scaling_recovers_offset_and_scale_exactly() -> None:
    prediction = np.sin(X[:, 0])
    intercept, slope = linear_scale(prediction, 5.0 + 10.0 * prediction)
    assert np.isclose(intercept, 5.0) and np.isclose(slope, 10.0)
    # A constant prediction is the target's mean, never a division by zero.
    assert linear_scale(np.full(41, 2.0), X[:, 0] + 7) == (7.0, 0.0)
    assert linear_scale(np.full(41, np.nan), X[:, 0] + 7) == (7.0, 0.0)


def test_scaling_turns_a_shape_into_a_hit_the_raw_formula_misses() -> None:
    y = 5.0 + 10.0 * np.sin(X[:, 0])
    raw = fit_tree(tree("sin", "x1"), X, y, scaling=False)
    scaled = fit_tree(tree("sin", "x1"), X, y, scaling=True)
    assert raw.error > 1.0 and scaled.error < 1e-12
    assert np.isclose(scaled.intercept, 5.0) and np.isclose(scaled.slope, 10.0)
    assert (raw.intercept, raw.slope) == (0.0, 1.0)


def test_constant_optimisation_finds_the_constant_inside_a_nonlinearity() -> None:
    y = np.sin(3.0 * X[:, 0])  # scaling cannot reach a constant inside sin
    start = tree("sin", "mul", 1.0, "x1")
    untuned = fit_tree(start, X, y)
    tuned = fit_tree(start, X, y, tuning_evaluations=40)
    assert untuned.error > 0.1 and tuned.error < 1e-6
    assert abs(abs(float(tuned.tree[2].value)) - 3.0) < 1e-4
    assert encode_tree(start) == ["sin", "mul", 1.0, "x1"]  # the input is left unchanged
    assert 1 < tuned.evaluations <= 41  # the first score plus at most the budget


def test_tuning_counts_every_call_and_never_makes_a_formula_worse() -> None:
    y = X[:, 0] ** 3
    start = tree("add", "mul", "x1", "x1", 0.5)  # no constant can make x^2 + c a cube
    fit = fit_tree(start, X, y, tuning_evaluations=12)
    assert fit.error <= fit_tree(start, X, y).error
    _, calls = tune_constants(start, X, y, max_evaluations=12)
    assert 1 <= calls <= 12
    unchanged, none = tune_constants(tree("sin", "x1"), X, y, max_evaluations=12)
    assert none == 0 and encode_tree(unchanged) == ["sin", "x1"]  # nothing to tune


def constants(formula: gp.PrimitiveTree) -> list[float]:
    return [
        abs(float(node.value))
        for node in formula
        if isinstance(node, gp.Terminal) and not isinstance(node.value, str)
    ]


def test_the_constant_bound_follows_the_scale_of_the_inputs() -> None:
    assert constant_bound(X) == 1e3  # inputs in [-1, 1]
    assert constant_bound(np.array([[0.5, -10.0], [2.0, 3.0]])) == 1e4
    assert np.isclose(constant_bound(np.array([[1e-9], [2e-9]])), 1e3 / 2e-9)
    assert constant_bound(np.array([[0.0, 0.5], [0.0, 1.0]])) == 1e3  # zeros say nothing


def test_tuning_along_a_flat_direction_keeps_its_constants_bounded() -> None:
    # y = x2 fitted by c1 * (x1 + c2 * x2): scaling absorbs c1 (a flat direction) and
    # the fit only gets better as c2 -> inf. Unbounded, the optimiser drives c1 past
    # 1e50 and c2 past 1e4; bounded, every constant stays within constant_bound(X).
    rng = np.random.default_rng(0)
    X2 = rng.uniform(-1.0, 1.0, size=(50, 2))
    y = X2[:, 1]
    start = decode_tree(["mul", 0.5, "add", "x1", "mul", 0.5, "x2"], make_pset(2))
    runaway, _ = tune_constants(start, X2, y, max_evaluations=200, bound=np.inf)
    assert max(constants(runaway)) > 1e50
    bound = constant_bound(X2)
    for budget in (10, 40, 200):
        tuned, calls = tune_constants(start, X2, y, max_evaluations=budget)
        assert max(constants(tuned)) <= bound and 1 <= calls <= budget
        fit = fit_tree(start, X2, y, tuning_evaluations=budget)
        assert max(constants(fit.tree)) <= bound
        assert fit.error < fit_tree(start, X2, y).error  # still tuned, within the box
    # Where the best constants lie inside the box, tuning still finds them.
    target = 2.0 + 3.0 * np.sin(X2[:, 0] + 1.5 * X2[:, 1])
    free = decode_tree(["sin", "add", "x1", "mul", 0.5, "x2"], make_pset(2))
    inside = fit_tree(free, X2, target, tuning_evaluations=40)
    assert inside.error < 1e-6 and abs(constants(inside.tree)[0] - 1.5) < 1e-4


def test_marquardt_stays_inside_its_box() -> None:
    # exp(-x) -> 0 only as x -> inf: the minimum is on the box's edge.
    best, calls = minimise(lambda x: np.exp(-x), np.array([0.0]), max_calls=100, bound=7.0)
    assert best[0] == 7.0 and calls <= 100
    free, _ = minimise(lambda x: np.exp(-x), np.array([0.0]), max_calls=100)
    assert free[0] > 7.0


def test_a_search_keeps_tuned_formulas_and_counts_tuning_in_its_budget() -> None:
    domain = SymbolicRegression(benchmark="koza-1", tune_constants=10, max_size=24)
    search = Search(domain, Archive(domain.measures), rng=np.random.default_rng(0), batch_size=20)
    result = search.step()
    assert search.evaluations > 20  # tuning calls are counted, not only candidates
    assert result.evaluations == search.evaluations
    # Every elite's stored tree scores what the archive says: the tuned constants
    # were kept, not the ones the child was born with.
    for elite in search.archive.elites():
        (again,) = domain.evaluate([elite.candidate])
        assert again.objective >= elite.objective - 1e-9


def test_marquardt_solves_rosenbrock_within_its_budget_and_to_the_same_bits() -> None:
    calls = 0

    def rosenbrock(x: np.ndarray) -> np.ndarray:
        nonlocal calls
        calls += 1
        return np.array([10.0 * (x[1] - x[0] ** 2), 1.0 - x[0]])

    start = np.array([-1.2, 1.0])
    best, used = minimise(rosenbrock, start, max_calls=300)
    assert np.allclose(best, [1.0, 1.0], atol=1e-8) and used == calls <= 300
    assert list(start) == [-1.2, 1.0]  # the start is not changed
    for budget in (0, 1, 2, 3, 4, 7, 10):
        calls = 0
        _, used = minimise(rosenbrock, start, max_calls=budget)
        assert used == calls <= budget
    # The same inputs give the same bits whatever the heap looks like (SciPy's MINPACK
    # did not: 4 runs in 300 differed); allocations between calls move its arrays.
    results, keep = set(), []
    for size in np.random.default_rng(0).integers(1, 400, size=100):
        keep.append(np.empty(int(size)))
        results.add(minimise(rosenbrock, start, max_calls=12)[0].tobytes())
    assert len(results) == 1
