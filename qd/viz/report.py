"""``qd report RUN``: a markdown page with the map, the curves and the best elites.

The page is what a person opens after a run: how full the map is and how good, how
it got there, and the top elites drawn by the domain itself (a figure or text), plus
what went wrong (invalid candidates by reason).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
from matplotlib.figure import Figure

from qd.archive import Elite
from qd.domain import Domain
from qd.metrics.scores import elites_vendi
from qd.runs.directory import RunDirectory
from qd.runs.lifecycle import load_archive
from qd.viz import archive_heatmap, progress_curves, save_figure
from qd.viz.explorer import FIGURES, PAGE, explorer_page

FIGURES_DIR = "report"


def write_report(
    run_path: str | Path,
    *,
    top: int = 5,
    spread: int = 6,
    html_figures: int = FIGURES,
    notify: Callable[[str], None] | None = None,
) -> Path:
    """Write ``report.md`` and its PNGs, and ``report.html`` (:mod:`qd.viz.explorer`),
    into the run directory; returns the markdown page's path.

    Args:
        run_path: The run directory.
        top: How many of the best elites to show.
        spread: How many elites from far-apart cells to show (what the map holds
            beyond its best corner); 0 for none.
        html_figures: How many of the best elites get their rendered Figure embedded in
            ``report.html`` (the others show their text).
        notify: Told of each newer checkpoint skipped because it cannot be read.

    Raises:
        RunError: Not a run directory, or no checkpoint yet.
    """
    run = RunDirectory(run_path)
    config, domain, archive, checkpoint = load_archive(run, notify=notify)
    figures = run.path / FIGURES_DIR
    figures.mkdir(exist_ok=True)
    metrics = run.metrics()
    everything = run.events()
    # Invalid candidates, and what else happened (LM faults, server restarts).
    events = [e for e in everything if e.get("event", "invalid") == "invalid"]
    other_events = Counter(
        str(e["event"]) for e in everything if e.get("event", "invalid") != "invalid"
    )
    stats = archive.stats

    lines = [
        f"# Run `{config.name}`",
        "",
        f"Domain **{domain.name}** ({_options(config.domain_options())}), seed {config.seed}, "
        f"{checkpoint.iteration} iterations, {checkpoint.evaluations} evaluations.",
        "",
        "| elites | cells | coverage | QD score | best | mean | invalid |",
        "|---:|---:|---:|---:|---:|---:|---:|",
        f"| {stats.num_elites} | {stats.cells} | {stats.coverage:.1%} | {stats.qd_score:.4g} "
        f"(offset {stats.qd_score_offset:g}) | {_fmt(stats.obj_max)} | {_fmt(stats.obj_mean)} "
        f"| {len(events)} |",
        "",
    ]
    for key, title in (("lm", "LM usage"), ("embeddings", "Embedding usage")):
        usage = metrics[-1].get(key) if metrics else None
        if usage:
            lines += [
                f"{title} (this process): "
                + ", ".join(f"{k.replace('_', ' ')} {_fmt(v)}" for k, v in usage.items()),
                "",
            ]
    lines += _cost_lines(metrics, config)
    elites = archive.elites()
    flags = _flag_counts(elites)
    if flags:
        lines += [
            "Elites flagged by the domain: "
            + ", ".join(f"`{k}` {n} of {stats.num_elites}" for k, n in flags.items()),
            "",
        ]
    lines += _diversity_lines(domain, elites)
    lines += domain.report_section(elites, figures)
    if len(domain.measures) <= 2:  # a CVT heatmap of more would raise; report.html draws it
        save_figure(archive_heatmap(archive), figures / "archive.png")
        lines += ["## Archive", "", f"![archive]({FIGURES_DIR}/archive.png)", ""]
    if metrics:
        save_figure(progress_curves(metrics), figures / "progress.png")
        lines += ["## Progress", "", f"![progress]({FIGURES_DIR}/progress.png)", ""]
    lines += ["## Top elites", ""]
    ranked = sorted(elites, key=lambda e: e.objective, reverse=True)[:top]
    lines += _elites_section(domain, ranked, figures, "elite")
    if spread and len(elites) > top:
        lines += [
            "## Elites from across the map",
            "",
            f"{min(spread, len(elites))} elites from cells far apart (farthest-point order "
            "over bin coordinates, from the best elite): read them to check that the axes "
            "mean what their names say.",
            "",
        ]
        lines += _elites_section(domain, spread_elites(elites, spread), figures, "spread")
    if events:
        lines += ["## Invalid candidates", "", "| reason | count |", "|---|---:|"]
        reasons = Counter(str(e.get("reason", "?"))[:120] for e in events)
        lines += [f"| {reason} | {count} |" for reason, count in reasons.most_common(10)]
        lines += ["", f"All {len(events)} are in `events.jsonl`.", ""]
    if other_events:
        lines += ["## Other events", "", "| event | count |", "|---|---:|"]
        lines += [f"| {name} | {count} |" for name, count in other_events.most_common()]
        lines += ["", "Details (status codes, causes) are in `events.jsonl`.", ""]
    page = run.path / "report.md"
    page.write_text("\n".join(lines))
    title = f"Run {config.name}: {domain.name}, {checkpoint.iteration} iterations"
    html_page = explorer_page(
        run,
        domain,
        archive,
        title=title,
        iteration=checkpoint.iteration,
        evaluations=checkpoint.evaluations,
        figures=html_figures,
    )
    (run.path / PAGE).write_text(html_page)
    return page


def spread_elites(elites: list[Elite], k: int) -> list[Elite]:
    """``k`` elites from far-apart cells: greedy farthest-point order over bin indices.

    Starts from the best elite, then repeatedly adds the elite whose nearest chosen one
    is farthest (bins scaled to [0, 1] per axis; ties go to the better elite).
    """
    if not elites:
        return []
    bins = np.asarray([e.bins for e in elites], dtype=float)
    span = np.ptp(bins, axis=0)
    coords = (bins - bins.min(axis=0)) / np.where(span > 0, span, 1.0)
    objectives = np.asarray([e.objective for e in elites])
    chosen = [int(np.argmax(objectives))]
    nearest = np.linalg.norm(coords - coords[chosen[0]], axis=1)
    while len(chosen) < min(k, len(elites)):
        candidates = np.flatnonzero(np.isclose(nearest, nearest.max()))
        pick = int(candidates[np.argmax(objectives[candidates])])
        chosen.append(pick)
        nearest = np.minimum(nearest, np.linalg.norm(coords - coords[pick], axis=1))
    return [elites[i] for i in chosen]


def _elites_section(
    domain: Domain, shown_elites: list[Elite], figures: Path, kind: str
) -> list[str]:
    lines = []
    for rank, elite in enumerate(shown_elites, 1):
        described = ", ".join(
            f"{m.name} {_fmt(v)}" for m, v in zip(domain.measures, elite.measures, strict=True)
        )
        lines += [f"### {rank}. objective {elite.objective:.4g} ({described})", ""]
        shown = domain.render(elite.candidate, elite.info)
        if isinstance(shown, Figure):
            name = f"{kind}-{rank}.png"
            save_figure(shown, figures / name)
            lines += [f"![elite {rank}]({FIGURES_DIR}/{name})", ""]
        else:
            lines += ["```", str(shown), "```", ""]
        extra = {k: v for k, v in elite.info.items() if isinstance(v, int | float | str | bool)}
        if extra:
            lines += ["", "; ".join(f"{k}: {_fmt(v)}" for k, v in extra.items()), ""]
    return lines or ["(the archive is empty)", ""]


def _diversity_lines(domain: Domain, elites: list[Elite]) -> list[str]:
    """The Vendi score over the elites' ``domain.features``, when the domain has them."""
    found = elites_vendi(domain.features, elites)
    if found is None:
        return []
    score, kept = found
    missing = len(elites) - kept
    left_out = f" ({missing} without features left out)" if missing else ""
    return [
        f"Diversity: Vendi score {score:.2f}, the effective number of different elites "
        f"among {kept} by cosine similarity of `{type(domain).__name__}.features`"
        f"{left_out}.",
        "",
    ]


def _flag_counts(elites: list[Elite]) -> dict[str, int]:
    """How many elites have each boolean ``info`` flag set (e.g. symbolic regression hits)."""
    counts: Counter[str] = Counter()
    for elite in elites:
        for key, value in elite.info.items():
            if isinstance(value, bool):
                counts[key] += int(value)
    return dict(counts)


def _options(options: dict[str, Any]) -> str:
    return ", ".join(f"{k}={v}" for k, v in options.items()) or "defaults"


def _cost_lines(metrics: list[dict[str, Any]], config: Any) -> list[str]:
    """The run's LM tokens and, with a price table, its cost and the budgets set."""
    last = metrics[-1] if metrics else {}
    if "lm" not in last and "lm_cost" not in last:
        return []
    tokens = sum(
        int((last.get(key) or {}).get(part, 0))
        for key in ("lm", "embeddings")
        for part in ("prompt_tokens", "completion_tokens")
    )
    line = f"LM tokens (whole run): {tokens:,}"
    if last.get("lm_cost") is not None:
        costs = [m["lm_cost_iteration"] for m in metrics if "lm_cost_iteration" in m]
        line += f"; cost ${last['lm_cost']:.4f}"
        if costs:
            line += f" (${max(costs):.4f} at most in one iteration)"
    budgets = []
    if config.lm.max_cost is not None:
        budgets.append(f"max_cost ${config.lm.max_cost:g}")
    if config.lm.max_tokens is not None:
        budgets.append(f"max_tokens {config.lm.max_tokens:,}")
    if budgets:
        line += "; budget: " + ", ".join(budgets)
    return [line, ""]


def _fmt(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:.4g}"
    return str(value)
