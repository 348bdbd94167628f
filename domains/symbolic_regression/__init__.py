"""Symbolic regression with DEAP GP: benchmarks as data, compiled fitness, QD maps.

``QDSymbolicRegressor`` (the scikit-learn estimator) is imported on first use, so a run
of the domain from a config does not pay for scikit-learn's import.
"""

from typing import Any

from domains.symbolic_regression.kernel_cache import drop_stale_kernels

drop_stale_kernels()  # before any kernel loads from numba's cache (see kernel_cache)

from domains.symbolic_regression.benchmarks import BENCHMARKS, Benchmark, get_benchmark  # noqa: E402
from domains.symbolic_regression.domain import SymbolicRegression  # noqa: E402
from domains.symbolic_regression.fitting import nrmse  # noqa: E402

__all__ = [
    "BENCHMARKS",
    "Benchmark",
    "QDSymbolicRegressor",
    "SymbolicRegression",
    "get_benchmark",
    "nrmse",
]


def __getattr__(name: str) -> Any:
    if name == "QDSymbolicRegressor":
        from domains.symbolic_regression.estimator import QDSymbolicRegressor

        return QDSymbolicRegressor
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
