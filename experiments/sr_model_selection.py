"""Which formula of a map to hand out: ``best`` (PySR's rule), ``accuracy`` or ``parsimony``.

    python experiments/sr_model_selection.py                 # 12-40 min on 2 shared cores
    python experiments/sr_model_selection.py --first 5 --budget 5000   # a quick look

One fit per (equation, noise level) with ``QDSymbolicRegressor`` (defaults, seed 0), on
the first AI Feynman equations with at most 3 variables, sampled as ``bench/feynman.py``
samples them (SRBench's ground-truth track); then each rule of ``model_selection`` picks
from the same map (``estimator.select``), so the rules differ by the choice alone. Prints
exact recoveries (SRBench's sympy test, ``bench/sr_recovery.py``), test R² > 0.999 hits
and the median size per rule and noise level, and one line per equation.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
import sympy

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.feynman import choose_equations, get_equation, make_data
from bench.sr_recovery import recovery
from domains.symbolic_regression import QDSymbolicRegressor
from domains.symbolic_regression.estimator import SELECTIONS, select
from domains.symbolic_regression.formula import Formula

NOISE = (0.0, 0.01)


def r2(y: np.ndarray, prediction: np.ndarray) -> float:
    return 1.0 - float(np.mean((y - prediction) ** 2)) / float(np.var(y))


def model_text(formula: Formula, names: list[str]) -> str:
    """The formula without guards (equal on the pole-checked box), over the equation's names."""
    expression = formula.to_sympy(exact=False)
    rename = {s: sympy.Symbol(names[int(s.name[1:]) - 1]) for s in expression.free_symbols}
    return str(expression.xreplace(rename))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--first", type=int, default=20, help="equations (default 20)")
    parser.add_argument("--budget", type=int, default=20_000, help="evaluations per fit")
    parser.add_argument("--train", type=int, default=500, help="training points")
    parser.add_argument("--timeout", type=float, default=10.0, help="s per recovery check")
    args = parser.parse_args()
    rows = []
    for key in choose_equations(None, max_variables=3, first=args.first):
        equation = get_equation(key)
        names = [v.name for v in equation.variables]
        for noise in NOISE:
            data = make_data(equation, 0, n_train=args.train, n_test=500, noise=noise)
            with np.errstate(all="ignore"):
                model = QDSymbolicRegressor(max_evaluations=args.budget, random_state=0)
                model.fit(data.X_train, data.y_train)
            for rule in SELECTIONS:
                formula = select(model.models_, rule)
                with np.errstate(all="ignore"):
                    test = r2(data.y_test, formula.predict(data.X_test))
                found = test > 0.5 and bool(
                    recovery(
                        model_text(formula, names),
                        equation.formula,
                        equation.lows,
                        timeout=args.timeout,
                    )["recovered"]
                )
                rows.append((noise, rule, formula.size, test > 0.999, found))
                print(f"{key:10s} noise {noise:<4g} {rule:9s} size {formula.size:2d} "
                      f"test R² {test:.6f} {'exact' if found else ''}", flush=True)  # fmt: skip
    print("\n| noise | rule | exact | test R² > 0.999 | median size |\n|---|---|---|---|---|")
    for noise in NOISE:
        for rule in SELECTIONS:
            cell = [r for r in rows if r[0] == noise and r[1] == rule]
            exact, hits = sum(r[4] for r in cell), sum(r[3] for r in cell)
            size = float(np.median([r[2] for r in cell]))
            n = len(cell)
            print(f"| {noise:g} | {rule} | {exact}/{n} | {hits}/{n} | {size:g} |")


if __name__ == "__main__":
    main()
