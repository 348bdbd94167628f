"""bench/sr_compare.py: its tables on fixed rows, resume, the qd adapter, one real gplearn run."""

from __future__ import annotations

import importlib.util
import json
import math
import sys
from pathlib import Path

import numpy as np
import pytest

from domains.symbolic_regression.benchmarks import BENCHMARKS

ROOT = Path(__file__).resolve().parents[1]


def _load_bench():
    spec = importlib.util.spec_from_file_location("sr_compare", ROOT / "bench" / "sr_compare.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules["sr_compare"] = module  # dataclasses look their module up by name
    spec.loader.exec_module(module)
    return module


sr_compare = _load_bench()


def row(problem, tool, seed, test, *, size=10, evaluations=1000, wall=0.5, error=None):
    """A result row as run_one writes it; ``test`` None stands for -inf."""
    return {
        "problem": problem,
        "tool": tool,
        "seed": seed,
        "budget": 1000,
        "version": "test",
        "test_r2": test,
        "train_r2": test,
        "hit": test is not None and test > sr_compare.HIT_R2,
        "size": None if error else size,
        "evaluations": None if error else evaluations,
        "wall_s": None if error else wall,
        "details": {},
        "error": error,
    }


ROWS = [
    row("koza-1", "gplearn", 0, 0.5, size=10),
    row("koza-1", "gplearn", 1, 0.9995, size=20),
    row("koza-1", "gplearn", 2, None, size=30),  # a non-finite prediction
    row("koza-1", "pyoperon", 0, 0.99, evaluations=3000, wall=1.0),
    row("koza-1", "pyoperon", 1, 0.9999, evaluations=3000, wall=2.0),
    row("koza-1", "pyoperon", 2, 0.9992, evaluations=3000, wall=3.0),
    row("koza-1", "qd-pimp-co", 0, 0.9991),
    row("koza-1", "qd-pimp-co", 1, 0.9993),
    row("koza-1", "qd-pimp-co", 2, 0.9999),
    row("nguyen-7", "gplearn", 0, 0.7),
    row("nguyen-7", "gplearn", 1, 0.8),
    row("nguyen-7", "gplearn", 2, -12345.0),
    row("nguyen-7", "pyoperon", 0, 0.95),
    row("nguyen-7", "pyoperon", 1, 0.96),
    row("nguyen-7", "pyoperon", 2, 0.97),
    row("nguyen-7", "qd-pimp-co", 0, 0.9001),
    row("nguyen-7", "qd-pimp-co", 1, None, error="RuntimeError: boom (at x.py:1)"),
    row("nguyen-7", "qd-pimp-co", 2, 0.93),
]
TOOLS = ["gplearn", "pyoperon", "qd-pimp-co"]


def table_lines(text: str) -> dict[str, str]:
    """Each markdown table line of ``text`` under the heading it follows, by section/tool."""
    lines, section = {}, None
    for line in text.splitlines():
        if line.startswith("### "):
            section = line[4:].split(":")[0]
        elif line.startswith("| ") and not line.startswith("| tool"):
            tool = line.split("|")[1].strip().split(" ")[0]
            lines[f"{section}/{tool}"] = line
    return lines


def cells_of(line: str) -> list[str]:
    return [c.strip() for c in line.strip("|").split("|")]


def test_problem_tables_show_medians_ranges_hits_sizes_and_rates():
    text = sr_compare.render(ROWS, ["koza-1", "nguyen-7"], TOOLS, budget=1000, seeds=3)
    lines = table_lines(text)
    # tool | test median [min, max] | hits | train median | size | evals/s | wall s
    assert cells_of(lines["koza-1/gplearn"]) == [
        "gplearn",
        "0.5000 [-inf, 0.9995]",
        "1/3",
        "0.5000",
        "20",
        "2,000",
        "0.50",
    ]
    assert cells_of(lines["koza-1/pyoperon"]) == [
        "pyoperon",
        "0.9992 [0.9900, 0.9999]",
        "2/3",
        "0.9992",
        "10",
        "1,500",  # 9,000 evaluations over 6 s
        "2.00",
    ]
    assert cells_of(lines["nguyen-7/gplearn"])[1] == "0.7000 [-1.23e+04, 0.8000]"
    # A failed run scores -inf and is named; its size and time are left out.
    pimp = cells_of(lines["nguyen-7/qd-pimp-co"])
    assert pimp[:3] == ["qd-pimp-co (1 failed)", "0.9001 [-inf, 0.9300]", "0/3"]
    assert "nguyen-7 qd-pimp-co seed 1: RuntimeError: boom" in text
    assert "x1**4 + x1**3 + x1**2 + x1" in text
    assert "20 training and 20 test points" in text


def test_summary_medians_of_medians_hits_and_wins_over_pyoperon():
    text = sr_compare.render(ROWS, ["koza-1", "nguyen-7"], TOOLS, budget=1000, seeds=3)
    lines = table_lines(text)
    # gplearn medians 0.5 and 0.7 -> 0.6; pyoperon 0.9992 and 0.96 -> 0.9796.
    assert cells_of(lines["Summary/gplearn"]) == ["gplearn", "0.6000", "1/6", "-"]
    assert cells_of(lines["Summary/pyoperon"]) == ["pyoperon", "0.9796", "2/6", "-"]
    # qd-pimp-co: 0.9993 >= 0.9992 on koza-1; median(0.9001, -inf, 0.93) = 0.9001 < 0.96.
    assert cells_of(lines["Summary/qd-pimp-co"]) == ["qd-pimp-co", "0.9497", "3/6", "1/2"]


def test_render_keeps_to_the_chosen_budget_problems_and_tools():
    other = [dict(r, budget=5) for r in ROWS]
    text = sr_compare.render(ROWS + other, ["koza-1"], ["gplearn"], budget=1000, seeds=3)
    lines = table_lines(text)
    assert set(lines) == {"koza-1/gplearn", "Summary/gplearn"}
    assert "≥ pyoperon" not in text  # no pyoperon runs: no comparison column


def test_r2_is_minus_inf_for_non_finite_predictions():
    y = np.array([1.0, 2.0, 3.0])
    assert sr_compare.r2(y, y) == 1.0
    assert sr_compare.r2(y, [1.0, np.nan, 3.0]) == -math.inf
    assert sr_compare.r2(y, [1.0, np.inf, 3.0]) == -math.inf
    assert sr_compare.r2(y, [1e200, 0.0, 0.0]) == -math.inf  # the score overflows


def test_default_problems_exist_and_cover_the_families():
    assert set(sr_compare.DEFAULT_PROBLEMS) <= set(BENCHMARKS)
    families = {name.split("-")[0] for name in sr_compare.DEFAULT_PROBLEMS}
    assert families == {"koza", "nguyen", "keijzer", "pagie", "vladislavleva"}
    assert len(sr_compare.DEFAULT_PROBLEMS) >= 8


def test_update_readme_replaces_only_the_marked_section(tmp_path):
    readme = tmp_path / "README.md"
    readme.write_text("# Benches\n\nintro\n")
    sr_compare.update_readme(readme, "first")
    sr_compare.update_readme(readme, "second")
    text = readme.read_text()
    assert text.startswith("# Benches\n\nintro\n")
    assert text.count(sr_compare.MARK_START) == 1 and "first" not in text
    assert f"{sr_compare.MARK_START}\nsecond\n{sr_compare.MARK_END}" in text


class CountingTool:
    """A stand-in tool: predicts the mean, counts its fits."""

    name = "fake"
    fits = 0

    def fit(self, X, y, budget, seed):
        CountingTool.fits += 1
        self.mean = float(np.mean(y))
        self.budget = budget

    def predict(self, X):
        return np.full(len(X), self.mean)

    def size(self):
        return 1

    def evaluations(self):
        return self.budget

    def details(self):
        return {}


def test_main_writes_raw_results_and_a_rerun_skips_finished_runs(tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(sr_compare, "TOOLS", {"fake": CountingTool})
    monkeypatch.setattr(sr_compare, "missing", lambda tool: None)
    CountingTool.fits = 0
    out = tmp_path / "results.json"
    argv = ["--problems", "koza-1", "--seeds", "2", "--budget", "7", "--out", str(out)]
    assert sr_compare.main(argv) == 0
    assert CountingTool.fits == 2
    runs = json.loads(out.read_text())["runs"]
    assert sorted(r["seed"] for r in runs) == [0, 1]
    assert all(r["evaluations"] == 7 and r["error"] is None for r in runs)
    assert sr_compare.main(argv) == 0
    assert CountingTool.fits == 2  # both cached
    assert sr_compare.main([*argv, "--seeds", "3"]) == 0
    assert CountingTool.fits == 3  # only the new seed
    assert "| fake | " in capsys.readouterr().out


def test_the_qd_variants_run_through_the_real_estimator():
    for tool in ("qd-uniform", "qd-uniform-co", "qd-pimp-co"):
        result = sr_compare.run_one(sr_compare.RunSpec("koza-1", tool, 3, 600))
        assert result["error"] is None, result["error"]
        # The budget, plus at most the last iteration: 2 x 50 children, each scored once
        # and tuned with at most 10 more calls.
        assert 600 <= result["evaluations"] <= 600 + 100 * 11
        assert np.isfinite(result["test_r2"]) and result["test_r2"] > 0.5
        assert 1 <= result["size"] <= 48


def test_gplearn_spends_its_budget_on_koza_1():
    pytest.importorskip("gplearn")
    result = sr_compare.run_one(sr_compare.RunSpec("koza-1", "gplearn", 0, 2000))
    assert result["error"] is None, result["error"]
    # population x generations = budget; only an exact fit would stop it a generation early
    assert abs(result["evaluations"] - 2000) <= sr_compare.GplearnTool.population
    assert result["test_r2"] is not None and math.isfinite(result["test_r2"])
    assert result["size"] >= 1


def test_equal_wall_time_stops_each_tool_at_its_seconds():
    """``--seconds``: time, not evaluations, ends a run (the budget only caps them)."""
    tools = ["qd-uniform-co"] + (["pyoperon"] if sr_compare.missing("pyoperon") is None else [])
    for tool in tools:
        spec = sr_compare.RunSpec("koza-1", tool, 0, sr_compare.TIMED_BUDGET, 1.0)
        result = sr_compare.run_one(spec)
        assert result["error"] is None, result["error"]
        assert result["seconds"] == 1.0 and "1.0s" in spec.key
        assert 0 < result["evaluations"] < sr_compare.TIMED_BUDGET
        assert result["wall_s"] >= 0.9  # it searched until the limit, then stopped
        assert np.isfinite(result["test_r2"])


def test_gplearn_is_left_out_of_equal_wall_time(tmp_path, capsys):
    out = tmp_path / "timed.json"
    argv = ["--problems", "koza-1", "--tools", "gplearn", "--seconds", "1", "--out", str(out)]
    assert sr_compare.main(argv) == 1
    assert "gplearn has no wall-time limit" in capsys.readouterr().out
