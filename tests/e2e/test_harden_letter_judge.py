"""experiments/harden_letter_judge.py end to end, at toy sizes: a round of search against
the shipped judge, adversarial examples taken, a new judge trained and searched against."""

from __future__ import annotations

import json

import pytest
from e2e_helpers import ROOT, python

from domains.science_birds.classifier import LetterClassifier
from domains.science_birds.not_letters import load_not_letters

SCRIPT = str(ROOT / "experiments" / "harden_letter_judge.py")
pytestmark = pytest.mark.slow

TOY_TRAINING = [
    "--train-arg=--font-samples=1",
    "--train-arg=--block-samples=1",
    "--train-arg=--heldout-samples=1",
    "--train-arg=--random-levels=30",
    "--train-arg=--epochs=2",
]


def test_one_round_trains_a_judge_with_a_not_a_letter_class(tmp_path):
    result = python(
        SCRIPT, "--rounds", "1", "--iterations", "2", "--letters", "AH", "--out", "harden",
        *TOY_TRAINING, cwd=tmp_path,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    out = tmp_path / "harden"
    rows = json.loads((out / "rounds.json").read_text())
    assert [r["round"] for r in rows] == [0, 1]
    assert rows[0]["judge"] == "judge-0.npz" and rows[1]["judge"] == "judge-1.npz"
    for row in rows:
        assert 0 <= row["heldout_similarity"] <= 1 and 0 <= row["search_similarity"] <= 1
    # Round 1's judge was trained on what round 0's search fooled the shipped judge with
    # (against the hardened judge, two iterations may fool it with nothing at all).
    examples = load_not_letters(out / "not_letters.json")
    assert rows[1]["not_letter_examples"] == len(examples)
    assert {e["letter"] for e in examples} <= {"A", "H"}
    assert all(e["search_similarity"] >= 0.5 > e["heldout_similarity"] for e in examples)
    judge = LetterClassifier.load(out / "judge-1.npz")
    assert judge.classes[-1] == "none" and judge.temperature > 0
    assert "heldout_letter_accuracy" in rows[1]
    assert (out / "gallery-0.png").stat().st_size and (out / "gallery-1.png").stat().st_size
    assert "| 1 | judge-1.npz |" in (out / "rounds.md").read_text()
