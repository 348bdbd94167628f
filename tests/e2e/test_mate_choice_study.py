"""The mate-choice study scripts end to end: 2 runs per cell, serially and on a 2-worker
Dask LocalCluster (same results for the same seeds), the table, the tests and the plots;
a restart redoes nothing; PIMP inside MAP-Elites against uniform selection."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from domains.symbolic_regression.population import MateChoiceRegression
from qd.runs.batch import RunSpec, run_all

pytest.importorskip("distributed")

ROOT = Path(__file__).resolve().parents[2]
STUDY = ROOT / "experiments" / "mate_choice" / "study.py"
MAP_ELITES = ROOT / "experiments" / "mate_choice" / "map_elites.py"
THREADS = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")
TINY = ["--runs", "2", "--population", "12", "--generations", "3", "--no-progress"]
TINY += ["--problems", "nguyen-1", "koza-1"]  # two problems keep it short; all 3 methods


def run(script: Path, *args: str, cwd: Path) -> str:
    done = subprocess.run(
        [sys.executable, str(script), *args],
        cwd=cwd,
        # one BLAS thread everywhere, as on the Dask workers: the same bits serially and there
        env={**os.environ, "PYTHONPATH": str(ROOT), **dict.fromkeys(THREADS, "1")},
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return done.stdout


def results(out: Path) -> dict[str, dict]:
    return {p.name: json.loads(p.read_text()) for p in sorted((out / "results").glob("*.json"))}


@pytest.mark.slow
def test_the_study_gives_the_same_results_serially_and_on_two_dask_workers(tmp_path: Path):
    serial = run(STUDY, *TINY, "--serial", "--out", "serial", cwd=tmp_path)
    run(STUDY, *TINY, "--workers", "2", "--out", "dask", cwd=tmp_path)

    ours, theirs = results(tmp_path / "serial"), results(tmp_path / "dask")
    assert len(ours) == 2 * 2 * 3 * 2  # problems x rates x methods x runs
    differ = [(k, ours[k], theirs.get(k)) for k in ours if ours[k] != theirs.get(k)]
    assert not differ, differ[:1]
    rows = [line for line in serial.splitlines() if line.startswith("| ") and "| 2 |" in line]
    assert len(rows) == 12  # one table row per cell, each of 2 runs
    assert "Mann-Whitney U" in serial and "(the paper: 3 of 6)" in serial
    table = json.loads((tmp_path / "serial" / "table.json").read_text())
    assert len(table["tests"]) == 8  # 4 instances x 2 controls
    assert all(0 <= t["phenotypic_diversity"]["p"] <= 1 for t in table["tests"])
    for key in ("genotypic_diversity", "phenotypic_diversity", "phenotypic_entropy"):
        assert (tmp_path / "serial" / "plots" / f"mate_choice_{key}.png").stat().st_size > 10_000

    stamps = {p: p.stat().st_mtime_ns for p in (tmp_path / "serial").rglob("metrics.jsonl")}
    run(STUDY, *TINY, "--serial", "--out", "serial", cwd=tmp_path)  # restart: nothing redone
    assert {p: p.stat().st_mtime_ns for p in stamps} == stamps


@pytest.mark.slow
def test_pimp_inside_map_elites_is_compared_with_uniform(tmp_path: Path):
    printed = run(
        MAP_ELITES,
        *("--seeds", "2", "--iterations", "3", "--batch-size", "8", "--problems", "koza-1"),
        *("--selections", "uniform", "pimp", "--serial", "--no-progress", "--out", "me"),
        cwd=tmp_path,
    )
    assert "| koza-1 | uniform | 2 |" in printed and "| koza-1 | pimp | 2 |" in printed
    assert "| koza-1 | uniform | " in printed.split("PIMP vs")[1]
    numbers = json.loads((tmp_path / "me" / "numbers.json").read_text())
    assert len(numbers) == 4 and all(0 < n["coverage"] <= 1 for n in numbers.values())
    assert (tmp_path / "me" / "qd_score.png").exists()


class DiesOnce(MateChoiceRegression):
    """Mate-choice GP whose first evaluation ever (marked by a file) kills its process."""

    def __init__(self, *, marker: str = "", **options) -> None:
        super().__init__(**options)
        self.marker = marker
        self.params["marker"] = marker

    def evaluate(self, batch):
        if self.marker and not Path(self.marker).exists():
            Path(self.marker).touch()
            os._exit(1)  # the worker dies mid-run, as a machine lost from a cluster
        return super().evaluate(batch)


@pytest.mark.slow
def test_a_lost_worker_costs_its_run_a_retry_not_the_study(tmp_path: Path):
    def spec(key: str, domain: str, **extra) -> RunSpec:
        config = {
            "seed": 4,
            "domain": {"name": domain, "max_depth": 6, "max_size": 40, **extra},
            "search": {"loop": "population", "batch_size": 12, "iterations": 3},
        }
        return RunSpec(key, config, {"key": key})

    fragile = spec("fragile", f"{__name__}:DiesOnce", marker=str(tmp_path / "died"))
    calm = spec("calm", "domains.symbolic_regression.population:MateChoiceRegression")
    results, failures = run_all([fragile, calm], tmp_path, workers=1, progress=False)
    assert not failures and (tmp_path / "died").exists()  # it did die, and was retried
    assert results[0]["final"] == results[1]["final"]  # as if nothing had happened
