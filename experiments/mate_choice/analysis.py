"""Tables, tests and plots of the mate-choice study (imported by study.py and map_elites.py).

Every function takes the list of per-run results that ``qd.runs.batch.run_all`` returns
(``{"key", "labels", "final", "curves"}``) and groups them by their labels.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
from matplotlib.figure import Figure

from qd.metrics.stats import fisher_exact, format_p, holm, mann_whitney
from qd.viz import compare_curves, save_figure

METHOD_NAMES = {"pimp": "PIMP", "random": "random mate", "tournament": "standard GP"}


def best_of_run(result: dict[str, Any]) -> tuple[float, float]:
    """(train error, test error) of the best individual of the whole run.

    The best of each generation is logged with its test error; the run's best is the
    generation whose best train error is lowest (the first such, if several tie).
    """
    train = [math.inf if v is None else v for v in result["curves"]["best_train_error"]]
    generation = int(np.argmin(train))
    test = result["curves"]["test_error_of_best"][generation]
    return train[generation], math.inf if test is None else test


def run_numbers(result: dict[str, Any], hit_threshold: float) -> dict[str, float]:
    """The numbers the study compares, for one run."""
    train, test = best_of_run(result)
    final = result["final"]
    return {
        "success": float(train < hit_threshold),
        "best_train_error": train,
        "best_test_error": test,
        "genotypic_diversity": final["genotypic_diversity"],
        "phenotypic_diversity": final["phenotypic_diversity"],
        "phenotypic_entropy": final["phenotypic_entropy"],
        "mean_size": final["mean_size"],
        "mean_ideal_size": final["mean_ideal_size"],
    }


def group(
    results: Sequence[dict[str, Any]], keys: Sequence[str]
) -> dict[tuple, list[dict[str, Any]]]:
    """Results by the tuple of their ``keys`` labels, in first-seen order."""
    groups: dict[tuple, list[dict[str, Any]]] = defaultdict(list)
    for result in results:
        groups[tuple(result["labels"][k] for k in keys)].append(result)
    return dict(groups)


def study_table(results: Sequence[dict[str, Any]], hit_threshold: float) -> list[dict[str, Any]]:
    """One row per (problem, mutation rate, method): runs, success rate, medians."""
    rows = []
    for (problem, rate, method), runs in group(results, ("problem", "rate", "method")).items():
        numbers = [run_numbers(r, hit_threshold) for r in runs]

        def median(key: str, numbers=numbers) -> float:
            return float(np.median([n[key] for n in numbers]))

        rows.append(
            {
                "problem": problem,
                "rate": rate,
                "method": method,
                "runs": len(runs),
                "success_rate": float(np.mean([n["success"] for n in numbers])),
                "median_best_test_error": median("best_test_error"),
                "genotypic_diversity": median("genotypic_diversity"),
                "phenotypic_diversity": median("phenotypic_diversity"),
                "phenotypic_entropy": median("phenotypic_entropy"),
                "mean_size": float(np.mean([n["mean_size"] for n in numbers])),
                "mean_ideal_size": float(np.mean([n["mean_ideal_size"] for n in numbers])),
            }
        )
    return rows


TESTED = {
    "phenotypic_diversity": "final phenotypic diversity",
    "genotypic_diversity": "final genotypic diversity",
    "best_test_error": "best-of-run test error",
}


def study_tests(
    results: Sequence[dict[str, Any]], hit_threshold: float, *, treatment: str = "pimp"
) -> list[dict[str, Any]]:
    """PIMP against each control per instance: Mann-Whitney U with A, Fisher on success.

    Holm's correction runs over the instances x controls of each metric.
    """
    by_cell = group(results, ("problem", "rate", "method"))
    instances = list(dict.fromkeys((p, r) for p, r, _ in by_cell))
    methods = list(dict.fromkeys(m for _, _, m in by_cell))
    rows = []
    for problem, rate in instances:
        ours = [run_numbers(r, hit_threshold) for r in by_cell.get((problem, rate, treatment), [])]
        if not ours:
            continue
        for control in (m for m in methods if m != treatment):
            theirs = [
                run_numbers(r, hit_threshold) for r in by_cell.get((problem, rate, control), [])
            ]
            if not theirs:
                continue
            row: dict[str, Any] = {"problem": problem, "rate": rate, "control": control}
            for key in TESTED:
                test = mann_whitney([n[key] for n in ours], [n[key] for n in theirs])
                row[key] = {"p": test.p, "a12": test.a12, "magnitude": test.magnitude}
            wins = [int(sum(n["success"] for n in x)) for x in (ours, theirs)]
            row["success"] = {
                "p": fisher_exact(wins[0], len(ours), wins[1], len(theirs)),
                "ours": wins[0] / len(ours),
                "theirs": wins[1] / len(theirs),
            }
            rows.append(row)
    for key in (*TESTED, "success"):
        for row, adjusted in zip(rows, holm([row[key]["p"] for row in rows]), strict=True):
            row[key]["p_holm"] = adjusted
    return rows


def claims(tests: Sequence[dict[str, Any]], table: Sequence[dict[str, Any]]) -> list[str]:
    """The paper's two claims, checked against this study's numbers."""
    instances = list(dict.fromkeys((t["problem"], t["rate"]) for t in tests))
    more_diverse = [
        (p, r)
        for p, r in instances
        if all(
            t["phenotypic_diversity"]["p"] < 0.05 and t["phenotypic_diversity"]["a12"] > 0.5
            for t in tests
            if (t["problem"], t["rate"]) == (p, r)
        )
    ]
    success = {(row["problem"], row["rate"], row["method"]): row["success_rate"] for row in table}
    higher = [
        (p, r)
        for p, r in instances
        if all(
            success[(p, r, "pimp")] > success[(p, r, m)]
            for (pp, rr, m) in success
            if (pp, rr) == (p, r) and m != "pimp"
        )
    ]
    return [
        f"PIMP's final phenotypic diversity is significantly higher (p < 0.05, A > 0.5) "
        f"than both controls' in {len(more_diverse)} of {len(instances)} instances"
        + (f": {_names(more_diverse)}" if more_diverse else "")
        + " (the paper: in all).",
        f"PIMP's success rate is above both controls' in {len(higher)} of {len(instances)} "
        f"instances" + (f": {_names(higher)}" if higher else "") + " (the paper: 3 of 6).",
    ]


def _names(instances: Sequence[tuple]) -> str:
    return ", ".join(f"{p} at {r}" for p, r in instances)


def markdown_table(table: Sequence[dict[str, Any]]) -> list[str]:
    lines = [
        "| problem | mutation | method | runs | success | median best test NRMSE | "
        "genotypic div. | phenotypic div. | phen. entropy (bits) | mean size | ideal size |",
        "|---|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for row in table:
        method = METHOD_NAMES.get(row["method"], row["method"])
        lines.append(
            f"| {row['problem']} | {row['rate']} | {method} "
            f"| {row['runs']} | {row['success_rate']:.0%} | {row['median_best_test_error']:.3g} "
            f"| {row['genotypic_diversity']:.3f} | {row['phenotypic_diversity']:.3f} "
            f"| {row['phenotypic_entropy']:.2f} | {row['mean_size']:.1f} "
            f"| {row['mean_ideal_size']:.1f} |"
        )
    return lines


def markdown_tests(tests: Sequence[dict[str, Any]]) -> list[str]:
    lines = [
        "| problem | mutation | PIMP vs | phenotypic div. p (Holm), A | "
        "genotypic div. p (Holm), A | best test error p (Holm), A | success p (Holm) |",
        "|---|---:|---|---|---|---|---|",
    ]
    for t in tests:
        cells = [
            f"{format_p(t[k]['p'])} ({format_p(t[k]['p_holm'])}), {t[k]['a12']:.2f}" for k in TESTED
        ]
        lines.append(
            f"| {t['problem']} | {t['rate']} | {METHOD_NAMES.get(t['control'], t['control'])} | "
            + " | ".join(cells)
            + f" | {format_p(t['success']['p'])} ({format_p(t['success']['p_holm'])}) |"
        )
    return lines


def diversity_figure(
    results: Sequence[dict[str, Any]], key: str, *, label: Callable[[str], str] | None = None
) -> Figure:
    """``key`` over generations, one panel per instance, mean and 95% CI band per method."""
    label = label or (lambda m: METHOD_NAMES.get(m, m))
    by_instance = group(results, ("problem", "rate"))
    problems = list(dict.fromkeys(p for p, _ in by_instance))
    rates = list(dict.fromkeys(r for _, r in by_instance))
    figure = Figure(figsize=(4.6 * len(problems), 3.4 * len(rates)), layout="constrained")
    axes = figure.subplots(len(rates), len(problems), squeeze=False)
    for (problem, rate), runs in by_instance.items():
        ax = axes[rates.index(rate)][problems.index(problem)]
        by_method = group(runs, ("method",))
        curves = {
            label(method): [
                [{"iteration": i + 1, key: v} for i, v in enumerate(r["curves"][key])]
                for r in method_runs
            ]
            for (method,), method_runs in by_method.items()
        }
        compare_curves(curves, key, ax=ax)
        ax.set_title(f"{problem}, mutation {rate}", fontsize=9)
        ax.set_xlabel("generation")
        ax.set_ylabel(key.replace("_", " "))
        if key.endswith("_diversity"):  # a share: the band of the mean may overshoot 1
            ax.set_ylim(0, 1.02)
        ax.legend(fontsize=7)
    return figure


def save_plots(results: Sequence[dict[str, Any]], folder: Path, prefix: str) -> list[Path]:
    """Diversity-over-generations plots (genotypic, phenotypic, entropy) as PNGs."""
    return [
        save_figure(diversity_figure(results, key), Path(folder) / f"{prefix}_{key}.png")
        for key in ("genotypic_diversity", "phenotypic_diversity", "phenotypic_entropy")
    ]
