"""Symbolic-regression tools side by side at equal evaluation budgets.

Runs gplearn, pyoperon and three qd-engine variants on the same named ground-truth
problems (``domains.symbolic_regression.benchmarks``), each tool with the same budget of
evaluations and, for every (problem, seed), the same train/test split
(``Benchmark.make_data(seed)``). One metric function scores every tool: R^2 on the test
set (``sklearn.metrics.r2_score``; a model with any non-finite prediction gets -inf), a
*hit* is test R^2 > 0.999. It prints a markdown table per problem (median test R^2 with
[min, max], hits k/n, median train R^2, median model size in nodes, evaluations per
second of fit wall time, median fit wall time) and a summary: the median of the
per-problem medians, total hits, and on how many problems each qd variant's median test
R^2 is at least pyoperon's.

Usage::

    python bench/sr_compare.py --quick                 # smoke: 2 problems, 2 seeds, 3,000 evals
    python bench/sr_compare.py --workers 2             # 9 problems, 5 seeds, 50,000 evals
    python bench/sr_compare.py --problems koza-1 pagie-1 --tools gplearn pyoperon --seeds 10
    python bench/sr_compare.py --dask-scheduler tcp://host:8786 --readme
    python bench/sr_compare.py --seconds 10 --tools pyoperon qd-uniform-co  # equal wall time

Every finished run is written at once to the JSON file of raw results (``--out``, default
``runs/sr_compare.json``), keyed by (problem, tool, seed, budget); a rerun skips the runs
already there (resume), ``--fresh`` ignores them. ``--readme`` rewrites the section of
``bench/README.md`` between ``<!-- sr_compare:start -->`` and ``<!-- sr_compare:end -->``.

What an evaluation is, per tool (each is one pass of one model over the training set,
counted as the tool itself reports it):

* ``gplearn``: programs scored. ``SymbolicRegressor(population_size=500,
  generations=budget // 500)`` scores the whole population every generation, so it spends
  exactly the budget unless it stops early on an exact fit. Function set add, sub, mul,
  div, sin, cos, log (gplearn's protected versions) and exp, which gplearn lacks: made with
  ``make_function`` as ``exp(min(x, 100))``, so it is closed on all inputs.
* ``pyoperon``: ``SymbolicRegressor(max_evaluations=budget, optimizer_iterations=10)``:
  Levenberg-Marquardt tuning of each offspring's coefficients, 10 iterations at most.
  Operon's budget is ``Evaluator.TotalEvaluations() = ResidualEvaluations +
  JacobianEvaluations`` (checked ``>= Budget`` between offspring): every fitness call costs
  one residual evaluation, and every optimiser iteration costs residual and Jacobian
  evaluations, so coefficient tuning *does* count against ``max_evaluations`` (with
  10 iterations, about a quarter of the evaluations on koza-1 are fitness calls). We report
  ``stats_["residual_evaluations"] + stats_["jacobian_evaluations"]``; ``stats_
  ["evaluation_count"]`` (fitness calls, individuals scored) is kept in the JSON. Same
  function set (``allowed_symbols``; operon's div, log and exp are unprotected: a NaN
  prediction on the test set scores -inf). Size is ``stats_["model_length"]``: the nodes
  of the returned tree including the 4 nodes of its linear scaling (``a * f(x) + b``).
* ``qd-uniform``, ``qd-uniform-co3``, ``qd-uniform-co``, ``qd-pimp-co``:
  ``domains.symbolic_regression.estimator.QDSymbolicRegressor(max_evaluations=budget,
  ...)`` with uniform or PIMP (mate choice) parents, constant tuning off
  (``tune_constants=0``), budgeted (3 calls a child) or on (10, the default); evaluations are its
  ``n_evaluations_`` (constant optimisation included), size ``best_.size``. Skipped,
  with a note, where that module does not import.

nguyen-2 is the same formula and sampling as koza-1, so the default set leaves it out.
Wall time is the time of ``fit`` alone, in the process that ran it (one thread); on a
busy machine it is noisy, the R^2 columns are not. The tool adapters, the metric and
the results file are shared with ``feynman.py`` (``bench/sr_tools.py``).
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from a checkout

import bench.sr_tools as sr_tools
from bench.sr_tools import (
    GplearnTool,
    PyoperonTool,
    QDTool,
    command_line,
    error_text,
    load_rows,
    markers,
    missing,
    r2,
    run_all,
    update_section,
    version,
)
from domains.symbolic_regression.benchmarks import get_benchmark

ROOT = Path(__file__).resolve().parents[1]
HIT_R2 = 0.999
DEFAULT_BUDGET = 50_000
DEFAULT_SEEDS = 5
DEFAULT_PROBLEMS = (
    "koza-1",
    "koza-3",
    "nguyen-5",
    "nguyen-7",
    "keijzer-4",
    "keijzer-6",
    "keijzer-11",
    "pagie-1",
    "vladislavleva-4",
)
QUICK_PROBLEMS = ("koza-1", "nguyen-7")
QUICK_SEEDS = 2
QUICK_BUDGET = 3_000
TIMED_BUDGET = 1_000_000_000  # with --seconds: time is the limit, not evaluations
DEFAULT_OUT = Path("runs/sr_compare.json")
README = ROOT / "bench" / "README.md"
MARK_START, MARK_END = markers("sr_compare")


TOOLS: dict[str, Callable[[], Any]] = {
    "gplearn": GplearnTool,
    "pyoperon": PyoperonTool,
    "qd-uniform": partial(QDTool, "qd-uniform", parents="uniform", tune_constants=0),
    "qd-uniform-co": partial(QDTool, "qd-uniform-co", parents="uniform", tune_constants=10),
    "qd-uniform-co3": partial(QDTool, "qd-uniform-co3", parents="uniform", tune_constants=3),
    "qd-pimp-co": partial(QDTool, "qd-pimp-co", parents="pimp", tune_constants=10),
}
"""Every tool by name, in table order; a value makes a fresh, unfitted adapter."""

# --------------------------------------------------------------------------------------
# One run (the metric, r2, is shared: bench/sr_tools.py).
# --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class RunSpec:
    """One independent run: a tool on one problem's split for one seed, with a budget."""

    problem: str
    tool: str
    seed: int
    budget: int
    seconds: float | None = None

    @property
    def key(self) -> str:
        limit = f"{self.budget}" if self.seconds is None else f"{self.budget}|{self.seconds}s"
        return f"{self.problem}|{self.tool}|{self.seed}|{limit}"


def run_one(spec: RunSpec) -> dict[str, Any]:
    """Fits ``spec.tool`` on the training split and scores it; never raises.

    Returns:
        A JSON-ready row: the spec, ``test_r2`` and ``train_r2`` (None for -inf),
        ``hit``, ``size``, ``evaluations``, ``wall_s`` (fit only), ``details`` and
        ``error`` (None, or the exception and the last lines of its traceback).
    """
    if str(ROOT) not in sys.path:  # a Dask worker started elsewhere
        sys.path.insert(0, str(ROOT))
    row: dict[str, Any] = {
        "problem": spec.problem,
        "tool": spec.tool,
        "seed": spec.seed,
        "budget": spec.budget,
        "seconds": spec.seconds,
        "version": version(spec.tool),
        "test_r2": None,
        "train_r2": None,
        "hit": False,
        "size": None,
        "evaluations": None,
        "wall_s": None,
        "details": {},
        "error": None,
    }
    try:
        data = get_benchmark(spec.problem).make_data(spec.seed)
        tool = TOOLS[spec.tool]()
        began = time.perf_counter()
        with np.errstate(all="ignore"):
            if spec.seconds is None:
                tool.fit(data.X_train, data.y_train, spec.budget, spec.seed)
            else:
                tool.fit(data.X_train, data.y_train, spec.budget, spec.seed, seconds=spec.seconds)
            row["wall_s"] = time.perf_counter() - began
            test, train = (
                r2(data.y_test, tool.predict(data.X_test)),
                r2(data.y_train, tool.predict(data.X_train)),
            )
        row |= {
            "test_r2": test if np.isfinite(test) else None,
            "train_r2": train if np.isfinite(train) else None,
            "hit": bool(test > HIT_R2),
            "size": tool.size(),
            "evaluations": tool.evaluations(),
            "details": tool.details(),
        }
    except Exception as error:
        row["error"] = error_text(error)
    return row


# --------------------------------------------------------------------------------------
# Tables.
# --------------------------------------------------------------------------------------


def _score(value: float | None) -> float:
    return float("-inf") if value is None else float(value)


@dataclass(frozen=True)
class Cell:
    """The runs of one tool on one problem, summarised (failed runs score -inf)."""

    n: int
    failed: int
    test_median: float
    test_min: float
    test_max: float
    train_median: float
    hits: int
    size_median: float | None
    evals_per_s: float | None
    wall_median: float | None

    @classmethod
    def of(cls, rows: Sequence[dict[str, Any]]) -> Cell:
        test = [_score(r["test_r2"]) for r in rows]
        train = [_score(r["train_r2"]) for r in rows]
        ok = [r for r in rows if r["error"] is None]
        wall = sum(r["wall_s"] for r in ok)
        return cls(
            n=len(rows),
            failed=len(rows) - len(ok),
            test_median=float(np.median(test)),
            test_min=min(test),
            test_max=max(test),
            train_median=float(np.median(train)),
            hits=sum(bool(r["hit"]) for r in rows),
            size_median=float(np.median([r["size"] for r in ok])) if ok else None,
            evals_per_s=sum(r["evaluations"] for r in ok) / wall if ok and wall > 0 else None,
            wall_median=float(np.median([r["wall_s"] for r in ok])) if ok else None,
        )


def fmt_r2(value: float) -> str:
    """Four decimals, or three significant digits below -1000; -inf as ``-inf``."""
    if value == float("-inf"):
        return "-inf"
    return f"{value:.4f}" if value > -1000 else f"{value:.3g}"


def _fmt(value: float | None, spec: str) -> str:
    return "-" if value is None else format(value, spec)


def cells(rows: Iterable[dict[str, Any]]) -> dict[tuple[str, str], Cell]:
    """Groups rows by (problem, tool) and summarises each group."""
    groups: dict[tuple[str, str], list[dict[str, Any]]] = {}
    for row in rows:
        groups.setdefault((row["problem"], row["tool"]), []).append(row)
    return {key: Cell.of(group) for key, group in groups.items()}


def problem_table(problem: str, tools: Sequence[str], table: dict[tuple[str, str], Cell]) -> str:
    """The markdown table of one problem, one line per tool that has runs on it."""
    bench = get_benchmark(problem)
    n_train = bench.train.n_points(bench.n_vars)
    n_test = (bench.test or bench.train).n_points(bench.n_vars)
    lines = [
        f"### {problem}: `{bench.formula}`",
        "",
        f"{bench.n_vars} variable(s), {n_train:,} training and {n_test:,} test points.",
        "",
        "| tool | test R² median [min, max] | hits | train R² median | size | evals/s | wall s |",
        "|---|---|---|---|---|---|---|",
    ]
    for tool in tools:
        cell = table.get((problem, tool))
        if cell is None:
            continue
        failed = f" ({cell.failed} failed)" if cell.failed else ""
        lines.append(
            f"| {tool}{failed} | {fmt_r2(cell.test_median)} "
            f"[{fmt_r2(cell.test_min)}, {fmt_r2(cell.test_max)}] | {cell.hits}/{cell.n} "
            f"| {fmt_r2(cell.train_median)} | {_fmt(cell.size_median, '.0f')} "
            f"| {_fmt(cell.evals_per_s, ',.0f')} | {_fmt(cell.wall_median, '.2f')} |"
        )
    return "\n".join(lines)


def summary_table(
    problems: Sequence[str], tools: Sequence[str], table: dict[tuple[str, str], Cell]
) -> str:
    """Median of the per-problem median test R^2, total hits, and qd variants vs pyoperon."""
    versus = "pyoperon" if any((p, "pyoperon") in table for p in problems) else None
    header = "| tool | median of medians (test R²) | hits |"
    rule = "|---|---|---|"
    if versus:
        header += " problems with median test R² ≥ pyoperon's |"
        rule += "---|"
    lines = ["### Summary", "", header, rule]
    for tool in tools:
        mine = {p: table[(p, tool)] for p in problems if (p, tool) in table}
        if not mine:
            continue
        medians = [cell.test_median for cell in mine.values()]
        hits = sum(cell.hits for cell in mine.values())
        runs = sum(cell.n for cell in mine.values())
        line = f"| {tool} | {fmt_r2(float(np.median(medians)))} | {hits}/{runs} |"
        if versus:
            if tool.startswith("qd-"):
                shared = [p for p in mine if (p, versus) in table]
                wins = sum(mine[p].test_median >= table[(p, versus)].test_median for p in shared)
                line += f" {wins}/{len(shared)} |"
            else:
                line += " - |"
        lines.append(line)
    return "\n".join(lines)


def render(
    rows: Sequence[dict[str, Any]],
    problems: Sequence[str],
    tools: Sequence[str],
    *,
    budget: int,
    seeds: int,
    seconds: float | None = None,
) -> str:
    """The whole markdown report: a heading, one table per problem, the summary."""
    chosen = [
        r
        for r in rows
        if r["problem"] in problems
        and r["tool"] in tools
        and r["budget"] == budget
        and r.get("seconds") == seconds
    ]
    table = cells(chosen)
    limit = (
        f"{budget:,} evaluations per run"
        if seconds is None
        else f"{seconds:g} s of fit wall time per run (one thread; pyoperon counts whole seconds)"
    )
    parts = [
        f"{limit}, {seeds} seed(s) per problem; hit = test R² > "
        f"{HIT_R2}; a non-finite prediction scores -inf; size in nodes; evals/s over fit "
        "wall time.",
    ]
    parts += [problem_table(p, tools, table) for p in problems if any(k[0] == p for k in table)]
    parts.append(summary_table(problems, tools, table))
    failures = [r for r in chosen if r["error"]]
    if failures:
        parts.append(
            "Failed runs:\n\n"
            + "\n".join(
                f"- {r['problem']} {r['tool']} seed {r['seed']}: {r['error']}" for r in failures
            )
        )
    return "\n\n".join(parts)


# --------------------------------------------------------------------------------------
# Results file, README section, scheduling.
# --------------------------------------------------------------------------------------


def save_rows(path: Path, rows: Sequence[dict[str, Any]]) -> None:
    """Writes the raw results (every row, finished or failed) atomically."""
    sr_tools.save_rows(path, rows, bench="sr_compare", hit_threshold=HIT_R2)


def update_readme(path: Path, section: str, *, timed: bool = False) -> None:
    """Replaces the marked sr_compare section of ``path`` (appends one if it has none);
    ``timed``: the equal-wall-time section (``sr_compare_time``) instead."""
    update_section(path, "sr_compare_time" if timed else "sr_compare", section)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--problems", nargs="+", help=f"default: {' '.join(DEFAULT_PROBLEMS)}")
    parser.add_argument("--tools", nargs="+", choices=list(TOOLS), help="default: all")
    parser.add_argument("--seeds", type=int, help=f"seeds 0..n-1 (default {DEFAULT_SEEDS})")
    parser.add_argument("--budget", type=int, help=f"evaluations per run ({DEFAULT_BUDGET:,})")
    parser.add_argument(
        "--quick",
        action="store_true",
        help=f"smoke run: {' '.join(QUICK_PROBLEMS)}, {QUICK_SEEDS} seeds, {QUICK_BUDGET:,} "
        "evaluations (explicit options win)",
    )
    parser.add_argument(
        "--seconds",
        type=float,
        help="equal wall time instead: each run stops after this many seconds of fit "
        "(pyoperon's max_time, the estimator's max_time; gplearn has no time limit and is "
        "left out); --budget then only caps evaluations (default 1e9)",
    )
    parser.add_argument("--workers", type=int, default=1, help="LocalCluster workers (1: serial)")
    parser.add_argument("--dask-scheduler", help="address of a running Dask scheduler")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help=f"({DEFAULT_OUT})")
    parser.add_argument("--fresh", action="store_true", help="rerun runs already in --out")
    parser.add_argument("--readme", action="store_true", help=f"rewrite the section in {README}")
    args = parser.parse_args(argv)

    problems = args.problems or list(QUICK_PROBLEMS if args.quick else DEFAULT_PROBLEMS)
    seeds = args.seeds or (QUICK_SEEDS if args.quick else DEFAULT_SEEDS)
    budget = args.budget or (QUICK_BUDGET if args.quick else DEFAULT_BUDGET)
    seconds = args.seconds
    if seconds is not None:
        if not seconds > 0:
            parser.error("--seconds must be a positive number")
        budget = args.budget or TIMED_BUDGET
    if seeds < 1 or budget < 1 or args.workers < 1:
        parser.error("--seeds, --budget and --workers must be at least 1")
    try:
        problems = [get_benchmark(p).name for p in problems]
    except KeyError as error:
        parser.error(str(error.args[0]))

    tools, skipped = [], {}
    for tool in args.tools or TOOLS:
        reason = missing(tool)
        if seconds is not None and tool == "gplearn":
            reason = "gplearn has no wall-time limit (--seconds)"
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
        RunSpec(problem, tool, seed, budget, seconds)
        for problem in problems
        for seed in range(seeds)
        for tool in tools
    ]
    todo = [s for s in specs if s.key not in kept]
    print(
        f"{len(specs)} runs ({len(problems)} problems x {len(tools)} tools x {seeds} seeds, "
        f"{f'{budget:,} evaluations' if seconds is None else f'{seconds:g} s'} each); "
        f"{len(specs) - len(todo)} already in {args.out}; "
        f"{'serial' if args.workers == 1 and not args.dask_scheduler else 'Dask'}, "
        f"{os.cpu_count()} CPUs ({platform.processor() or platform.machine()})"
    )

    results = dict(kept)

    def done(row: dict[str, Any]) -> None:
        results[row_key(row)] = row
        save_rows(args.out, list(results.values()))

    if todo:
        run_all(
            todo,
            run_one,
            workers=args.workers,
            scheduler=args.dask_scheduler,
            done=done,
            desc="sr_compare",
            label=lambda row: f"{row['problem']} {row['tool']} seed {row['seed']}",
        )

    wanted = [results[s.key] for s in specs]
    report = render(wanted, problems, tools, budget=budget, seeds=seeds, seconds=seconds)
    print()
    print(report)
    print(f"\nraw results: {args.out}")
    if args.readme:
        update_readme(
            README,
            f"`{command_line('sr_compare.py', argv)}`\n\n{report}",
            timed=seconds is not None,
        )
        print(f"updated {README}")
    return 0


def row_key(row: dict[str, Any]) -> str:
    return RunSpec(row["problem"], row["tool"], row["seed"], row["budget"], row.get("seconds")).key


if __name__ == "__main__":
    sys.exit(main())
