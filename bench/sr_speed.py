"""Evaluations per second of ``QDSymbolicRegressor``: this checkout, an older one, pyoperon.

The estimator's cost per evaluation is mostly Python around the compiled formula
(variation, the pole check, descriptors, the formula's text, the engine loop). This
script measures it where a user meets it, ``fit`` on benchmark problems at a fixed
budget, with constant tuning off and on, and puts side by side:

* ``qd``: this checkout;
* ``qd@REV`` (``--baseline REV``): the same script run on a git worktree of ``REV``
  (made in a temporary folder and removed after), alternating with ``qd`` run by run so
  that a busy machine slows both alike;
* ``pyoperon`` (when installed): its ``SymbolicRegressor`` on the same data and budget
  (``optimizer_iterations=10`` with tuning, 0 without; one thread), counting residual
  and Jacobian evaluations, as ``bench/sr_compare.py`` does.

Every run is a fresh process: one warm-up fit (numba's kernels load), then the timed
fit; with ``--repeats N`` each tool runs N times, alternating, and the fastest counts.
``--components`` adds, for each checkout, where the time of a fit goes: exclusive
seconds of the named functions (timed by wrappers, so a few percent slower than the
plain fit), in microseconds per evaluation.

Usage::

    python bench/sr_speed.py                           # koza-1, pagie-1, vladislavleva-5
    python bench/sr_speed.py --baseline main --components
    python bench/sr_speed.py --budget 5000 --problems koza-1 --no-pyoperon
"""

from __future__ import annotations

import argparse
import inspect
import json
import os
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
PROBLEMS = ("koza-1", "pagie-1", "vladislavleva-5")

# (label, module, attribute): functions timed for --components, wherever they exist
# (older checkouts lack some, newer ones others). Times are exclusive: a function's own
# time less that of the timed functions it calls.
_DOMAIN = "domains.symbolic_regression.domain"
_SR = "SymbolicRegression"
TIMED: tuple[tuple[str, str, str], ...] = (
    ("engine loop (qd.search, qd.archive)", "qd.search.loop", "Loop.step"),
    ("engine loop (qd.search, qd.archive)", "qd.search.evaluation", "checked_evaluate"),
    ("engine loop (qd.search, qd.archive)", "qd.archive", "Archive.add_counting"),
    ("engine loop (qd.search, qd.archive)", "qd.archive", "Archive.add_with_fates"),
    ("parent draws (qd.archive)", "qd.search.parents", "sample_from"),
    ("variation (DEAP operators, limits)", _DOMAIN, f"{_SR}._vary"),
    ("variation (batch kernel, node lists)", "domains.symbolic_regression.batch", "vary"),
    ("batch kernel: poles, run, tuning, score", _DOMAIN, "fit_many"),
    ("assess (the rest: Evaluation, checks)", _DOMAIN, f"{_SR}._evaluate_batch"),
    ("assess (the rest: Evaluation, checks)", _DOMAIN, f"{_SR}.assess"),
    ("compile tree -> program", _DOMAIN, "compile_tree"),
    ("compile tree -> program", "domains.symbolic_regression.fitting", "compile_tree"),
    ("pole check", _DOMAIN, "find_pole"),
    ("pole check", _DOMAIN, "find_pole_compiled"),
    ("fit: run + scale + error", _DOMAIN, "fit_tree"),
    ("constant tuning (LM)", "domains.symbolic_regression.fitting", "_tune"),
    ("descriptors", _DOMAIN, f"{_SR}.describe"),
    ("descriptors", _DOMAIN, f"{_SR}._describe_program"),
    ("formula text (to_infix)", _DOMAIN, "scaled_infix"),
    ("formula text (to_infix)", "domains.symbolic_regression.formula", "scaled_infix"),
    ("formula text (to_infix)", _DOMAIN, "to_infix"),
)


# ------------------------------------------------------------------------ one run (worker)


def _instrument() -> tuple[dict[str, float], dict[str, int]]:
    """Wrap the :data:`TIMED` functions that exist; returns (seconds, calls) by label."""
    import importlib

    seconds: dict[str, float] = defaultdict(float)
    calls: dict[str, int] = defaultdict(int)
    children = [0.0]

    def timed(function: Callable[..., Any], label: str) -> Callable[..., Any]:
        clock = time.perf_counter

        def wrapper(*args: Any, **kwargs: Any) -> Any:
            children.append(0.0)
            start = clock()
            try:
                return function(*args, **kwargs)
            finally:
                spent = clock() - start
                seconds[label] += spent - children.pop()
                children[-1] += spent
                calls[label] += 1

        return wrapper

    for label, module_name, attribute in TIMED:
        module = importlib.import_module(module_name)
        owner: Any = module
        *path, name = attribute.split(".")
        for part in path:
            owner = getattr(owner, part, None)
        if owner is None or name not in vars(owner):
            continue
        setattr(owner, name, timed(vars(owner)[name], label))
    return seconds, calls


def worker(problem: str, tuning: bool, budget: int, components: bool) -> dict[str, Any]:
    """One fit of this process's checkout (``sys.path[0]``): seconds, evaluations, parts."""
    from domains.symbolic_regression.benchmarks import get_benchmark
    from domains.symbolic_regression.estimator import QDSymbolicRegressor

    data = get_benchmark(problem).make_data(0)
    # the setting's name before and after it became one name (an older --baseline)
    names = inspect.signature(QDSymbolicRegressor).parameters
    if "tune_constants" in names:
        options: dict[str, Any] = {"tune_constants": 10 if tuning else 0}
    else:
        options = {"constant_optimisation": tuning}
    QDSymbolicRegressor(max_evaluations=300, random_state=1, **options).fit(
        data.X_train, data.y_train
    )  # warm-up: numba loads its kernels
    seconds: dict[str, float] = {}
    if components:
        seconds, _ = _instrument()
    model = QDSymbolicRegressor(max_evaluations=budget, random_state=0, **options)
    start, cpu = time.perf_counter(), time.process_time()
    model.fit(data.X_train, data.y_train)
    wall = time.perf_counter() - start
    return {
        "seconds": wall,
        "cpu_seconds": time.process_time() - cpu,
        "evaluations": int(model.n_evaluations_),
        "components": dict(seconds),
        "best_error": float(model.best_.error),
    }


def pyoperon_run(problem: str, tuning: bool, budget: int) -> dict[str, Any]:
    """pyoperon on the same data and budget (its evaluations: residual + Jacobian)."""
    from pyoperon.sklearn import SymbolicRegressor

    from domains.symbolic_regression.benchmarks import get_benchmark

    data = get_benchmark(problem).make_data(0)
    model = SymbolicRegressor(
        allowed_symbols="add,sub,mul,div,sin,cos,exp,log,constant,variable",
        optimizer="lm",
        optimizer_iterations=10 if tuning else 0,
        population_size=500,
        generations=budget,
        max_evaluations=budget,
        random_state=0,
        n_threads=1,
    )
    start, cpu = time.perf_counter(), time.process_time()
    model.fit(data.X_train, data.y_train)
    wall = time.perf_counter() - start
    stats = model.stats_
    evaluations = int(stats["residual_evaluations"] + stats["jacobian_evaluations"])
    return {
        "seconds": wall,
        "cpu_seconds": time.process_time() - cpu,
        "evaluations": evaluations,
        "components": {},
    }


# ------------------------------------------------------------------------------- driver


def _run(root: Path, problem: str, tuning: bool, args: argparse.Namespace, tool: str) -> dict:
    command = [
        sys.executable,
        str(Path(__file__).resolve()),
        "--worker",
        tool,
        "--root",
        str(root),
        "--problems",
        problem,
        "--budget",
        str(args.budget),
    ]
    if tuning:
        command.append("--tuning")
    if args.components and tool == "qd":
        command.append("--components")
    environment = dict(os.environ, PYTHONPATH=str(root))
    done = subprocess.run(
        command, capture_output=True, text=True, env=environment, cwd=root, check=False
    )
    if done.returncode != 0:
        raise RuntimeError(f"{tool} on {problem} in {root} failed:\n{done.stderr[-3000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def _has_pyoperon() -> bool:
    try:
        import pyoperon.sklearn  # noqa: F401
    except ImportError:
        return False
    return True


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--problems", nargs="+", default=list(PROBLEMS))
    parser.add_argument("--budget", type=int, default=20_000, help="evaluations per fit")
    parser.add_argument("--baseline", help="a git revision to run side by side (worktree)")
    parser.add_argument("--components", action="store_true", help="where the time goes")
    parser.add_argument("--repeats", type=int, default=1, help="runs each; the fastest counts")
    parser.add_argument("--no-pyoperon", action="store_true")
    parser.add_argument(
        "--cpu",
        action="store_true",
        help="rates per CPU second of the fitting process instead of per wall second: "
        "steadier on a machine shared with other jobs (every tool runs one thread)",
    )
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    parser.add_argument("--root", help=argparse.SUPPRESS)
    parser.add_argument("--tuning", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)

    if args.worker:  # one run, in a fresh process, of the checkout at --root
        sys.path.insert(0, args.root)
        problem = args.problems[0]
        if args.worker == "pyoperon":
            result = pyoperon_run(problem, args.tuning, args.budget)
        else:
            result = worker(problem, args.tuning, args.budget, args.components)
        print(json.dumps(result))
        return 0

    checkouts: list[tuple[str, Path]] = [("qd", ROOT)]
    baseline_dir = None
    if args.baseline:
        baseline_dir = Path(tempfile.mkdtemp(prefix="sr_speed_baseline_"))
        subprocess.run(
            [
                "git",
                "-C",
                str(ROOT),
                "worktree",
                "add",
                "--detach",
                str(baseline_dir),
                args.baseline,
            ],
            check=True,
            capture_output=True,
        )
        checkouts.insert(0, (f"qd@{args.baseline}", baseline_dir))
    with_pyoperon = not args.no_pyoperon and _has_pyoperon()
    clock = "cpu_seconds" if args.cpu else "seconds"
    rows: list[tuple[str, str, str, dict]] = []
    try:
        for problem in args.problems:
            for tuning in (False, True):
                mode = "on" if tuning else "off"
                tools = [(name, root, "qd") for name, root in checkouts]
                if with_pyoperon:
                    tools.append(("pyoperon", ROOT, "pyoperon"))
                best: dict[str, dict] = {}
                for _ in range(args.repeats):  # alternate: a busy spell slows all alike
                    for name, root, tool in tools:
                        result = _run(root, problem, tuning, args, tool)
                        result["rate"] = result["evaluations"] / result[clock]
                        print(
                            f"# {problem} tuning {mode} {name}: {result['rate']:,.0f}/s", flush=True
                        )
                        if name not in best or result["rate"] > best[name]["rate"]:
                            best[name] = result
                rows += [(problem, mode, name, best[name]) for name, _, _ in tools]
    finally:
        if baseline_dir is not None:
            subprocess.run(
                ["git", "-C", str(ROOT), "worktree", "remove", "--force", str(baseline_dir)],
                check=False,
                capture_output=True,
            )
    print(_table(rows, [name for name, _ in checkouts], with_pyoperon))
    if args.components:
        print(_components(rows))
    return 0


def _rate(result: dict) -> float:
    """Evaluations per second of the clock the run was compared by (``--cpu``)."""
    return result["rate"]


def _table(rows: list[tuple[str, str, str, dict]], names: list[str], pyoperon: bool) -> str:
    results = {(problem, mode, name): result for problem, mode, name, result in rows}
    header = "| problem | tuning | " + " | ".join(f"{n} evals/s (µs/eval)" for n in names)
    line = "|---|---|" + "---|" * len(names)
    if len(names) == 2:
        header += f" | {names[1]} / {names[0]}"
        line += "---|"
    if pyoperon:
        header += " | pyoperon evals/s | pyoperon / qd"
        line += "---|---|"
    out = [header + " |", line]
    for problem, mode in dict.fromkeys((p, m) for p, m, _, _ in rows):
        cells = [problem, mode]
        for name in names:
            result = results[(problem, mode, name)]
            cells.append(f"{_rate(result):,.0f} ({1e6 / _rate(result):.0f})")
        if len(names) == 2:
            ratio = _rate(results[(problem, mode, names[1])]) / _rate(
                results[(problem, mode, names[0])]
            )
            cells.append(f"{ratio:.2f}x")
        if pyoperon:
            operon = _rate(results[(problem, mode, "pyoperon")])
            cells += [f"{operon:,.0f}", f"{operon / _rate(results[(problem, mode, 'qd')]):.1f}x"]
        out.append("| " + " | ".join(cells) + " |")
    return "\n".join(out)


def _components(rows: list[tuple[str, str, str, dict]]) -> str:
    """µs per evaluation by component, one column per (problem, tuning, checkout)."""
    runs = [(p, m, n, r) for p, m, n, r in rows if r["components"]]
    labels = list(dict.fromkeys(label for label, _, _ in TIMED))
    header = "| µs per evaluation | " + " | ".join(f"{p} {m} {n}" for p, m, n, _ in runs) + " |"
    out = [header, "|---|" + "---|" * len(runs)]
    for label in [*labels, "other (fit setup, summary)", "total"]:
        cells = []
        for _, _, _, result in runs:
            parts, evaluations = result["components"], result["evaluations"]
            if label == "total":
                value = result["seconds"]
            elif label.startswith("other"):
                value = result["seconds"] - sum(parts.values())
            else:
                value = parts.get(label, 0.0)
            cells.append(f"{1e6 * value / evaluations:.1f}")
        out.append(f"| {label} | " + " | ".join(cells) + " |")
    return "\n".join(out)


if __name__ == "__main__":
    raise SystemExit(main())
