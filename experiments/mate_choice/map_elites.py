"""PIMP inside MAP-Elites: parent selection by ideal mate against uniform (and fitness).

    python experiments/mate_choice/map_elites.py                 # 10 seeds, 2 workers
    python experiments/mate_choice/map_elites.py --seeds 30 --dask-scheduler tcp://head:8786

Same problems as the population study, the same individuals (a solution and an ideal
mate) and the same budget (25,000 evaluations: 100 iterations x 2 emitters x 125
children), on a size x depth map (depth <= 8, size <= 64: 288 cells). Only the parent
selection differs: ``uniform`` (MAP-Elites' usual), ``fitness`` (fitness-proportional)
and ``pimp`` (first parent uniform, second the elite nearest its ideal mate among 3
random elites). Prints final QD score, coverage, hits (elites with train NRMSE < 0.01),
success rate and best test error per problem and selection, with Mann-Whitney U tests of
PIMP against each.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from experiments.mate_choice.analysis import group
from qd.metrics.stats import fisher_exact, format_p, holm, mann_whitney
from qd.runs import RunDirectory, load_archive
from qd.runs.batch import RunSpec, default_workers, finished, run_all
from qd.viz import compare_curves, save_figure

DOMAIN = "domains.symbolic_regression.population:MateChoiceRegression"
PROBLEMS = ("nguyen-1", "koza-1", "keijzer-11")
SELECTIONS = ("uniform", "fitness", "pimp")
COMPARED = ("qd_score", "coverage", "hits", "best_test_error")


def specs(args: argparse.Namespace) -> list[RunSpec]:
    out = []  # seed-major: a study stopped early has about as many runs in every cell
    for seed in range(1, args.seeds + 1):
        for problem in args.problems:
            for selection in args.selections:
                config = {
                    "seed": seed,
                    "domain": {
                        "name": DOMAIN,
                        "benchmark": problem,
                        "mutation_rate": args.mutation_rate,
                        "max_depth": args.max_depth,
                        "max_size": args.max_size,
                        "init_depth": [1, 4],
                        "hit_threshold": args.hit_threshold,
                    },
                    "archive": {"qd_score_offset": 0.0},
                    "search": {
                        "iterations": args.iterations,
                        "batch_size": args.batch_size,
                        "emitters": 2,
                        "parents": selection,
                        "checkpoint_every": 25,
                    },
                }
                labels = {"problem": problem, "selection": selection, "seed": seed}
                out.append(RunSpec(f"{problem}_{selection}_s{seed:03d}", config, labels))
    return out


def archive_numbers(out: Path, result: dict) -> dict[str, float]:
    """Final QD score and coverage, hits, and the best elite's test error, of one run."""
    _, domain, archive, _ = load_archive(RunDirectory(out / "runs" / result["key"]))
    elites = archive.elites()
    best = max(elites, key=lambda e: e.objective)
    hits = sum(1 for e in elites if e.info.get("hit"))
    return {
        "qd_score": archive.stats.qd_score,
        "coverage": archive.stats.coverage,
        "hits": float(hits),
        "success": float(hits > 0),
        "best_test_error": domain.test_error(best.candidate),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=10)
    parser.add_argument("--problems", nargs="+", default=list(PROBLEMS))
    parser.add_argument("--selections", nargs="+", default=list(SELECTIONS))
    parser.add_argument("--iterations", type=int, default=100)
    parser.add_argument("--batch-size", type=int, default=125, help="per emitter (2 emitters)")
    parser.add_argument("--mutation-rate", type=float, default=0.2)
    parser.add_argument("--max-depth", type=int, default=8)
    parser.add_argument("--max-size", type=int, default=64)
    parser.add_argument("--hit-threshold", type=float, default=0.01)
    parser.add_argument("--out", type=Path, default=Path("runs/mate_choice_map_elites"))
    parser.add_argument("--workers", type=int, default=default_workers())
    parser.add_argument("--dask-scheduler", default=None)
    parser.add_argument("--serial", action="store_true")
    parser.add_argument("--plot", type=Path, default=None, help="default: <out>/qd_score.png")
    parser.add_argument("--no-progress", action="store_true")
    parser.add_argument(
        "--analyse-only",
        action="store_true",
        help="run nothing: tabulate the runs that have finished (while a study still runs)",
    )
    args = parser.parse_args(argv)
    if "pimp" not in args.selections:
        parser.error("--selections must include pimp (it is what the others are compared with)")

    if args.analyse_only:
        results, failures = finished(specs(args), args.out), {}
    else:
        results, failures = run_all(
            specs(args),
            args.out,
            curves=("qd_score", "coverage"),
            workers=args.workers,
            scheduler=args.dask_scheduler,
            serial=args.serial,
            progress=not args.no_progress,
        )
    numbers = {r["key"]: archive_numbers(args.out, r) for r in results}
    by_cell = group(results, ("problem", "selection"))
    lines = [
        "# PIMP inside MAP-Elites",
        "",
        f"{args.iterations} iterations x 2 emitters x {args.batch_size} children; "
        f"mutation {args.mutation_rate}; depth <= {args.max_depth}, size <= {args.max_size}.",
        "",
        "| problem | parents | runs | QD score | coverage | hits | success | best test NRMSE |",
        "|---|---|---:|---:|---:|---:|---:|---:|",
    ]
    for (problem, selection), runs in by_cell.items():
        values = [numbers[r["key"]] for r in runs]

        def median(key: str, values=values) -> float:
            return float(np.median([v[key] for v in values]))

        lines.append(
            f"| {problem} | {selection} | {len(runs)} | {median('qd_score'):.2f} | "
            f"{median('coverage'):.1%} | {np.mean([v['hits'] for v in values]):.1f} | "
            f"{np.mean([v['success'] for v in values]):.0%} | {median('best_test_error'):.3g} |"
        )
    lines += [
        "",
        "Medians over runs, except hits (mean number of elites with a hit per run) and "
        "success (share of runs with a hit). PIMP against each other selection: "
        "Mann-Whitney U p (Holm over the rows of each column), Vargha-Delaney A "
        "(> 0.5: PIMP higher); success by Fisher's exact test.",
        "",
        "| problem | PIMP vs | " + " | ".join(COMPARED) + " | success |",
        "|---|---|" + "---|" * (len(COMPARED) + 1),
    ]
    rows = []
    for problem in dict.fromkeys(p for p, _ in by_cell):
        ours = [numbers[r["key"]] for r in by_cell.get((problem, "pimp"), [])]
        for other in (s for s in args.selections if s != "pimp"):
            theirs = [numbers[r["key"]] for r in by_cell.get((problem, other), [])]
            if not ours or not theirs:
                continue
            tests = {
                k: mann_whitney([v[k] for v in ours], [v[k] for v in theirs]) for k in COMPARED
            }
            wins = [int(sum(v["success"] for v in x)) for x in (ours, theirs)]
            success = fisher_exact(wins[0], len(ours), wins[1], len(theirs))
            rows.append((problem, other, tests, success))
    adjusted = {k: holm([row[2][k].p for row in rows]) for k in COMPARED}
    adjusted_success = holm([row[3] for row in rows])
    for i, (problem, other, tests, success) in enumerate(rows):
        cells = [
            f"{format_p(tests[k].p)} ({format_p(adjusted[k][i])}), A {tests[k].a12:.2f}"
            for k in COMPARED
        ]
        lines.append(
            f"| {problem} | {other} | "
            + " | ".join(cells)
            + f" | {format_p(success)} ({format_p(adjusted_success[i])}) |"
        )
    figure_path = args.plot or args.out / "qd_score.png"
    problems = list(dict.fromkeys(p for p, _ in by_cell))
    from matplotlib.figure import Figure

    figure = Figure(figsize=(4.6 * len(problems), 3.4), layout="constrained")
    for ax, problem in zip(
        figure.subplots(1, len(problems), squeeze=False)[0], problems, strict=True
    ):
        curves = {
            selection: [
                [{"iteration": i + 1, "qd_score": v} for i, v in enumerate(r["curves"]["qd_score"])]
                for r in runs
            ]
            for (p, selection), runs in by_cell.items()
            if p == problem
        }
        compare_curves(curves, "qd_score", ax=ax)
        ax.set_title(problem, fontsize=9)
    save_figure(figure, figure_path)
    lines += ["", f"![QD score over iterations]({figure_path.resolve()})"]
    if failures:
        lines += ["", f"{len(failures)} runs failed every attempt:"]
        lines += [f"- {key}: {error}" for key, error in sorted(failures.items())]
    text = "\n".join(lines) + "\n"
    (args.out / "summary.md").write_text(text)
    (args.out / "numbers.json").write_text(json.dumps(numbers, indent=1))
    print(text)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
