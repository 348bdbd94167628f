"""Your own data: arrays, CSV and .npz files, and the errors a bad file gets."""

from __future__ import annotations

import numpy as np
import pytest

from domains.symbolic_regression.data import load_dataset, make_dataset
from domains.symbolic_regression.domain import SymbolicRegression
from qd.runs import ConfigError, parse_config


def _table(n: int = 40) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(0)
    X = rng.uniform(-1, 1, size=(n, 2))
    return X, 3.0 * X[:, 0] ** 2 + X[:, 1]


def test_arrays_split_at_random_and_keep_every_row() -> None:
    X, y = _table()
    data = make_dataset(X, y, test_size=0.25, seed=1)
    assert data.X_train.shape == (30, 2) and data.X_test.shape == (10, 2)
    rows = {tuple(r) for r in np.concatenate([data.X_train, data.X_test])}
    assert rows == {tuple(r) for r in X}
    again = make_dataset(X, y, test_size=0.25, seed=1)
    assert np.array_equal(again.X_test, data.X_test)  # the seed fixes the split


@pytest.mark.parametrize(
    ("X", "y", "message"),
    [
        (np.ones((5, 1)), np.array([1.0, 2, np.nan, 4, 5]), "training y holds 1 NaN .* row 2"),
        (np.array([[1.0], [np.inf], [3], [4]]), np.arange(4.0), "training X holds 1 NaN"),
        (np.ones((5, 1)), np.ones(4), "X has 5 rows but y has 4"),
        (np.arange(5.0)[:, None], np.full(5, 2.0), "target is constant"),
        (np.arange(2.0)[:, None], np.arange(2.0), "at least 3"),
        (np.ones((2, 2, 2)), np.ones(2), r"shape \(n_samples, n_features\)"),
    ],
)
def test_bad_arrays_get_errors_that_name_the_problem(X, y, message) -> None:
    with pytest.raises(ValueError, match=message):
        make_dataset(X, y, test_size=0.0)


def test_a_csv_with_a_named_target_and_its_errors(tmp_path) -> None:
    X, y = _table(20)
    path = tmp_path / "data.csv"
    lines = ["speed,force,mass"] + [
        f"{a},{b},{c}" for a, c, b in zip(X[:, 0], X[:, 1], y, strict=True)
    ]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8-sig")  # a BOM is fine
    data = load_dataset(path, target="force", test_size=0.0)
    assert data.names == ("speed", "mass")
    assert np.allclose(data.y_train, y) and np.allclose(data.X_train[:, 1], X[:, 1])
    with pytest.raises(ValueError, match=r"no column named 'weight'.*speed"):
        load_dataset(path, target="weight")
    path.write_text("a,b\n1,2\n3,x\n", encoding="utf-8")
    with pytest.raises(ValueError, match=r"line 3, column 'b': 'x' is not a number"):
        load_dataset(path)
    path.write_text("a,b\n1,2\n3\n", encoding="utf-8")
    with pytest.raises(ValueError, match="line 3: 1 fields where the header has 2"):
        load_dataset(path)
    with pytest.raises(FileNotFoundError, match=r"missing\.csv"):
        load_dataset(tmp_path / "missing.csv")


def test_an_npz_file_and_a_separate_test_file(tmp_path) -> None:
    X, y = _table(30)
    np.savez(tmp_path / "train.npz", X=X[:20], y=y[:20])
    np.savez(tmp_path / "test.npz", X=X[20:], y=y[20:])
    data = load_dataset(tmp_path / "train.npz", test=tmp_path / "test.npz")
    assert np.array_equal(data.X_test, X[20:]) and np.array_equal(data.y_train, y[:20])
    lo, hi = data.bounds()
    assert np.allclose(lo, X.min(axis=0)) and np.allclose(hi, X.max(axis=0))


def test_the_domain_searches_a_data_file_named_in_a_config(tmp_path) -> None:
    X, y = _table(30)
    path = tmp_path / "data.csv"
    path.write_text(
        "a,b,y\n" + "".join(f"{a},{b},{c}\n" for (a, b), c in zip(X, y, strict=True)),
        encoding="utf-8",
    )
    domain = SymbolicRegression(data=str(path), test_size=0.2, data_seed=3, max_size=20)
    assert domain.benchmark is None and domain.n_vars == 2
    assert domain.data.X_train.shape == (24, 2)
    trees = domain.initial(40, np.random.default_rng(0))
    evaluations = domain.evaluate(trees)
    assert all(e.valid or e.invalid_reason.startswith("pole") for e in evaluations)
    assert sum(e.valid for e in evaluations) >= 20
    # A formula that uses the two columns is exact once scaled: 3 x1^2 + x2.
    exact = domain.decode(["add", "mul", "x1", "mul", "x1", 3.0, "x2"])
    (evaluation,) = domain.evaluate([exact])
    assert evaluation.info["nrmse"] < 1e-12 and evaluation.info["hit"]


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"data": "nowhere.csv"}, r"domain\.data .*'nowhere\.csv' does not exist"),
        ({"target": "weight"}, r"domain\.target .*no column named 'weight'"),
        ({"test_size": 1.5}, r"domain\.test_size .*must be in \[0, 1\)"),
    ],
)
def test_a_config_naming_bad_data_is_one_error_naming_the_key(tmp_path, options, message) -> None:
    path = tmp_path / "data.csv"
    path.write_text("a,y\n1,2\n2,5\n3,10\n4,17\n", encoding="utf-8")
    domain = {"name": "symbolic_regression", "data": str(path), **options}
    with pytest.raises(ConfigError, match=message):
        parse_config({"domain": domain}).build_domain()
