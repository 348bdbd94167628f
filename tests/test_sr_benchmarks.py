"""Tests for the symbolic-regression benchmark table (domains/symbolic_regression/benchmarks.py)."""

from __future__ import annotations

import math
import pickle

import numpy as np
import pytest

from domains.symbolic_regression.benchmarks import (
    BENCHMARKS,
    Benchmark,
    Grid,
    Uniform,
    get_benchmark,
)

EXPECTED_NAMES = (
    ["koza-1", "koza-2", "koza-3"]
    + [f"nguyen-{i}" for i in range(1, 13)]
    + ["pagie-1"]
    + [f"keijzer-{i}" for i in range(1, 16)]
    + [f"vladislavleva-{i}" for i in range(1, 9)]
)


def _x(*values: float) -> np.ndarray:
    """A one-variable input column."""
    return np.array(values, dtype=float).reshape(-1, 1)


def _bounds(sampler: Uniform | Grid, n_vars: int) -> tuple[np.ndarray, np.ndarray]:
    low = np.broadcast_to(np.asarray(sampler.low, dtype=float), (n_vars,))
    high = np.broadcast_to(np.asarray(sampler.high, dtype=float), (n_vars,))
    return low, high


# ---------------------------------------------------------------------------- the table


def test_table_has_exactly_the_documented_problems() -> None:
    assert list(BENCHMARKS) == EXPECTED_NAMES
    for name, bench in BENCHMARKS.items():
        assert bench.name == name


@pytest.mark.parametrize("name", EXPECTED_NAMES)
def test_make_data_shapes_ranges_and_finite_targets(name: str) -> None:
    bench = BENCHMARKS[name]
    # Any overflow, division by zero or invalid operation on a shipped range is a bug.
    with np.errstate(over="raise", divide="raise", invalid="raise"):
        data = bench.make_data(seed=0)

    test_scheme = bench.test if bench.test is not None else bench.train
    for X, y, scheme in (
        (data.X_train, data.y_train, bench.train),
        (data.X_test, data.y_test, test_scheme),
    ):
        n = scheme.n_points(bench.n_vars)
        assert X.shape == (n, bench.n_vars)
        assert y.shape == (n,)
        assert np.all(np.isfinite(X))
        assert np.all(np.isfinite(y)), f"{name}: non-finite target"
        low, high = _bounds(scheme, bench.n_vars)
        assert np.all(X.min(axis=0) >= low - 1e-12)
        assert np.all(X.max(axis=0) <= high + 1e-12)


@pytest.mark.parametrize("name", EXPECTED_NAMES)
def test_make_data_is_deterministic_per_seed(name: str) -> None:
    bench = BENCHMARKS[name]
    a, b = bench.make_data(seed=7), bench.make_data(seed=7)
    for field in ("X_train", "y_train", "X_test", "y_test"):
        np.testing.assert_array_equal(getattr(a, field), getattr(b, field))


@pytest.mark.parametrize(
    "name", [n for n in EXPECTED_NAMES if isinstance(BENCHMARKS[n].train, Uniform)]
)
def test_uniform_training_sets_differ_between_seeds(name: str) -> None:
    bench = BENCHMARKS[name]
    a, b = bench.make_data(seed=0), bench.make_data(seed=1)
    assert not np.array_equal(a.X_train, b.X_train)
    # The test set comes from its own stream, so it is not a copy of the training set
    # even where the literature defines no test set.
    if isinstance(bench.test, Uniform) or bench.test is None:
        assert not np.array_equal(a.X_train, a.X_test[: len(a.X_train)])


def test_grid_training_sets_do_not_depend_on_the_seed() -> None:
    bench = get_benchmark("keijzer-1")
    np.testing.assert_array_equal(bench.make_data(0).X_train, bench.make_data(123).X_train)


def test_targets_are_module_level_functions_and_benchmarks_pickle() -> None:
    for bench in BENCHMARKS.values():
        assert bench.target.__name__ != "<lambda>"
        clone = pickle.loads(pickle.dumps(bench))
        assert clone == bench
        X = bench.make_data(seed=3).X_train
        np.testing.assert_array_equal(clone.target(X), bench.target(X))


def test_evaluate_rejects_wrong_number_of_columns() -> None:
    with pytest.raises(ValueError, match="expects X of shape"):
        get_benchmark("keijzer-11").evaluate(np.zeros((4, 3)))


# ---------------------------------------------------------------------------- samplers


def test_grid_includes_its_upper_end() -> None:
    points = Grid(-1, 1, 0.1).sample(1, np.random.default_rng(0))
    assert points.shape == (21, 1)
    assert points[0, 0] == -1.0
    assert points[-1, 0] == 1.0
    np.testing.assert_allclose(np.diff(points[:, 0]), 0.1)


def test_grid_values_are_free_of_float_noise() -> None:
    axis = Grid(0, 1, 0.1).axes(1)[0]
    assert 0.3 in axis and 0.7 in axis


def test_grid_stops_below_an_upper_end_that_is_off_the_grid() -> None:
    axis = Grid(0.05, 10, 0.1).axes(1)[0]
    assert len(axis) == 100
    assert axis[-1] == pytest.approx(9.95)
    assert axis[-1] <= 10


def test_grid_is_the_cartesian_product_with_per_variable_steps() -> None:
    grid = Grid(0.05, (10, 10.05), (0.1, 2))  # Vladislavleva-3 training grid
    points = grid.sample(2)
    assert points.shape == (600, 2) == (grid.n_points(2), 2)
    assert len(np.unique(points, axis=0)) == 600
    np.testing.assert_allclose(np.unique(points[:, 1]), [0.05, 2.05, 4.05, 6.05, 8.05, 10.05])


def test_per_variable_bounds_must_match_the_number_of_variables() -> None:
    with pytest.raises(ValueError, match="entries"):
        Uniform((0, 1), (1, 2), 5).sample(3, np.random.default_rng(0))


def test_uniform_respects_per_variable_ranges() -> None:
    X = get_benchmark("keijzer-5").make_data(seed=0).X_train
    assert X[:, 1].min() >= 1 and X[:, 1].max() <= 2  # y in [1, 2]
    assert X[:, 0].min() < 0 and X[:, 2].min() < 0  # x and z in [-1, 1]


# ---------------------------------------------------------------------------- formulas


def test_pagie_1_is_the_676_point_grid_without_zero() -> None:
    data = get_benchmark("pagie-1").make_data(seed=0)
    assert data.X_train.shape == (676, 2)
    assert not np.any(data.X_train == 0)
    x, y = 2.0, -0.6
    expected = 1 / (1 + x**-4) + 1 / (1 + y**-4)
    assert get_benchmark("pagie-1").evaluate(np.array([[x, y]]))[0] == pytest.approx(expected)


def test_koza_1_values() -> None:
    y = get_benchmark("koza-1").evaluate(_x(1.0, 0.5, 0.0))
    np.testing.assert_allclose(y, [4.0, 0.9375, 0.0])


def test_nguyen_7_matches_hand_computed_values() -> None:
    xs = [0.0, 0.5, 1.0, 2.0]
    expected = [math.log(x + 1) + math.log(x**2 + 1) for x in xs]
    np.testing.assert_allclose(get_benchmark("nguyen-7").evaluate(_x(*xs)), expected)
    assert get_benchmark("nguyen-7").evaluate(_x(1.0))[0] == pytest.approx(2 * math.log(2))


def test_keijzer_6_is_the_harmonic_number_of_the_integer_part() -> None:
    y = get_benchmark("keijzer-6").evaluate(_x(1, 2, 3, 3.7, 120))
    harmonic_120 = sum(1 / i for i in range(1, 121))
    np.testing.assert_allclose(y, [1.0, 1.5, 11 / 6, 11 / 6, harmonic_120])


@pytest.mark.parametrize(
    ("name", "x", "expected"),
    [
        ("keijzer-1", [0.25], 0.3 * 0.25),
        ("keijzer-5", [0.5, 2.0, -1.0], 30 * 0.5 * -1.0 / ((0.5 - 10) * 4.0)),
        ("keijzer-9", [1.0], math.log(1 + math.sqrt(2))),
        ("keijzer-10", [0.25, 0.5], 0.5),
        ("keijzer-12", [2.0, 2.0], 16 - 8 + 2 - 2),
        ("keijzer-14", [1.0, 1.0], 2.0),
        ("keijzer-15", [1.0, 2.0], 1 / 5 + 4 - 2 - 1),
        ("nguyen-10", [math.pi / 2, 0.0], 2.0),
        ("vladislavleva-1", [1.0, 2.5], 1 / 1.2),
        (
            "vladislavleva-3",
            [1.0, 7.0],
            2 * math.exp(-1) * math.cos(1) * math.sin(1) * (math.cos(1) * math.sin(1) ** 2 - 1),
        ),
        ("vladislavleva-4", [3.0] * 5, 2.0),
        ("vladislavleva-5", [2.0, 2.0, 3.0], 30 * 1 * 2 / (4 * -8)),
        ("vladislavleva-7", [4.0, 4.0], 1.0),
        ("vladislavleva-8", [3.0, 2.0], (-1 + 1) / 10),
    ],
)
def test_target_spot_values(name: str, x: list[float], expected: float) -> None:
    bench = get_benchmark(name)
    assert bench.evaluate(np.array([x]))[0] == pytest.approx(expected)


def test_shared_formulas_agree() -> None:
    X = np.linspace(0.1, 0.9, 9).reshape(-1, 1)
    np.testing.assert_allclose(
        get_benchmark("koza-1").evaluate(X), get_benchmark("nguyen-2").evaluate(X)
    )
    np.testing.assert_allclose(
        get_benchmark("keijzer-4").evaluate(X), get_benchmark("vladislavleva-2").evaluate(X)
    )


# ---------------------------------------------------------------------------- lookup


@pytest.mark.parametrize("alias", ["koza-1", "Koza1", "koza_1", "KOZA-1", "Koza 1"])
def test_get_benchmark_accepts_case_and_separator_variants(alias: str) -> None:
    assert get_benchmark(alias) is BENCHMARKS["koza-1"]


def test_get_benchmark_distinguishes_one_from_eleven() -> None:
    assert get_benchmark("Nguyen-7").name == "nguyen-7"
    assert get_benchmark("keijzer11").name == "keijzer-11"
    assert get_benchmark("Keijzer_1").name == "keijzer-1"


@pytest.mark.parametrize(
    ("typo", "closest"), [("kozza-1", "koza-1"), ("vladislavlev_4", "vladislavleva-4")]
)
def test_unknown_name_raises_key_error_naming_the_closest(typo: str, closest: str) -> None:
    with pytest.raises(KeyError, match=f"Did you mean '{closest}'") as excinfo:
        get_benchmark(typo)
    assert "Valid names:" in str(excinfo.value)
    assert "pagie-1" in str(excinfo.value)


def test_benchmark_is_frozen() -> None:
    bench: Benchmark = get_benchmark("koza-1")
    with pytest.raises(AttributeError):
        bench.name = "other"  # type: ignore[misc]
