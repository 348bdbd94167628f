"""Box2D and Dask are optional extras: without them, the part that needs one says which
extra to install, and everything else still imports."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from domains.symbolic_regression import SymbolicRegression
from qd.search.evaluation import make_evaluator

ROOT = Path(__file__).resolve().parents[1]


def test_dask_evaluation_without_dask_names_the_extra(monkeypatch) -> None:
    monkeypatch.setitem(sys.modules, "distributed", None)  # as if not installed
    with pytest.raises(ImportError, match=r"pip install 'qd-engine\[dask\]'"):
        make_evaluator(SymbolicRegression(), "dask")
    assert make_evaluator(SymbolicRegression(), "inprocess").evaluate([]) == []


def test_levels_without_box2d_name_the_extra_and_the_rest_imports() -> None:
    script = (
        "import sys; sys.modules['Box2D'] = None\n"
        "import qd.search.map_elites, domains.symbolic_regression\n"  # no Box2D needed
        "try:\n"
        "    import domains.science_birds.physics\n"
        "except ImportError as error:\n"
        "    print(error)\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, cwd=ROOT, check=True
    )
    assert "pip install 'qd-engine[levels]'" in result.stdout
