"""Heatmaps and curves drawn from real archives and metrics, checked by what they plot."""

from __future__ import annotations

import math
from pathlib import Path

import matplotlib

matplotlib.use("Agg")

import numpy as np
import pytest
from matplotlib.collections import PolyCollection, QuadMesh
from matplotlib.figure import Figure

from qd.archive import Archive
from qd.domain import Evaluation, Measure
from qd.viz import _heatmaps as viz
from qd.viz import archive_heatmap, compare_curves, progress_curves, save_figure

QDAIF_EDGES = [0, 0.005, 0.01, 0.015, 0.02, 0.03, 0.04, 0.05, 0.10, 0.20, 0.50]
QDAIF_EDGES += [0.80, 0.90, 0.95, 0.96, 0.97, 0.98, 0.985, 0.99, 0.995, 1]
GENRES = ("haiku", "sonnet", "limerick", "ballad")
TONES = ("happy", "dark", "mysterious")


def filled(measures: list[Measure], points: list[tuple], **options) -> Archive:
    archive = Archive(measures, **options)
    objectives = np.linspace(0.2, 0.9, len(points))
    evaluations = [
        Evaluation(objective=float(o), measures=p) for o, p in zip(objectives, points, strict=True)
    ]
    status = archive.add([f"c{i}" for i in range(len(points))], evaluations)
    assert np.all(status > 0)
    return archive


def mesh_of(figure: Figure) -> QuadMesh:
    meshes = [c for c in figure.axes[0].collections if isinstance(c, QuadMesh)]
    assert len(meshes) == 1
    return meshes[0]


def drawn_cells(artist) -> int:
    return int(np.count_nonzero(~np.ma.getmaskarray(artist.get_array())))


def ticklabels(figure: Figure, axis: str) -> list[str]:
    ax = figure.axes[0]
    labels = ax.get_xticklabels() if axis == "x" else ax.get_yticklabels()
    return [t.get_text() for t in labels]


def saved(figure: Figure, path: Path) -> Path:
    out = save_figure(figure, path)
    assert out.exists() and out.stat().st_size > 5_000
    return out


def test_uniform_1d_strip(tmp_path: Path) -> None:
    archive = filled([Measure.uniform("size", 0, 50, 10, title="tree size")], [(3,), (27,), (49,)])
    figure = archive_heatmap(archive)
    mesh = mesh_of(figure)
    assert mesh.get_array().shape == (1, 10)
    assert drawn_cells(mesh) == archive.stats.num_elites == 3
    assert figure.axes[0].get_xlim() == (0.0, 50.0)
    assert figure.axes[0].get_xlabel() == "tree size"
    assert figure.axes[1].get_ylabel() == "objective"  # the colourbar
    saved(figure, tmp_path / "strip.png")


def test_uniform_2d_grid(tmp_path: Path) -> None:
    measures = [Measure.uniform("x", -1, 1, 8), Measure.uniform("y", 0, 4, 5, title="depth")]
    points = [(-0.9, 0.1), (0.0, 2.0), (0.95, 3.9), (0.5, 1.0)]
    archive = filled(measures, points)
    figure = archive_heatmap(archive, title="demo")
    values = mesh_of(figure).get_array()
    assert values.shape == (5, 8)
    assert drawn_cells(mesh_of(figure)) == 4
    # Placed by the raw measures: (0.95, 3.9), the third point, lands top right.
    assert values[4, 7] == pytest.approx(0.2 + 0.7 * 2 / 3)
    assert figure.axes[0].get_ylabel() == "depth"
    assert figure.axes[0].get_title() == "demo"
    saved(figure, tmp_path / "nested" / "grid")  # suffix added, parents made
    assert (tmp_path / "nested" / "grid.png").exists()


def test_qdaif_edges_pick_index_scale(tmp_path: Path) -> None:
    measures = [Measure.with_edges("sentiment", QDAIF_EDGES, title="sentiment")]
    measures.append(Measure.uniform("length", 0, 1, 4))
    archive = filled(measures, [(0.001, 0.1), (0.0072, 0.6), (0.5, 0.3), (0.993, 0.9)])
    auto = archive_heatmap(archive)  # widths differ 60x: index scale for that axis only
    mesh = mesh_of(auto)
    assert mesh.get_array().shape == (4, 20)
    assert drawn_cells(mesh) == 4
    assert auto.axes[0].get_xlim() == (0.0, 20.0)
    labels = ticklabels(auto, "x")
    assert "0.005" in labels and "0.995" in labels and len(labels) == 21
    assert auto.axes[0].get_ylim() == (0.0, 1.0)  # the uniform axis keeps its real scale
    out = saved(auto, tmp_path / "qdaif-index.png")

    true = archive_heatmap(archive, scale="true")
    coordinates = mesh_of(true).get_coordinates()
    np.testing.assert_allclose(coordinates[0, :, 0], QDAIF_EDGES)
    assert "0.005" not in ticklabels(true, "x")
    saved(true, tmp_path / "qdaif-true.png")
    assert out.stat().st_size > 0


def test_categorical_2d_labels(tmp_path: Path) -> None:
    measures = [
        Measure.categorical("genre", GENRES, title="genre"),
        Measure.categorical("tone", TONES, title="tone"),
    ]
    archive = filled(measures, [("haiku", "dark"), ("ballad", "happy"), ("sonnet", "dark")])
    figure = archive_heatmap(archive)
    values = mesh_of(figure).get_array()
    assert values.shape == (3, 4)
    assert drawn_cells(mesh_of(figure)) == 3
    assert values[1, 0] == pytest.approx(0.2)  # haiku x dark
    assert ticklabels(figure, "x") == list(GENRES)
    assert ticklabels(figure, "y") == list(TONES)
    saved(figure, tmp_path / "categorical.png")


def test_projection_of_three_measures_keeps_best() -> None:
    measures = [Measure.uniform(n, 0, 1, 3) for n in ("a", "b", "c")]
    archive = filled(measures, [(0.1, 0.1, 0.1), (0.1, 0.1, 0.9), (0.9, 0.5, 0.5)])
    with pytest.raises(ValueError, match="measures="):
        archive_heatmap(archive)
    values = mesh_of(archive_heatmap(archive, measures=("a", "b"))).get_array()
    assert drawn_cells(mesh_of(archive_heatmap(archive, measures=("a", "b")))) == 2
    assert values[0, 0] == pytest.approx(0.55)  # best of 0.2 and 0.55 in that cell
    with pytest.raises(ValueError, match="no measure named"):
        archive_heatmap(archive, measures=("a", "z"))


def test_draws_on_given_axes_and_rejects_bad_scale() -> None:
    archive = filled([Measure.uniform("x", 0, 1, 4)], [(0.3,)])
    figure = Figure()
    ax = figure.add_subplot()
    assert archive_heatmap(archive, ax=ax) is figure
    with pytest.raises(ValueError, match="'index'"):
        archive_heatmap(archive, scale="log")  # type: ignore[arg-type]
    empty = Archive([Measure.uniform("x", 0, 1, 4)])
    assert drawn_cells(mesh_of(archive_heatmap(empty))) == 0


def test_cvt_heatmap_voronoi_fallback(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(viz, "_ribs_cvt_heatmap", lambda: None)
    measures = [Measure.uniform("x", 0, 1, 10), Measure.uniform("y", 0, 1, 10)]
    archive = filled(measures, [(0.1, 0.2), (0.8, 0.9), (0.5, 0.5)], kind="cvt", cells=30, seed=0)
    figure = archive_heatmap(archive)
    polygons = [c for c in figure.axes[0].collections if isinstance(c, PolyCollection)]
    assert drawn_cells(polygons[0]) == 3
    assert figure.axes[0].get_xlabel() == "x"
    saved(figure, tmp_path / "cvt.png")


def test_cvt_heatmap_through_ribs_visualize(tmp_path: Path) -> None:
    if viz._ribs_cvt_heatmap() is None:
        pytest.skip("ribs[visualize] is not installed")
    measures = [Measure.uniform("x", 0, 1, 10), Measure.uniform("y", 0, 1, 10)]
    archive = filled(measures, [(0.1, 0.2), (0.8, 0.9)], kind="cvt", cells=30, seed=0)
    saved(archive_heatmap(archive), tmp_path / "cvt-ribs.png")


def metrics_log(iterations: int, rate: float) -> list[dict]:
    return [
        {
            "iteration": i,
            "evaluations": 8 * i,
            "qd_score": rate * i,
            "coverage": min(1.0, 0.05 * i),
            "num_elites": i,
            "obj_max": None if i == 0 else 0.5,
        }
        for i in range(iterations)
    ]


def test_progress_curves(tmp_path: Path) -> None:
    metrics = metrics_log(10, 1.5)
    figure = progress_curves(metrics, keys=("qd_score", "coverage", "vendi", "obj_max"))
    assert len(figure.axes) == 3  # "vendi" is in no record: skipped
    assert [ax.get_ylabel() for ax in figure.axes] == ["QD score", "coverage", "best objective"]
    np.testing.assert_allclose(figure.axes[0].lines[0].get_ydata(), 1.5 * np.arange(10))
    assert math.isnan(figure.axes[2].lines[0].get_ydata()[0])  # null value: a gap
    saved(figure, tmp_path / "progress.png")
    with pytest.raises(ValueError, match="available keys"):
        progress_curves(metrics, keys=("vendi",))
    with pytest.raises(ValueError, match="no metrics"):
        progress_curves([])


def test_compare_curves(tmp_path: Path) -> None:
    runs = {
        "lmx": [metrics_log(10, r) for r in (1.0, 1.2, 1.4)],
        "random": [metrics_log(8, r) for r in (0.5, 0.7)],
    }
    figure = compare_curves(runs, band="minmax")
    ax = figure.axes[0]
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["lmx (n=3)", "random (n=2)"]
    np.testing.assert_allclose(ax.lines[0].get_ydata(), 1.2 * np.arange(10))
    assert len(ax.lines[1].get_xdata()) == 8
    saved(figure, tmp_path / "compare.png")
    saved(compare_curves(runs, "coverage", x="evaluations"), tmp_path / "compare-ci.png")
    with pytest.raises(ValueError, match="no seeds"):
        compare_curves({"lmx": []})
