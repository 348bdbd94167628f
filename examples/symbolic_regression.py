"""Symbolic regression on your own data with the scikit-learn estimator.

Reads ``experiments/data/kinetic_energy.csv`` (mass, velocity and a kinetic energy
measured with 1% noise), fits a map of formulas, and prints the accuracy-size front as
a practitioner would read it: simplified formulas, test R^2, and the chosen one in
LaTeX and as a numpy function. Run from the repository root::

    python examples/symbolic_regression.py
"""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # run from a checkout

from domains.symbolic_regression.data import load_dataset  # noqa: E402
from domains.symbolic_regression.estimator import QDSymbolicRegressor  # noqa: E402


def main() -> None:
    data = load_dataset(
        ROOT / "experiments" / "data" / "kinetic_energy.csv", target="energy_J", seed=0
    )
    print(f"columns x1, x2 = {', '.join(data.names)}; {len(data.y_train)} training rows")
    model = QDSymbolicRegressor(
        max_evaluations=20_000, max_size=24, model_selection="parsimony", random_state=0
    )
    model.fit(data.X_train, data.y_train)
    print(f"{len(model.formulas_)} formulas in the map, {model.n_evaluations_} evaluations")
    print("accuracy-size front (train R^2 | test R^2 | formula):")
    spread = data.y_test.var()
    for record in model.pareto_front_:
        formula = model.models_[record["index"]]
        test_r2 = 1 - ((formula.predict(data.X_test) - data.y_test) ** 2).mean() / spread
        print(
            f"  size {formula.size:2d}  {formula.r2:.5f} | {test_r2:.5f} | {formula.simplified()}"
        )
    best = model.best_
    print(f"best: {best.simplified()}  (test R^2 {model.score(data.X_test, data.y_test):.5f})")
    print(f"LaTeX: {best.latex()}")
    predict = best.to_numpy()  # a picklable function of X computing what was scored
    print(f"numpy: {predict!r} -> E(m=2 kg, v=3 m/s) = {predict([[2.0, 3.0]])[0]:.3f} J")


if __name__ == "__main__":
    main()
