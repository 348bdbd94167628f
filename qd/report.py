"""``qd report RUN``: a markdown page with the map, the curves and the best elites.

The page is what a person opens after a run: how full the map is and how good, how
it got there, and the top elites drawn by the domain itself (a figure or text), plus
what went wrong (invalid candidates by reason).
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any

import numpy as np
from matplotlib.figure import Figure

from qd.archive import Elite
from qd.domain import Domain
from qd.metrics import vendi_score_of_features
from qd.runs import RunDirectory, load_archive
from qd.viz import archive_heatmap, progress_curves, save_figure

FIGURES_DIR = "report"


def write_report(run_path: str | Path, *, top: int = 5) -> Path:
    """Write ``report.md`` and its PNGs into the run directory; returns the page's path.

    Raises:
        RunError: Not a run directory, or no checkpoint yet.
    """
    run = RunDirectory(run_path)
    config, domain, archive, checkpoint = load_archive(run)
    figures = run.path / FIGURES_DIR
    figures.mkdir(exist_ok=True)
    metrics = run.metrics()
    events = run.events()
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
    usage = metrics[-1].get("lm") if metrics else None
    if usage:
        lines += [
            "LM usage (this process): "
            + ", ".join(f"{k.replace('_', ' ')} {_fmt(v)}" for k, v in usage.items()),
            "",
        ]
    elites = archive.elites()
    flags = _flag_counts(elites)
    if flags:
        lines += [
            "Elites flagged by the domain: "
            + ", ".join(f"`{k}` {n} of {stats.num_elites}" for k, n in flags.items()),
            "",
        ]
    lines += _diversity_lines(domain, elites)
    if len(domain.measures) <= 2 or archive.kind == "cvt":
        save_figure(archive_heatmap(archive), figures / "archive.png")
        lines += ["## Archive", "", f"![archive]({FIGURES_DIR}/archive.png)", ""]
    if metrics:
        save_figure(progress_curves(metrics), figures / "progress.png")
        lines += ["## Progress", "", f"![progress]({FIGURES_DIR}/progress.png)", ""]
    lines += ["## Top elites", ""]
    lines += _elites_section(domain, elites, figures, top)
    if events:
        lines += ["## Invalid candidates", "", "| reason | count |", "|---|---:|"]
        reasons = Counter(str(e.get("reason", "?"))[:120] for e in events)
        lines += [f"| {reason} | {count} |" for reason, count in reasons.most_common(10)]
        lines += ["", f"All {len(events)} are in `events.jsonl`.", ""]
    page = run.path / "report.md"
    page.write_text("\n".join(lines))
    return page


def _elites_section(domain: Domain, elites: list[Elite], figures: Path, top: int) -> list[str]:
    lines = []
    ranked = sorted(elites, key=lambda e: e.objective, reverse=True)[:top]
    for rank, elite in enumerate(ranked, 1):
        described = ", ".join(
            f"{m.name} {_fmt(v)}" for m, v in zip(domain.measures, elite.measures, strict=True)
        )
        lines += [f"### {rank}. objective {elite.objective:.4g} ({described})", ""]
        shown = domain.render(elite.candidate, elite.info)
        if isinstance(shown, Figure):
            name = f"elite-{rank}.png"
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
    vectors = [domain.features(e.candidate, e.info) for e in elites]
    kept = [v for v in vectors if v is not None]
    if len(kept) < 2:
        return []
    score = vendi_score_of_features(np.asarray(kept, dtype=float))
    missing = len(elites) - len(kept)
    left_out = f" ({missing} without features left out)" if missing else ""
    return [
        f"Diversity: Vendi score {score:.2f}, the effective number of different elites "
        f"among {len(kept)} by cosine similarity of `{type(domain).__name__}.features`"
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


def _fmt(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:.4g}"
    return str(value)
