"""The judge harness (experiments/judges.py) on a small labelled subset, real models."""

from __future__ import annotations

import json

import pytest
from e2e_helpers import ROOT, python

pytest.importorskip("llama_cpp", reason="the embedded models need llama-cpp-python")
pytestmark = [pytest.mark.slow, pytest.mark.lm]


def test_harness_prints_every_judge_and_axis_with_intervals_and_cost(tmp_path):
    out = tmp_path / "rows.json"
    result = python(
        str(ROOT / "experiments" / "judges.py"),
        "--axes", "genre,sentiment", "--limit", "4", "--folds", "2",
        "--judges", "lm,lm-contextual,anchors,probe-last", "--out", str(out),
        cwd=tmp_path,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    rows = json.loads(out.read_text())
    assert [(r["axis"], r["judge"]) for r in rows] == [
        ("genre", "anchors"),
        ("genre", "probe-last"),
        ("genre", "lm"),
        ("genre", "lm-contextual"),
        ("sentiment", "anchors"),
        ("sentiment", "probe-last"),
        ("sentiment", "lm"),
        ("sentiment", "lm-contextual"),
    ]
    for row in rows:
        assert row["n"] == 8
        for metric in ("accuracy", "AUC", "ECE"):
            point, low, high = map(
                float, row[metric].replace("[", "").replace("]", "").replace(",", "").split()
            )
            assert 0.0 <= low <= high <= 1.0 and 0.0 <= point <= 1.0
        assert row["s_per_100"] > 0 and row["tokens_per_100"] > 0
    assert "| genre | anchors | 8 |" in result.stdout


def test_harness_refuses_an_unknown_judge_by_name(tmp_path):
    result = python(str(ROOT / "experiments" / "judges.py"), "--judges", "oracle", cwd=tmp_path)
    assert result.returncode == 2
    assert "unknown judge 'oracle'" in result.stderr
