"""The examples do what docs/domains.md says they do."""

from __future__ import annotations

import importlib.util
import os
import re
import subprocess
import sys
from pathlib import Path

import numpy as np

from qd.domain import Evaluation
from qd.testing import check_domain

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = ROOT / "examples" / "custom_domain.py"


def load_example():
    """The example module, imported from its path (``examples`` is not a package)."""
    spec = importlib.util.spec_from_file_location("custom_domain_example", EXAMPLE)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # importable by name, so its domain pickles
    spec.loader.exec_module(module)
    return module


def test_example_domain_passes_check_domain():
    check_domain(load_example().Polygons())


def test_example_domain_scores_a_square_and_refuses_a_line():
    domain = load_example().Polygons()
    square, line = ((0, 0), (1, 0), (1, 1), (0, 1)), ((0, 0), (1, 0), (2, 0))
    good, bad = domain.evaluate([square, line])
    assert np.isclose(good.objective, np.pi / 4) and good.measures == (4, 1.0)
    assert isinstance(bad, Evaluation) and not bad.valid and "degenerate" in bad.invalid_reason


def test_example_script_runs_and_prints_stats():
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    result = subprocess.run(
        [sys.executable, str(EXAMPLE)], capture_output=True, text=True, timeout=60, env=env
    )
    assert result.returncode == 0, result.stderr
    match = re.search(r"(\d+) elites, coverage ([\d.]+)%, QD score ([\d.]+)", result.stdout)
    assert match, result.stdout
    assert int(match[1]) > 30 and float(match[3]) > 0
    assert "best roundness" in result.stdout


def test_example_runs_through_the_cli_by_class_path(tmp_path):
    config = tmp_path / "polygons.toml"
    config.write_text(
        '[domain]\nname = "examples.custom_domain:Polygons"\nmax_vertices = 10\n'
        "[search]\niterations = 3\nbatch_size = 8\n"
    )
    env = {**os.environ, "PYTHONPATH": str(ROOT)}  # as docs/domains.md says: PYTHONPATH=.
    command = [sys.executable, "-m", "qd.cli", "run", str(config), "--runs-dir", str(tmp_path)]
    result = subprocess.run(
        [*command, "--quiet"], capture_output=True, text=True, timeout=60, env=env, cwd=tmp_path
    )
    assert result.returncode == 0, result.stderr
    assert "3 iterations" in result.stdout
    assert list((tmp_path / "polygons").glob("archive-*.json"))


def _run_example(name: str) -> subprocess.CompletedProcess:
    """``python examples/<name>`` from a checkout, as its docstring says to run it."""
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    result = subprocess.run(
        [sys.executable, str(ROOT / "examples" / name)],
        capture_output=True,
        text=True,
        timeout=300,
        env=env,
    )
    assert result.returncode == 0, result.stderr
    return result


def test_symbolic_regression_example_finds_the_kinetic_energy_law():
    result = _run_example("symbolic_regression.py")
    best = re.search(r"best: (.*)  \(test R\^2 ([\d.]+)\)", result.stdout)
    assert best, result.stdout
    assert float(best[2]) > 0.999  # E = m v^2 / 2 with 1% noise
    assert "x1" in best[1] and "x2" in best[1]
    assert "LaTeX: " in result.stdout and "NumpyFormula(" in result.stdout


def test_roots_and_units_example_writes_the_speed_of_sound():
    result = _run_example("sr_roots_and_units.py")
    best = re.search(r"best: (.*)  \(train R\^2 ([\d.]+)\)", result.stdout)
    assert best, result.stdout
    assert best[1] == "sqrt(gamma*pressure/density)"  # the law, in the data's names
    assert r"\sqrt{" in result.stdout
