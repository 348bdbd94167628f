"""Units: dimensional analysis of formulas, and the domain and estimator that use it."""

from __future__ import annotations

import pickle
import random
from fractions import Fraction

import numpy as np
import pytest
from deap import gp

from domains.symbolic_regression import SymbolicRegression
from domains.symbolic_regression.benchmarks import Dataset
from domains.symbolic_regression.estimator import QDSymbolicRegressor
from domains.symbolic_regression.primitives import decode_tree, make_pset
from domains.symbolic_regression.unit_trees import consistent_tree
from domains.symbolic_regression.units import check_units, make_units, parse_unit
from qd.runs.config import ConfigError, parse_config
from qd.testing import check_domain

# Kinetic energy: m (kg), v (m/s) and a pure number k; E in joules.
ENERGY = make_units(["kg", "m/s", "1"], n_vars=3, target="kg*m^2/s^2")
FREE = make_units(["kg", "m/s", "1"], n_vars=3)  # no target units: the root is free
PSET = make_pset(3)


def _tree(tokens: list) -> gp.PrimitiveTree:
    return decode_tree(tokens, PSET)


# ---------------------------------------------------------------- reading units


def test_parse_unit_reads_text_and_mappings() -> None:
    joule = {"kg": 1, "m": 2, "s": -2}
    assert parse_unit("kg*m^2/s^2") == joule
    assert parse_unit("kg * m**2 / s**2") == joule
    assert parse_unit("kg*m^2*s^-2") == joule
    assert parse_unit({"kg": 1, "m": 2, "s": -2, "K": 0}) == joule
    assert parse_unit("m^0.5") == {"m": Fraction(1, 2)}
    assert parse_unit("m/m") == {}
    assert parse_unit("1") == parse_unit("") == parse_unit(None) == {}
    assert parse_unit("1/s") == {"s": -1}


@pytest.mark.parametrize("bad", ["kg+m", "m^x", "2m", 5, {"m": "two"}])
def test_parse_unit_names_what_it_cannot_read(bad) -> None:
    with pytest.raises(ValueError, match="units"):
        parse_unit(bad)


def test_make_units_keys_by_tree_or_column_name_and_names_gaps() -> None:
    names = ("mass", "speed")
    by_name = make_units({"mass": "kg", "x2": "m/s"}, n_vars=2, names=names, target="J")
    assert by_name.variables["x1"] != by_name.variables["x2"]
    assert by_name == make_units(["kg", "m/s"], n_vars=2, target="J")
    with pytest.raises(ValueError, match=r"no units for x2 \(speed\)"):
        make_units({"mass": "kg"}, n_vars=2, names=names)
    with pytest.raises(ValueError, match=r"'height'.*name no input column"):
        make_units({"mass": "kg", "speed": "m/s", "height": "m"}, n_vars=2, names=names)
    with pytest.raises(ValueError, match="3 entries for 2 input columns"):
        make_units(["kg", "m", "s"], n_vars=2)


# ---------------------------------------------------------------- the check


@pytest.mark.parametrize(
    "tokens",
    [
        ["mul", "x1", "mul", "x2", "x2"],  # m v^2
        ["mul", 0.5, "mul", "x1", "mul", "x2", "x2"],  # m v^2 / 2: a constant is a number
        ["mul", "mul", "x1", "x2", "add", "x2", "mul", "x3", "x2"],  # m v (v + k v)
        ["div", "mul", "x1", "mul", "x2", "mul", "x2", "x2", "x2"],  # m v^3 / v
        ["mul", "exp", "x3", "mul", "x1", "mul", "x2", "x2"],  # e^k m v^2
        ["mul", "mul", "x1", "x2", "mul", "x2", "cos", "div", "x1", "x1"],  # cos(m/m) m v^2
    ],
)
def test_consistent_formulas_pass(tokens) -> None:
    check = check_units(_tree(tokens), ENERGY)
    assert check.consistent and check.reason is None
    assert check.units == ENERGY.target


def test_adding_unlike_quantities_is_a_violation() -> None:
    check = check_units(_tree(["add", "x1", "x2"]), FREE)
    assert check.violations == 1 and check.reason == "add of kg and m*s^-1"
    assert check.units is None  # unknown: its ancestors are not blamed again


def test_a_function_of_a_dimensioned_quantity_is_a_violation() -> None:
    check = check_units(_tree(["sin", "x2"]), FREE)
    assert check.violations == 1 and check.reason == "sin of a quantity in m*s^-1"
    assert check.units == (0.0, 0.0, 0.0)
    assert check_units(_tree(["log", "div", "x2", "x2"]), FREE).consistent  # log(v / v)
    assert check_units(_tree(["sin", 0.3]), FREE).consistent


def test_a_constant_is_a_pure_number() -> None:
    assert not check_units(_tree(["add", "x1", 0.5]), FREE).consistent  # m + 0.5
    assert check_units(_tree(["add", "x3", 0.5]), FREE).consistent  # k + 0.5
    assert check_units(_tree(["mul", "x1", 0.5]), FREE).consistent


def test_the_root_must_carry_the_target_units_when_they_are_given() -> None:
    momentum = _tree(["mul", "x1", "x2"])
    check = check_units(momentum, ENERGY)
    assert check.violations == 1
    assert check.reason == "the formula is in kg*m*s^-1, the target in kg*m^2*s^-2"
    assert check_units(momentum, FREE).consistent  # no target: the slope absorbs units


def test_violations_are_counted_once_each() -> None:
    # sin(m) + (v + m): the sin, the inner add; the outer add sees unknown units.
    tokens = ["add", "sin", "x1", "add", "x2", "x1"]
    check = check_units(_tree(tokens), FREE)
    assert check.violations == 2
    assert check.reason == "add of m*s^-1 and kg"  # the first met, reading from the end
    assert check_units(tokens, FREE) == check  # tokens work as well as trees


def test_check_names_what_it_has_no_rule_for() -> None:
    with pytest.raises(ValueError, match="'x9' has no units"):
        check_units(["mul", "x9", "x1"], FREE)
    with pytest.raises(ValueError, match="no rule for function 'tanh'"):
        check_units(["tanh", "x1"], FREE)


# ---------------------------------------------------------------- trees built consistent


def test_consistent_trees_are_consistent_deterministic_and_bounded() -> None:
    draw = random.Random(3)
    drawn = [consistent_tree(PSET, ENERGY, draw, depth=3, max_size=20) for _ in range(200)]
    trees = [t for t in drawn if t is not None]
    assert len(trees) >= 190  # a few draws fail: the domain then falls back to a random tree
    assert all(check_units(t, ENERGY).consistent for t in trees)
    assert all(len(t) <= 20 and t.height <= 3 for t in trees)
    assert len({str(t) for t in trees}) > 100  # varied, not one formula
    again = random.Random(3)
    redrawn = [consistent_tree(PSET, ENERGY, again, depth=3, max_size=20) for _ in drawn]
    assert [str(t) for t in redrawn] == [str(t) for t in drawn]


def test_a_target_no_tree_can_reach_gives_none() -> None:
    # Only kg and m/s in the inputs: seconds alone cannot be built within depth 2.
    seconds = make_units(["kg", "m/s"], n_vars=2, target="s")
    tree = consistent_tree(make_pset(2), seconds, random.Random(0), depth=2, max_size=20)
    assert tree is None


# ---------------------------------------------------------------- the domain


def _energy_data(n: int = 120, seed: int = 0) -> Dataset:
    rng = np.random.default_rng(seed)
    X = rng.uniform(1, 5, size=(n, 3))
    y = 0.5 * X[:, 0] * X[:, 1] ** 2 * X[:, 2]
    return Dataset(X_train=X, y_train=y, X_test=X, y_test=y, names=("m", "v", "k"))


UNITS = {"m": "kg", "v": "m/s", "k": "1"}


def test_the_domain_rejects_inconsistent_formulas_under_the_constraint() -> None:
    domain = SymbolicRegression(data=_energy_data(), units=UNITS, target_units="J")
    # "J" is its own base unit here, so nothing reaches it: every formula is invalid.
    (evaluation,) = domain.evaluate([_tree(["mul", "x1", "x2"])])
    assert not evaluation.valid
    assert evaluation.invalid_reason == "units: the formula is in kg*m*s^-1, the target in J"

    domain = SymbolicRegression(data=_energy_data(), units=UNITS, target_units="kg*m^2/s^2")
    bad, good = domain.evaluate(
        [_tree(["sin", "mul", "x1", "x2"]), _tree(["mul", "x3", "mul", "x1", "mul", "x2", "x2"])]
    )
    assert bad.invalid_reason == "units: sin of a quantity in kg*m*s^-1"
    assert good.valid and good.info["hit"]


def test_the_units_axis_keeps_inconsistent_formulas_and_counts_violations() -> None:
    domain = SymbolicRegression(
        data=_energy_data(), units=UNITS, target_units="kg*m^2/s^2", descriptors=("size", "units")
    )
    assert [m.name for m in domain.measures] == ["size", "units"]
    formulas = [
        ["mul", "x3", "mul", "x1", "mul", "x2", "x2"],  # 0
        ["sin", "mul", "x1", "x2"],  # sin of momentum, dimensionless root: 2
        ["add", "sin", "x1", "add", "x2", "x1"],  # 2, then sin(m) + ? is pure: 3
    ]
    evaluations = domain.evaluate([_tree(t) for t in formulas])
    assert all(e.valid for e in evaluations)
    assert [e.measures[1] for e in evaluations] == [0, 2, 3]
    assert [domain.describe(_tree(t))["units"] for t in formulas] == [0, 2, 3]
    many = ["mul"] * 5 + ["sin", "x1"] * 6  # 6 sines of a mass and the root: the last bin
    assert domain.evaluate([_tree(many)])[0].measures[1] == 5


def test_the_domain_seeds_and_breeds_consistent_formulas() -> None:
    domain = SymbolicRegression(data=_energy_data(), units=UNITS, target_units="kg*m^2/s^2")
    rng = np.random.default_rng(0)
    seeds = domain.initial(40, rng)
    assert sum(domain.unit_violations(t) == 0 for t in seeds) >= 36  # the rest: fallbacks
    operator = domain.variation()
    children = [c for _ in range(60) for c in operator.children([seeds[:2]], rng)]
    consistent = sum(domain.unit_violations(c) == 0 for c in children)
    assert consistent >= 55  # redrawn until consistent, up to UNIT_RETRIES times
    again = SymbolicRegression(data=_energy_data(), units=UNITS, target_units="kg*m^2/s^2")
    assert [str(t) for t in again.initial(40, np.random.default_rng(0))] == [str(t) for t in seeds]


def test_the_domain_with_units_passes_check_domain_and_pickles() -> None:
    for descriptors in (("size", "depth"), ("size", "units")):
        domain = SymbolicRegression(
            data=_energy_data(), units=UNITS, target_units="kg*m^2/s^2", descriptors=descriptors
        )
        check_domain(domain)
        copy = pickle.loads(pickle.dumps(domain))
        assert copy._units == domain._units and copy.descriptors == domain.descriptors


def test_units_need_a_units_table() -> None:
    with pytest.raises(ValueError, match="need units"):
        SymbolicRegression(data=_energy_data(), target_units="J")
    with pytest.raises(ValueError, match="need units"):
        SymbolicRegression(data=_energy_data(), descriptors=("size", "units"))


def test_units_are_a_config_key() -> None:
    config = parse_config(
        {
            "domain": {
                "name": "symbolic_regression",
                "data": "experiments/data/kinetic_energy.csv",
                "target": "energy_J",
                "units": {"mass_kg": "kg", "velocity_m_s": {"m": 1, "s": -1}},
                "target_units": "kg*m^2/s^2",
            }
        }
    )
    domain = config.build_domain()
    assert domain.unit_violations(decode_tree(["mul", "x1", "x2"], domain.pset)) == 1
    bad = parse_config({"domain": {"name": "symbolic_regression", "units": {"x1": "m/"}}})
    with pytest.raises(ConfigError, match=r"domain\.units"):
        bad.build_domain()


# ---------------------------------------------------------------- the estimator


@pytest.mark.parametrize("descriptors", [("size", "depth"), ("size", "units")])
def test_the_estimator_finds_the_law_and_best_is_consistent(descriptors) -> None:
    data = _energy_data()
    model = QDSymbolicRegressor(
        max_evaluations=3000,
        random_state=0,
        units=["kg", "m/s", "1"],
        target_units="kg*m^2/s^2",
        descriptors=descriptors,
    ).fit(data.X_train, data.y_train)
    assert model.domain_.unit_violations(model.best_.tree) == 0
    assert model.best_.error < 1e-6


def test_best_is_never_inconsistent_even_when_an_inconsistent_formula_fits_better() -> None:
    # y = a + t with a in metres and t in seconds, declared in metres: the formula that
    # fits, x1 + x2, adds unlike quantities. On the units axis it stays in the map, but
    # best_ is the most accurate consistent formula.
    rng = np.random.default_rng(1)
    X = rng.uniform(1, 5, size=(80, 2))
    y = X[:, 0] + X[:, 1]
    model = QDSymbolicRegressor(
        max_evaluations=1500,
        random_state=0,
        units=["m", "s"],
        target_units="m",
        descriptors=("size", "units"),
    ).fit(X, y)
    most_accurate = min(model.models_, key=lambda f: f.error)
    assert model.domain_.unit_violations(most_accurate.tree) > 0
    assert model.domain_.unit_violations(model.best_.tree) == 0
    assert model.best_.error > most_accurate.error
    restored = pickle.loads(pickle.dumps(model))
    assert str(restored.best_) == str(model.best_)


def test_the_estimator_names_units_it_cannot_use() -> None:
    X = np.ones((10, 2)) * np.arange(10)[:, None]
    with pytest.raises(ValueError, match="no units for x2"):
        QDSymbolicRegressor(max_evaluations=50, units={"x1": "m"}).fit(X, X[:, 0])
    with pytest.raises(ValueError, match="parents='pimp'"):
        QDSymbolicRegressor(max_evaluations=50, units=["m", "s"], parents="pimp").fit(X, X[:, 0])
