"""QDSymbolicRegressor: scikit-learn's contract, and a map of formulas after fit."""

from __future__ import annotations

import itertools
import json
import os
import pickle
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from sklearn.base import clone
from sklearn.utils.estimator_checks import check_estimator

from domains.symbolic_regression.estimator import QDSymbolicRegressor, pareto_front

X = np.linspace(-1, 1, 60)[:, None]
Y = 1.0 + 2.5 * X[:, 0] ** 2


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.SkipTestWarning")
def test_scikit_learn_estimator_checks_pass() -> None:
    model = QDSymbolicRegressor(max_evaluations=200, batch_size=20, random_state=0)
    results = check_estimator(model, on_fail=None)
    failed = [f"{r['check_name']}: {r['exception']}" for r in results if r["status"] == "failed"]
    assert len(results) > 40 and failed == []


@pytest.fixture(scope="module")
def fitted() -> QDSymbolicRegressor:
    return QDSymbolicRegressor(max_evaluations=3000, random_state=0).fit(X, Y)


def test_fit_finds_the_formula_and_keeps_the_whole_map(fitted) -> None:
    assert fitted.score(X, Y) > 0.9999
    assert np.array_equal(fitted.predict(X), fitted.best_.predict(X))
    assert fitted.n_evaluations_ >= 3000 and fitted.n_features_in_ == 1
    records = fitted.formulas_
    assert len(records) == len(fitted.archive_.elites()) > 10
    assert {"formula", "size", "depth", "error", "r2", "intercept", "slope"} <= set(records[0])
    sizes = [r["size"] for r in records]
    assert sizes == sorted(sizes) and len(set(sizes)) > 5  # formulas of many sizes
    assert fitted.best_.error == min(r["error"] for r in records)
    for record in records:  # each record's model is the formula the record describes
        model = fitted.models_[record["index"]]
        assert str(model) == record["formula"] and model.size == record["size"]


def test_the_pareto_front_trades_size_for_error(fitted) -> None:
    front = fitted.pareto_front_
    assert [r["size"] for r in front] == sorted(r["size"] for r in front)
    assert all(a["error"] > b["error"] for a, b in itertools.pairwise(front))
    for member in front:  # no elite is at least as small and more accurate
        assert not any(
            r["size"] <= member["size"] and r["error"] < member["error"] for r in fitted.formulas_
        )
    toy = [{"size": 1, "error": 0.5}, {"size": 3, "error": 0.6}, {"size": 5, "error": 0.1}]
    assert pareto_front(toy) == [toy[0], toy[2]]


def _fit_in_a_new_process() -> list[dict]:
    script = (
        "import json, numpy as np\n"
        "from domains.symbolic_regression.estimator import QDSymbolicRegressor\n"
        "X = np.linspace(-1, 1, 60)[:, None]\n"
        "model = QDSymbolicRegressor(max_evaluations=3000, random_state=0)\n"
        "print(json.dumps(model.fit(X, 1.0 + 2.5 * X[:, 0] ** 2).formulas_))\n"
    )
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1])}
    done = subprocess.run(
        [sys.executable, "-c", script], env=env, capture_output=True, text=True, check=True
    )
    return json.loads(done.stdout)


def test_the_same_seed_gives_the_same_map_in_one_process_and_in_others(fitted) -> None:
    # Constant tuning used to end a few ulps apart depending on where the heap put
    # SciPy MINPACK's work arrays (see domains/symbolic_regression/marquardt.py), and
    # those ulps grew into other elites: compare everything, exactly, five times over.
    expected = json.dumps(fitted.formulas_)
    for _ in range(5):
        assert json.dumps(clone(fitted).fit(X, Y).formulas_) == expected
    for _ in range(2):
        assert json.dumps(_fit_in_a_new_process()) == expected


def test_a_pickle_predicts_the_same(fitted) -> None:
    restored = pickle.loads(pickle.dumps(fitted))
    assert np.array_equal(restored.predict(X), fitted.predict(X))
    assert str(restored.best_) == str(fitted.best_)


def test_mate_choice_parents_run_inside_the_map() -> None:
    model = QDSymbolicRegressor(max_evaluations=1500, parents="pimp", random_state=1).fit(X, Y)
    assert model.score(X, Y) > 0.99 and len(model.formulas_) > 5


def test_bad_parameters_and_data_name_the_problem() -> None:
    with pytest.raises(ValueError, match=r"parents must be one of .*'cuddly'"):
        QDSymbolicRegressor(parents="cuddly").fit(X, Y)
    with pytest.raises(ValueError, match="NaN"):
        QDSymbolicRegressor(max_evaluations=10).fit(X, np.where(X[:, 0] > 0, np.nan, 1.0))
    with pytest.raises(ValueError, match="1 sample"):
        QDSymbolicRegressor(max_evaluations=10).fit(X[:1], Y[:1])
    with pytest.raises(ValueError, match="max_time must be a positive number of seconds"):
        QDSymbolicRegressor(max_time=0).fit(X, Y)


def test_max_time_ends_the_search_before_the_evaluations_run_out() -> None:
    model = QDSymbolicRegressor(max_evaluations=10**9, max_time=0.5, random_state=0).fit(X, Y)
    assert 0 < model.n_evaluations_ < 10**9 and model.best_.error < 0.5


def test_parsimony_picks_the_small_formula_that_stops_fitting_the_noise() -> None:
    rng = np.random.default_rng(0)
    X = rng.uniform(0.5, 3.0, size=(80, 2))
    y = 0.5 * X[:, 0] * X[:, 1] ** 2 * (1 + 0.02 * rng.standard_normal(80))
    options = {"max_evaluations": 4000, "max_size": 24, "random_state": 0}
    accurate = QDSymbolicRegressor(**options).fit(X, y)
    parsimonious = QDSymbolicRegressor(model_selection="parsimony", **options).fit(X, y)
    assert parsimonious.best_.size <= accurate.best_.size
    assert parsimonious.best_.error <= 1.05 * accurate.best_.error
    smaller = [m for m in accurate.models_ if m.size < parsimonious.best_.size]
    assert all(m.error > 1.05 * accurate.best_.error for m in smaller)
    assert parsimonious.score(X, y) > 0.9


def test_the_estimator_imports_from_the_package_without_loading_sklearn_before() -> None:
    code = (
        "import sys\n"
        "import domains.symbolic_regression as sr\n"
        "assert 'sklearn' not in sys.modules, 'the domain alone loaded scikit-learn'\n"
        "from domains.symbolic_regression import QDSymbolicRegressor\n"
        "from domains.symbolic_regression.estimator import QDSymbolicRegressor as Same\n"
        "assert QDSymbolicRegressor is Same and 'QDSymbolicRegressor' in sr.__all__\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr


def test_a_dataframes_column_names_name_the_variables_of_readable_formulas() -> None:
    pandas = pytest.importorskip("pandas")
    rng = np.random.default_rng(0)
    X = pandas.DataFrame({"mass": rng.uniform(1, 5, 40), "speed": rng.uniform(1, 5, 40)})
    y = 0.5 * X["mass"] * X["speed"] ** 2
    model = QDSymbolicRegressor(max_evaluations=600, random_state=0).fit(X, y)
    assert list(model.feature_names_in_) == ["mass", "speed"]
    readable = [m.simplified() for m in model.models_]
    uses = [text for text in readable if "mass" in text or "speed" in text]
    assert uses and not any(re.search(r"\bx[12]\b", text) for text in readable)
    assert "mass" in " ".join(m.latex() for m in model.models_)
    assert re.search(r"\bx[12]\b", str(model.best_))  # the tree itself keeps x1..xn


def test_no_tuned_constant_runs_away_on_the_kinetic_energy_data() -> None:
    # Unbounded, this fit's front held a constant of 7e23 (and its map one of 4e24,
    # with 20,000 evaluations 1.6e42): tuning walked along flat directions of the fit.
    from deap import gp

    from domains.symbolic_regression.data import load_dataset
    from domains.symbolic_regression.fitting import constant_bound

    root = Path(__file__).resolve().parents[1]
    data = load_dataset(root / "experiments/data/kinetic_energy.csv", target="energy_J")
    model = QDSymbolicRegressor(max_evaluations=3000, random_state=0)
    model.fit(data.X_train, data.y_train)
    bound = constant_bound(data.X_train)

    def largest(formula) -> float:
        values = [
            abs(float(node.value))
            for node in formula.tree
            if isinstance(node, gp.Terminal) and not isinstance(node.value, str)
        ]
        return max(values, default=0.0)

    front = [model.models_[record["index"]] for record in model.pareto_front_]
    assert front and max(largest(formula) for formula in front) <= bound
    assert max(largest(formula) for formula in model.models_) <= bound
    assert model.score(data.X_test, data.y_test) > 0.98  # and still a fit (0.991)
