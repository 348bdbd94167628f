"""The archives of fixed-seed estimator fits, as a JSON fingerprint.

``tests/data/sr_fingerprint.json`` was written by this module from the code before the
per-evaluation speed work (issue 21); ``tests/test_sr_speed.py`` fits again and demands
the very same archives, every float to the bit (JSON floats round-trip exactly). Rewrite
the fixture only for a change that is meant to change archives:
``python tests/sr_fingerprint.py > tests/data/sr_fingerprint.json``.

The bits depend on the machine as well as the code (OpenBLAS picks its dot-product
kernel by CPU, numpy its SIMD loops), so the fixture records :func:`environment` and the
test runs only where it matches; elsewhere, write a fixture from the code before a
change on that machine first.
"""

from __future__ import annotations

import json
import platform
import sys
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from a checkout

from domains.symbolic_regression.benchmarks import get_benchmark
from domains.symbolic_regression.estimator import QDSymbolicRegressor

FIXTURE = Path(__file__).parent / "data" / "sr_fingerprint.json"
EVALUATIONS = 2_000
CASES: dict[str, tuple[str, dict[str, Any]]] = {
    "koza-1": ("koza-1", {"tune_constants": 0}),
    "koza-1 tuned": ("koza-1", {"tune_constants": 10}),
    "pagie-1": ("pagie-1", {"tune_constants": 0}),
    "pagie-1 tuned": ("pagie-1", {"tune_constants": 10}),
    "vladislavleva-5 tuned, nonlinear x variables": (
        "vladislavleva-5",
        {"descriptors": ("nonlinear", "variables"), "tune_constants": 10},
    ),
    "koza-1 pimp tuned": ("koza-1", {"parents": "pimp", "tune_constants": 10}),
    "koza-1 no pole check": ("koza-1", {"pole_check": False, "tune_constants": 0}),
}


def environment() -> dict[str, Any]:
    """What besides the code decides the bits: CPU architecture and features, numpy."""
    import numpy as np

    try:
        from numpy._core._multiarray_umath import __cpu_features__ as features
    except ImportError:  # another numpy layout: the processor's name instead
        features = {platform.processor(): True}
    return {
        "machine": platform.machine(),
        "numpy": np.__version__,
        "cpu_features": sorted(name for name, on in features.items() if on),
    }


def fingerprint(case: str) -> dict[str, Any]:
    """One case's fit: every elite's record, cell and objective, and the evaluations."""
    benchmark, options = CASES[case]
    data = get_benchmark(benchmark).make_data(0)
    model = QDSymbolicRegressor(max_evaluations=EVALUATIONS, random_state=0, **options)
    model.fit(data.X_train, data.y_train)
    elites = sorted(
        (
            [list(map(float, e.measures)), e.objective, e.info["formula"]]
            for e in model.archive_.elites()
        ),
        key=lambda row: row[0],
    )
    return {
        "n_evaluations": model.n_evaluations_,
        "formulas": model.formulas_,
        "elites": elites,
    }


if __name__ == "__main__":
    cases = {case: fingerprint(case) for case in CASES}
    print(json.dumps({"environment": environment(), "cases": cases}, indent=1))
