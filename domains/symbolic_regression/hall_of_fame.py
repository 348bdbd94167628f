"""The hall of fame: a map's accuracy-size front as a CSV file, rewritten as a run goes.

PySR writes ``hall_of_fame.csv`` while it searches, so a user can watch (or stop) a
long run and already hold its best formulas. Ours is the same table read off the map:
one row per formula of the Pareto front (no smaller formula has a lower training
error), smallest first. A ``qd run`` writes it into the run directory at every
checkpoint (``Domain.checkpoint_files``) and the estimator where ``hall_of_fame=``
says, every ``HALL_OF_FAME_EVERY`` iterations and at the end; both write atomically, so
a reader never sees half a file.
"""

from __future__ import annotations

import csv
import io
import os
from collections.abc import Iterable
from pathlib import Path

from domains.symbolic_regression.formula import Formula, pareto_front
from domains.symbolic_regression.primitives import encode_tree
from qd.runs.directory import atomic_write

__all__ = ["COLUMNS", "FILE_NAME", "HALL_OF_FAME_EVERY", "HallOfFame"]

FILE_NAME = "hall_of_fame.csv"
"""The file's name in a run directory (PySR's name for the same table)."""
HALL_OF_FAME_EVERY = 10
"""The estimator rewrites its hall of fame every this many iterations (and at the end)."""
COLUMNS = ("size", "error", "r2", "formula", "raw")
"""``size`` (nodes), ``error`` (training NRMSE), ``r2`` (training R²), ``formula`` (the
simplified text, ``str(Formula)``) and ``raw`` (the tree's text exactly as scored)."""


class HallOfFame:
    """Writes the front of a map's formulas as CSV, simplifying each formula once.

    Formulas are rebuilt from the archive at every write, and sympy is what costs
    (up to ~0.8 s a formula), so the texts are kept by tree, scaling and error: a
    formula that stays on the front is simplified once per run.
    """

    def __init__(self) -> None:
        self._texts: dict[tuple, str] = {}

    def rows(self, formulas: Iterable[Formula]) -> list[dict[str, object]]:
        """The front's rows (see :data:`COLUMNS`), smallest first; formulas whose error
        is not finite are left out."""
        scored = [f for f in formulas if f.error < float("inf")]
        front = pareto_front(scored, key=lambda f: (f.size, f.error))
        return [
            {
                "size": formula.size,
                "error": formula.error,
                "r2": formula.r2,
                "formula": self._text(formula),
                "raw": formula.raw,
            }
            for formula in front
        ]

    def csv(self, formulas: Iterable[Formula]) -> str:
        """The front as CSV text with a header line."""
        out = io.StringIO()
        writer = csv.DictWriter(out, fieldnames=COLUMNS, lineterminator="\n")
        writer.writeheader()
        writer.writerows(self.rows(formulas))
        return out.getvalue()

    def write(self, path: str | os.PathLike[str], formulas: Iterable[Formula]) -> None:
        """Rewrite ``path`` with the front, atomically (temporary file, fsync, rename).

        Raises:
            OSError: The file cannot be written (the message names it).
        """
        atomic_write(Path(path), self.csv(formulas))

    def _text(self, formula: Formula) -> str:
        key = (
            tuple(encode_tree(formula.tree)),
            formula.intercept,
            formula.slope,
            formula.error,
            formula.names,
        )
        text = self._texts.get(key)
        if text is None:
            text = self._texts[key] = str(formula)
        return text
