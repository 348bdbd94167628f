"""QDAIF through the CLI on the real embedded model (SmolLM2-135M on llama.cpp)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from e2e_helpers import ROOT, python

pytest.importorskip("llama_cpp", reason="the embedded LM server needs llama-cpp-python")
pytestmark = [pytest.mark.slow, pytest.mark.lm]


def qd(*args: str, cwd: Path):
    return python("-m", "qd.cli", *args, cwd=cwd)


def test_qdaif_run_adds_elites_logs_usage_and_a_rerun_costs_no_lm_calls(tmp_path):
    args = [
        "run", str(ROOT / "experiments" / "qdaif_stories2d.toml"),
        "--set", "search.iterations=5", "--set", "search.batch_size=3",
        "--set", "domain.max_tokens=24", "--runs-dir", "runs", "--quiet",
    ]  # fmt: skip
    first = qd(*args, cwd=tmp_path)
    assert first.returncode == 0, first.stderr
    run = tmp_path / "runs" / "qdaif_stories2d"
    rows = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]
    assert len(rows) == 5
    assert rows[-1]["num_elites"] > 0
    usage = rows[-1]["lm"]
    assert usage["requests"] > 0 and usage["completion_tokens"] > 0
    assert rows[-1]["embeddings"]["requests"] > 0  # each batch embedded by MiniLM
    assert "api_key" not in (run / "config.toml").read_text()
    checkpoint = json.loads(sorted(run.glob("archive-*.json"))[-1].read_text())
    for record in checkpoint["archive"]:  # the embedding is kept for Vendi and novelty
        assert len(record["info"]["embedding"]) == 384
        assert set(record["info"]) >= {"quality", "genre", "ending"}
    if rows[-1]["num_elites"] >= 2:
        assert 1.0 <= rows[-1]["vendi"] <= rows[-1]["num_elites"]

    again = qd(*args, "--force", cwd=tmp_path)
    assert again.returncode == 0, again.stderr
    rerun = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]
    assert rerun[-1]["lm"]["requests"] == 0
    assert rerun[-1]["lm"]["cache_hits"] >= usage["requests"]
    assert rerun[-1]["embeddings"]["requests"] == 0  # embeddings are cached too
    assert rerun[-1]["num_elites"] == rows[-1]["num_elites"]


def test_novelty_rejection_skips_the_judge_for_near_duplicates(tmp_path):
    result = qd(
        "run", str(ROOT / "experiments" / "qdaif_stories2d.toml"),
        "--set", "search.iterations=4", "--set", "search.batch_size=4",
        "--set", "domain.max_tokens=24", "--set", "domain.novelty_threshold=0.8",
        "--set", 'domain.quality_judge="lm"',
        "--runs-dir", "runs", "--quiet",
        cwd=tmp_path,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    run = tmp_path / "runs" / "qdaif_stories2d"
    rows = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]
    events = [json.loads(line) for line in (run / "events.jsonl").read_text().splitlines()]
    duplicates = [e for e in events if e["reason"].startswith("near-duplicate: cosine")]
    assert rows[-1]["novelty_rejected"] == len(duplicates) > 0
    # the axes' default judges read embeddings; the LM quality judge's call is saved
    assert rows[-1]["judge_calls_saved"] == len(duplicates)
    for event in duplicates:
        assert float(event["reason"].split()[2]) >= 0.8


def test_poetry_run_judges_labels_from_logprobs_and_logs_off_list_answers(tmp_path):
    result = qd(
        "run", str(ROOT / "experiments" / "qdaif_poetry.toml"),
        "--set", "search.iterations=2", "--set", "search.batch_size=3",
        "--set", "domain.max_tokens=24", "--runs-dir", "runs", "--quiet",
        cwd=tmp_path,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    run = tmp_path / "runs" / "qdaif_poetry"
    rows = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]
    assert [r["iteration"] for r in rows] == [1, 2]
    events = (
        (run / "events.jsonl").read_text().splitlines() if (run / "events.jsonl").exists() else []
    )
    assert sum(r["invalid"] for r in rows) == len(events)
    assert rows[-1]["num_elites"] + len(events) > 0
    for line in events:  # an off-list judge answer is recorded, with what the judge said
        event = json.loads(line)
        assert event["reason"] and event["event"] == "invalid"
