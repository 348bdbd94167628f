"""The notebooks run top to bottom on a fresh checkout (short runs), pictures included,
and show what each promises: the quickstart a formula in LaTeX, the new-domain notebook
a checked domain and its run's explorer page."""

from __future__ import annotations

import html
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

nbformat = pytest.importorskip("nbformat")
nbclient = pytest.importorskip("nbclient")

NOTEBOOKS = sorted((Path(__file__).resolve().parents[1] / "notebooks").glob("*.ipynb"))
pytestmark = pytest.mark.slow


def test_there_are_notebooks():
    assert {p.name for p in NOTEBOOKS} >= {
        "explore_run.ipynb",
        "science_birds_letters.ipynb",
        "quickstart.ipynb",
        "new_domain.ipynb",
    }


def _pictures(outputs: list[Any]) -> list[Any]:
    return [o for o in outputs if "image/png" in o.get("data", {})]


def _texts(outputs: list[Any], kind: str) -> list[str]:
    """Every output of one MIME type (``text/latex``, ``text/markdown``, ...) or, for
    ``stream``, every printed text."""
    if kind == "stream":
        return [o.text for o in outputs if o.output_type == "stream" and o.name == "stdout"]
    return [o.data[kind] for o in outputs if kind in o.get("data", {})]


def _explores_a_run(outputs: list[Any], runs: Path) -> None:
    assert len(_pictures(outputs)) >= 3  # curves, the map, and the elites drawn by the domain


def _quickstart(outputs: list[Any], runs: Path) -> None:
    assert len(_pictures(outputs)) >= 2  # the map and the Pareto front
    (latex,) = _texts(outputs, "text/latex")
    # The chosen formula is the kinetic energy m v^2 / 2 (scaled), written as LaTeX.
    assert latex.startswith("$\\displaystyle E = ") and "m v^{2}" in latex, latex
    (front,) = _texts(outputs, "text/markdown")
    assert front.startswith("| size | train R² | formula |")
    assert front.count("\n| ") >= 3 and "$" in front  # several formulas on the front
    printed = "".join(_texts(outputs, "stream"))
    r2 = float(re.search(r"test R\^2: ([-\d.]+)", printed)[1])
    assert r2 > 0.99


def _new_domain(outputs: list[Any], runs: Path) -> None:
    assert len(_pictures(outputs)) >= 3  # the best 4 circles, the map, the closest packing
    printed = "".join(_texts(outputs, "stream"))
    assert re.search(r"Circles passed \d+ checks: measures, initial", printed), printed
    assert "two centres coincide" in printed  # the invalid example, with its reason
    (table,) = _texts(outputs, "text/markdown")
    assert table.startswith("| circles | radius found | best known |")
    assert (runs / "circles.py").is_file()  # the cell's domain, as a module
    run = runs / "circles"
    assert (run / "lineage.jsonl").stat().st_size > 0
    page = (run / "report.html").read_text()
    assert "circles" in page and '<script type="application/json" id="data">' in page
    (shown,) = [h for h in _texts(outputs, "text/html") if "<iframe" in h]
    assert html.escape(page) in shown  # the page itself is shown inline


def _science_birds(outputs: list[Any], runs: Path) -> None:
    _explores_a_run(outputs, runs)
    printed = "".join(_texts(outputs, "stream"))
    assert "exploit rate: " in printed
    panel = r"under the panel: (nan|[\d.]+) \((REDUCED )?held-out panel, at least"
    assert re.search(panel, printed), printed


CONTENT: dict[str, Callable[[list[Any], Path], None]] = {
    "quickstart": _quickstart,
    "new_domain": _new_domain,
    "science_birds_letters": _science_birds,
}


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_notebook_runs_and_shows_its_content(path, tmp_path, monkeypatch):
    monkeypatch.setenv("QD_NOTEBOOK_RUNS", str(tmp_path / "runs"))
    monkeypatch.setenv("QD_NOTEBOOK_ITERATIONS", "3")
    notebook = nbformat.read(path, as_version=4)
    assert not any(c.get("outputs") for c in notebook.cells if c.cell_type == "code"), (
        f"{path.name} is committed with outputs; clear them"
    )
    client = nbclient.NotebookClient(
        notebook,
        timeout=600,
        kernel_name="python3",
        resources={"metadata": {"path": str(path.parent)}},
    )
    client.execute()  # raises CellExecutionError, with the cell and traceback, on any error
    outputs = [o for c in notebook.cells if c.cell_type == "code" for o in c.outputs]
    assert not [o for o in outputs if o.output_type == "error"]
    CONTENT.get(path.stem, _explores_a_run)(outputs, tmp_path / "runs")
    if path.stem != "quickstart":  # the others make (or open) a run of their own
        assert (tmp_path / "runs").is_dir()
