"""Run curves: one run's numbers over its iterations, and methods compared over seeds."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any, Literal, cast

import numpy as np
from matplotlib.axes import Axes
from matplotlib.figure import Figure

if TYPE_CHECKING:
    pass

Band = Literal["ci95", "minmax"]

_LABELS = {
    "qd_score": "QD score",
    "coverage": "coverage",
    "num_elites": "elites",
    "obj_max": "best objective",
    "obj_mean": "mean objective",
    "vendi": "Vendi score of elites",
    "evaluations": "evaluations",
    "iteration": "iteration",
}


# --- run curves ---------------------------------------------------------------------


def progress_curves(
    metrics: Sequence[Mapping[str, Any]],
    *,
    keys: Sequence[str] = ("qd_score", "coverage", "vendi"),
    x: str = "iteration",
) -> Figure:
    """Plot how a run's numbers grow, one subplot per key.

    Metrics lines come from ``metrics.jsonl``; older runs or other engines may lack
    some keys, so a key that no record holds is skipped rather than fatal, and a
    record's missing or null value leaves a gap in its curve.

    Args:
        metrics: One mapping per iteration, e.g. ``{"iteration": 3, "qd_score": ...}``.
        keys: Which numbers to plot.
        x: The key on the horizontal axis (``"iteration"`` or ``"evaluations"``);
            records without it are dropped.

    Returns:
        A Figure with one subplot per key present.

    Raises:
        ValueError: No records, or none of ``keys`` appears in any record.
    """
    records = [r for r in metrics if r.get(x) is not None]
    if not records:
        raise ValueError(f"no metrics records with {x!r} to plot; run at least one iteration")
    present = [k for k in keys if any(r.get(k) is not None for r in records)]
    if not present:
        available = sorted({k for r in records for k in r})
        raise ValueError(f"none of {list(keys)} is in the metrics; available keys: {available}")
    figure = Figure(figsize=(4.2 * len(present), 3.2), layout="constrained")
    axes = figure.subplots(1, len(present), squeeze=False)[0]
    xs = np.array([float(r[x]) for r in records])
    for ax, key in zip(axes, present, strict=True):
        ys = np.array([_number(r.get(key)) for r in records])
        ax.plot(xs, ys, marker="." if len(xs) <= 30 else None, color="C0")
        ax.set_xlabel(_LABELS.get(x, x))
        ax.set_ylabel(_LABELS.get(key, key))
        ax.grid(alpha=0.3)
    return figure


def compare_curves(
    runs: Mapping[str, Sequence[Sequence[Mapping[str, Any]]]],
    key: str = "qd_score",
    *,
    x: str = "iteration",
    band: Band = "ci95",
    ax: Axes | None = None,
) -> Figure:
    """Compare methods: mean curve over seeds with a shaded band, one colour per method.

    One seed proves little in QD, where runs vary widely; the band shows whether two
    methods' curves really separate. Seeds are aligned on the ``x`` values all of a
    method's seeds logged, so a seed that stopped early shortens its method's curve
    rather than skewing the mean with fewer seeds at the end.

    Args:
        runs: ``{method: [seed_metrics, ...]}``, each ``seed_metrics`` a list of
            per-iteration mappings as in :func:`progress_curves`.
        key: The number to compare.
        x: The key on the horizontal axis; ``"evaluations"`` is fairer when methods
            evaluate different batch sizes.
        band: ``"ci95"`` (Student-t 95% confidence interval of the mean) or
            ``"minmax"`` (range over seeds). A single seed gets no band.
        ax: Axes to draw on; a new Figure by default.

    Returns:
        The Figure drawn on.

    Raises:
        ValueError: No runs, an unknown band, or a method with no seeds, no record
            holding ``key``, or no ``x`` value common to all its seeds.
    """
    if band not in ("ci95", "minmax"):
        raise ValueError(f"unknown band {band!r}; use 'ci95' or 'minmax'")
    if not runs:
        raise ValueError("no runs to compare; pass {method: [seed_metrics, ...]}")
    if ax is None:
        figure = Figure(figsize=(6.4, 4.2), layout="constrained")
        ax = figure.add_subplot()
    else:
        figure = cast(Figure, ax.figure)  # an Axes made by the caller, on a whole Figure
    for colour, (method, seeds) in enumerate(runs.items()):
        xs, table = _aligned(method, seeds, key, x)
        mean = table.mean(axis=0)
        ax.plot(xs, mean, color=f"C{colour}", label=f"{method} (n={len(table)})")
        if len(table) > 1:
            low, high = _band(table, band)
            ax.fill_between(xs, low, high, color=f"C{colour}", alpha=0.2, linewidth=0)
    ax.set_xlabel(_LABELS.get(x, x))
    ax.set_ylabel(_LABELS.get(key, key))
    ax.set_title(f"mean and {'95% CI' if band == 'ci95' else 'min-max'} over seeds")
    ax.grid(alpha=0.3)
    ax.legend()
    return figure


def _aligned(
    method: str, seeds: Sequence[Sequence[Mapping[str, Any]]], key: str, x: str
) -> tuple[np.ndarray, np.ndarray]:
    """Common x values of all seeds, and a (seeds, x) table of ``key``."""
    if not seeds:
        raise ValueError(f"method {method!r} has no seeds; give at least one metrics list")
    curves = []
    for records in seeds:
        curve = {
            float(r[x]): _number(r[key])
            for r in records
            if r.get(x) is not None and r.get(key) is not None
        }
        if not curve:
            raise ValueError(f"method {method!r}: a seed has no record with both {x!r} and {key!r}")
        curves.append(curve)
    common = sorted(set.intersection(*(set(c) for c in curves)))
    if not common:
        raise ValueError(
            f"method {method!r}: its seeds share no {x!r} value; compare on a key all seeds "
            "log, e.g. x='iteration'"
        )
    return np.array(common), np.array([[c[v] for v in common] for c in curves])


def _band(table: np.ndarray, band: Band) -> tuple[np.ndarray, np.ndarray]:
    if band == "minmax":
        return table.min(axis=0), table.max(axis=0)
    from scipy.stats import t

    n = len(table)
    half = t.ppf(0.975, n - 1) * table.std(axis=0, ddof=1) / math.sqrt(n)
    mean = table.mean(axis=0)
    return mean - half, mean + half


def _number(value: Any) -> float:
    return float("nan") if value is None else float(value)
