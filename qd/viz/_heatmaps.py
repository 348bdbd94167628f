"""Archive heatmaps: grids (uniform, explicit-edge and categorical axes) and CVT maps.

Heatmaps place elites by their *raw* measures through :meth:`qd.domain.Measure.bin_of`
(the bins in :class:`qd.archive.Elite`), not by pyribs' grid indices, so explicit edges
and categorical axes are drawn as the domain declared them.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal, cast

import numpy as np
from matplotlib import colormaps
from matplotlib.axes import Axes
from matplotlib.collections import PolyCollection
from matplotlib.colors import Colormap, Normalize
from matplotlib.figure import Figure

if TYPE_CHECKING:
    from qd.archive import Archive
    from qd.domain import Measure

Scale = Literal["true", "index"]

EMPTY_COLOR = "#ececec"
"""Colour of empty cells: light grey, so holes in the map read as holes, not as 0."""

WIDTH_RATIO_FOR_INDEX = 10.0
"""An axis whose widest bin is this many times its narrowest is drawn by index."""


# --- archive heatmaps ---------------------------------------------------------------


def archive_heatmap(
    archive: Archive,
    *,
    measures: Sequence[str | int] | None = None,
    scale: Scale | None = None,
    ax: Axes | None = None,
    cmap: str | Colormap = "viridis",
    vmin: float | None = None,
    vmax: float | None = None,
    title: str | None = None,
) -> Figure:
    """Draw the archive as a map of cells coloured by each elite's objective.

    One measure gives a one-row strip, two a grid; empty cells stay light grey so the
    gaps in the map show. Explicit bin edges are drawn at their real widths
    (``scale="true"``) or as equal-width cells with the real edge values on the ticks
    (``scale="index"``): QDAIF's 20 bins on [0, 1], fine near 0 and 1, are
    unreadable to scale, since half of them are under 5% of the axis. Categorical axes
    get one cell per label, labelled.

    Args:
        archive: The archive to draw. Grid archives with 1 or 2 measures (or more with
            ``measures``); CVT archives with 1 or 2 measures are drawn as Voronoi
            cells through ``ribs.visualize`` when it is installed.
        measures: Names or indices of the 1 or 2 grid axes to draw; the other axes are
            collapsed, each drawn cell showing its best elite. Defaults to all axes.
        scale: ``"true"`` or ``"index"`` for every numeric axis; ``None`` (default)
            picks per axis: ``"index"`` where bin widths differ by more than
            ``WIDTH_RATIO_FOR_INDEX`` times, ``"true"`` elsewhere.
        ax: Axes to draw on (its figure is returned); a new Figure by default.
        cmap: Colormap name or object for the objective.
        vmin: Lower end of the colour scale; the lowest objective by default. Fix
            ``vmin`` and ``vmax`` to compare archives side by side.
        vmax: Upper end of the colour scale; the highest objective by default.
        title: Axes title; by default the number of elites, coverage and best
            objective. Pass ``""`` for none.

    Returns:
        The Figure drawn on.

    Raises:
        ValueError: More than 2 axes to draw, an unknown measure or scale, or a CVT
            archive with more than 2 measures.
    """
    if scale not in (None, "true", "index"):
        raise ValueError(f"unknown scale {scale!r}; use 'true', 'index' or None (auto)")
    if archive.kind == "cvt":
        _check_cvt(archive, measures)
        figure, ax = _figure_and_axes(ax, one_row=len(archive.measures) == 1)
        _cvt_heatmap(archive, ax, _colormap(cmap), vmin, vmax)
    else:
        axes = _selected(archive, measures)
        figure, ax = _figure_and_axes(ax, one_row=len(axes) == 1)
        _grid_heatmap(archive, axes, scale, ax, _colormap(cmap), vmin, vmax)
    ax.set_title(_summary(archive) if title is None else title)
    return figure


def _selected(archive: Archive, measures: Sequence[str | int] | None) -> list[int]:
    """Indices of the axes to draw."""
    count = len(archive.measures)
    if measures is None:
        if count > 2:
            names = [m.name for m in archive.measures]
            raise ValueError(
                f"archive_heatmap draws 1 or 2 measures, this archive has {count} "
                f"({names}); pass measures=(name_x, name_y) to draw the best elite per "
                "cell of two of them, or use a CVT archive with 2 measures"
            )
        return list(range(count))
    names = [m.name for m in archive.measures]
    chosen = []
    for key in measures:
        if isinstance(key, str):
            if key not in names:
                raise ValueError(f"no measure named {key!r}; the archive has {names}")
            chosen.append(names.index(key))
        elif isinstance(key, int) and -count <= key < count:
            chosen.append(key % count)
        else:
            raise ValueError(f"measure index {key!r} is out of range for {count} measures")
    if not 1 <= len(chosen) <= 2 or len(set(chosen)) != len(chosen):
        raise ValueError(f"pass 1 or 2 distinct measures to draw, got {list(measures)}")
    return chosen


@dataclass(frozen=True)
class _AxisLayout:
    """Where one measure's cells go on a plot axis, and how its ticks read."""

    edges: np.ndarray
    ticks: np.ndarray | None
    ticklabels: list[str] | None
    title: str


def _auto_scale(measure: Measure) -> Scale:
    widths = np.diff(measure.bounds)
    return "index" if widths.max() > WIDTH_RATIO_FOR_INDEX * widths.min() else "true"


def _layout(measure: Measure, scale: Scale | None) -> _AxisLayout:
    bins = measure.bins
    index_edges = np.arange(bins + 1, dtype=float)
    if measure.kind == "categorical":
        return _AxisLayout(index_edges, index_edges[:-1] + 0.5, list(measure.labels), measure.title)
    if (scale or _auto_scale(measure)) == "true":
        return _AxisLayout(np.asarray(measure.bounds, dtype=float), None, None, measure.title)
    step = max(1, math.ceil((bins + 1) / 21))
    positions = list(range(0, bins + 1, step))
    if positions[-1] != bins:
        positions.append(bins)
    labels = [f"{measure.bounds[i]:.6g}" for i in positions]
    return _AxisLayout(index_edges, np.asarray(positions, dtype=float), labels, measure.title)


def _grid_heatmap(
    archive: Archive,
    axes: list[int],
    scale: Scale | None,
    ax: Axes,
    colours: Colormap,
    vmin: float | None,
    vmax: float | None,
) -> None:
    layouts = [_layout(archive.measures[i], scale) for i in axes]
    shape = [archive.measures[i].bins for i in reversed(axes)]  # rows = y, columns = x
    values = np.full(shape if len(axes) == 2 else [1, *shape], np.nan)
    for elite in archive.elites():
        bx = elite.bins[axes[0]]
        by = elite.bins[axes[1]] if len(axes) == 2 else 0
        current = values[by, bx]
        if math.isnan(current) or elite.objective > current:
            values[by, bx] = elite.objective
    y_edges = layouts[1].edges if len(axes) == 2 else np.array([0.0, 1.0])
    many = max(values.shape) > 40
    mesh = ax.pcolormesh(
        layouts[0].edges,
        y_edges,
        np.ma.masked_invalid(values),
        cmap=colours,
        norm=_norm(values, vmin, vmax),
        edgecolors="none" if many else "white",
        linewidth=0.0 if many else 0.6,
    )
    ax.figure.colorbar(mesh, ax=ax, label="objective", pad=0.02)
    _apply_layout(ax, layouts[0], "x")
    if len(axes) == 2:
        _apply_layout(ax, layouts[1], "y")
    else:
        ax.set_yticks([])
    ax.set_xlim(layouts[0].edges[0], layouts[0].edges[-1])
    ax.set_ylim(y_edges[0], y_edges[-1])


def _apply_layout(ax: Axes, layout: _AxisLayout, which: Literal["x", "y"]) -> None:
    set_label = ax.set_xlabel if which == "x" else ax.set_ylabel
    set_label(layout.title)
    if layout.ticks is None:
        return
    set_ticks = ax.set_xticks if which == "x" else ax.set_yticks
    crowded = len(layout.ticks) > 8 or max(len(t) for t in layout.ticklabels or [""]) > 8
    options: dict[str, Any] = {"fontsize": 7 if len(layout.ticks) > 12 else None}
    if which == "x" and crowded:
        options["rotation"] = 90
    set_ticks(layout.ticks, layout.ticklabels, **options)


def _check_cvt(archive: Archive, measures: Sequence[str | int] | None) -> None:
    count = len(archive.measures)
    if measures is not None:
        raise ValueError(
            "measures= picks axes of a grid archive; a CVT heatmap draws the archive's "
            "own 1 or 2 measures, so leave measures out"
        )
    if count > 2:
        raise ValueError(
            f"a CVT heatmap needs 1 or 2 measures, this archive has {count}; plot "
            "progress_curves or the Vendi score instead, or build a grid archive over "
            "the two measures you want to see"
        )


def _cvt_heatmap(
    archive: Archive, ax: Axes, colours: Colormap, vmin: float | None, vmax: float | None
) -> None:
    count = len(archive.measures)
    draw = _ribs_cvt_heatmap()
    if draw is not None:
        draw(
            archive.pyribs,
            ax=ax,
            cmap=colours,
            vmin=vmin,
            vmax=vmax,
            cbar_kwargs={"label": "objective", "pad": 0.02},
        )
    else:
        _voronoi_heatmap(archive, ax, colours, vmin, vmax)
    ax.set_xlabel(archive.measures[0].title)
    if count == 2:
        ax.set_ylabel(archive.measures[1].title)
    else:
        ax.set_yticks([])


@functools.cache
def _ribs_cvt_heatmap() -> Callable[..., Any] | None:
    """pyribs' CVT heatmap, or None where ``ribs[visualize]`` is not installed."""
    try:
        from ribs.visualize import cvt_archive_heatmap
    except ImportError:
        return None
    return cvt_archive_heatmap


def _voronoi_heatmap(
    archive: Archive, ax: Axes, colours: Colormap, vmin: float | None, vmax: float | None
) -> None:
    """Voronoi cells of a 1-D or 2-D CVT archive, for when ``ribs.visualize`` is absent."""
    from scipy.spatial import Voronoi

    centroids = np.asarray(archive.centroids, dtype=float)
    low = np.array([m.low for m in archive.measures])
    high = np.array([m.high for m in archive.measures])
    values = np.full(len(centroids), np.nan)
    for elite in archive.elites():
        values[elite.cell] = elite.objective
    norm = _norm(values, vmin, vmax)
    if len(archive.measures) == 1:
        order = np.argsort(centroids[:, 0])
        middle = (centroids[order[:-1], 0] + centroids[order[1:], 0]) / 2.0
        edges = np.concatenate([[low[0]], middle, [high[0]]])
        strip = np.ma.masked_invalid(values[order][None, :])
        artist: Any = ax.pcolormesh(
            edges, [0.0, 1.0], strip, cmap=colours, norm=norm, edgecolors="white", lw=0.3
        )
        ax.set_xlim(low[0], high[0])
        ax.set_ylim(0.0, 1.0)
    else:
        # Far-away points close the outer regions, so every centroid's cell is finite.
        span = high - low
        far = [
            high + span * 1000,
            high + span * [-1000, 1000],
            low - span * 1000,
            low + span * [1000, -1000],
        ]
        diagram = Voronoi(np.vstack([centroids, far]))
        polygons = [
            diagram.vertices[diagram.regions[diagram.point_region[i]]]
            for i in range(len(centroids))
        ]
        artist = PolyCollection(
            polygons, cmap=colours, norm=norm, edgecolors="white", linewidths=0.3
        )
        artist.set_array(np.ma.masked_invalid(values))
        ax.add_collection(artist)
        ax.set_xlim(low[0], high[0])
        ax.set_ylim(low[1], high[1])
    ax.figure.colorbar(artist, ax=ax, label="objective", pad=0.02)


def _norm(values: np.ndarray, vmin: float | None, vmax: float | None) -> Normalize:
    finite = values[np.isfinite(values)]
    low = float(finite.min()) if vmin is None and finite.size else vmin
    high = float(finite.max()) if vmax is None and finite.size else vmax
    low = 0.0 if low is None else low
    high = low + 1.0 if high is None else high
    if high <= low:  # one elite, or all equal: centre it rather than divide by zero
        low, high = low - 0.5, low + 0.5
    return Normalize(vmin=low, vmax=high)


def _colormap(cmap: str | Colormap) -> Colormap:
    base = colormaps[cmap] if isinstance(cmap, str) else cmap
    return base.with_extremes(bad=EMPTY_COLOR)


def _summary(archive: Archive) -> str:
    stats = archive.stats
    text = f"{stats.num_elites} elites, coverage {stats.coverage:.1%}"
    return text if stats.obj_max is None else f"{text}, best {stats.obj_max:.3g}"


def _figure_and_axes(ax: Axes | None, *, one_row: bool) -> tuple[Figure, Axes]:
    if ax is not None:
        return cast(Figure, ax.figure), ax  # an Axes made by the caller, on a whole Figure
    figure = Figure(figsize=(8.0, 2.0) if one_row else (7.0, 5.5), layout="constrained")
    return figure, figure.add_subplot()
