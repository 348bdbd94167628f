"""Science Birds levels written by the real embedded model (SmolLM2-135M on llama.cpp)."""

from __future__ import annotations

import pytest
from e2e_helpers import ROOT, python, read_lines

pytest.importorskip("llama_cpp", reason="the embedded LM server needs llama-cpp-python")
pytestmark = [pytest.mark.slow, pytest.mark.lm]


def test_lmx_search_on_one_letter_asks_the_lm_and_a_rerun_replays_the_cache(tmp_path):
    args = [
        "-m", "qd.cli", "run", str(ROOT / "experiments" / "levels_letters.toml"),
        "--set", 'domain.letter="L"', "--set", 'domain.lm_variation="lmx"',
        "--set", "domain.lm_share=1.0", "--set", "domain.lm_max_tokens=48",
        "--set", "search.iterations=2", "--set", "search.batch_size=4",
        "--runs-dir", "runs", "--quiet",
    ]  # fmt: skip
    first = python(*args, cwd=tmp_path)
    assert first.returncode == 0, first.stderr
    run = tmp_path / "runs" / "levels_letters"
    rows = read_lines(run / "metrics.jsonl")
    assert [r["iteration"] for r in rows] == [1, 2]
    assert rows[-1]["lm"]["requests"] == 4  # iteration 1 seeds; iteration 2 is all LM
    events = read_lines(run / "events.jsonl")
    assert sum(r["invalid"] for r in rows) == len(events)
    for event in events:  # a reply that is not a level is logged with the parser's reason
        assert event["event"] == "invalid" and event["reason"]
    assert rows[-1]["num_elites"] >= rows[0]["num_elites"] > 0

    again = python(*args, "--force", cwd=tmp_path)
    assert again.returncode == 0, again.stderr
    rerun = read_lines(run / "metrics.jsonl")
    assert rerun[-1]["lm"]["requests"] == 0 and rerun[-1]["lm"]["cache_hits"] == 4
    assert rerun[-1]["num_elites"] == rows[-1]["num_elites"]


def test_zero_shot_replies_are_generated_saved_and_scored(tmp_path):
    made = python(
        "-m", "domains.science_birds.generate", "out",
        "--letters", "IO", "--trials", "2", "--max-tokens", "32",
        cwd=tmp_path,
    )  # fmt: skip
    assert made.returncode == 0, made.stderr
    assert sorted(p.name for p in (tmp_path / "out" / "O").iterdir()) == [
        "trial-01.txt",
        "trial-02.txt",
    ]
    scored = python("-m", "domains.science_birds.score", "out", "--trials", "2", cwd=tmp_path)
    assert scored.returncode == 0, scored.stderr
    assert "prompt score" in scored.stdout
    assert [line.split()[0] for line in scored.stdout.splitlines() if "/2" in line][:2] == [
        "I",
        "O",
    ]
