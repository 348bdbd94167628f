"""A law with a square root, found exactly: the speed of sound in a gas.

``c = sqrt(gamma * p / rho)`` (adiabatic index, pressure in Pa = kg/(m s^2), density in
kg/m^3; c in m/s). The default language has no root, and with the units given no
formula over these inputs carries m/s without one; adding the protected ``sqrt`` to
``functions`` lets the search write the law itself. Run from the repository root::

    python examples/sr_roots_and_units.py
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from a checkout

from domains.symbolic_regression.estimator import QDSymbolicRegressor
from domains.symbolic_regression.primitives import DEFAULT_FUNCTIONS


def main() -> None:
    rng = np.random.default_rng(0)
    names = ["gamma", "pressure", "density"]
    X = rng.uniform([1.1, 5e4, 0.5], [1.7, 2e5, 2.0], size=(200, 3))
    y = np.sqrt(X[:, 0] * X[:, 1] / X[:, 2])
    model = QDSymbolicRegressor(
        functions=(*DEFAULT_FUNCTIONS, "sqrt"),
        units=["1", "kg/m/s^2", "kg/m^3"],
        target_units="m/s",
        feature_names=names,
        max_evaluations=6000,
        random_state=0,
    )
    model.fit(X, y)
    print(f"{len(model.formulas_)} consistent formulas in the map")
    print(f"best: {model.best_}  (train R^2 {model.best_.r2:.6f})")
    print(f"LaTeX: {model.best_.latex()}")


if __name__ == "__main__":
    main()
