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

import numpy as np

from domains.symbolic_regression.fitting import nrmse
from domains.symbolic_regression.formula import pareto_front, scaled_infix

__all__ = ["fit_figure", "formula_front", "formulas_section"]

FRONT_ROWS = 12
"""Most rows of the front printed: a map of 64 sizes has at most that many worth reading."""


def formula_front(domain: Any, elites: Sequence[Any]) -> list[dict[str, Any]]:
    """The elites no other beats on both size and training error, smallest first.

    Each row: ``candidate``, its ``formula`` (a ``Formula``), ``tree``, ``size``,
    ``train_error``, ``test_error``, ``intercept``, ``slope``.
    """
    formulas = [(e.candidate, domain.formula(e.candidate, e.info)) for e in elites]
    scored = [(c, f) for c, f in formulas if f.error != float("inf")]
    data = domain.data
    return [
        {
            "candidate": candidate,  # an Individual for mate-choice domains
            "formula": formula,
            "tree": formula.tree,
            "size": formula.size,
            "train_error": formula.error,
            "test_error": nrmse(formula.predict(data.X_test), data.y_test),
            "intercept": formula.intercept,
            "slope": formula.slope,
        }
        for candidate, formula in pareto_front(scored, key=lambda p: (p[1].size, p[1].error))
    ]


def formulas_section(domain: Any, elites: Sequence[Any], figures: Path) -> list[str]:
    """Markdown: the accuracy-complexity front with simplified formulas, and the best one drawn."""
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
        text = row["formula"].simplified()
        lines.append(
            f"| {row['size']} | {_r2(row['train_error'])} | {_r2(row['test_error'])} | `{text}` |"
        )
    best = min(front, key=lambda r: (r["train_error"], r["size"]))
    latex = best["formula"].latex()
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


def fit_figure(domain: Any, candidate: Any):
    """The formula over the data (``SymbolicRegression.render``): target and prediction
    against the input for one variable, prediction against target for several."""
    from matplotlib.figure import Figure

    figure = Figure(figsize=(6, 3.6))
    ax = figure.add_subplot()
    data = domain.data
    train = domain.predict(candidate, data.X_train)
    test = domain.predict(candidate, data.X_test)
    if domain.n_vars == 1:
        points = np.concatenate([data.X_train[:, 0], data.X_test[:, 0]])
        dense = np.linspace(points.min(), points.max(), 400)[:, None]
        if domain.benchmark is not None:
            target = domain.benchmark.evaluate(dense)
            ax.plot(dense[:, 0], target, color="0.6", lw=3, label="target")
        ax.plot(dense[:, 0], domain.predict(candidate, dense), color="C1", label="formula")
        ax.scatter(data.X_train[:, 0], data.y_train, s=12, color="C0", label="train")
        ax.set_xlabel(data.names[0] if data.names else "x1")
        ax.set_ylabel("y")
    else:
        ax.scatter(data.y_test, test, s=4, color="C1", label="test")
        ax.scatter(data.y_train, train, s=8, color="C0", label="train")
        low, high = float(np.min(data.y_test)), float(np.max(data.y_test))
        ax.plot([low, high], [low, high], color="0.6", lw=1)
        ax.set_xlabel("target")
        ax.set_ylabel("prediction")
    ax.legend(fontsize=7)
    formula = scaled_infix(candidate, *domain.scale(candidate))
    ax.set_title(
        f"{formula[:70]}{'...' if len(formula) > 70 else ''}\n"
        f"train NRMSE {nrmse(train, data.y_train):.3g}, "
        f"test NRMSE {domain.test_error(candidate):.3g}",
        fontsize=8,
    )
    figure.tight_layout()
    return figure
