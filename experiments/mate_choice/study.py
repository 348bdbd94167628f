"""Mate-choice GP study: PIMP against random mate choice and standard GP.

    python experiments/mate_choice/study.py                      # 30 runs per cell, 2 workers
    python experiments/mate_choice/study.py --runs 10            # fewer runs (a subset of 30)
    python experiments/mate_choice/study.py --dask-scheduler tcp://head:8786

Three problems x two mutation rates x three methods, population 500, 50 generations,
tournament size 3, depth limit 17. Each run is a population run directory under
``<out>/runs/`` and, once finished, a result file under ``<out>/results/``; runs are
Dask tasks (a LocalCluster by default), so a lost worker costs its runs a retry and a
restart redoes nothing that finished. Prints (and writes to ``<out>/summary.md``) the
table per instance, Mann-Whitney U tests of PIMP against each control with Vargha-Delaney
A, and the paper's claims checked; saves diversity-over-generations plots with bands.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from experiments.mate_choice.analysis import (
    claims,
    markdown_table,
    markdown_tests,
    save_plots,
    study_table,
    study_tests,
)
from qd.runs.batch import RunSpec, default_workers, finished, run_all

DOMAIN = "domains.symbolic_regression.population:MateChoiceRegression"
PROBLEMS = ("nguyen-1", "koza-1", "keijzer-11")
RATES = (0.05, 0.2)
METHODS = ("pimp", "random", "tournament")
CURVES = (
    "best_train_error",
    "test_error_of_best",
    "genotypic_diversity",
    "phenotypic_diversity",
    "phenotypic_entropy",
    "mean_size",
    "mean_ideal_size",
)


def specs(args: argparse.Namespace) -> list[RunSpec]:
    """One RunSpec per (seed, problem, rate, method), seeds 1..runs for every cell.

    Seed-major order: Dask starts tasks in submission order, so a study stopped early
    has about as many runs in every cell, and ``--runs 30`` after ``--runs 10`` only adds
    seeds 11..30.
    """
    out = []
    for seed in range(1, args.runs + 1):
        for problem in args.problems:
            for rate in args.rates:
                for method in args.methods:
                    config = {
                        "seed": seed,
                        "domain": {
                            "name": DOMAIN,
                            "benchmark": problem,
                            "method": method,
                            "similarity": args.similarity,
                            "tournament_size": args.tournament,
                            "mutation_rate": rate,
                            "max_depth": args.max_depth,
                            "hit_threshold": args.hit_threshold,
                        },
                        "search": {
                            "loop": "population",
                            "batch_size": args.population,
                            "iterations": args.generations,
                            "checkpoint_every": args.checkpoint_every,
                        },
                    }
                    labels = {"problem": problem, "rate": rate, "method": method, "seed": seed}
                    key = f"{problem}_m{rate}_{method}_s{seed:03d}"
                    out.append(RunSpec(key, config, labels))
    return out


def parse(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=30, help="runs per cell (seeds 1..N)")
    parser.add_argument("--problems", nargs="+", default=list(PROBLEMS))
    parser.add_argument("--rates", nargs="+", type=float, default=list(RATES))
    parser.add_argument("--methods", nargs="+", default=list(METHODS), choices=METHODS)
    parser.add_argument(
        "--similarity", default="behavioural", choices=("behavioural", "structural")
    )
    parser.add_argument("--population", type=int, default=500)
    parser.add_argument("--generations", type=int, default=50)
    parser.add_argument("--tournament", type=int, default=3)
    parser.add_argument("--max-depth", type=int, default=17)
    parser.add_argument("--hit-threshold", type=float, default=0.01)
    parser.add_argument("--checkpoint-every", type=int, default=10)
    parser.add_argument("--out", type=Path, default=Path("runs/mate_choice_study"))
    parser.add_argument("--workers", type=int, default=default_workers())
    parser.add_argument("--dask-scheduler", default=None, help="a running cluster's address")
    parser.add_argument("--serial", action="store_true", help="no Dask: one run after another")
    parser.add_argument("--plots-prefix", default="mate_choice", help="PNG file name prefix")
    parser.add_argument("--plots-dir", type=Path, default=None, help="default: <out>/plots")
    parser.add_argument("--no-progress", action="store_true")
    parser.add_argument(
        "--analyse-only",
        action="store_true",
        help="run nothing: tabulate the runs that have finished (while a study still runs)",
    )
    args = parser.parse_args(argv)
    if args.runs < 1 or args.population < 2 or args.generations < 1:
        parser.error("--runs and --generations must be at least 1, --population at least 2")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse(argv)
    study = specs(args)
    if args.analyse_only:
        results, failures = finished(study, args.out), {}
    else:
        results, failures = run_all(
            study,
            args.out,
            curves=CURVES,
            workers=args.workers,
            scheduler=args.dask_scheduler,
            serial=args.serial,
            progress=not args.no_progress,
        )
    table = study_table(results, args.hit_threshold)
    tests = study_tests(results, args.hit_threshold)
    plots = save_plots(results, args.plots_dir or args.out / "plots", args.plots_prefix)
    per_cell = sorted({row["runs"] for row in table})
    lines = [
        "# Mate-choice GP study",
        "",
        f"Population {args.population}, {args.generations} generations, tournament "
        f"{args.tournament}, depth limit {args.max_depth}, {args.similarity} similarity; "
        f"runs per cell: {', '.join(map(str, per_cell))}. Success: best-of-run train NRMSE "
        f"< {args.hit_threshold}.",
        "",
        *markdown_table(table),
        "",
        "Mann-Whitney U (two-sided) of PIMP against each control, Vargha-Delaney A "
        "(> 0.5: PIMP higher); success rates by Fisher's exact test; Holm-adjusted p in "
        "brackets (over the 12 comparisons of each column).",
        "",
        *markdown_tests(tests),
        "",
        *(f"- {claim}" for claim in claims(tests, table)),
        "",
        *(f"![{p.stem}]({p.resolve()})" for p in plots),
    ]
    if failures:
        lines += ["", f"{len(failures)} runs failed every attempt:"]
        lines += [f"- {key}: {error}" for key, error in sorted(failures.items())]
    text = "\n".join(lines) + "\n"
    (args.out / "summary.md").write_text(text)
    (args.out / "table.json").write_text(json.dumps({"table": table, "tests": tests}, indent=1))
    print(text)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
