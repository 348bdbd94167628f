"""AI Feynman ground truth: exact symbolic recovery by gplearn, pyoperon and qd-engine.

The community benchmark for symbolic regression that knows the answer: the 100
equations of the AI Feynman database (``bench/data/feynman_equations.csv``; Udrescu &
Tegmark 2020), sampled and scored as SRBench's ground-truth track does (La Cava et al.
2021). For each (equation, seed): every variable uniform in its range, ``--n-train``
training and ``--n-test`` test points (SRBench trains on up to 10,000; the defaults,
1,000 and 1,000, suit a 2-core machine); at noise level ``l`` the training target gets
Gaussian noise of standard deviation ``l`` times its root mean square (SRBench's rule;
the test target stays clean). The same points serve every tool and noise level.

Scores per run: **exact recovery** (``bench/sr_recovery.py``: after rounding the
model's numbers, ``true - model`` or ``model / true`` simplifies to a constant; checked
only when test R^2 > 0.5, as SRBench does; a check that outlives
``--simplify-timeout`` is no recovery), test R^2 > 0.999, test R^2, model size in
nodes, fit wall time and evaluations (counted per tool as ``sr_compare.py`` tells).

Tools, each at the same budget of evaluations (``bench/sr_tools.py``, shared with
``sr_compare.py``): ``gplearn``, ``pyoperon`` (LM-tuned constants), ``qd``
(``QDSymbolicRegressor`` with its defaults), ``qd-parsimony`` (the defaults with
``model_selection="parsimony"``: the smallest elite within 5% of the best training
error, which is the formula that stops fitting noise), ``qd-tuned`` and ``qd-tune3``
(constant tuning with 10 or 3 formula calls a child; the default is off), and with
units (each variable's and the output's units from the AI Feynman units table,
``bench/data/feynman_units.csv``)
``qd-units`` (dimensional consistency as a constraint; ``qd-units-tuned`` with tuning)
and ``qd-units-axis`` (as the
``units`` axis of the map, beside size). All share one function set,
add, sub, mul, div, sin, cos, exp and log: an equation with ``sqrt``, ``arcsin`` or
``tanh`` can be recovered only through an equal expression in that set.

Usage::

    python bench/feynman.py --quick                    # smoke: 2 easy equations, small budget
    python bench/feynman.py --max-variables 3 --first 20 --budget 20000
    python bench/feynman.py --equations I.12.1 II.8.31 5 --tools qd pyoperon --seeds 3
    python bench/feynman.py --max-variables 3 --first 20 --tools qd qd-units qd-units-axis --noise 0
    python bench/feynman.py --dask-scheduler tcp://host:8786 --readme

Every finished run is written at once to the JSON of raw results (``--out``, default
``runs/feynman.json``), keyed by (equation, tool, seed, noise, budget, points); a rerun
skips runs already there, ``--fresh`` ignores them. ``--readme`` rewrites the section of
``bench/README.md`` between ``<!-- feynman:start -->`` and ``<!-- feynman:end -->``.
"""

from __future__ import annotations

import argparse
import csv
import os
import platform
import sys
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from functools import cache, partial
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from a checkout

import bench.sr_tools as sr_tools
from bench.sr_recovery import DEFAULT_TIMEOUT_S, parse, recovery, variable_symbols
from bench.sr_tools import (
    GplearnSqrtTool,
    GplearnTool,
    PyoperonSqrtTool,
    PyoperonTool,
    QDTool,
    command_line,
    error_text,
    load_rows,
    missing,
    r2,
    run_all,
    update_section,
    version,
)

ROOT = Path(__file__).resolve().parents[1]
EQUATIONS_CSV = ROOT / "bench" / "data" / "feynman_equations.csv"
UNITS_CSV = ROOT / "bench" / "data" / "feynman_units.csv"
UNIT_BASE = ("m", "s", "kg", "T", "V")
"""The base units of the AI Feynman units table: metre, second, kilogram, kelvin, volt."""
README = ROOT / "bench" / "README.md"
DEFAULT_OUT = Path("runs/feynman.json")
HIT_R2 = 0.999
CHECK_R2 = 0.5
"""SRBench checks a model for exact recovery only above this test R^2."""
DEFAULT_BUDGET = 20_000
DEFAULT_SEEDS = 1
DEFAULT_NOISE = (0.0, 0.01)
DEFAULT_TRAIN = 1_000
DEFAULT_TEST = 1_000
QUICK_EQUATIONS = ("I.12.1", "I.14.3")  # mu*Nn and m*g*z: products a search finds fast
QUICK_BUDGET = 2_000
QUICK_TRAIN = 200
QUICK_TEST = 200

WITH_SQRT = ("add", "sub", "mul", "div", "sin", "cos", "exp", "log", "sqrt")
"""The ``-sqrt`` tools' language: every tool's usual one and its protected sqrt|a|."""
TOOLS: dict[str, Callable[[], Any]] = {
    "gplearn": GplearnTool,
    "pyoperon": PyoperonTool,
    "qd": partial(QDTool, "qd"),
    "qd-parsimony": partial(QDTool, "qd-parsimony", model_selection="parsimony"),
    "qd-tuned": partial(QDTool, "qd-tuned", tune_constants=10),
    "qd-tune3": partial(QDTool, "qd-tune3", tune_constants=3),
    "qd-units": partial(QDTool, "qd-units"),
    "qd-units-tuned": partial(QDTool, "qd-units-tuned", tune_constants=10),
    "qd-units-axis": partial(QDTool, "qd-units-axis", descriptors=("size", "units")),
    "gplearn-sqrt": GplearnSqrtTool,
    "pyoperon-sqrt": PyoperonSqrtTool,
    "qd-sqrt": partial(QDTool, "qd-sqrt", functions=WITH_SQRT),
    "qd-units-sqrt": partial(QDTool, "qd-units-sqrt", functions=WITH_SQRT),
}
"""Every tool by name, in table order; a value makes a fresh, unfitted adapter."""
UNITS_TOOLS = frozenset({"qd-units", "qd-units-tuned", "qd-units-axis", "qd-units-sqrt"})
"""Tools given each equation's units (``equation_units``): the defaults with dimensional
analysis as a constraint (``qd-units``) or as the ``units`` axis of the map beside size
(``qd-units-axis``)."""


# --------------------------------------------------------------------------------------
# The equations and their data.
# --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Variable:
    """One input of an equation and the range it is sampled from, uniformly."""

    name: str
    low: float
    high: float


@dataclass(frozen=True)
class Equation:
    """One row of the AI Feynman table.

    Attributes:
        name: Its file name in the database (``I.6.2a``), how the bench names it.
        number: Its row number, 1 to 100.
        output: The name of the quantity it computes.
        formula: The right-hand side, as text (numpy spelling: ``arcsin``, ``ln``, ``pi``).
        variables: Its inputs in the table's order, which is the order of ``X``'s columns.
    """

    name: str
    number: int
    output: str
    formula: str
    variables: tuple[Variable, ...]

    @property
    def lows(self) -> dict[str, float]:
        """Each variable's low end: what the recovery check needs to know of the ranges."""
        return {v.name: v.low for v in self.variables}

    def expression(self):
        """The formula as a sympy expression (``pi`` is sympy's pi; parsed, never exec-ed)."""
        return parse(self.formula, variable_symbols(self.lows))

    def function(self) -> Callable[[np.ndarray], np.ndarray]:
        """``f(X)`` for ``X`` of shape ``(n, n_variables)``, by ``sympy.lambdify`` to numpy."""
        import sympy

        symbols = variable_symbols(self.lows)
        compiled = sympy.lambdify(
            [symbols[v.name] for v in self.variables], self.expression(), "numpy"
        )

        def f(X: np.ndarray) -> np.ndarray:
            values = compiled(*np.asarray(X, dtype=float).T)
            return np.broadcast_to(np.asarray(values, dtype=float), (len(X),)).copy()

        return f


@cache
def load_equations(path: Path = EQUATIONS_CSV) -> tuple[Equation, ...]:
    """The equations of the AI Feynman table, in its order.

    Raises:
        ValueError: A row whose variable count does not match the variables it lists.
    """
    with open(path, newline="") as handle:
        rows = list(csv.DictReader(handle))
    equations = []
    for row in rows:
        if not row.get("Filename"):
            continue
        count = int(row["# variables"])
        variables = tuple(
            Variable(row[f"v{i}_name"], float(row[f"v{i}_low"]), float(row[f"v{i}_high"]))
            for i in range(1, count + 1)
        )
        if not all(v.name for v in variables) or row.get(f"v{count + 1}_name"):
            raise ValueError(f"{path}: {row['Filename']} does not list {count} variables")
        equations.append(
            Equation(
                name=row["Filename"],
                number=int(row["Number"]),
                output=row["Output"],
                formula=row["Formula"],
                variables=variables,
            )
        )
    return tuple(equations)


def get_equation(key: str) -> Equation:
    """An equation by file name (``I.6.2a``) or row number (``1``).

    Raises:
        KeyError: No such equation (the message names a few that exist).
    """
    for equation in load_equations():
        if key in (equation.name, str(equation.number)):
            return equation
    names = [e.name for e in load_equations()]
    raise KeyError(
        f"no Feynman equation {key!r}: give a file name ({', '.join(names[:4])}, ...) or "
        f"a number 1-{len(names)}"
    )


@cache
def load_units(path: Path = UNITS_CSV) -> dict[str, dict[str, int]]:
    """The AI Feynman units table: each quantity's name -> ``{base unit: exponent}``.

    Raises:
        ValueError: A row whose exponents are not integers.
    """
    with open(path, newline="", encoding="utf-8-sig") as handle:
        rows = list(csv.DictReader(handle))
    table = {}
    for row in rows:
        if not row.get("Variable"):
            continue
        try:
            table[row["Variable"]] = {b: int(row[b]) for b in UNIT_BASE if int(row[b])}
        except (TypeError, ValueError):
            raise ValueError(f"{path}: {row['Variable']} has a non-integer exponent") from None
    return table


def equation_units(equation: Equation) -> dict[str, Any]:
    """``units`` (per column, in order) and ``target_units`` of an equation, from the table.

    Raises:
        KeyError: A variable or output the units table lacks (named).
    """
    table = load_units()
    names = [v.name for v in equation.variables] + [equation.output]
    lacking = [n for n in names if n not in table]
    if lacking:
        raise KeyError(f"{equation.name}: no units for {lacking} in {UNITS_CSV.name}")
    return {
        "units": [table[v.name] for v in equation.variables],
        "target_units": table[equation.output],
    }


@dataclass(frozen=True)
class Split:
    """One seed's data for one equation: training (maybe noisy) and clean test points."""

    X_train: np.ndarray
    y_train: np.ndarray
    X_test: np.ndarray
    y_test: np.ndarray


def make_data(
    equation: Equation,
    seed: int,
    *,
    n_train: int = DEFAULT_TRAIN,
    n_test: int = DEFAULT_TEST,
    noise: float = 0.0,
) -> Split:
    """Samples an equation as SRBench does, seeded by (equation number, seed).

    Every variable is uniform in its ``[low, high]``; the test target is the formula's
    value; the training target gets Gaussian noise of standard deviation ``noise`` times
    its root mean square. The points depend on (equation, seed) only, so every tool and
    every noise level sees the same ``X``; the noise has its own stream.
    """
    rng = np.random.default_rng([equation.number, seed])
    lows = np.array([v.low for v in equation.variables])
    highs = np.array([v.high for v in equation.variables])
    X = rng.uniform(lows, highs, size=(n_train + n_test, len(lows)))
    with np.errstate(all="ignore"):
        y = equation.function()(X)
    if not np.all(np.isfinite(y)):
        raise ValueError(f"{equation.name}: non-finite target values on its ranges")
    y_train, y_test = y[:n_train].copy(), y[n_train:]
    if noise > 0:
        noise_rng = np.random.default_rng([equation.number, seed, 1])
        scale = noise * float(np.sqrt(np.mean(np.square(y_train))))
        y_train += noise_rng.normal(0.0, scale, size=n_train)
    return Split(X[:n_train], y_train, X[n_train:], y_test)


# --------------------------------------------------------------------------------------
# One run.
# --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class RunSpec:
    """One independent run: a tool on one equation's data for a seed and noise level."""

    equation: str
    tool: str
    seed: int
    noise: float
    budget: int
    n_train: int
    n_test: int
    timeout: float = DEFAULT_TIMEOUT_S  # of the recovery check; not part of the key

    @property
    def key(self) -> str:
        return (
            f"{self.equation}|{self.tool}|{self.seed}|{self.noise:g}|{self.budget}"
            f"|{self.n_train}|{self.n_test}"
        )


def row_key(row: dict[str, Any]) -> str:
    """The key of a result row (the key of the spec that made it)."""
    fields = ("equation", "tool", "seed", "noise", "budget", "n_train", "n_test")
    return RunSpec(*(row[f] for f in fields)).key


def run_one(spec: RunSpec) -> dict[str, Any]:
    """Fits ``spec.tool``, scores it on the test set and checks exact recovery; never raises.

    Returns:
        A JSON-ready row: the spec's fields, ``recovered``, ``hit`` (test R^2 > 0.999),
        ``test_r2`` and ``train_r2`` (None for -inf), ``size``, ``evaluations``,
        ``wall_s`` (fit only), ``model`` (sympy text over the equation's variable
        names), ``recovery`` (the check's verdict, simplified model, difference, ratio,
        error and seconds; None when test R^2 <= 0.5), ``details`` and ``error``.
    """
    if str(ROOT) not in sys.path:  # a Dask worker started elsewhere
        sys.path.insert(0, str(ROOT))
    row: dict[str, Any] = {
        "equation": spec.equation,
        "tool": spec.tool,
        "seed": spec.seed,
        "noise": spec.noise,
        "budget": spec.budget,
        "n_train": spec.n_train,
        "n_test": spec.n_test,
        "version": version(spec.tool),
        "recovered": False,
        "hit": False,
        "test_r2": None,
        "train_r2": None,
        "size": None,
        "evaluations": None,
        "wall_s": None,
        "model": None,
        "recovery": None,
        "details": {},
        "error": None,
    }
    try:
        equation = get_equation(spec.equation)
        data = make_data(
            equation, spec.seed, n_train=spec.n_train, n_test=spec.n_test, noise=spec.noise
        )
        tool = TOOLS[spec.tool]()
        if spec.tool in UNITS_TOOLS:
            tool.params |= equation_units(equation)
        began = time.perf_counter()
        with np.errstate(all="ignore"):
            tool.fit(data.X_train, data.y_train, spec.budget, spec.seed)
            row["wall_s"] = time.perf_counter() - began
            test = r2(data.y_test, tool.predict(data.X_test))
            train = r2(data.y_train, tool.predict(data.X_train))
        row |= {
            "test_r2": test if np.isfinite(test) else None,
            "train_r2": train if np.isfinite(train) else None,
            "hit": bool(test > HIT_R2),
            "size": tool.size(),
            "evaluations": tool.evaluations(),
            "details": tool.details(),
            "model": tool.sympy_model([v.name for v in equation.variables]),
        }
        if test > CHECK_R2:
            verdict = recovery(row["model"], equation.formula, equation.lows, timeout=spec.timeout)
            row["recovery"] = verdict
            row["recovered"] = bool(verdict["recovered"])
    except Exception as error:
        row["error"] = error_text(error)
    return row


# --------------------------------------------------------------------------------------
# Tables.
# --------------------------------------------------------------------------------------


def _median(values: Iterable[float | None]) -> float | None:
    kept = [v for v in values if v is not None]
    return float(np.median(kept)) if kept else None


def _fmt(value: float | None, spec: str) -> str:
    return "-" if value is None else format(value, spec)


def _r2_text(value: float | None) -> str:
    if value is None:
        return "-inf"
    return f"{value:.4f}" if value > -1000 else f"{value:.3g}"


def summary_table(rows: Sequence[dict[str, Any]], tools: Sequence[str]) -> str:
    """Per tool: exact recoveries, R^2 > 0.999, median test R^2, size and fit wall time."""
    lines = [
        "| tool | exact recoveries | test R² > 0.999 | median test R² | median size "
        "| median wall s | timeouts |",
        "|---|---|---|---|---|---|---|",
    ]
    for tool in tools:
        mine = [r for r in rows if r["tool"] == tool]
        if not mine:
            continue
        ok = [r for r in mine if r["error"] is None]
        failed = f" ({len(mine) - len(ok)} failed)" if len(ok) < len(mine) else ""
        recovered = sum(r["recovered"] for r in mine)
        hits = sum(r["hit"] for r in mine)
        timeouts = sum(
            bool(r["recovery"] and str(r["recovery"].get("error", "")).startswith("timeout"))
            for r in mine
        )
        test = _median(float("-inf") if r["test_r2"] is None else r["test_r2"] for r in mine)
        lines.append(
            f"| {tool}{failed} | {recovered}/{len(mine)} | {hits}/{len(mine)} "
            f"| {_r2_text(test)} | {_fmt(_median(r['size'] for r in ok), '.0f')} "
            f"| {_fmt(_median(r['wall_s'] for r in ok), '.1f')} | {timeouts} |"
        )
    return "\n".join(lines)


def _cell(rows: Sequence[dict[str, Any]]) -> str:
    """One equation's runs of one tool at one noise level: ✓ when recovered, median R^2."""
    if not rows:
        return ""
    test = _median(float("-inf") if r["test_r2"] is None else r["test_r2"] for r in rows)
    recovered = sum(r["recovered"] for r in rows)
    text = _r2_text(test)
    if len(rows) == 1:
        return f"✓ {text}" if recovered else text
    return f"{recovered}/{len(rows)} ✓ {text}"


def equation_table(
    rows: Sequence[dict[str, Any]],
    equations: Sequence[str],
    tools: Sequence[str],
    noises: Sequence[float],
) -> str:
    """Per equation and tool, each noise level: ✓ for exact recovery, the median test R^2."""
    header = "| equation | formula | " + " | ".join(tools) + " |"
    lines = [header, "|---|---|" + "---|" * len(tools)]
    for name in equations:
        equation = get_equation(name)
        cells = []
        for tool in tools:
            mine = [r for r in rows if (r["equation"], r["tool"]) == (name, tool)]
            per_noise = [_cell([r for r in mine if r["noise"] == n]) for n in noises]
            cells.append(" / ".join(per_noise))
        lines.append(f"| {name} | `{equation.formula}` | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def render(
    rows: Sequence[dict[str, Any]],
    equations: Sequence[str],
    tools: Sequence[str],
    noises: Sequence[float],
    *,
    budget: int,
    seeds: int,
    n_train: int,
    n_test: int,
) -> str:
    """The whole markdown report: settings, a summary per noise level, the equation table."""
    chosen = [
        r
        for r in rows
        if r["equation"] in equations
        and r["tool"] in tools
        and r["noise"] in noises
        and (r["budget"], r["n_train"], r["n_test"]) == (budget, n_train, n_test)
    ]
    parts = [
        f"{len(equations)} equation(s), {seeds} seed(s), {budget:,} evaluations per run, "
        f"{n_train:,} training and {n_test:,} test points; exact recovery as SRBench "
        f"scores it (checked when test R² > {CHECK_R2}); size in nodes; wall time of fit."
    ]
    for noise in noises:
        mine = [r for r in chosen if r["noise"] == noise]
        parts.append(f"### Noise {noise:g}\n\n{summary_table(mine, tools)}")
    parts.append(
        "### Per equation\n\n"
        "Median test R² per tool, ✓ where the model recovers the formula exactly; "
        f"noise {' / '.join(f'{n:g}' for n in noises)}.\n\n"
        + equation_table(chosen, equations, tools, noises)
    )
    failures = [r for r in chosen if r["error"]]
    if failures:
        parts.append(
            "Failed runs:\n\n"
            + "\n".join(
                f"- {r['equation']} {r['tool']} seed {r['seed']} noise {r['noise']:g}: {r['error']}"
                for r in failures
            )
        )
    return "\n\n".join(parts)


# --------------------------------------------------------------------------------------
# Command line.
# --------------------------------------------------------------------------------------


def save_rows(path: Path, rows: Sequence[dict[str, Any]]) -> None:
    """Writes the raw results (every row, finished or failed) atomically."""
    sr_tools.save_rows(path, rows, bench="feynman", hit_threshold=HIT_R2, check_r2=CHECK_R2)


def choose_equations(
    keys: Sequence[str] | None, *, max_variables: int | None, first: int | None
) -> list[str]:
    """The equations to run: named ones, or the table's, at most ``max_variables`` wide,
    the first ``first`` of them.

    Raises:
        KeyError: A key names no equation.
    """
    chosen = [get_equation(k) for k in keys] if keys else list(load_equations())
    if max_variables is not None:
        chosen = [e for e in chosen if len(e.variables) <= max_variables]
    if first is not None:
        chosen = chosen[:first]
    return [e.name for e in chosen]


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--equations", nargs="+", help="file names (I.6.2a) or numbers (1-100); default all"
    )
    parser.add_argument("--max-variables", type=int, help="only equations this wide or less")
    parser.add_argument("--first", type=int, help="only the first N of the chosen equations")
    parser.add_argument("--tools", nargs="+", choices=list(TOOLS), help="default: all")
    parser.add_argument(
        "--report-only",
        action="store_true",
        help="run nothing: the tables of the runs already in --out (a run that never "
        "finished, such as one stopped by hand, is named and left out)",
    )
    parser.add_argument("--seeds", type=int, help=f"seeds 0..n-1 ({DEFAULT_SEEDS})")
    parser.add_argument(
        "--noise", type=float, nargs="+", help=f"noise levels ({' '.join(map(str, DEFAULT_NOISE))})"
    )
    parser.add_argument("--budget", type=int, help=f"evaluations per run ({DEFAULT_BUDGET:,})")
    parser.add_argument("--n-train", type=int, help=f"training points ({DEFAULT_TRAIN:,})")
    parser.add_argument("--n-test", type=int, help=f"test points ({DEFAULT_TEST:,})")
    parser.add_argument(
        "--simplify-timeout",
        type=float,
        default=DEFAULT_TIMEOUT_S,
        help=f"seconds the recovery check may take ({DEFAULT_TIMEOUT_S:g}); over: not recovered",
    )
    parser.add_argument(
        "--quick",
        action="store_true",
        help=f"smoke run: {' '.join(QUICK_EQUATIONS)}, noise 0, 1 seed, {QUICK_BUDGET:,} "
        f"evaluations, {QUICK_TRAIN} points (explicit options win)",
    )
    parser.add_argument("--workers", type=int, default=1, help="LocalCluster workers (1: serial)")
    parser.add_argument("--dask-scheduler", help="address of a running Dask scheduler")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help=f"({DEFAULT_OUT})")
    parser.add_argument("--fresh", action="store_true", help="rerun runs already in --out")
    parser.add_argument("--readme", action="store_true", help=f"rewrite the section in {README}")
    args = parser.parse_args(argv)

    quick = args.quick
    seeds = args.seeds or DEFAULT_SEEDS
    budget = args.budget or (QUICK_BUDGET if quick else DEFAULT_BUDGET)
    n_train = args.n_train or (QUICK_TRAIN if quick else DEFAULT_TRAIN)
    n_test = args.n_test or (QUICK_TEST if quick else DEFAULT_TEST)
    noises = args.noise if args.noise is not None else ([0.0] if quick else list(DEFAULT_NOISE))
    if min(seeds, budget, n_train, n_test, args.workers) < 1 or min(noises) < 0:
        parser.error("--seeds, --budget, --n-train, --n-test and --workers must be at least 1")
    try:
        keys = args.equations or (list(QUICK_EQUATIONS) if quick else None)
        equations = choose_equations(keys, max_variables=args.max_variables, first=args.first)
    except KeyError as error:
        parser.error(str(error.args[0]))
    if not equations:
        parser.error("no equation left: loosen --max-variables or --first")

    tools, skipped = [], {}
    for tool in args.tools or TOOLS:
        reason = missing(tool)
        if reason:
            skipped.setdefault(reason, []).append(tool)
        else:
            tools.append(tool)
    for reason, names in skipped.items():
        print(f"note: skipping {', '.join(names)}: {reason}")
    if not tools:
        print("no tool can run here: install the bench extra (pip install -e '.[bench]')")
        return 1

    rows = [] if args.fresh else load_rows(args.out)
    kept = {row_key(r): r for r in rows if r["error"] is None}  # failed runs run again
    specs = [
        RunSpec(name, tool, seed, noise, budget, n_train, n_test, args.simplify_timeout)
        for name in equations
        for seed in range(seeds)
        for noise in noises
        for tool in tools
    ]
    todo = [s for s in specs if s.key not in kept]
    print(
        f"{len(specs)} runs ({len(equations)} equations x {len(tools)} tools x {seeds} seeds "
        f"x {len(noises)} noise levels, {budget:,} evaluations, {n_train:,} training points "
        f"each); {len(specs) - len(todo)} already in {args.out}; "
        f"{'serial' if args.workers == 1 and not args.dask_scheduler else 'Dask'}, "
        f"{os.cpu_count()} CPUs ({platform.processor() or platform.machine()})"
    )

    results = {row_key(r): r for r in rows}  # other settings' rows stay in the file

    def done(row: dict[str, Any]) -> None:
        results[row_key(row)] = row
        save_rows(args.out, list(results.values()))

    if args.report_only:
        missing_runs = [s for s in todo if s.key not in results]
        if missing_runs:
            print(
                f"--report-only: {len(missing_runs)} run(s) not in {args.out} are left out "
                f"of the tables: {', '.join(f'{s.equation} {s.tool}' for s in missing_runs)}"
            )
    elif todo:
        run_all(
            todo,
            run_one,
            workers=args.workers,
            scheduler=args.dask_scheduler,
            done=done,
            desc="feynman",
            label=lambda row: (
                f"{row['equation']} {row['tool']} noise {row['noise']:g}"
                f"{' recovered' if row['recovered'] else ''}"
            ),
        )

    wanted = [results[s.key] for s in specs if s.key in results]
    report = render(
        wanted,
        equations,
        tools,
        noises,
        budget=budget,
        seeds=seeds,
        n_train=n_train,
        n_test=n_test,
    )
    print()
    print(report)
    print(f"\nraw results: {args.out}")
    if args.readme:
        update_section(README, "feynman", f"`{command_line('feynman.py', argv)}`\n\n{report}")
        print(f"updated {README}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
