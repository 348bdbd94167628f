"""Ground-truth symbolic-regression benchmark problems, as data.

Why this module exists: an experiment should *name* the problem it runs on
("keijzer-11", "vladislavleva-4") instead of pasting a formula and a hand-rolled
sampling loop into every script. Each :class:`Benchmark` bundles the target
formula, the training and test sampling schemes from the literature, and a
deterministic :meth:`Benchmark.make_data` so that two runs with the same seed see
exactly the same points.

Reference: the table of benchmarks in

    J. McDermott, D. R. White, S. Luke, L. Manzoni, M. Castelli, L. Vanneschi,
    W. Jaskowski, K. Krawiec, R. Harper, K. De Jong, U.-M. O'Reilly.
    "Genetic Programming Needs Better Benchmarks". GECCO 2012, pp. 791-798.

which collects the problems of Koza (1992, 1994), Uy et al. (2011, "Nguyen"),
Keijzer (2003), Pagie & Hogeweg (1997) and Vladislavleva et al. (2009). Where the
sources disagree, McDermott et al.'s table wins and a comment marked
"DISAGREEMENT" at the problem says what the alternative is. Nguyen-11 and
Nguyen-12 are not in that table (nor among the ten problems of Uy et al. 2011);
they follow the extended Nguyen suite of Petersen et al. (2021, "Deep symbolic
regression", ICLR).

Sampling notation (McDermott et al.):

* ``U[a, b, n]`` -- :class:`Uniform`: ``n`` points, each variable drawn uniformly
  at random from ``[a, b]``.
* ``E[a, b, step]`` -- :class:`Grid`: the evenly spaced points ``a, a + step, ...``
  up to and including ``b`` (or the last grid point not above ``b`` when
  ``b - a`` is not a multiple of ``step``); with several variables, the full
  Cartesian grid.

Both accept per-variable bounds (tuples, one entry per variable) for the problems
whose variables have different ranges (Keijzer-5, Vladislavleva-3 and -5).

Variables are the columns of ``X``, named ``x1, x2, ...`` in the formulas.

Example:
    >>> from domains.symbolic_regression.benchmarks import get_benchmark
    >>> data = get_benchmark("koza-1").make_data(seed=0)
    >>> data.X_train.shape, data.y_train.shape
    ((20, 1), (20,))
"""

from __future__ import annotations

import difflib
import math
import re
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

__all__ = [
    "BENCHMARKS",
    "Benchmark",
    "Dataset",
    "Grid",
    "Sampler",
    "Uniform",
    "get_benchmark",
]

Bound = float | tuple[float, ...]
"""A scalar shared by every variable, or a tuple with one value per variable."""

# Relative slack used when deciding whether the upper end of a grid lies on the grid:
# (b - a) / step is often 19.999999999999996 instead of 20 in floating point.
_GRID_EPS = 1e-9


def _per_variable(value: Bound, n_vars: int, what: str) -> np.ndarray:
    """Broadcasts a scalar or per-variable tuple to a float array of length ``n_vars``."""
    if isinstance(value, tuple):
        if len(value) != n_vars:
            raise ValueError(f"{what} has {len(value)} entries but the problem has {n_vars} vars")
        return np.asarray(value, dtype=float)
    return np.full(n_vars, float(value))


@dataclass(frozen=True)
class Uniform:
    """``U[low, high, n]``: ``n`` points drawn uniformly at random per variable.

    Attributes:
        low: Lower bound, shared or one per variable.
        high: Upper bound, shared or one per variable.
        n: Number of points.
    """

    low: Bound
    high: Bound
    n: int

    def __post_init__(self) -> None:
        if self.n < 1:
            raise ValueError(f"Uniform needs n >= 1, got {self.n}")

    def n_points(self, n_vars: int) -> int:
        """Number of rows :meth:`sample` returns (always ``n``)."""
        del n_vars
        return self.n

    def sample(self, n_vars: int, rng: np.random.Generator) -> np.ndarray:
        """Draws the points.

        Args:
            n_vars: Number of variables (columns).
            rng: Source of randomness.

        Returns:
            Array of shape ``(n, n_vars)``.
        """
        low = _per_variable(self.low, n_vars, "low")
        high = _per_variable(self.high, n_vars, "high")
        if np.any(high < low):
            raise ValueError(f"Uniform needs low <= high, got {self.low} and {self.high}")
        return rng.uniform(low, high, size=(self.n, n_vars))


@dataclass(frozen=True)
class Grid:
    """``E[low, high, step]``: an evenly spaced grid, Cartesian over variables.

    Each axis is ``low, low + step, ..., high``; the upper end is included when it
    lies on the grid (up to float rounding) and the axis stops at the last point
    not above ``high`` otherwise (e.g. ``E[0.05, 10, 0.1]`` ends at 9.95 and has
    100 points).

    Attributes:
        low: First grid value, shared or one per variable.
        high: Upper end, shared or one per variable.
        step: Spacing, shared or one per variable.
    """

    low: Bound
    high: Bound
    step: Bound

    def axes(self, n_vars: int) -> list[np.ndarray]:
        """The 1-D grid of each variable.

        Args:
            n_vars: Number of variables.

        Returns:
            One sorted array per variable.
        """
        lows = _per_variable(self.low, n_vars, "low")
        highs = _per_variable(self.high, n_vars, "high")
        steps = _per_variable(self.step, n_vars, "step")
        axes = []
        for low, high, step in zip(lows, highs, steps, strict=True):
            if step <= 0 or high < low:
                raise ValueError(f"Grid needs step > 0 and low <= high, got {self}")
            count = math.floor((high - low) / step + _GRID_EPS) + 1
            stop = low + step * (count - 1)
            if math.isclose(stop, high, rel_tol=_GRID_EPS, abs_tol=_GRID_EPS * step):
                stop = high  # land exactly on the declared upper end
            # Rounding strips float noise such as 0.30000000000000004 -> 0.3.
            axes.append(np.round(np.linspace(low, stop, count), 12))
        return axes

    def n_points(self, n_vars: int) -> int:
        """Number of rows :meth:`sample` returns (product of the axis lengths)."""
        return math.prod(len(axis) for axis in self.axes(n_vars))

    def sample(self, n_vars: int, rng: np.random.Generator | None = None) -> np.ndarray:
        """Lists the grid points.

        Args:
            n_vars: Number of variables (columns).
            rng: Ignored (a grid is deterministic); accepted so that every sampler
                has the same signature.

        Returns:
            Array of shape ``(n_points, n_vars)``; the last variable varies fastest.
        """
        del rng
        mesh = np.meshgrid(*self.axes(n_vars), indexing="ij")
        return np.stack([m.ravel() for m in mesh], axis=1)


Sampler = Uniform | Grid


@dataclass(frozen=True, eq=False)
class Dataset:
    """Train and test points of one benchmark instance.

    Attributes:
        X_train: Inputs, shape ``(n_train, n_vars)``.
        y_train: Targets, shape ``(n_train,)``.
        X_test: Inputs, shape ``(n_test, n_vars)``.
        y_test: Targets, shape ``(n_test,)``.
        names: Column names of the user's data (``None`` for benchmarks); formulas
            still call the columns ``x1..xn``, names only label them in exports.
    """

    X_train: np.ndarray
    y_train: np.ndarray
    X_test: np.ndarray
    y_test: np.ndarray
    names: tuple[str, ...] | None = None

    @property
    def n_vars(self) -> int:
        return int(self.X_train.shape[1])

    def bounds(self) -> tuple[np.ndarray, np.ndarray]:
        """The box of every input the dataset holds (training and test rows).

        Formulas are checked for poles over this box: the points a user will predict
        at, not only those the search fitted.
        """
        inputs = np.concatenate([self.X_train, self.X_test])
        return inputs.min(axis=0), inputs.max(axis=0)


@dataclass(frozen=True)
class Benchmark:
    """A ground-truth symbolic-regression problem.

    Attributes:
        name: Canonical name, lower case with hyphens (``"keijzer-11"``).
        n_vars: Number of input variables.
        formula: Human-readable target, in Python syntax over ``x1, x2, ...``.
        target: Module-level function mapping ``X`` of shape ``(n, n_vars)`` to
            ``y`` of shape ``(n,)`` (module-level so that it pickles).
        train: Sampling scheme of the training set.
        test: Sampling scheme of the test set, or ``None`` where the literature
            defines none. Then :meth:`make_data` draws the test set from the
            ``train`` scheme again with an independent random stream: a fresh
            sample for :class:`Uniform`, but the *same points* for a
            :class:`Grid` (a grid has nothing random to redraw; e.g. Pagie-1).
        source: Short citation.
    """

    name: str
    n_vars: int
    formula: str
    target: Callable[[np.ndarray], np.ndarray]
    train: Sampler
    test: Sampler | None
    source: str

    def make_data(self, seed: int) -> Dataset:
        """Samples the training and test sets.

        Deterministic in ``seed``: training inputs come from
        ``np.random.default_rng(seed)`` and test inputs from the independent stream
        ``np.random.default_rng([seed, 1])``.

        Args:
            seed: Non-negative integer seed.

        Returns:
            The sampled :class:`Dataset`.
        """
        X_train = self.train.sample(self.n_vars, np.random.default_rng(seed))
        test_scheme = self.train if self.test is None else self.test
        X_test = test_scheme.sample(self.n_vars, np.random.default_rng([seed, 1]))
        return Dataset(
            X_train=X_train,
            y_train=self.evaluate(X_train),
            X_test=X_test,
            y_test=self.evaluate(X_test),
        )

    def evaluate(self, X: np.ndarray) -> np.ndarray:
        """Evaluates the target on ``X`` after checking its shape.

        Args:
            X: Inputs, shape ``(n, n_vars)``.

        Returns:
            Float array of shape ``(n,)``.
        """
        X = np.asarray(X, dtype=float)
        if X.ndim != 2 or X.shape[1] != self.n_vars:
            raise ValueError(f"{self.name} expects X of shape (n, {self.n_vars}), got {X.shape}")
        return np.asarray(self.target(X), dtype=float).reshape(X.shape[0])


# --------------------------------------------------------------------------------------
# Target functions. Module-level (not lambdas) so that benchmarks pickle.
# --------------------------------------------------------------------------------------


def _poly_sum(x: np.ndarray, degree: int) -> np.ndarray:
    """x + x**2 + ... + x**degree."""
    total = x**1
    for k in range(2, degree + 1):
        total = total + x**k
    return total


def koza_1(X: np.ndarray) -> np.ndarray:
    """x1**4 + x1**3 + x1**2 + x1 (same as Nguyen-2)."""
    return _poly_sum(X[:, 0], 4)


def koza_2(X: np.ndarray) -> np.ndarray:
    """x1**5 - 2*x1**3 + x1."""
    x = X[:, 0]
    return x**5 - 2 * x**3 + x


def koza_3(X: np.ndarray) -> np.ndarray:
    """x1**6 - 2*x1**4 + x1**2."""
    x = X[:, 0]
    return x**6 - 2 * x**4 + x**2


def nguyen_1(X: np.ndarray) -> np.ndarray:
    """x1**3 + x1**2 + x1."""
    return _poly_sum(X[:, 0], 3)


def nguyen_3(X: np.ndarray) -> np.ndarray:
    """x1**5 + x1**4 + x1**3 + x1**2 + x1."""
    return _poly_sum(X[:, 0], 5)


def nguyen_4(X: np.ndarray) -> np.ndarray:
    """x1**6 + x1**5 + x1**4 + x1**3 + x1**2 + x1."""
    return _poly_sum(X[:, 0], 6)


def nguyen_5(X: np.ndarray) -> np.ndarray:
    """sin(x1**2) * cos(x1) - 1."""
    x = X[:, 0]
    return np.sin(x**2) * np.cos(x) - 1


def nguyen_6(X: np.ndarray) -> np.ndarray:
    """sin(x1) + sin(x1 + x1**2)."""
    x = X[:, 0]
    return np.sin(x) + np.sin(x + x**2)


def nguyen_7(X: np.ndarray) -> np.ndarray:
    """log(x1 + 1) + log(x1**2 + 1)."""
    x = X[:, 0]
    return np.log(x + 1) + np.log(x**2 + 1)


def sqrt_x1(X: np.ndarray) -> np.ndarray:
    """sqrt(x1) (Nguyen-8, Keijzer-8)."""
    return np.sqrt(X[:, 0])


def nguyen_9(X: np.ndarray) -> np.ndarray:
    """sin(x1) + sin(x2**2)."""
    return np.sin(X[:, 0]) + np.sin(X[:, 1] ** 2)


def nguyen_10(X: np.ndarray) -> np.ndarray:
    """2 * sin(x1) * cos(x2)."""
    return 2 * np.sin(X[:, 0]) * np.cos(X[:, 1])


def x1_pow_x2(X: np.ndarray) -> np.ndarray:
    """x1**x2 (Nguyen-11, Keijzer-10); only used with x1 >= 0."""
    return np.power(X[:, 0], X[:, 1])


def quartic_quadratic(X: np.ndarray) -> np.ndarray:
    """x1**4 - x1**3 + x2**2/2 - x2 (Nguyen-12, Keijzer-12)."""
    x, y = X[:, 0], X[:, 1]
    return x**4 - x**3 + y**2 / 2 - y


def pagie_1(X: np.ndarray) -> np.ndarray:
    """1/(1 + x1**-4) + 1/(1 + x2**-4), computed as x**4/(1 + x**4) (no 0**-4)."""
    x4 = X[:, 0] ** 4
    y4 = X[:, 1] ** 4
    return x4 / (1 + x4) + y4 / (1 + y4)


def keijzer_1(X: np.ndarray) -> np.ndarray:
    """0.3 * x1 * sin(2*pi*x1) (Keijzer-1, -2, -3)."""
    x = X[:, 0]
    return 0.3 * x * np.sin(2 * np.pi * x)


def salustowicz_1d(X: np.ndarray) -> np.ndarray:
    """x1**3 * exp(-x1) * cos(x1) * sin(x1) * (sin(x1)**2 * cos(x1) - 1).

    Keijzer-4 and Vladislavleva-2 (Vladislavleva et al. call it Salustowicz 1-D).
    """
    x = X[:, 0]
    return x**3 * np.exp(-x) * np.cos(x) * np.sin(x) * (np.sin(x) ** 2 * np.cos(x) - 1)


def keijzer_5(X: np.ndarray) -> np.ndarray:
    """30 * x1 * x3 / ((x1 - 10) * x2**2), with x = x1, y = x2, z = x3."""
    x, y, z = X[:, 0], X[:, 1], X[:, 2]
    return 30 * x * z / ((x - 10) * y**2)


def keijzer_6(X: np.ndarray) -> np.ndarray:
    """Harmonic number: sum(1/i for i in 1..floor(x1)); 0 where x1 < 1."""
    k = np.floor(X[:, 0]).clip(min=0).astype(np.int64)
    top = int(k.max()) if k.size else 0
    harmonic = np.concatenate([[0.0], np.cumsum(1.0 / np.arange(1, top + 1))])
    return harmonic[k]


def keijzer_7(X: np.ndarray) -> np.ndarray:
    """log(x1) (natural logarithm)."""
    return np.log(X[:, 0])


def keijzer_9(X: np.ndarray) -> np.ndarray:
    """arcsinh(x1) = log(x1 + sqrt(x1**2 + 1))."""
    return np.arcsinh(X[:, 0])


def keijzer_11(X: np.ndarray) -> np.ndarray:
    """x1*x2 + sin((x1 - 1) * (x2 - 1))."""
    x, y = X[:, 0], X[:, 1]
    return x * y + np.sin((x - 1) * (y - 1))


def six_sin_cos(X: np.ndarray) -> np.ndarray:
    """6 * sin(x1) * cos(x2) (Keijzer-13, Vladislavleva-6)."""
    return 6 * np.sin(X[:, 0]) * np.cos(X[:, 1])


def keijzer_14(X: np.ndarray) -> np.ndarray:
    """8 / (2 + x1**2 + x2**2)."""
    return 8 / (2 + X[:, 0] ** 2 + X[:, 1] ** 2)


def keijzer_15(X: np.ndarray) -> np.ndarray:
    """x1**3/5 + x2**3/2 - x2 - x1."""
    x, y = X[:, 0], X[:, 1]
    return x**3 / 5 + y**3 / 2 - y - x


def vladislavleva_1(X: np.ndarray) -> np.ndarray:
    """exp(-(x1 - 1)**2) / (1.2 + (x2 - 2.5)**2) (Kotanchek)."""
    return np.exp(-((X[:, 0] - 1) ** 2)) / (1.2 + (X[:, 1] - 2.5) ** 2)


def vladislavleva_3(X: np.ndarray) -> np.ndarray:
    """Salustowicz 1-D of x1 times (x2 - 5) (Salustowicz 2-D)."""
    return salustowicz_1d(X) * (X[:, 1] - 5)


def vladislavleva_4(X: np.ndarray) -> np.ndarray:
    """10 / (5 + sum_i (xi - 3)**2) over 5 variables (UBall5D)."""
    return 10 / (5 + np.sum((X - 3) ** 2, axis=1))


def vladislavleva_5(X: np.ndarray) -> np.ndarray:
    """30 * (x1 - 1) * (x3 - 1) / (x2**2 * (x1 - 10)) (RatPol3D)."""
    x1, x2, x3 = X[:, 0], X[:, 1], X[:, 2]
    return 30 * (x1 - 1) * (x3 - 1) / (x2**2 * (x1 - 10))


def vladislavleva_7(X: np.ndarray) -> np.ndarray:
    """(x1 - 3)*(x2 - 3) + 2*sin((x1 - 4)*(x2 - 4)) (Ripple)."""
    x1, x2 = X[:, 0], X[:, 1]
    return (x1 - 3) * (x2 - 3) + 2 * np.sin((x1 - 4) * (x2 - 4))


def vladislavleva_8(X: np.ndarray) -> np.ndarray:
    """((x1 - 3)**4 + (x2 - 3)**3 - (x2 - 3)) / ((x2 - 2)**4 + 10) (RatPol2D)."""
    x1, x2 = X[:, 0], X[:, 1]
    return ((x1 - 3) ** 4 + (x2 - 3) ** 3 - (x2 - 3)) / ((x2 - 2) ** 4 + 10)


# --------------------------------------------------------------------------------------
# The table.
# --------------------------------------------------------------------------------------

_KOZA_92 = "Koza 1992, Genetic Programming; McDermott et al. 2012"
_KOZA_94 = "Koza 1994, Genetic Programming II; McDermott et al. 2012"
_UY = "Uy et al. 2011, GPEM 12(2); McDermott et al. 2012"
_DSR = "Petersen et al. 2021, Deep symbolic regression (ICLR), extended Nguyen suite"
_KEIJZER = "Keijzer 2003, EuroGP; McDermott et al. 2012"
_PAGIE = "Pagie & Hogeweg 1997, Evolutionary Computation 5(4); McDermott et al. 2012"
_VLAD = "Vladislavleva et al. 2009, IEEE TEVC 13(2); McDermott et al. 2012"

_SALUSTOWICZ_TEXT = "exp(-x1) * x1**3 * cos(x1) * sin(x1) * (cos(x1) * sin(x1)**2 - 1)"

_TABLE: tuple[Benchmark, ...] = (
    # ---- Koza: no test set in the literature.
    Benchmark(
        "koza-1", 1, "x1**4 + x1**3 + x1**2 + x1", koza_1, Uniform(-1, 1, 20), None, _KOZA_92
    ),
    Benchmark("koza-2", 1, "x1**5 - 2*x1**3 + x1", koza_2, Uniform(-1, 1, 20), None, _KOZA_94),
    Benchmark("koza-3", 1, "x1**6 - 2*x1**4 + x1**2", koza_3, Uniform(-1, 1, 20), None, _KOZA_94),
    # ---- Nguyen (Uy et al. 2011, problems F1-F10): no test set in the literature.
    Benchmark("nguyen-1", 1, "x1**3 + x1**2 + x1", nguyen_1, Uniform(-1, 1, 20), None, _UY),
    Benchmark("nguyen-2", 1, "x1**4 + x1**3 + x1**2 + x1", koza_1, Uniform(-1, 1, 20), None, _UY),
    Benchmark(
        "nguyen-3",
        1,
        "x1**5 + x1**4 + x1**3 + x1**2 + x1",
        nguyen_3,
        Uniform(-1, 1, 20),
        None,
        _UY,
    ),
    Benchmark(
        "nguyen-4",
        1,
        "x1**6 + x1**5 + x1**4 + x1**3 + x1**2 + x1",
        nguyen_4,
        Uniform(-1, 1, 20),
        None,
        _UY,
    ),
    Benchmark("nguyen-5", 1, "sin(x1**2) * cos(x1) - 1", nguyen_5, Uniform(-1, 1, 20), None, _UY),
    Benchmark("nguyen-6", 1, "sin(x1) + sin(x1 + x1**2)", nguyen_6, Uniform(-1, 1, 20), None, _UY),
    Benchmark(
        "nguyen-7", 1, "log(x1 + 1) + log(x1**2 + 1)", nguyen_7, Uniform(0, 2, 20), None, _UY
    ),
    Benchmark("nguyen-8", 1, "sqrt(x1)", sqrt_x1, Uniform(0, 4, 20), None, _UY),
    # DISAGREEMENT (Nguyen-9, -10): McDermott et al. 2012 (reproducing Uy et al. 2011)
    # train on U[-1, 1, 100]; Petersen et al. 2021 (DSR) and papers following it use
    # U[0, 1, 20]. We follow McDermott et al.
    Benchmark("nguyen-9", 2, "sin(x1) + sin(x2**2)", nguyen_9, Uniform(-1, 1, 100), None, _UY),
    Benchmark("nguyen-10", 2, "2 * sin(x1) * cos(x2)", nguyen_10, Uniform(-1, 1, 100), None, _UY),
    # DISAGREEMENT (Nguyen-11, -12): not in McDermott et al.'s table nor among Uy et
    # al.'s ten problems; we use the extended suite of Petersen et al. 2021, U[0, 1, 20].
    # The same formulas on other ranges are Keijzer-10 and Keijzer-12.
    Benchmark("nguyen-11", 2, "x1**x2", x1_pow_x2, Uniform(0, 1, 20), None, _DSR),
    Benchmark(
        "nguyen-12",
        2,
        "x1**4 - x1**3 + x2**2/2 - x2",
        quartic_quadratic,
        Uniform(0, 1, 20),
        None,
        _DSR,
    ),
    # ---- Pagie-1: a 26 x 26 = 676-point grid (0 is not on it), no test set.
    # Some papers test Pagie-1 on a random or finer sample; McDermott et al. list none.
    Benchmark(
        "pagie-1",
        2,
        "1/(1 + x1**-4) + 1/(1 + x2**-4)",
        pagie_1,
        Grid(-5, 5, 0.4),
        None,
        _PAGIE,
    ),
    # ---- Keijzer, numbered as in McDermott et al. 2012 (Keijzer 2003 numbers his
    # functions differently, and some papers renumber them).
    Benchmark(
        "keijzer-1",
        1,
        "0.3 * x1 * sin(2*pi*x1)",
        keijzer_1,
        Grid(-1, 1, 0.1),
        Grid(-1, 1, 0.001),
        _KEIJZER,
    ),
    Benchmark(
        "keijzer-2",
        1,
        "0.3 * x1 * sin(2*pi*x1)",
        keijzer_1,
        Grid(-2, 2, 0.1),
        Grid(-2, 2, 0.001),
        _KEIJZER,
    ),
    Benchmark(
        "keijzer-3",
        1,
        "0.3 * x1 * sin(2*pi*x1)",
        keijzer_1,
        Grid(-3, 3, 0.1),
        Grid(-3, 3, 0.001),
        _KEIJZER,
    ),
    # DISAGREEMENT (Keijzer-4): some code bases (e.g. DSO's benchmarks.csv) use step 0.1;
    # McDermott et al. (and Keijzer 2003) use 0.05: 201 training points.
    Benchmark(
        "keijzer-4",
        1,
        "x1**3 * exp(-x1) * cos(x1) * sin(x1) * (sin(x1)**2 * cos(x1) - 1)",
        salustowicz_1d,
        Grid(0, 10, 0.05),
        Grid(0.05, 10.05, 0.05),
        _KEIJZER,
    ),
    # x, y, z = x1, x2, x3; x and z in [-1, 1], y in [1, 2] (so y**2 >= 1, x - 10 < 0).
    Benchmark(
        "keijzer-5",
        3,
        "30 * x1 * x3 / ((x1 - 10) * x2**2)",
        keijzer_5,
        Uniform((-1, 1, -1), (1, 2, 1), 1000),
        Uniform((-1, 1, -1), (1, 2, 1), 10000),
        _KEIJZER,
    ),
    # Sampled on integers only; the target uses floor(x1) so it is defined everywhere.
    Benchmark(
        "keijzer-6",
        1,
        "sum(1/i for i in range(1, floor(x1) + 1))",
        keijzer_6,
        Grid(1, 50, 1),
        Grid(1, 120, 1),
        _KEIJZER,
    ),
    Benchmark("keijzer-7", 1, "log(x1)", keijzer_7, Grid(1, 100, 1), Grid(1, 100, 0.1), _KEIJZER),
    Benchmark("keijzer-8", 1, "sqrt(x1)", sqrt_x1, Grid(0, 100, 1), Grid(0, 100, 0.1), _KEIJZER),
    Benchmark(
        "keijzer-9",
        1,
        "arcsinh(x1)",
        keijzer_9,
        Grid(0, 100, 1),
        Grid(0, 100, 0.1),
        _KEIJZER,
    ),
    Benchmark(
        "keijzer-10",
        2,
        "x1**x2",
        x1_pow_x2,
        Uniform(0, 1, 100),
        Grid(0, 1, 0.01),
        _KEIJZER,
    ),
    Benchmark(
        "keijzer-11",
        2,
        "x1*x2 + sin((x1 - 1) * (x2 - 1))",
        keijzer_11,
        Uniform(-3, 3, 20),
        Grid(-3, 3, 0.01),
        _KEIJZER,
    ),
    Benchmark(
        "keijzer-12",
        2,
        "x1**4 - x1**3 + x2**2/2 - x2",
        quartic_quadratic,
        Uniform(-3, 3, 20),
        Grid(-3, 3, 0.01),
        _KEIJZER,
    ),
    Benchmark(
        "keijzer-13",
        2,
        "6 * sin(x1) * cos(x2)",
        six_sin_cos,
        Uniform(-3, 3, 20),
        Grid(-3, 3, 0.01),
        _KEIJZER,
    ),
    Benchmark(
        "keijzer-14",
        2,
        "8 / (2 + x1**2 + x2**2)",
        keijzer_14,
        Uniform(-3, 3, 20),
        Grid(-3, 3, 0.01),
        _KEIJZER,
    ),
    Benchmark(
        "keijzer-15",
        2,
        "x1**3/5 + x2**3/2 - x2 - x1",
        keijzer_15,
        Uniform(-3, 3, 20),
        Grid(-3, 3, 0.01),
        _KEIJZER,
    ),
    # ---- Vladislavleva et al. 2009 (their names in parentheses in the target docstrings).
    Benchmark(
        "vladislavleva-1",
        2,
        "exp(-(x1 - 1)**2) / (1.2 + (x2 - 2.5)**2)",
        vladislavleva_1,
        Uniform(0.3, 4, 100),
        Grid(-0.2, 4.2, 0.1),
        _VLAD,
    ),
    # E[0.05, 10, 0.1] ends at 9.95: 100 training points.
    Benchmark(
        "vladislavleva-2",
        1,
        _SALUSTOWICZ_TEXT,
        salustowicz_1d,
        Grid(0.05, 10, 0.1),
        Grid(-0.5, 10.5, 0.05),
        _VLAD,
    ),
    # x1 on E[0.05, 10, 0.1] (100 values) times x2 on E[0.05, 10.05, 2] (6 values): 600.
    Benchmark(
        "vladislavleva-3",
        2,
        f"{_SALUSTOWICZ_TEXT} * (x2 - 5)",
        vladislavleva_3,
        Grid(0.05, (10, 10.05), (0.1, 2)),
        Grid(-0.5, 10.5, (0.05, 0.5)),
        _VLAD,
    ),
    Benchmark(
        "vladislavleva-4",
        5,
        "10 / (5 + (x1 - 3)**2 + (x2 - 3)**2 + (x3 - 3)**2 + (x4 - 3)**2 + (x5 - 3)**2)",
        vladislavleva_4,
        Uniform(0.05, 6.05, 1024),
        Uniform(-0.25, 6.35, 5000),
        _VLAD,
    ),
    # x1, x3 in one range and x2 in another (x2 >= 0.95 keeps x2**2 away from 0).
    Benchmark(
        "vladislavleva-5",
        3,
        "30 * (x1 - 1) * (x3 - 1) / (x2**2 * (x1 - 10))",
        vladislavleva_5,
        Uniform((0.05, 1, 0.05), 2, 300),
        Grid((-0.05, 0.95, -0.05), (2.1, 2.05, 2.1), (0.15, 0.1, 0.15)),
        _VLAD,
    ),
    Benchmark(
        "vladislavleva-6",
        2,
        "6 * sin(x1) * cos(x2)",
        six_sin_cos,
        Uniform(0.1, 5.9, 30),
        Grid(-0.05, 6.05, 0.02),
        _VLAD,
    ),
    Benchmark(
        "vladislavleva-7",
        2,
        "(x1 - 3) * (x2 - 3) + 2 * sin((x1 - 4) * (x2 - 4))",
        vladislavleva_7,
        Uniform(0.05, 6.05, 300),
        Uniform(-0.25, 6.35, 1000),
        _VLAD,
    ),
    Benchmark(
        "vladislavleva-8",
        2,
        "((x1 - 3)**4 + (x2 - 3)**3 - (x2 - 3)) / ((x2 - 2)**4 + 10)",
        vladislavleva_8,
        Uniform(0.05, 6.05, 50),
        Grid(-0.25, 6.35, 0.2),
        _VLAD,
    ),
)

BENCHMARKS: dict[str, Benchmark] = {b.name: b for b in _TABLE}
"""Every benchmark, by canonical name (lower case, hyphenated: ``"nguyen-7"``)."""


def _normalize(name: str) -> str:
    """Drops case and separators: "Nguyen_7", "nguyen-7" and "NGUYEN 7" -> "nguyen7"."""
    return re.sub(r"[^a-z0-9]", "", name.lower())


_BY_NORMALIZED: dict[str, str] = {_normalize(n): n for n in BENCHMARKS}


def get_benchmark(name: str) -> Benchmark:
    """Looks up a benchmark, forgiving case and separators.

    Args:
        name: E.g. ``"koza-1"``, ``"Koza1"``, ``"koza_1"`` or ``"Nguyen-7"``.

    Returns:
        The :class:`Benchmark`.

    Raises:
        KeyError: For an unknown name; the message suggests the closest valid name
            and lists all of them.
    """
    canonical = _BY_NORMALIZED.get(_normalize(name))
    if canonical is not None:
        return BENCHMARKS[canonical]
    guess = re.sub(r"[\s_]+", "-", name.strip().lower())
    guess = re.sub(r"([a-z])(\d)", r"\1-\2", guess)  # "kozza1" -> "kozza-1"
    close = difflib.get_close_matches(guess, list(BENCHMARKS), n=1, cutoff=0.0)
    hint = f" Did you mean {close[0]!r}?" if close else ""
    raise KeyError(f"Unknown benchmark {name!r}.{hint} Valid names: {', '.join(BENCHMARKS)}")
