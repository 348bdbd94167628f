"""Symbolic regression with DEAP GP: benchmarks as data, vectorised fitness, QD maps."""

from domains.symbolic_regression.benchmarks import BENCHMARKS, Benchmark, get_benchmark
from domains.symbolic_regression.domain import SymbolicRegression
from domains.symbolic_regression.fitting import nrmse

__all__ = ["BENCHMARKS", "Benchmark", "SymbolicRegression", "get_benchmark", "nrmse"]
