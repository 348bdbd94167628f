"""Your own data for symbolic regression: numpy arrays, a CSV file or an ``.npz`` file.

Benchmarks name their data (``benchmarks.py``); a practitioner brings theirs. Both end
as a :class:`~domains.symbolic_regression.benchmarks.Dataset`, checked here once so
that the search never meets a NaN, a constant target or a ragged array: a bad input is
a ``ValueError`` that names the file, the column or the row and says what to do.

Example:
    >>> import numpy as np
    >>> from domains.symbolic_regression.data import make_dataset
    >>> X = np.linspace(-1, 1, 40)[:, None]
    >>> data = make_dataset(X, X[:, 0] ** 2, test_size=0.25, seed=0)
    >>> data.X_train.shape, data.X_test.shape
    ((30, 1), (10, 1))
"""

from __future__ import annotations

import csv
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from domains.symbolic_regression.benchmarks import Dataset

__all__ = ["MAX_MAGNITUDE", "check_scale", "load_dataset", "make_dataset"]

MIN_TRAIN_ROWS = 3
"""Linear scaling fits two numbers; fewer than three points leave nothing to judge."""

MAX_MAGNITUDE = 1e100
"""Largest |value| accepted in data. Errors are sums of squares and formulas multiply
their inputs: around 1e154 a square overflows, and data at 1e307 ran to a map of
constants with a QD score of 0 and a NaN score, silently. 1e100 leaves formulas room
(x1 * x2 of two such inputs is still finite) while no physical quantity in SI units
comes near it."""


def _as_matrix(X, what: str) -> np.ndarray:
    try:
        array = np.asarray(X, dtype=float)
    except (TypeError, ValueError) as error:
        raise ValueError(f"{what} must be numbers: {error}") from None
    if array.ndim == 1:
        array = array[:, None]
    if array.ndim != 2 or array.shape[1] == 0:
        raise ValueError(f"{what} must have shape (n_samples, n_features), got {array.shape}")
    return array


def _as_vector(y, what: str) -> np.ndarray:
    try:
        array = np.asarray(y, dtype=float)
    except (TypeError, ValueError) as error:
        raise ValueError(f"{what} must be numbers: {error}") from None
    if array.ndim == 2 and array.shape[1] == 1:
        array = array[:, 0]
    if array.ndim != 1:
        raise ValueError(f"{what} must have shape (n_samples,), got {array.shape}")
    return array


def _check_finite(array: np.ndarray, what: str) -> None:
    bad = ~np.isfinite(array)
    if bad.any():
        row = int(np.argwhere(bad)[0][0])
        raise ValueError(
            f"{what} holds {int(bad.sum())} NaN or infinite value(s), the first in row {row}: "
            "drop or impute those rows first"
        )


def check_scale(array: np.ndarray, what: str) -> None:
    """Refuse values whose squares and products overflow (see :data:`MAX_MAGNITUDE`).

    Raises:
        ValueError: The largest value, where it is, and what to do.
    """
    magnitude = np.abs(array)
    if magnitude.size and float(magnitude.max()) > MAX_MAGNITUDE:
        row = int(np.unravel_index(int(np.argmax(magnitude)), magnitude.shape)[0])
        raise ValueError(
            f"{what} holds values up to {float(magnitude.max()):.3g} (row {row}); above "
            f"{MAX_MAGNITUDE:g} squares and products overflow and every formula would "
            "score NaN: divide the column by a power of ten first (exported formulas are "
            "then in those units)"
        )


def _checked_pair(X, y, what: str) -> tuple[np.ndarray, np.ndarray]:
    X = _as_matrix(X, f"{what} X")
    y = _as_vector(y, f"{what} y")
    if X.shape[0] != y.shape[0]:
        raise ValueError(f"{what} X has {X.shape[0]} rows but y has {y.shape[0]}")
    _check_finite(X, f"{what} X")
    _check_finite(y, f"{what} y")
    check_scale(X, f"{what} X")
    check_scale(y, f"{what} y")
    return X, y


def make_dataset(
    X,
    y,
    *,
    X_test=None,
    y_test=None,
    test_size: float = 0.25,
    seed: int = 0,
    names: Sequence[str] | None = None,
    source: str | None = None,
) -> Dataset:
    """A checked :class:`Dataset` from arrays, split at random unless a test set is given.

    Args:
        X: Inputs, shape ``(n, n_features)`` (a 1-D array is one feature).
        y: Targets, shape ``(n,)``.
        X_test: Optional held-out inputs; then ``y_test`` is required and no split is made.
        y_test: Held-out targets.
        test_size: Share of rows held out when no test set is given; 0 keeps every row
            for training and tests on the training rows (say so when you report).
        seed: Seed of the random split.
        names: Optional column names, shown beside ``x1..xn`` in exported formulas.
        source: Where the arrays came from (a file name), named in errors.

    Returns:
        The dataset; formulas name its columns ``x1, x2, ...``.

    Raises:
        ValueError: NaN or infinite values, mismatched shapes, a constant training
            target, too few rows, or a bad ``test_size``.
    """
    origin = f"{source}: " if source else ""
    X, y = _checked_pair(X, y, f"{origin}training")
    if (X_test is None) != (y_test is None):
        raise ValueError("give both X_test and y_test, or neither")
    if X_test is not None:
        X_test, y_test = _checked_pair(X_test, y_test, f"{origin}test")
        if X_test.shape[1] != X.shape[1]:
            raise ValueError(
                f"test X has {X_test.shape[1]} features but training X has {X.shape[1]}"
            )
        X_train, y_train = X, y
    else:
        if not 0.0 <= test_size < 1.0:
            raise ValueError(f"test_size: must be in [0, 1), got {test_size}")
        n_test = round(test_size * X.shape[0])
        if n_test == 0:  # keep the rows in their order
            train = test = np.arange(X.shape[0])
        else:
            order = np.random.default_rng(seed).permutation(X.shape[0])
            test, train = order[:n_test], order[n_test:]
        X_train, y_train, X_test, y_test = X[train], y[train], X[test], y[test]
    if X_train.shape[0] < MIN_TRAIN_ROWS:
        raise ValueError(
            f"training data has {X_train.shape[0]} rows; at least {MIN_TRAIN_ROWS} are needed"
        )
    if np.ptp(y_train) == 0:
        raise ValueError(
            f"the training target is constant ({y_train[0]:g}): there is nothing to regress"
        )
    if names is not None and len(names) != X.shape[1]:
        raise ValueError(f"{len(names)} names for {X.shape[1]} feature columns")
    return Dataset(
        X_train=X_train,
        y_train=y_train,
        X_test=X_test,
        y_test=y_test,
        names=tuple(names) if names is not None else None,
    )


def _read_table(path: Path) -> tuple[list[str] | None, np.ndarray]:
    """Column names (None for .npz arrays) and the numbers of a CSV or .npz file."""
    if path.suffix == ".npz":
        try:
            arrays = np.load(path)
        except Exception as error:  # a zip, pickle or format error: many kinds, one meaning
            raise ValueError(
                f"{str(path)!r} is not a readable .npz file ({type(error).__name__}: {error}); "
                "save it with numpy.savez"
            ) from None
        if not hasattr(arrays, "files"):  # a lone .npy array under an .npz name
            raise ValueError(f"{str(path)!r} holds one array, not an .npz archive of columns")
        with arrays:
            if {"X", "y"} <= set(arrays.files):
                X = _as_matrix(arrays["X"], f"{path}: X")
                y = _as_vector(arrays["y"], f"{path}: y")
                if X.shape[0] != y.shape[0]:
                    raise ValueError(f"{path}: X has {X.shape[0]} rows but y has {y.shape[0]}")
                return None, np.column_stack([X, y])
            columns = [_as_vector(arrays[name], f"{path}: {name}") for name in arrays.files]
            if len({len(c) for c in columns}) > 1:
                raise ValueError(f"{path}: the arrays have different lengths")
            return list(arrays.files), np.column_stack(columns)
    try:
        with path.open(newline="", encoding="utf-8-sig") as handle:
            rows = [row for row in csv.reader(handle) if row and any(c.strip() for c in row)]
    except UnicodeDecodeError as error:
        raise ValueError(
            f"{str(path)!r} is not a text CSV: byte {error.object[error.start]:#04x} at offset "
            f"{error.start} is not UTF-8 ({error.reason}); give a CSV file (UTF-8) or .npz"
        ) from None
    except csv.Error as error:
        raise ValueError(f"{str(path)!r} is not a CSV file the reader can parse: {error}") from None
    if len(rows) < 2:
        raise ValueError(f"{path}: a CSV needs a header line and at least one row of numbers")
    header = [cell.strip() for cell in rows[0]]
    table = np.empty((len(rows) - 1, len(header)))
    for number, row in enumerate(rows[1:], start=2):
        if len(row) != len(header):
            raise ValueError(
                f"{path}, line {number}: {len(row)} fields where the header has {len(header)}"
            )
        for column, cell in enumerate(row):
            try:
                table[number - 2, column] = float(cell)
            except ValueError:
                raise ValueError(
                    f"{path}, line {number}, column {header[column]!r}: {cell!r} is not a number"
                ) from None
    return header, table


def _split_columns(
    path: Path, header: list[str] | None, table: np.ndarray, target: str | int | None
) -> tuple[np.ndarray, np.ndarray, list[str] | None]:
    n_columns = table.shape[1]
    if header is None or target is None or target == -1:
        index = n_columns - 1
    elif isinstance(target, int):
        if not -n_columns <= target < n_columns:
            raise ValueError(f"{path}: target column {target} is out of range ({n_columns})")
        index = target % n_columns
    elif target in header:
        index = header.index(target)
    else:
        raise ValueError(f"{path}: no column named {target!r}; the columns are {header}")
    features = [i for i in range(n_columns) if i != index]
    names = [header[i] for i in features] if header is not None else None
    return table[:, features], table[:, index], names


def load_dataset(
    path: str | Path,
    *,
    target: str | int | None = None,
    test: str | Path | None = None,
    test_size: float = 0.25,
    seed: int = 0,
) -> Dataset:
    """A checked :class:`Dataset` from a CSV (with a header line) or ``.npz`` file.

    Args:
        path: The data. A CSV's columns are the features and the target; an ``.npz``
            holds either arrays ``X`` and ``y`` or one 1-D array per column.
        target: The target column's name or index; by default the last column.
        test: Optional second file of the same layout, used as the test set.
        test_size: Share of rows held out when no ``test`` file is given.
        seed: Seed of that split.

    Raises:
        FileNotFoundError: A file does not exist.
        ValueError: Unreadable numbers (the line and column are named), an unknown
            target column, or any problem :func:`make_dataset` reports.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"data file {str(path)!r} does not exist")
    header, table = _read_table(path)
    X, y, names = _split_columns(path, header, table, target)
    X_test = y_test = None
    if test is not None:
        test = Path(test)
        if not test.is_file():
            raise FileNotFoundError(f"test data file {str(test)!r} does not exist")
        test_header, test_table = _read_table(test)
        if header is not None and test_header is not None and test_header != header:
            raise ValueError(f"{test}: its columns {test_header} differ from {path}'s {header}")
        X_test, y_test, _ = _split_columns(test, test_header, test_table, target)
    return make_dataset(
        X,
        y,
        X_test=X_test,
        y_test=y_test,
        test_size=test_size,
        seed=seed,
        names=names,
        source=repr(str(path)),
    )
