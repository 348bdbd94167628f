"""``report.html``: one self-contained page to explore a run (the map, each elite, its
ancestors, the curves), the same page comparing several runs, and what ``qd view``
serves.

A run is understood by clicking through it: which cell holds what, how good, and where
it came from. The page is one file with no server and no network (its
Content-Security-Policy forbids any request): the data as one embedded JSON block,
drawn by a few hundred lines of inline JavaScript as SVG. Three modules, one job each:
:mod:`qd.viz._explorer_data` gathers a run's data, :mod:`qd.viz._explorer_page` is the
HTML and JS, :mod:`qd.viz.live` serves it while a run goes (``qd view``).

On the page: the map (grid archives cell by cell, categorical axes as labelled bins, CVT
archives as points at their centroids), with a choice of the two axes drawn when there
are more, of the colour (objective or any numeric ``info`` field), and a slider over
the run's kept checkpoints; click a cell for its elite (text, rendered Figure for the
``figures`` best, ``info``) and its ancestors with a word diff from each parent; a
chart of every numeric series of ``metrics.jsonl``. Several runs on one page
(:func:`write_comparison`) get a map each, overlaid curves and a table of final numbers.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from qd.archive import Archive
from qd.domain import Domain
from qd.runs.directory import RunDirectory, RunError
from qd.runs.lifecycle import load_archive
from qd.viz._explorer_data import embed_json, run_data
from qd.viz._explorer_page import page_html

__all__ = [
    "FIGURES",
    "PAGE",
    "embed_json",
    "explorer_page",
    "load_run_data",
    "write_comparison",
    "write_explorer",
]

PAGE = "report.html"
FIGURES = 12
"""How many of the best elites get their rendered Figure as a PNG (the rest: text).
Each costs about 0.3 s to draw: 50 made ``qd report`` on a 98-elite SR run take 27 s
instead of 17 s; ``--figures`` asks for more."""


def write_explorer(
    run_path: str | Path,
    *,
    figures: int = FIGURES,
    notify: Callable[[str], None] | None = None,
) -> Path:
    """Write ``report.html`` into the run directory; returns its path.

    Args:
        run_path: The run directory.
        figures: How many of the best elites get their rendered Figure embedded.
        notify: Told of each newer checkpoint skipped because it cannot be read.

    Raises:
        RunError: Not a run directory, or no checkpoint yet.
    """
    title, data = load_run_data(run_path, figures=figures, notify=notify)
    page = Path(run_path) / PAGE
    page.write_text(page_html(title, [data]))
    return page


def explorer_page(
    run: RunDirectory,
    domain: Domain,
    archive: Archive,
    *,
    title: str,
    iteration: int,
    evaluations: int,
    figures: int = FIGURES,
) -> str:
    """The whole HTML page of a loaded run (:func:`write_explorer` without the loading,
    so ``qd report`` loads the archive once for both pages).

    Args:
        run: The run directory (metrics, lineage and older checkpoints are read here).
        domain: The run's domain: renders elites, decodes older checkpoints' records.
        archive: The archive to draw (the newest checkpoint's).
        title: The page's title and heading.
        iteration: The newest checkpoint's iteration.
        evaluations: The newest checkpoint's evaluations.
        figures: How many of the best elites get their rendered Figure embedded.
    """
    data = run_data(
        run,
        domain,
        archive,
        name=run.path.name,
        iteration=iteration,
        evaluations=evaluations,
        figures=figures,
    )
    return page_html(title, [data])


def load_run_data(
    run_path: str | Path,
    *,
    figures: int = FIGURES,
    lineage: bool = True,
    notify: Callable[[str], None] | None = None,
) -> tuple[str, dict[str, Any]]:
    """A run's page title and data, read from its directory (nothing is written).

    Raises:
        RunError: Not a run directory, or no checkpoint yet; the message names the path.
    """
    run = RunDirectory(run_path)
    config, domain, archive, checkpoint = load_archive(run, notify=notify)
    title = f"Run {config.name}: {domain.name}, {checkpoint.iteration} iterations"
    data = run_data(
        run,
        domain,
        archive,
        name=config.name,
        iteration=checkpoint.iteration,
        evaluations=checkpoint.evaluations,
        figures=figures,
        lineage=lineage,
    )
    return title, data


def write_comparison(
    run_paths: Sequence[str | Path],
    out: str | Path,
    *,
    figures: int = 0,
    notify: Callable[[str], None] | None = None,
) -> Path:
    """Write one page comparing runs: a map each (side by side), every numeric series
    of their ``metrics.jsonl`` overlaid, a table of final QD score, coverage and best.

    The runs' lineages are left out (each run's own ``report.html`` has them), so the
    page stays small with many runs. Nothing is written into the run directories.

    Args:
        run_paths: The run directories, in the order the page shows them.
        out: The page to write (``compare.html``).
        figures: How many of each run's best elites get their rendered Figure embedded.
        notify: Told of each newer checkpoint skipped because it cannot be read.

    Raises:
        RunError: A path that is not a run directory (named), or a run with no checkpoint.
    """
    if not run_paths:
        raise RunError("give at least one run directory to compare")
    runs = []
    for path in run_paths:
        if not Path(path).is_dir():
            raise RunError(f"{path} is not a run directory (no such folder)")
        runs.append(load_run_data(path, figures=figures, lineage=False, notify=notify)[1])
    names = [r["name"] for r in runs]
    for r, path in zip(runs, run_paths, strict=True):
        if names.count(r["name"]) > 1:
            r["name"] = str(path)  # two runs of one name: tell them apart by path
    title = "Runs compared: " + ", ".join(r["name"] for r in runs)
    page = Path(out)
    page.write_text(page_html(title, runs))
    return page
