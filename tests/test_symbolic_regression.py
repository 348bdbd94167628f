"""Tests for the symbolic-regression domain: the GP language, fitness, descriptors, variation."""

from __future__ import annotations

import json
import math
import pickle
import random
import warnings

import numpy as np
import pytest
from deap import gp

from domains.symbolic_regression import SymbolicRegression
from domains.symbolic_regression.primitives import (
    decode_tree,
    encode_tree,
    evaluate_tree,
    guarded_exp,
    guarded_log,
    make_pset,
    to_infix,
)
from qd.testing import check_domain

KOZA_1_TOKENS = [  # ((x^2 * x^2 + x^2 * x) + x^2) + x, exactly Koza-1's target
    "add",
    "add",
    "add",
    "mul",
    "mul",
    "x1",
    "x1",
    "mul",
    "x1",
    "x1",
    "mul",
    "mul",
    "x1",
    "x1",
    "x1",
    "mul",
    "x1",
    "x1",
    "x1",
]


def _random_trees(pset: gp.PrimitiveSet, n: int, seed: int) -> list[gp.PrimitiveTree]:
    random.seed(seed)
    return [gp.PrimitiveTree(gp.genHalfAndHalf(pset, 1, 6)) for _ in range(n)]


def _same_outputs(ours: np.ndarray, theirs: np.ndarray) -> bool:
    """Equal up to float noise; NaN equals NaN and inf equals inf of the same sign."""
    both_inf = np.isinf(ours) & np.isinf(theirs) & (np.sign(ours) == np.sign(theirs))
    with np.errstate(all="ignore"):
        close = np.isclose(ours, theirs, rtol=1e-9, equal_nan=True)
    return bool(np.all(close | both_inf))


@pytest.fixture(scope="module")
def koza() -> SymbolicRegression:
    return SymbolicRegression(benchmark="koza-1")


@pytest.fixture(scope="module")
def unchecked() -> SymbolicRegression:
    """Koza-1 without the pole check: the numerics must stay bounded on their own."""
    return SymbolicRegression(benchmark="koza-1", pole_check=False)


# ---------------------------------------------------------------- the vectorised interpreter


@pytest.mark.parametrize("n_vars", [1, 2])
def test_evaluate_tree_matches_deap_compile_and_loop(n_vars: int) -> None:
    pset = make_pset(n_vars)
    X = np.random.default_rng(n_vars).uniform(-1.0, 1.0, size=(25, n_vars))
    X[0] = 0.0  # exercise protected division and log at zero
    for tree in _random_trees(pset, 300, seed=n_vars):
        function = gp.compile(tree, pset)
        with np.errstate(all="ignore"):
            ours = evaluate_tree(tree, X)
            theirs = np.array([function(*row) for row in X], dtype=float)
        assert ours.shape == (len(X),)
        assert _same_outputs(ours, theirs), str(tree)


def test_hand_built_tree_evaluates_and_prints() -> None:
    pset = make_pset(1)
    tree = decode_tree(["add", "mul", "x1", "x1", "x1"], pset)
    x = np.linspace(-2.0, 2.0, 9)
    np.testing.assert_allclose(evaluate_tree(tree, x[:, None]), x**2 + x, rtol=0, atol=1e-15)
    assert to_infix(tree) == "(x1 * x1) + x1"
    assert to_infix(decode_tree(["sub", "x1", "cos", -0.25], pset)) == "x1 - cos(-0.25)"
    assert to_infix(decode_tree([-0.25], pset)) == "-0.25"


def test_infix_is_the_same_formula_as_the_tree() -> None:
    # Read back as Python, the formula must compute what the tree computes: the
    # parentheses and operators are right. (Division is left out: "/" is not protected.)
    pset = make_pset(1, ("add", "sub", "mul", "sin", "cos", "exp", "log"))
    x = np.linspace(-1.0, 1.0, 7)
    names = {"sin": np.sin, "cos": np.cos, "exp": guarded_exp, "log": guarded_log, "x1": x}
    for tree in _random_trees(pset, 100, seed=5):
        formula = to_infix(tree)
        with np.errstate(all="ignore"):
            value = eval(formula, {"__builtins__": {}}, names) * np.ones_like(x)
            expected = evaluate_tree(tree, x[:, None])
        assert _same_outputs(value, expected), formula


def test_constant_and_lone_variable_give_fresh_full_length_arrays() -> None:
    pset = make_pset(1)
    X = np.linspace(0.0, 1.0, 5)[:, None]
    constant = evaluate_tree(decode_tree([0.5], pset), X)
    np.testing.assert_array_equal(constant, np.full(5, 0.5))
    column = evaluate_tree(decode_tree(["x1"], pset), X)
    np.testing.assert_array_equal(column, X[:, 0])
    column[:] = 7.0  # the caller owns the result: writing to it leaves the data alone
    np.testing.assert_array_equal(X[:, 0], np.linspace(0.0, 1.0, 5))


# ----------------------------------------------------------------------- encode / decode


def test_encode_decode_round_trips_random_trees_exactly() -> None:
    pset = make_pset(2)
    X = np.random.default_rng(0).uniform(-1.0, 1.0, size=(10, 2))
    trees = _random_trees(pset, 200, seed=7)
    assert any(isinstance(v, float) for tree in trees for v in encode_tree(tree))
    for tree in trees:
        tokens = json.loads(json.dumps(encode_tree(tree)))
        back = decode_tree(tokens, pset)
        assert encode_tree(back) == encode_tree(tree)
        assert str(back) == str(tree)
        with np.errstate(all="ignore"):
            np.testing.assert_array_equal(evaluate_tree(back, X), evaluate_tree(tree, X))


@pytest.mark.parametrize(
    ("tokens", "named"),
    [
        (["add", "x1", "foo"], "'foo'"),
        (["add", "x1", "x2"], "'x2'"),  # a variable of another primitive set
        (["mul", "const", "x1"], "'const'"),  # the ephemeral's name is not a value
        (["add", True, "x1"], "True"),
        (["add", None, "x1"], "None"),
        (["x1", "x1"], "token 1 ('x1')"),  # extra tokens after a complete expression
        (["add", "x1"], "incomplete"),
        ([], "incomplete"),
    ],
)
def test_decode_rejects_bad_tokens_naming_them(tokens: list, named: str) -> None:
    with pytest.raises(ValueError, match=named.replace("(", r"\(").replace(")", r"\)")):
        decode_tree(tokens, make_pset(1))


# ------------------------------------------------------------------------------- fitness


@pytest.mark.parametrize(
    "tokens",
    [
        ["exp", "exp", "exp", "x1"],
        ["exp", "exp", "exp", "exp", "mul", 1e300, "x1"],
        ["mul", 1e200, "mul", 1e200, "mul", 1e200, "x1"],
        ["log", 0.0],
        ["log", "sub", "x1", "x1"],
        ["div", "x1", "sub", "x1", "x1"],
        ["div", "x1", "mul", 1e-300, 1e-300],
        ["sub", "mul", 1e308, 10.0, "mul", 1e308, 10.0],
        ["cos", "div", 1e308, 1e-308],
    ],
)
def test_overflow_and_nan_give_a_bounded_objective_without_warnings(
    koza: SymbolicRegression, unchecked: SymbolicRegression, tokens: list
) -> None:
    tree = unchecked.decode(tokens)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        (result,) = unchecked.evaluate([tree])
        (checked,) = koza.evaluate([tree])
    assert result.valid
    assert math.isfinite(result.objective) and 0.0 <= result.objective <= 1.0
    json.dumps(result.info)  # checkpoints must be able to hold it
    # With the pole check (the default) each is invalid and says where, but the first:
    # exp(exp(exp(x))) stays below the exp cap on [-1, 1], a formula like any other.
    if tokens == ["exp", "exp", "exp", "x1"]:
        assert checked.valid and checked.objective == result.objective
    else:
        assert not checked.valid and checked.invalid_reason.startswith("pole: ")
        assert checked.info["formula"] == to_infix(tree)


@pytest.mark.parametrize(
    "tokens",
    [
        ["mul", 1e308, "mul", 1e308, "x1"],  # +-inf everywhere but at 0
        ["sub", "mul", 1e308, 1e308, "mul", 1e308, 1e308],  # inf - inf: NaN everywhere
        [float("nan")],
        ["add", "x1", float("inf")],
    ],
)
def test_non_finite_prediction_scores_zero_with_no_error(
    unchecked: SymbolicRegression, tokens: list
) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        (result,) = unchecked.evaluate([unchecked.decode(tokens)])
    assert result.valid and result.objective == 0.0
    assert result.info["nrmse"] is None and result.info["hit"] is False


def test_exact_target_is_a_hit_and_a_mean_constant_scores_half(
    koza: SymbolicRegression,
) -> None:
    exact = koza.decode(KOZA_1_TOKENS)
    x = koza.data.X_train[:, 0]
    np.testing.assert_allclose(evaluate_tree(exact, koza.data.X_train), x**4 + x**3 + x**2 + x)
    (result,) = koza.evaluate([exact])
    assert result.objective == pytest.approx(1.0, abs=1e-12)
    assert result.info["nrmse"] == pytest.approx(0.0, abs=1e-12)
    assert result.info["hit"] is True
    assert koza.test_error(exact) == pytest.approx(0.0, abs=1e-12)

    mean = koza.decode([float(np.mean(koza.data.y_train))])
    (result,) = koza.evaluate([mean])
    assert result.info["nrmse"] == pytest.approx(1.0, rel=1e-9)
    assert result.objective == pytest.approx(0.5, rel=1e-9)
    assert result.info["hit"] is False
    # Linear scaling makes every constant the mean; without it, another constant is worse.
    other = koza.decode([float(np.mean(koza.data.y_train)) + 1.0])
    assert koza.evaluate([other])[0].objective == pytest.approx(0.5, rel=1e-9)
    raw = SymbolicRegression(benchmark="koza-1", linear_scaling=False)
    assert raw.evaluate([other])[0].objective < raw.evaluate([mean])[0].objective


# --------------------------------------------------------------------------- descriptors


@pytest.mark.parametrize(
    ("tokens", "expected"),
    [
        ([0.5], {"size": 1, "depth": 0, "nonlinear": 0, "variables": 0}),
        (["x2"], {"size": 1, "depth": 0, "nonlinear": 0, "variables": 1}),
        (
            ["add", "sin", "x1", "mul", "x2", 0.5],
            {"size": 6, "depth": 2, "nonlinear": 1, "variables": 2},
        ),
        (
            ["exp", "log", "cos", "mul", "x2", "x2"],
            {"size": 6, "depth": 4, "nonlinear": 3, "variables": 1},
        ),
        (
            ["div", "sub", "x1", "x1", "add", "x1", 1.0],
            {"size": 7, "depth": 2, "nonlinear": 0, "variables": 1},
        ),
    ],
)
def test_descriptors_of_hand_built_trees(tokens: list, expected: dict) -> None:
    domain = SymbolicRegression(benchmark="nguyen-12", descriptors=("nonlinear", "variables"))
    tree = domain.decode(tokens)
    assert domain.describe(tree) == expected
    (result,) = domain.evaluate([tree])
    assert result.measures == (expected["nonlinear"], expected["variables"])


@pytest.mark.parametrize("descriptors", [("size", "depth"), ("nonlinear", "variables")])
def test_measures_stay_within_declared_ranges(descriptors: tuple[str, str]) -> None:
    domain = SymbolicRegression(
        benchmark="nguyen-12", descriptors=descriptors, max_depth=4, max_size=15
    )
    assert [m.name for m in domain.measures] == list(descriptors)
    rng = np.random.default_rng(0)
    trees = domain.initial(50, rng)
    operator = domain.variation()
    for _ in range(300):
        trees.append(operator([trees[rng.integers(len(trees))] for _ in range(2)], rng)[0])
    results = domain.evaluate(trees)
    assert sum(r.valid for r in results) > 200  # the rest have poles, and say so
    for result in results:
        if not result.valid:
            assert result.invalid_reason.startswith("pole: ")
            continue
        for measure, value in zip(domain.measures, result.measures, strict=True):
            assert measure.low <= value <= measure.high, (measure.name, value)


# ----------------------------------------------------------------------------- variation


def test_children_respect_max_depth_and_max_size() -> None:
    domain = SymbolicRegression(max_depth=4, max_size=15, p_crossover=0.4, p_constant=0.2)
    rng = np.random.default_rng(1)
    population = domain.initial(40, rng)
    assert all(tree.height <= 4 and len(tree) <= 15 for tree in population)
    operator = domain.variation()
    assert operator.arity == 2
    changed = 0
    for _ in range(1500):
        parents = [population[i] for i in rng.integers(len(population), size=2)]
        before = [encode_tree(parent) for parent in parents]
        (child,) = operator(parents, rng)
        assert child.height <= 4 and len(child) <= 15, str(child)
        assert [encode_tree(parent) for parent in parents] == before  # parents untouched
        changed += encode_tree(child) not in before
        population[rng.integers(len(population))] = child  # let the population drift
    assert changed > 750  # variation mostly makes something new


def test_initial_trees_fit_max_size_even_when_init_depth_allows_more() -> None:
    domain = SymbolicRegression(max_depth=4, max_size=7, init_depth=(1, 4))
    trees = domain.initial(200, np.random.default_rng(0))
    assert all(len(tree) <= 7 for tree in trees)
    impossible = SymbolicRegression(max_depth=4, max_size=3, init_depth=(4, 4))
    with pytest.raises(ValueError, match="max_size"):
        impossible.initial(1, np.random.default_rng(0))


def test_variation_and_initial_are_deterministic_for_a_seed(koza: SymbolicRegression) -> None:
    def initial(seed: int) -> list:
        return [encode_tree(t) for t in koza.initial(30, np.random.default_rng(seed))]

    assert initial(3) == initial(3)
    assert initial(3) != initial(4)

    parents = koza.initial(30, np.random.default_rng(0))
    operator = koza.variation()

    def children(seed: int) -> list:
        rng = np.random.default_rng(seed)
        return [encode_tree(operator([parents[i], parents[-1 - i]], rng)[0]) for i in range(30)]

    assert children(11) == children(11)
    assert children(11) != children(12)


# ------------------------------------------------------------------ contract and errors


def test_invalid_candidates_are_reported_not_raised(koza: SymbolicRegression) -> None:
    foreign = SymbolicRegression(benchmark="nguyen-12").decode(["add", "x1", "x2"])
    results = koza.evaluate([None, "x", gp.PrimitiveTree([]), foreign, koza.decode(["x1"])])
    assert [r.valid for r in results] == [False, False, False, False, True]
    for result in results[:4]:
        assert result.invalid_reason
    assert "NoneType" in results[0].invalid_reason
    assert "str" in results[1].invalid_reason
    assert "'x2'" in results[3].invalid_reason


@pytest.mark.parametrize(
    ("kwargs", "error", "named"),
    [
        ({"descriptors": ("size", "colour")}, ValueError, "colour"),
        ({"descriptors": ("size", "depth", "nonlinear")}, ValueError, "one or two"),
        ({"benchmark": "koza-99"}, KeyError, "koza-99"),
        ({"functions": ("add", "tan")}, ValueError, "tan"),
        ({"max_depth": 0}, ValueError, "max_depth"),
        ({"max_size": 2}, ValueError, "max_size"),
        ({"init_depth": (1, 9)}, ValueError, "init_depth"),
        ({"p_crossover": 0.8, "p_constant": 0.4}, ValueError, "p_crossover"),
    ],
)
def test_bad_construction_arguments_name_the_problem(
    kwargs: dict, error: type[Exception], named: str
) -> None:
    with pytest.raises(error, match=named):
        SymbolicRegression(**kwargs)


def test_pickles_to_an_equivalent_domain() -> None:
    domain = SymbolicRegression(
        benchmark="nguyen-12", data_seed=3, descriptors=("nonlinear", "variables"), max_size=40
    )
    clone = pickle.loads(pickle.dumps(domain))
    assert type(clone) is SymbolicRegression and clone.params == domain.params
    np.testing.assert_array_equal(clone.data.X_train, domain.data.X_train)
    trees = domain.initial(40, np.random.default_rng(0))
    again = [clone.decode(domain.encode(t)) for t in trees]
    assert domain.evaluate(trees) == clone.evaluate(again)
    assert [clone.encode(t) for t in clone.initial(40, np.random.default_rng(0))] == [
        domain.encode(t) for t in trees
    ]


def test_passes_check_domain() -> None:
    check_domain(SymbolicRegression(max_depth=5, max_size=20), iterations=2)


def test_features_compare_shapes_not_scale_or_offset() -> None:
    domain = SymbolicRegression()
    x = decode_tree(["x1"], domain.pset)
    scaled = decode_tree(["add", "mul", "x1", 2.0, 1.0], domain.pset)
    curved = decode_tree(["mul", "x1", "x1"], domain.pset)
    fx, fs, fc = (np.asarray(domain.features(t, {})) for t in (x, scaled, curved))
    assert fx @ fs == pytest.approx(1.0) and np.linalg.norm(fx) == pytest.approx(1.0)
    assert fx @ fc < 0.99
    assert domain.features(decode_tree([3.0], domain.pset), {}) is None  # no shape at all
