"""experiments/levels_letters.py end to end: search, baselines, competition tables."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from e2e_helpers import ROOT, python

SCRIPT = str(ROOT / "experiments" / "levels_letters.py")
pytestmark = pytest.mark.slow


def experiment(*args: str, cwd: Path):
    return python(SCRIPT, *args, "--set", 'evaluation.backend="inprocess"', cwd=cwd)


SUMMARY_ROW = re.compile(r"^(.+?)" + r"\s+([\d.]+)" * 6 + r"\s+(\S.*)$")


def summary_rows(stdout: str, judge: str = "held-out") -> dict[str, list[float]]:
    """method -> [score, weighted, share, stability, similarity, diversity] under ``judge``."""
    section = stdout.split(f"\n{judge} judge (", 1)[1]
    lines = section.split("\nmethod ", 1)[1].splitlines()[1:]
    rows = {}
    for line in lines:
        if not line.strip():
            break
        name, *values, _exploit = SUMMARY_ROW.match(line).groups()
        rows[name] = [float(v) for v in values]
    return rows


def test_search_beats_random_programs_on_the_competition_score(tmp_path):
    result = experiment(
        "--letters", "IL", "--iterations", "4", "--top", "4", "--baselines", "random",
        "--set", "search.batch_size=16", cwd=tmp_path,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert "QD search, top 4 per letter, held-out judge" in result.stdout
    for judge in ("search", "held-out"):
        rows = summary_rows(result.stdout, judge)
        assert set(rows) == {"QD search", "random programs"}
        assert rows["QD search"][0] > rows["random programs"][0]
        assert sum(row[2] for row in rows.values()) == pytest.approx(100.0, abs=0.2)
    # Both judges see the same settled levels: stability does not depend on the judge.
    assert summary_rows(result.stdout, "search")["QD search"][3] == pytest.approx(
        summary_rows(result.stdout, "held-out")["QD search"][3]
    )
    assert (tmp_path / "runs" / "levels" / "gallery.png").stat().st_size > 0


def test_bad_options_are_one_line_errors(tmp_path):
    result = experiment("--letters", "A1", cwd=tmp_path)
    assert result.returncode == 2 and "--letters" in result.stderr
    result = experiment("--baselines", "oracle", cwd=tmp_path)
    assert result.returncode == 2 and "oracle" in result.stderr


@pytest.mark.lm
def test_lm_search_and_the_zero_shot_baseline_use_the_same_embedded_model(tmp_path):
    pytest.importorskip("llama_cpp", reason="the embedded LM server needs llama-cpp-python")
    result = experiment(
        "--letters", "I", "--iterations", "2", "--top", "2", "--lm", "lmx",
        "--baselines", "zero-shot", "--zero-shot-max-tokens", "32",
        "--set", "search.batch_size=4", "--set", "domain.lm_max_tokens=24", cwd=tmp_path,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert set(summary_rows(result.stdout)) == {"QD search + lmx LM", "zero-shot prompt"}
    replies = tmp_path / "runs" / "levels" / "zero-shot" / "I"
    assert sorted(p.name for p in replies.iterdir()) == ["trial-01.txt", "trial-02.txt"]
