"""What ``qd report`` says about a map of formulas: the front a reader would pick from.

A map holds a formula per cell; a practitioner wants the few where accuracy stops
improving with size, written so they can be pasted into a paper or a program. The
front is read off the archive by training error (what the search saw) and printed with
the test error beside it (what it did not see).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from domains.symbolic_regression.fitting import nrmse

__all__ = ["formula_front", "formulas_section"]

FRONT_ROWS = 12
"""Most rows of the front printed: a map of 64 sizes has at most that many worth reading."""


def formula_front(domain: Any, elites: Sequence[Any]) -> list[dict[str, Any]]:
    """The elites no other beats on both size and training error, smallest first.

    Each row: ``candidate``, its ``tree``, ``size``, ``train_error``, ``test_error``,
    ``intercept``, ``slope``.
    """
    rows = []
    for elite in elites:
        tree = getattr(elite.candidate, "tree", elite.candidate)
        error = elite.info.get("nrmse")
        if error is None:
            continue
        intercept, slope = domain.scale(tree)
        rows.append(
            {
                "candidate": elite.candidate,  # an Individual for mate-choice domains
                "tree": tree,
                "size": len(tree),
                "train_error": float(error),
                "intercept": intercept,
                "slope": slope,
            }
        )
    front: list[dict[str, Any]] = []
    for row in sorted(rows, key=lambda r: (r["size"], r["train_error"])):
        if not front or row["train_error"] < front[-1]["train_error"]:
            front.append(row)
    for row in front:
        row["test_error"] = nrmse(
            domain.predict(row["tree"], domain.data.X_test), domain.data.y_test
        )
    return front


def formulas_section(domain: Any, elites: Sequence[Any], figures: Path) -> list[str]:
    """Markdown: the accuracy-complexity front with simplified formulas, and the best one drawn."""
    from domains.symbolic_regression.export import simplified, to_latex
    from qd.viz import save_figure

    front = formula_front(domain, elites)
    if not front:
        return []
    lines = [
        "## Formulas",
        "",
        "The accuracy-complexity front of the map: no smaller formula fits the training "
        "data better. R² = 1 - NRMSE²; the test data never reached the search. Formulas "
        "are simplified by sympy on the box of the data's inputs, where the pole check "
        "guarantees they compute what the search scored (guards that could fire stay "
        "as Piecewise).",
        "",
        "| size | train R² | test R² | formula |",
        "|---:|---:|---:|---|",
    ]
    shown = front[-FRONT_ROWS:] if len(front) > FRONT_ROWS else front
    for row in shown:
        text = simplified(
            row["tree"], intercept=row["intercept"], slope=row["slope"], bounds=domain.bounds
        )
        lines.append(
            f"| {row['size']} | {_r2(row['train_error'])} | {_r2(row['test_error'])} | `{text}` |"
        )
    best = min(front, key=lambda r: (r["train_error"], r["size"]))
    latex = to_latex(
        best["tree"], intercept=best["intercept"], slope=best["slope"], bounds=domain.bounds
    )
    save_figure(domain.render(best["candidate"]), figures / "best_formula.png")
    lines += [
        "",
        f"Most accurate formula (size {best['size']}):",
        "",
        f"$$ y = {latex} $$",
        "",
        f"![best formula]({figures.name}/best_formula.png)",
        "",
    ]
    return lines


def _r2(error: float) -> str:
    return f"{1.0 - error**2:.6f}" if error == error and error != float("inf") else "-inf"
