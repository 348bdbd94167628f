"""What the symbolic-regression benches share: tool adapters, the R^2 metric, results files.

``sr_compare.py`` (named problems, test R^2) and ``feynman.py`` (AI Feynman, exact
symbolic recovery) run the same three tools the same way, so that a budget means the
same thing in both: the adapters, how each counts its evaluations, the metric, the
resumable JSON of raw results, the marked README section and the serial-or-Dask loop
live here once.

Every adapter has ``fit(X, y, budget, seed)``, ``predict(X)``, ``size()``,
``evaluations()``, ``details()`` (extra numbers for the JSON) and
``sympy_model(names)``: the fitted model as text that ``sympy.sympify`` reads, over the
given variable names, with each tool's protected operators written as the plain
functions they equal away from their guards (division as ``/``, a protected log as
``log(Abs(a))``), as SRBench reads every tool's model. What one evaluation is for each
tool is told in ``sr_compare.py``'s docstring.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from qd.runs.directory import atomic_write

QD_ESTIMATOR = "domains.symbolic_regression.estimator"
_REQUIRES = {"gplearn": "gplearn.genetic", "pyoperon": "pyoperon.sklearn"}


# --------------------------------------------------------------------------------------
# Tools: one adapter class each.
# --------------------------------------------------------------------------------------


def _guarded_exp(x: np.ndarray) -> np.ndarray:
    """exp(min(x, 100)): finite for every finite input, as gplearn's closure check wants."""
    with np.errstate(over="ignore"):
        return np.exp(np.minimum(x, 100.0))


_GPLEARN_INFIX = {
    "add": "({} + {})",
    "sub": "({} - {})",
    "mul": "({} * {})",
    "div": "({} / {})",
    "sin": "sin({})",
    "cos": "cos({})",
    "exp": "exp({})",
    "log": "log(Abs({}))",
    "sqrt": "sqrt(Abs({}))",
}


class GplearnTool:
    """gplearn's ``SymbolicRegressor``: population x generations = budget.

    Attributes:
        name: Tool name in tables and JSON.
        population: Population size (the budget is split into generations of this many).
    """

    name = "gplearn"
    population = 500
    sqrt = False  # gplearn's protected sqrt (sqrt|a|) in the function set

    def fit(self, X: np.ndarray, y: np.ndarray, budget: int, seed: int) -> None:
        from gplearn.functions import make_function
        from gplearn.genetic import SymbolicRegressor

        population = min(self.population, budget)
        exp = make_function(function=_guarded_exp, name="exp", arity=1, wrap=False)
        self.model = SymbolicRegressor(
            population_size=population,
            generations=max(1, budget // population),
            function_set=("add", "sub", "mul", "div", "sin", "cos", exp, "log")
            + (("sqrt",) if self.sqrt else ()),
            random_state=seed,
            n_jobs=1,
        )
        self.model.fit(X, y)

    def predict(self, X: np.ndarray) -> np.ndarray:
        return self.model.predict(X)

    def size(self) -> int:
        return int(self.model._program.length_)

    def evaluations(self) -> int:
        """Programs scored: one population per generation actually run."""
        return len(self.model.run_details_["generation"]) * self.model.population_size

    def details(self) -> dict[str, Any]:
        return {
            "generations": len(self.model.run_details_["generation"]),
            "model": str(self.model._program),
        }

    def sympy_model(self, names: Sequence[str]) -> str:
        """The program in infix, read from its prefix node list (nothing is evaluated).

        gplearn's protected division and log (guarded where the operand is within 0.001
        of 0) become ``a / b`` and ``log(Abs(a))``, its exp here ``exp(min(a, 100))``
        becomes ``exp(a)``; SRBench reads gplearn's models the same way.
        """
        return gplearn_infix(self.model._program.program, names)


def gplearn_infix(program: Sequence[Any], names: Sequence[str]) -> str:
    """A gplearn program (prefix list of functions, feature indices and floats) in infix.

    Args:
        program: ``SymbolicRegressor._program.program``: ``_Function`` nodes (with
            ``name`` and ``arity``), ``int`` feature indices and ``float`` constants.
        names: Variable name of each feature index.

    Returns:
        Text that ``sympy.sympify`` reads with ``names`` as symbols.
    """
    position = 0

    def node() -> str:
        nonlocal position
        item = program[position]
        position += 1
        if isinstance(item, (int, np.integer)):
            return names[int(item)]
        if isinstance(item, (float, np.floating)):
            return f"({float(item)!r})"
        operands = [node() for _ in range(item.arity)]
        return _GPLEARN_INFIX[item.name].format(*operands)

    text = node()
    if position != len(program):
        raise ValueError(f"gplearn program has {len(program) - position} node(s) left over")
    return text


class PyoperonTool:
    """pyoperon's ``SymbolicRegressor`` with Levenberg-Marquardt coefficient tuning.

    Attributes:
        name: Tool name in tables and JSON.
        population: Population size (pool size is the same).
        optimizer_iterations: LM iterations per offspring (0 would turn tuning off).
    """

    name = "pyoperon"
    population = 500
    optimizer_iterations = 10
    symbols = "add,sub,mul,div,sin,cos,exp,log,constant,variable"
    """With ``sqrtabs`` added for a language with roots: operon's sqrt|a|, as ours."""

    def fit(
        self, X: np.ndarray, y: np.ndarray, budget: int, seed: int, seconds: float | None = None
    ) -> None:
        from pyoperon.sklearn import SymbolicRegressor

        self.model = SymbolicRegressor(
            allowed_symbols=self.symbols,
            optimizer="lm",
            optimizer_iterations=self.optimizer_iterations,
            population_size=self.population,
            generations=budget,  # never the binding limit: max_evaluations is
            max_evaluations=budget,
            max_time=None if seconds is None else max(1, round(seconds)),  # whole seconds
            random_state=seed,
            n_threads=1,
        )
        self.model.fit(X, y)

    def predict(self, X: np.ndarray) -> np.ndarray:
        return self.model.predict(X)

    def size(self) -> int:
        return int(self.model.stats_["model_length"])

    def evaluations(self) -> int:
        """Residual plus Jacobian evaluations: what operon checks against its budget."""
        stats = self.model.stats_
        return int(stats["residual_evaluations"] + stats["jacobian_evaluations"])

    def details(self) -> dict[str, Any]:
        stats = self.model.stats_
        keys = ("evaluation_count", "residual_evaluations", "jacobian_evaluations", "generations")
        return {key: int(stats[key]) for key in keys} | {
            "model": self.model.get_model_string(self.model.model_, 4)
        }

    def sympy_model(self, names: Sequence[str]) -> str:
        """Operon's own model string at full precision (its operators are unprotected)."""
        text = self.model.get_model_string(self.model.model_, 17, list(names))
        return text.replace("^", "**")


class GplearnSqrtTool(GplearnTool):
    """:class:`GplearnTool` with gplearn's protected ``sqrt`` (sqrt|a|) in the language."""

    name = "gplearn-sqrt"
    sqrt = True


class PyoperonSqrtTool(PyoperonTool):
    """:class:`PyoperonTool` with operon's ``sqrtabs`` (sqrt|a|) in the language."""

    name = "pyoperon-sqrt"
    symbols = "add,sub,mul,div,sin,cos,exp,log,sqrtabs,constant,variable"


class QDTool:
    """qd-engine's ``QDSymbolicRegressor`` (imported when fitting, so the bench runs without it).

    Args:
        name: Tool name in tables and JSON.
        **params: Estimator parameters other than the budget and the seed (``parents``,
            ``tune_constants``, ...); none means the estimator's defaults.
    """

    def __init__(self, name: str, **params: Any) -> None:
        self.name = name
        self.params = params

    def fit(
        self, X: np.ndarray, y: np.ndarray, budget: int, seed: int, seconds: float | None = None
    ) -> None:
        from domains.symbolic_regression.estimator import QDSymbolicRegressor

        self.model = QDSymbolicRegressor(
            max_evaluations=budget, max_time=seconds, random_state=seed, **self.params
        )
        self.model.fit(X, y)

    def predict(self, X: np.ndarray) -> np.ndarray:
        return self.model.predict(X)

    def size(self) -> int:
        return int(self.model.best_.size)

    def evaluations(self) -> int:
        return int(self.model.n_evaluations_)

    def details(self) -> dict[str, Any]:
        return {"model": str(self.model.best_)}

    def sympy_model(self, names: Sequence[str]) -> str:
        """``best_`` exported without guards (``to_sympy(exact=False)``), ``x1..xn`` renamed.

        The guard-free form equals the scored model on the training box, which the pole
        check keeps free of poles.
        """
        import sympy

        expression = self.model.best_.to_sympy(exact=False)  # no Abs where one-signed
        rename = {
            symbol: sympy.Symbol(names[int(symbol.name[1:]) - 1])
            for symbol in expression.free_symbols
        }
        return str(expression.xreplace(rename))


def missing(tool: str) -> str | None:
    """Why ``tool`` cannot run here (its import error), or None when it can."""
    module = _REQUIRES.get(tool.split("-")[0], QD_ESTIMATOR)
    try:
        __import__(module)
    except Exception as error:  # ImportError, or a broken install
        return f"cannot import {module} ({type(error).__name__}: {error})"
    return None


def version(tool: str) -> str:
    """The installed version of the package behind ``tool`` (qd-engine for ``qd-*``)."""
    from importlib.metadata import PackageNotFoundError
    from importlib.metadata import version as package_version

    package = tool.split("-")[0]
    try:
        return package_version(package if package in _REQUIRES else "qd-engine")
    except PackageNotFoundError:
        return "unknown"


# --------------------------------------------------------------------------------------
# The one accuracy metric.
# --------------------------------------------------------------------------------------


def r2(y_true: np.ndarray, y_pred: np.ndarray) -> float:
    """R^2 of ``y_pred``; -inf when any prediction is non-finite (or the score overflows)."""
    from sklearn.metrics import r2_score

    y_pred = np.asarray(y_pred, dtype=float).reshape(-1)
    if y_pred.shape != np.shape(y_true) or not np.all(np.isfinite(y_pred)):
        return float("-inf")
    with np.errstate(all="ignore"):
        score = float(r2_score(y_true, y_pred))
    return score if np.isfinite(score) else float("-inf")


def error_text(error: BaseException) -> str:
    """An exception as one line for the JSON: its type, message and where it was raised."""
    import traceback

    where = traceback.extract_tb(error.__traceback__)[-1]
    return f"{type(error).__name__}: {error} (at {Path(where.filename).name}:{where.lineno})"


# --------------------------------------------------------------------------------------
# Results file, README section, scheduling.
# --------------------------------------------------------------------------------------


def load_rows(path: Path) -> list[dict[str, Any]]:
    """The rows in the results file, or none if it does not exist yet."""
    if not path.exists():
        return []
    return json.loads(path.read_text())["runs"]


def save_rows(path: Path, rows: Sequence[dict[str, Any]], **header: Any) -> None:
    """Writes ``header`` and the rows atomically (a killed bench leaves the last good file)."""
    document = {**header, "runs": list(rows)}
    atomic_write(path, json.dumps(document, indent=1, allow_nan=False) + "\n")


def markers(name: str) -> tuple[str, str]:
    """The HTML comments that bracket bench ``name``'s section of a README."""
    return f"<!-- {name}:start -->", f"<!-- {name}:end -->"


def update_section(path: Path, name: str, section: str) -> None:
    """Replaces bench ``name``'s marked section of ``path`` (appends one if it has none)."""
    start_mark, end_mark = markers(name)
    block = f"{start_mark}\n{section}\n{end_mark}"
    text = path.read_text() if path.exists() else "# Benches\n"
    start, end = text.find(start_mark), text.find(end_mark)
    if start >= 0 and end > start:
        text = text[:start] + block + text[end + len(end_mark) :]
    else:
        text = text.rstrip("\n") + "\n\n" + block + "\n"
    atomic_write(path, text)


def run_all(
    specs: Sequence[Any],
    run: Callable[[Any], dict[str, Any]],
    *,
    workers: int,
    scheduler: str | None,
    done: Callable[[dict[str, Any]], None],
    desc: str,
    label: Callable[[dict[str, Any]], str],
) -> None:
    """Runs ``run(spec)`` for every spec: in process, on a LocalCluster, or on a scheduler.

    Args:
        specs: The runs still to do.
        run: Fits and scores one spec; never raises (a failure is a row with its error).
        workers: LocalCluster worker processes (1 and no scheduler: in this process).
        scheduler: Address of a running Dask scheduler, or None.
        done: Called with each finished row as it arrives (the caller saves it at once).
        desc: The progress bar's title.
        label: What the progress bar shows of the last finished row.
    """
    from tqdm import tqdm

    progress = tqdm(total=len(specs), unit="run", desc=desc, dynamic_ncols=True)

    def finished(row: dict[str, Any]) -> None:
        done(row)
        progress.set_postfix_str(label(row))
        progress.update()

    try:
        if workers <= 1 and not scheduler:
            for spec in specs:
                finished(run(spec))
            return
        from distributed import Client, LocalCluster, as_completed

        cluster = None
        if not scheduler:
            cluster = LocalCluster(
                n_workers=workers,
                threads_per_worker=1,
                processes=True,
                dashboard_address=None,
                silence_logs=logging.WARNING,
            )
        try:
            with Client(scheduler or cluster) as client:
                futures = [client.submit(run, spec, pure=False) for spec in specs]
                for future in as_completed(futures):
                    finished(future.result())
        finally:
            if cluster is not None:
                cluster.close()
    finally:
        progress.close()


def command_line(script: str, argv: Sequence[str] | None) -> str:
    """The command that ran ``script`` with ``argv`` (``sys.argv`` when None), for READMEs."""
    import sys

    args = sys.argv[1:] if argv is None else list(argv)
    return re.sub(r"\s+", " ", f"python bench/{script} {' '.join(args)}").strip()
